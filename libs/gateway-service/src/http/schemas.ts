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
    /** Bytes of the leader's log segments on disk. */
    size_bytes: { type: 'integer' },
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

export const nodeSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    host: { type: 'string' },
    ports: { type: 'object', additionalProperties: { type: 'integer' } },
    rack: { type: ['string', 'null'] },
    state: { type: 'string', enum: ['alive', 'fenced'] },
  },
  required: ['id', 'host', 'ports', 'rack', 'state'],
} as const;

const partitionStateSchema = {
  type: 'object',
  properties: {
    topic: { type: 'string' },
    partition: { type: 'integer' },
    replicas: { type: 'array', items: { type: 'integer' } },
    isr: { type: 'array', items: { type: 'integer' } },
  },
  required: ['topic', 'partition', 'replicas', 'isr'],
} as const;

const controllerInstanceSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    host: { type: 'string' },
    pid: { type: 'integer' },
    /** Admin HTTP port (health, metrics); 0 when chosen at start. */
    admin_port: { type: 'integer' },
    started_at: { type: 'string', format: 'date-time' },
    last_seen_at: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'host', 'pid', 'admin_port', 'started_at', 'last_seen_at'],
} as const;

/** The controller quorum: the active instance and its epoch, the standbys; null while no controller answers. */
const controllersSchema = {
  type: ['object', 'null'],
  properties: {
    active: {
      type: 'object',
      properties: { ...controllerInstanceSchema.properties, epoch: { type: 'integer' }, active_since: { type: 'string', format: 'date-time' } },
      required: [...controllerInstanceSchema.required, 'epoch', 'active_since'],
    },
    standbys: { type: 'array', items: controllerInstanceSchema },
    lease_ms: { type: 'integer' },
  },
  required: ['active', 'standbys', 'lease_ms'],
} as const;

export const clusterSchema = {
  type: 'object',
  properties: {
    cluster_id: { type: 'string' },
    /** Epoch of the active controller (bumped at each failover). */
    controller_epoch: { type: 'integer' },
    metadata_offset: { type: 'integer' },
    controllers: controllersSchema,
    brokers: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          ...nodeSchema.properties,
          partitions: { type: 'integer' },
          leaders: { type: 'integer' },
          /** Bytes of every replica's log on the broker's disk; null when the broker did not answer. */
          log_bytes: { type: ['integer', 'null'] },
        },
        required: [...nodeSchema.required, 'partitions', 'leaders'],
      },
    },
    group_coordinators: { type: 'array', items: nodeSchema },
    gateways: { type: 'array', items: nodeSchema },
    topics: { type: 'integer' },
    partitions: { type: 'integer' },
    /** Partitions without a live leader. */
    offline_partitions: { type: 'array', items: partitionStateSchema },
    /** Partitions with a leader whose ISR is smaller than their replica set. */
    under_replicated_partitions: { type: 'array', items: partitionStateSchema },
  },
  required: ['cluster_id', 'controller_epoch', 'metadata_offset', 'controllers', 'brokers', 'group_coordinators', 'gateways', 'topics', 'partitions', 'offline_partitions', 'under_replicated_partitions'],
} as const;

export const groupSummarySchema = {
  type: 'object',
  properties: { group_id: { type: 'string' }, state: { type: 'string' }, protocol_type: { type: 'string' } },
  required: ['group_id', 'state', 'protocol_type'],
} as const;

const topicPartitionSchema = {
  type: 'object',
  properties: { topic: { type: 'string' }, partition: { type: 'integer' } },
  required: ['topic', 'partition'],
} as const;

export const groupSchema = {
  type: 'object',
  properties: {
    group_id: { type: 'string' },
    state: { type: 'string' },
    protocol_type: { type: 'string' },
    protocol: { type: 'string' },
    members: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          member_id: { type: 'string' },
          group_instance_id: { type: ['string', 'null'] },
          client_id: { type: 'string' },
          client_host: { type: 'string' },
          assignments: { type: 'array', items: topicPartitionSchema },
        },
        required: ['member_id', 'group_instance_id', 'client_id', 'client_host', 'assignments'],
      },
    },
  },
  required: ['group_id', 'state', 'protocol_type', 'protocol', 'members'],
} as const;

export const lagSchema = {
  type: 'object',
  properties: {
    topic: { type: 'string' },
    partition: { type: 'integer' },
    committed_offset: { type: 'integer' },
    log_end_offset: { type: 'integer' },
    lag: { type: ['integer', 'null'] },
  },
  required: ['topic', 'partition', 'committed_offset', 'log_end_offset', 'lag'],
} as const;

export const resetResultSchema = {
  type: 'object',
  properties: {
    group_id: { type: 'string' },
    topic: { type: 'string' },
    dry_run: { type: 'boolean' },
    offsets: {
      type: 'array',
      items: {
        type: 'object',
        properties: { partition: { type: 'integer' }, offset: { type: 'integer' }, previous_offset: { type: ['integer', 'null'] } },
        required: ['partition', 'offset', 'previous_offset'],
      },
    },
  },
  required: ['group_id', 'topic', 'dry_run', 'offsets'],
} as const;
