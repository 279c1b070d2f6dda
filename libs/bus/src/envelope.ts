// The bytes of one bus message: a kind byte, a length-prefixed JSON metadata part, and an optional binary body
// (record batches travel in the body untouched, never inside the JSON).
import { SluiceError } from '@sluice/protocol';
import { BusErrorCode } from './bus-errors.js';

export interface Envelope<M = unknown> {
  meta: M;
  body?: Buffer;
}

const KIND_OK = 0;
const KIND_ERROR = 1;
const PREFIX = 5;

interface ErrorMeta {
  code: string;
  message: string;
  kafkaCode: number;
  retriable: boolean;
}

/** A message body: one buffer, or several sent back to back (copied once, into the message). */
export type Body = Uint8Array | readonly Uint8Array[];

function frame(kind: number, meta: unknown, body: Body | undefined): Uint8Array {
  const json = meta === undefined ? '' : JSON.stringify(meta);
  const metaLength = Buffer.byteLength(json);
  const parts = body === undefined ? [] : body instanceof Uint8Array ? [body] : body;
  let size = PREFIX + metaLength;
  for (const part of parts) size += part.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = kind;
  out.writeUInt32BE(metaLength, 1);
  out.write(json, PREFIX, 'utf8');
  let at = PREFIX + metaLength;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function encodeEnvelope(meta: unknown, body?: Body): Uint8Array {
  return frame(KIND_OK, meta, body);
}

export function encodeError(err: unknown): Uint8Array {
  const e: ErrorMeta =
    err instanceof SluiceError
      ? { code: err.code, message: err.message, kafkaCode: err.kafkaCode, retriable: err.retriable }
      : { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err), kafkaCode: -1, retriable: false };
  return frame(KIND_ERROR, e, undefined);
}

/** Decodes a message; an error reply becomes a thrown SluiceError with the sender's code. */
export function decodeEnvelope<M>(data: Uint8Array): Envelope<M> {
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length < PREFIX) throw new SluiceError(BusErrorCode.badFrame, `bus message of ${b.length} bytes is too short`);
  const kind = b[0];
  const metaLength = b.readUInt32BE(1);
  if (PREFIX + metaLength > b.length) throw new SluiceError(BusErrorCode.badFrame, 'bus message metadata is truncated');
  const json = b.toString('utf8', PREFIX, PREFIX + metaLength);
  let meta: unknown;
  try {
    meta = json === '' ? undefined : JSON.parse(json);
  } catch (err) {
    throw new SluiceError(BusErrorCode.badFrame, 'bus message metadata is not JSON', { cause: err });
  }
  if (kind === KIND_ERROR) {
    const e = meta as ErrorMeta;
    throw new SluiceError(e.code, e.message, { kafkaCode: e.kafkaCode, retriable: e.retriable });
  }
  if (kind !== KIND_OK) throw new SluiceError(BusErrorCode.badFrame, `unknown bus message kind ${kind}`);
  const body = b.length > PREFIX + metaLength ? b.subarray(PREFIX + metaLength) : undefined;
  return { meta: meta as M, body };
}
