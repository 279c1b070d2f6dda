// Child process for the crash tests: appends numbered records to a log until it is killed, printing the last
// offset of every acknowledged append. Run from the built package: node test/crash-writer.mjs DIR FLUSH_MESSAGES
import { buildRecordBatch } from '@sluice/protocol';
import { PartitionLog } from '../dist/index.js';

const [dir, flushMessages] = process.argv.slice(2);
const log = await PartitionLog.open(dir, { segmentBytes: 64 * 1024, indexIntervalBytes: 1024, flushMessages: Number(flushMessages) });
let next = log.logEndOffset;
process.stdout.write(`ready ${next}\n`);

async function writer() {
  for (;;) {
    const count = 1 + (next % 7);
    const first = next;
    next += count;
    const records = Array.from({ length: count }, (_, i) => ({ key: Buffer.from(`k${(first + i) % 13}`), value: Buffer.from(`r${first + i}`.padEnd(40 + ((first + i) % 50), '.')) }));
    const result = await log.append(buildRecordBatch(records), 1);
    if (result.baseOffset !== first) throw new Error(`expected base ${first}, got ${result.baseOffset}`);
    process.stdout.write(`${result.lastOffset}\n`);
  }
}
// Several appends in flight, as a leader serving many producers has.
await Promise.all(Array.from({ length: 4 }, writer));
