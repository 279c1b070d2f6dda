// Record batches for Produce requests: built valid (1..20 records, codecs 0–4), then broken in the header fields the
// broker must check (lengths, counts, lastOffsetDelta, attributes with codecs 0–7, timestamps, offsets, producer
// fields), in the records' varints and lengths, or in the compressed payload — and mostly re-signed with a correct
// CRC-32C so that the validation behind the CRC check is what gets exercised.
import { BatchField, buildRecordBatch, crc32c, RECORD_BATCH_HEADER_SIZE, type CompressionType } from '@sluice/protocol';
import { FUZZ_TOPICS } from './kafka-inputs.js';
import { hostileVarint, mutateBytes } from './mutate.js';
import type { Rng } from './prng.js';

const INT64_EDGES = [0n, -1n, 0x7fffffffffffffffn, -0x8000000000000000n, 253402300799999n, 253402300800000n, 1n << 53n];

function validBatch(rng: Rng): Buffer {
  const n = rng.range(1, 20);
  const now = Date.now();
  const records = Array.from({ length: n }, (_, i) => ({
    key: rng.chance(0.5) ? null : Buffer.from(`k${rng.int(1000)}`),
    value: rng.chance(0.05) ? null : rng.bytes(rng.int(200)),
    headers: rng.chance(0.2) ? [{ key: 'h', value: Buffer.from('v') }] : [],
    timestamp: now + i,
  }));
  return buildRecordBatch(records, { compression: rng.int(5) as CompressionType, baseOffset: rng.chance(0.9) ? 0 : rng.int(1000) });
}

/** Re-signs a batch's CRC-32C over attributes..end (when it is long enough to have one). */
function resign(batch: Buffer): void {
  if (batch.length >= RECORD_BATCH_HEADER_SIZE) batch.writeUInt32BE(crc32c(batch.subarray(BatchField.attributes)), BatchField.crc);
}

/** One mutated batch and a label of what was done to it. */
export function mutatedBatch(rng: Rng): { batch: Buffer; label: string } {
  let b = validBatch(rng);
  let label: string;
  switch (rng.int(12)) {
    case 0:
      b.writeInt32BE(rng.pick([0, -1, 1, 49, b.length - 12 + rng.range(-8, 8), 0x7fffffff]) | 0, BatchField.batchLength);
      label = 'batchLength';
      break;
    case 1:
      b.writeInt32BE(rng.pick([0, -1, 1, 2, 0x7fffffff, -0x80000000, b.readInt32BE(BatchField.lastOffsetDelta) + 1]) | 0, BatchField.lastOffsetDelta);
      label = 'lastOffsetDelta';
      break;
    case 2:
      b.writeInt32BE(rng.pick([0, -1, 1, 20_000_000, 0x7fffffff, b.readInt32BE(BatchField.recordCount) + rng.range(-2, 2)]) | 0, BatchField.recordCount);
      label = 'recordCount';
      break;
    case 3:
      b.writeInt16BE((b.readInt16BE(BatchField.attributes) & ~7) | rng.range(0, 7) | (rng.chance(0.2) ? 0x08 : 0) | (rng.chance(0.1) ? 0x10 : 0) | (rng.chance(0.1) ? 0x20 : 0) | (rng.chance(0.05) ? 0x40 : 0), BatchField.attributes);
      label = 'attributes';
      break;
    case 4:
      b.writeBigInt64BE(rng.pick(INT64_EDGES), rng.chance(0.5) ? BatchField.baseTimestamp : BatchField.maxTimestamp);
      label = 'timestamps';
      break;
    case 5:
      b.writeBigInt64BE(rng.pick(INT64_EDGES), BatchField.baseOffset);
      label = 'baseOffset';
      break;
    case 6:
      b.writeInt8(rng.pick([0, 1, 3, -1]), BatchField.magic);
      label = 'magic';
      break;
    case 7:
      b.writeBigInt64BE(rng.pick([-1n, 0n, 1n, 0x7fffffffffffffffn]), BatchField.producerId);
      b.writeInt16BE(rng.pick([-1, 0, 0x7fff]), BatchField.producerEpoch);
      b.writeInt32BE(rng.pick([-1, 0, 0x7fffffff]), BatchField.baseSequence);
      label = 'producer';
      break;
    case 8: {
      // a varint or length inside the records (or the compressed payload)
      const at = RECORD_BATCH_HEADER_SIZE + rng.int(Math.max(1, b.length - RECORD_BATCH_HEADER_SIZE));
      const v = hostileVarint(rng);
      const tail = rng.chance(0.5) ? b.subarray(at + v.length) : b.subarray(at);
      b = Buffer.concat([b.subarray(0, at), v, tail]);
      b.writeInt32BE(b.length - 12, BatchField.batchLength);
      label = 'record varint';
      break;
    }
    case 9: {
      // arbitrary damage to the record bytes (compressed or not), lengths kept consistent
      const records = mutateBytes(rng, b.subarray(RECORD_BATCH_HEADER_SIZE), 4);
      b = Buffer.concat([b.subarray(0, RECORD_BATCH_HEADER_SIZE), records]);
      b.writeInt32BE(b.length - 12, BatchField.batchLength);
      label = 'record bytes';
      break;
    }
    case 10:
      b = b.subarray(0, rng.int(b.length)); // truncated
      label = 'truncated';
      break;
    default:
      label = 'valid';
  }
  if (rng.chance(0.9)) resign(b);
  else label += ' bad-crc';
  return { batch: b, label };
}

/** A Produce request body carrying 1..3 mutated batches for fuzz topics (never the canary). */
export function produceBody(rng: Rng): Record<string, unknown> {
  const batches = Array.from({ length: rng.chance(0.8) ? 1 : rng.range(2, 3) }, () => mutatedBatch(rng).batch);
  return {
    transactionalId: rng.chance(0.95) ? null : 'tx',
    acks: rng.pick([1, 1, -1, 0, 2, -2]),
    timeoutMs: rng.pick([1000, 0, -1]),
    topicData: [{ name: rng.pick(FUZZ_TOPICS.slice(0, 3)), partitionData: [{ index: rng.pick([0, 0, 1, 2, 7, -1]), records: Buffer.concat(batches) }] }],
  };
}
