// Errors the HTTP API answers with: an HTTP status, a REST-Proxy-style numeric error_code, a stable string code and a message.
import { KafkaErrorCode, SluiceError, isRetriableKafkaError } from '@sluice/protocol';

export interface ErrorBody {
  error_code: number;
  code: string;
  message: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  body(): ErrorBody {
    return { error_code: this.errorCode, code: this.code, message: this.message };
  }

  static topicNotFound(topic: string): HttpError {
    return new HttpError(404, 40401, 'UNKNOWN_TOPIC_OR_PARTITION', `topic "${topic}" does not exist`);
  }
  static partitionNotFound(topic: string, partition: number): HttpError {
    return new HttpError(404, 40402, 'UNKNOWN_TOPIC_OR_PARTITION', `topic "${topic}" has no partition ${partition}`);
  }
  static invalidRecord(message: string): HttpError {
    return new HttpError(422, 42205, 'INVALID_RECORD', message);
  }
  static badRequest(message: string, code = 'INVALID_REQUEST'): HttpError {
    return new HttpError(400, 40001, code, message);
  }

  /** An error from a controller or partition reply, or from the bus. */
  static from(err: unknown): HttpError {
    if (err instanceof HttpError) return err;
    if (err instanceof SluiceError) return HttpError.fromKafka(err.kafkaCode, err.message, err.code);
    return new HttpError(500, 50001, 'INTERNAL_ERROR', 'internal error');
  }

  static fromKafka(kafkaCode: number, message: string, code?: string): HttpError {
    // A partition a topic does not have is Kafka's UNKNOWN_TOPIC_OR_PARTITION too, with REST Proxy's own error_code.
    if (code === 'UNKNOWN_PARTITION') return new HttpError(404, 40402, 'UNKNOWN_TOPIC_OR_PARTITION', message);
    const name = code ?? kafkaNames.get(kafkaCode) ?? 'UNKNOWN_SERVER_ERROR';
    switch (kafkaCode) {
      case KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
        return new HttpError(404, 40401, name, message);
      case KafkaErrorCode.REBALANCE_IN_PROGRESS:
        return new HttpError(409, 40904, name, message);
      case KafkaErrorCode.TOPIC_ALREADY_EXISTS:
        return new HttpError(409, 40901, name, message);
      case KafkaErrorCode.INVALID_TOPIC_EXCEPTION:
        return new HttpError(422, 42201, name, message);
      case KafkaErrorCode.INVALID_PARTITIONS:
        return new HttpError(422, 42202, name, message);
      case KafkaErrorCode.INVALID_REPLICATION_FACTOR:
        return new HttpError(422, 42203, name, message);
      case KafkaErrorCode.INVALID_CONFIG:
        return new HttpError(422, 42204, name, message);
      case KafkaErrorCode.CORRUPT_MESSAGE:
      case KafkaErrorCode.INVALID_RECORD:
        return new HttpError(422, 42205, name, message);
      case KafkaErrorCode.MESSAGE_TOO_LARGE:
      case KafkaErrorCode.RECORD_LIST_TOO_LARGE:
        return new HttpError(413, 41301, name, message);
      case KafkaErrorCode.OFFSET_OUT_OF_RANGE:
        return new HttpError(416, 41601, name, message);
      case KafkaErrorCode.REQUEST_TIMED_OUT:
        return new HttpError(504, 50401, name, message);
      case KafkaErrorCode.INVALID_REQUEST:
        return new HttpError(400, 40001, name, message);
      case KafkaErrorCode.GROUP_ID_NOT_FOUND:
        return new HttpError(404, 40403, name, message);
      case KafkaErrorCode.NON_EMPTY_GROUP:
        return new HttpError(409, 40902, name, message);
      case KafkaErrorCode.GROUP_SUBSCRIBED_TO_TOPIC:
        return new HttpError(409, 40905, name, message);
      default:
        return isRetriableKafkaError(kafkaCode) ? new HttpError(503, 50301, name, message) : new HttpError(500, 50002, name, message);
    }
  }
}

const kafkaNames = new Map<number, string>(Object.entries(KafkaErrorCode).map(([name, code]) => [code, name]));
