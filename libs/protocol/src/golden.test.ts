// Frames captured from real clients (test/golden): each decodes with the generated codecs, leaves no byte unread,
// and re-encodes to exactly the bytes the client sent.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Reader } from './binary/reader.js';
import { Writer } from './binary/writer.js';
import * as messages from './generated/messages/index.js';
import { readRequestHeader, writeRequestHeader } from './kafka/headers.js';
import { forEachBatch, validateBatches } from './record-batch.js';
import { SluiceError } from './errors.js';

const dir = fileURLToPath(new URL('../test/golden/', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.bin'));
const codecs = messages as unknown as Record<string, (...args: unknown[]) => unknown>;
const byKey = new Map<number, string>(messages.apiCatalog.map((a) => [a.key, a.name]));

describe('golden frames from real clients', () => {
  it('has frames from kcat, KafkaJS and @platformatic/kafka', () => {
    for (const client of ['kcat', 'kafkajs', 'platformatic']) expect(files.filter((f) => f.startsWith(`${client}-`)).length).toBeGreaterThan(8);
  });

  for (const file of files) {
    it(`${file} decodes and re-encodes byte for byte`, () => {
      const frame = readFileSync(`${dir}${file}`);
      const r = new Reader(frame);
      const header = readRequestHeader(r);
      const name = byKey.get(header.apiKey);
      expect(name, `API key ${header.apiKey}`).toBeDefined();
      expect(file).toContain(`-${name}-v${header.apiVersion}.bin`);
      const request = codecs[`read${name}Request`](r, header.apiVersion) as Record<string, unknown>;
      expect(r.remaining).toBe(0);
      const w = new Writer();
      writeRequestHeader(w, header);
      codecs[`write${name}Request`](w, header.apiVersion, request);
      expect(w.toBuffer().equals(frame)).toBe(true);
      if (name === 'Produce') {
        // The record batches inside are whole and pass their CRC-32C check.
        const records = ((request as unknown as messages.ProduceRequest).topicData[0].partitionData[0].records) as Buffer;
        expect(validateBatches(records)).not.toBeInstanceOf(SluiceError);
        let batches = 0;
        forEachBatch(records, () => batches++);
        expect(batches).toBeGreaterThan(0);
      }
    });
  }
});
