// Typed errors: a stable string code, Kafka's numeric code where one applies, and a retriable flag.
import { KafkaErrorCode, kafkaErrorNames, type KafkaErrorName } from './generated/kafka-error-codes.js';

/** Kafka errors a client may retry after refreshing metadata or waiting (Kafka's RetriableException family). */
const retriableKafkaErrors: ReadonlySet<number> = new Set([
  KafkaErrorCode.CORRUPT_MESSAGE,
  KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  KafkaErrorCode.LEADER_NOT_AVAILABLE,
  KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
  KafkaErrorCode.REQUEST_TIMED_OUT,
  KafkaErrorCode.NETWORK_EXCEPTION,
  KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  KafkaErrorCode.COORDINATOR_NOT_AVAILABLE,
  KafkaErrorCode.NOT_COORDINATOR,
  KafkaErrorCode.NOT_ENOUGH_REPLICAS,
  KafkaErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  KafkaErrorCode.KAFKA_STORAGE_ERROR,
  KafkaErrorCode.FENCED_LEADER_EPOCH,
  KafkaErrorCode.UNKNOWN_LEADER_EPOCH,
  KafkaErrorCode.OFFSET_NOT_AVAILABLE,
  KafkaErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
  KafkaErrorCode.THROTTLING_QUOTA_EXCEEDED,
]);

export interface SluiceErrorOptions {
  /** Kafka's numeric error code; UNKNOWN_SERVER_ERROR (-1) when the failure has no Kafka meaning. */
  kafkaCode?: number;
  retriable?: boolean;
  cause?: unknown;
}

/**
 * The one error type that crosses process boundaries: `code` is stable and machine-readable
 * (a Kafka error name such as `UNKNOWN_TOPIC_OR_PARTITION`, or a Sluice code such as `BUS_TIMEOUT`).
 */
export class SluiceError extends Error {
  override readonly name = 'SluiceError';
  readonly code: string;
  readonly kafkaCode: number;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kafkaCode = options.kafkaCode ?? KafkaErrorCode.UNKNOWN_SERVER_ERROR;
    this.retriable = options.retriable ?? retriableKafkaErrors.has(this.kafkaCode);
  }
}

/** An error named by its Kafka error, e.g. `kafkaError('UNKNOWN_TOPIC_OR_PARTITION', 'topic "x" does not exist')`. */
export function kafkaError(name: KafkaErrorName, message: string, cause?: unknown): SluiceError {
  return new SluiceError(name, message, { kafkaCode: KafkaErrorCode[name], cause });
}

/** The error a Kafka error code stands for, e.g. from a reply's `errorCode`. */
export function kafkaErrorOf(code: number, message: string): SluiceError {
  return new SluiceError(kafkaErrorNames.get(code) ?? 'UNKNOWN_SERVER_ERROR', message, { kafkaCode: code });
}

export function kafkaErrorName(code: number): KafkaErrorName | 'UNKNOWN' {
  return kafkaErrorNames.get(code) ?? 'UNKNOWN';
}

export function isRetriableKafkaError(code: number): boolean {
  return retriableKafkaErrors.has(code);
}

export function isSluiceError(err: unknown): err is SluiceError {
  return err instanceof SluiceError;
}
