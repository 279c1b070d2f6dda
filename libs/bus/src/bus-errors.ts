// The bus's own failures, as SluiceErrors with stable codes.
import { KafkaErrorCode, SluiceError } from '@sluice/protocol';

export const BusErrorCode = {
  noResponders: 'BUS_NO_RESPONDERS',
  timeout: 'BUS_TIMEOUT',
  closed: 'BUS_CLOSED',
  mailboxFull: 'BUS_MAILBOX_FULL',
  badFrame: 'BUS_BAD_FRAME',
} as const;

export function noResponders(subject: string, cause?: unknown): SluiceError {
  return new SluiceError(BusErrorCode.noResponders, `no responders for ${subject}`, {
    kafkaCode: KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
    retriable: true,
    cause,
  });
}

export function requestTimeout(subject: string, timeoutMs: number, cause?: unknown): SluiceError {
  return new SluiceError(BusErrorCode.timeout, `request to ${subject} timed out after ${timeoutMs} ms`, {
    kafkaCode: KafkaErrorCode.REQUEST_TIMED_OUT,
    retriable: true,
    cause,
  });
}

export function busClosed(cause?: unknown): SluiceError {
  return new SluiceError(BusErrorCode.closed, 'the bus connection is closed', { retriable: true, cause });
}

export function isBusError(err: unknown, code: (typeof BusErrorCode)[keyof typeof BusErrorCode]): boolean {
  return err instanceof SluiceError && err.code === code;
}
