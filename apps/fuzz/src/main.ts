// `npm run fuzz` — a long fuzzing run on demand: --inputs N, --minutes M, --seed S, --replay FILE.
import { parseArgs } from 'node:util';
import { loadReplay, runFuzz } from './fuzz.js';

const usage = `usage: npm run fuzz -- [--inputs N] [--minutes M] [--seed S] [--concurrency C] [--round-inputs R] [--max-rss-mb MB] [--replay FILE]
Starts the embedded Sluice from its build output and throws mutated Kafka frames, record batches and hostile HTTP
requests at it in rounds; after each round a KafkaJS canary must read back every record produced so far, the process
must be alive with RSS under the bound, and nothing may be logged as uncaught/unhandled. Default: 10 minutes.
A failing round's inputs are written to fuzz-failures/; --replay FILE sends them again to a fresh process.`;

const { values } = parseArgs({
  options: {
    inputs: { type: 'string' },
    minutes: { type: 'string' },
    seed: { type: 'string' },
    concurrency: { type: 'string' },
    'round-inputs': { type: 'string' },
    'max-rss-mb': { type: 'string' },
    replay: { type: 'string' },
    help: { type: 'boolean' },
  },
});

if (values.help) {
  process.stdout.write(usage + '\n');
  process.exit(0);
}

const num = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`--${name} must be a non-negative number\n${usage}\n`);
    process.exit(2);
  }
  return n;
};

const replay = values.replay ? await loadReplay(values.replay) : undefined;
const inputs = num('inputs', values.inputs);
const minutes = num('minutes', values.minutes) ?? (inputs === undefined ? 10 : undefined);
// Ctrl-C (or SIGTERM) ends the run after the round in flight, with its check, the report and the process stopped.
const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
const report = await runFuzz({
  signal: stop.signal,
  seed: num('seed', values.seed) ?? replay?.seed ?? Math.floor(Math.random() * 0x7fffffff),
  inputs,
  seconds: minutes === undefined ? undefined : minutes * 60,
  concurrency: num('concurrency', values.concurrency),
  roundInputs: num('round-inputs', values['round-inputs']),
  maxRssBytes: values['max-rss-mb'] ? (num('max-rss-mb', values['max-rss-mb']) ?? 0) * 1024 * 1024 : undefined,
  replay: replay?.scripts,
});
process.stdout.write(
  `\n${report.failure ? 'FAILED' : 'OK'}: seed ${report.seed}, ${report.rounds} rounds, ${report.inputs} inputs (${report.kafkaInputs} Kafka frames, ${report.httpRequests} HTTP requests) over ${report.connections} connections (${report.kafkaAnswered} Kafka connections answered) in ${report.seconds.toFixed(0)} s = ${report.inputsPerSecond.toFixed(0)} inputs/s; max RSS ${(report.maxRssBytes / 1024 / 1024).toFixed(0)} MB; canary ${report.canaryRecords} records read back\nHTTP statuses: ${JSON.stringify(report.httpStatuses)}\nerror-level log lines: ${JSON.stringify(report.errorLogs)}\n${report.unanswered.length ? `some requests with no answer (the client gives up after 5 s): ${report.unanswered.join('; ')}\n` : ''}`,
);
process.exit(report.failure ? 1 : 0);
