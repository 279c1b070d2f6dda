import { describe, expect, it } from 'vitest';
import { KafkaErrorCode, SluiceError, kafkaError } from '@sluice/protocol';
import { HttpError } from './http-error.js';

describe('HTTP error mapping', () => {
  it.each([
    [KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 404],
    [KafkaErrorCode.TOPIC_ALREADY_EXISTS, 409],
    [KafkaErrorCode.INVALID_TOPIC_EXCEPTION, 422],
    [KafkaErrorCode.INVALID_PARTITIONS, 422],
    [KafkaErrorCode.INVALID_REPLICATION_FACTOR, 422],
    [KafkaErrorCode.INVALID_CONFIG, 422],
    [KafkaErrorCode.MESSAGE_TOO_LARGE, 413],
    [KafkaErrorCode.OFFSET_OUT_OF_RANGE, 416],
    [KafkaErrorCode.NOT_LEADER_OR_FOLLOWER, 503],
    [KafkaErrorCode.LEADER_NOT_AVAILABLE, 503],
    [KafkaErrorCode.REQUEST_TIMED_OUT, 504],
    [KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED, 500],
  ])('Kafka error %i → HTTP %i with the Kafka name as code', (kafka, status) => {
    const e = HttpError.fromKafka(kafka, 'm');
    expect(e.status).toBe(status);
    expect(e.body().code).toMatch(/^[A-Z_]+$/);
    expect(e.body().error_code).toBeGreaterThanOrEqual(status * 100);
  });

  it('keeps bus codes and hides internal errors', () => {
    expect(HttpError.from(new SluiceError('BUS_TIMEOUT', 'slow', { kafkaCode: KafkaErrorCode.REQUEST_TIMED_OUT })).body()).toEqual({
      error_code: 50401,
      code: 'BUS_TIMEOUT',
      message: 'slow',
    });
    expect(HttpError.from(kafkaError('UNKNOWN_TOPIC_OR_PARTITION', 'gone')).status).toBe(404);
    const hidden = HttpError.from(new Error('secret stack detail'));
    expect(hidden.body()).toEqual({ error_code: 50001, code: 'INTERNAL_ERROR', message: 'internal error' });
  });
});
