// The bounded fuzzing run of `npm test`: about a minute of hostile inputs against the embedded Sluice, with a fresh
// random seed each run (printed, and kept with the failing inputs in fuzz-failures/ on failure; SLUICE_FUZZ_SEED
// repeats one). `npm run fuzz` runs longer.
import { describe, expect, it } from 'vitest';
import { runFuzz } from './fuzz.js';

const seed = Number(process.env.SLUICE_FUZZ_SEED ?? Math.floor(Math.random() * 0x7fffffff));
const seconds = Number(process.env.SLUICE_FUZZ_SECONDS ?? 60);

describe('fuzzing the embedded Sluice', () => {
  it(`survives ${seconds} s of mutated Kafka frames, record batches and hostile HTTP requests with every canary record readable (seed ${seed})`, async () => {
    const report = await runFuzz({ seed, seconds, roundInputs: 1000, concurrency: 8, progressMs: 15_000, log: (line) => console.log(line) });
    console.log(`fuzz: seed ${seed}: ${report.inputs} inputs in ${report.seconds.toFixed(0)} s (${report.inputsPerSecond.toFixed(0)}/s), ${report.rounds} rounds, max RSS ${(report.maxRssBytes / 1048576).toFixed(0)} MB, HTTP statuses ${JSON.stringify(report.httpStatuses)}, error-level log lines ${JSON.stringify(report.errorLogs)}`);
    expect(report.failure, `seed ${seed}; inputs kept in ${report.failureFile}`).toBeUndefined();
    expect(report.rounds).toBeGreaterThan(1);
    expect(report.canaryRecords).toBeGreaterThanOrEqual(10 * (report.rounds + 1));
    expect(report.kafkaInputs).toBeGreaterThan(0);
    expect(report.httpRequests).toBeGreaterThan(0);
  });
});
