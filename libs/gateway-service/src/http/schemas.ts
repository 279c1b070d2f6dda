// JSON schemas of the HTTP API (validation, fast serialisation, and the OpenAPI document).
export const errorSchema = {
  type: 'object',
  properties: { error_code: { type: 'integer' }, code: { type: 'string' }, message: { type: 'string' } },
  required: ['error_code', 'code', 'message'],
} as const;

export const errorResponses = {
  400: errorSchema,
  404: errorSchema,
  409: errorSchema,
  413: errorSchema,
  415: errorSchema,
  416: errorSchema,
  422: errorSchema,
  500: errorSchema,
  503: errorSchema,
  504: errorSchema,
} as const;

export const topicParams = {
  type: 'object',
  properties: { topic: { type: 'string', maxLength: 300 } },
  required: ['topic'],
} as const;

export const partitionParams = {
  type: 'object',
  properties: { topic: { type: 'string', maxLength: 300 }, partition: { type: 'integer', minimum: 0 } },
  required: ['topic', 'partition'],
} as const;

export const replicaSchema = {
  type: 'object',
  properties: {
    broker: { type: 'integer' },
    leader: { type: 'boolean' },
    in_sync: { type: 'boolean' },
    /** While a reassignment moves the partition: a replica it adds, or one it will drop. */
    adding: { type: 'boolean' },
    removing: { type: 'boolean' },
    /** As the partition's leader knows it (-1: unknown yet). */
    log_end_offset: { type: 'integer' },
    lag: { type: 'integer' },
    caught_up_ms_ago: { type: 'integer' },
  },
} as const;

export const partitionSchema = {
  type: 'object',
  properties: {
    partition: { type: 'integer' },
    leader: { type: 'integer' },
    leader_epoch: { type: 'integer' },
    replicas: { type: 'array', items: replicaSchema },
    beginning_offset: { type: 'integer' },
    end_offset: { type: 'integer' },
    /** The leader's log end: records at and above end_offset (the high watermark) are not yet on every in-sync replica. */
    log_end_offset: { type: 'integer' },
    /** Set when the partition's offsets could not be read (e.g. LEADER_NOT_AVAILABLE: the partition is offline). */
    error_code: { type: 'string' },
    error: { type: 'string' },
  },
} as const;

export const topicSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    id: { type: 'string' },
    configs: { type: 'object', additionalProperties: { type: 'string' } },
    partitions: { type: 'array', items: partitionSchema },
  },
} as const;

export const recordInSchema = {
  type: 'object',
  properties: {
    key: {},
    value: {},
    partition: { type: 'integer', minimum: 0 },
    timestamp: { type: 'integer', minimum: 0 },
    headers: {
      anyOf: [
        { type: 'object', additionalProperties: { type: ['string', 'null'] } },
        {
          type: 'array',
          items: {
            type: 'object',
            properties: { key: { type: 'string' }, name: { type: 'string' }, value: { type: ['string', 'null'] } },
          },
        },
        { type: 'null' },
      ],
    },
  },
} as const;

export const produceBodySchema = {
  type: 'object',
  properties: {
    format: { type: 'string', enum: ['json', 'string', 'binary'] },
    records: { type: 'array', minItems: 1, items: recordInSchema },
  },
  required: ['records'],
} as const;

export const produceResponseSchema = {
  type: 'object',
  properties: {
    offsets: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          partition: { type: 'integer' },
          offset: { type: ['integer', 'null'] },
          error_code: { type: ['integer', 'null'] },
          error: { type: ['string', 'null'] },
        },
      },
    },
    key_schema_id: { type: 'null' },
    value_schema_id: { type: 'null' },
  },
} as const;

export const recordOutSchema = {
  type: 'object',
  properties: {
    topic: { type: 'string' },
    partition: { type: 'integer' },
    offset: { type: 'integer' },
    timestamp: { type: 'integer' },
    key: {},
    value: {},
    headers: { type: 'array', items: { type: 'object', properties: { key: { type: 'string' }, value: { type: ['string', 'null'] } } } },
  },
} as const;
