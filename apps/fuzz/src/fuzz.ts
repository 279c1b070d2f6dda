// The fuzzing loop: rounds of hostile inputs over many connections, each round followed by the checks (process alive,
// RSS bounded, nothing logged as uncaught or unhandled, no HTTP 500, the canary intact, the fuzz topics readable).
// A failing round's inputs are written to a file that `--replay FILE` sends again to a fresh process.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ApiKey, kafka, Reader, readResponseHeader, writeRequestHeader, Writer } from '@sluice/protocol';
import { workspaceRoot } from '@sluice/testing';
import { produceBody } from './batch-inputs.js';
import { Canary, withTimeout } from './canary.js';
import { discoverRoutes, HttpInputs } from './http-inputs.js';
import { KafkaInputs, servedApis, sizePrefixed, type Script } from './kafka-inputs.js';
import { Rng } from './prng.js';
import { startTarget, type Target } from './target.js';

export interface FuzzOptions {
  seed: number;
  /** Stop after this many inputs (whichever of inputs/seconds comes first). */
  inputs?: number;
  seconds?: number;
  /** Inputs per round (a check follows each round). */
  roundInputs?: number;
  /** Connections in flight. */
  concurrency?: number;
  maxRssBytes?: number;
  /** Where a failing round's inputs go. */
  failureDir?: string;
  /** Send these scripts (from a failure file) instead of generating inputs. */
  replay?: Script[];
  /** Progress lines (every `progressMs`). */
  log?: (line: string) => void;
  progressMs?: number;
  /** Ends the run after the round in flight (and its check), e.g. on Ctrl-C. */
  signal?: AbortSignal;
}

export interface FuzzReport {
  seed: number;
  rounds: number;
  inputs: number;
  kafkaInputs: number;
  httpRequests: number;
  connections: number;
  /** Kafka connections that got at least one response frame back (the rest were closed or left unanswered). */
  kafkaAnswered: number;
  seconds: number;
  inputsPerSecond: number;
  maxRssBytes: number;
  canaryRecords: number;
  httpStatuses: Record<string, number>;
  /** A few HTTP requests that got no answer at all before the connection closed or the client gave up (informational). */
  unanswered: string[];
  /** Error-level log lines of the process by message (those FATAL_LOG does not fail on). */
  errorLogs: Record<string, number>;
  failure?: string;
  failureFile?: string;
}

const MB = 1024 * 1024;

/**
 * Log lines that fail a run: anything uncaught or unhandled, a request that failed inside the gateway (it closes the
 * client's connection instead of answering an error), and Node's warnings of timers that overflowed (they fire at
 * once) or listeners that leak. Other error-level lines are counted in the report.
 */
const FATAL_LOG = /uncaught|unhandled|"msg":"kafka request failed"|TimeoutOverflowWarning|MaxListenersExceededWarning/i;

/** Sends one script over its own connection; resolves with the first bytes answered (for HTTP status lines). */
export function send(script: Script, port: number): Promise<{ head: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let head = '';
    let idle: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      clearTimeout(cap);
      socket.destroy();
      resolve({ head });
    };
    // HTTP: wait for the answer (or the close); Kafka: for the answers to stop coming. Incomplete inputs are abandoned.
    const cap = setTimeout(finish, script.kind === 'http' ? 5000 : 2000);
    const quiet = (): void => {
      clearTimeout(idle);
      idle = setTimeout(finish, script.kind === 'http' ? 3000 : 250);
    };
    socket.on('data', (d: Buffer) => {
      if (head.length < 64) head += d.subarray(0, 64).toString('latin1');
      if (script.kind === 'http' && head.includes('\r\n')) finish();
      else quiet();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.once('connect', async () => {
      for (let i = 0; i < script.chunks.length && !done; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 2));
        socket.write(script.chunks[i]);
      }
      quiet();
    });
  });
}

/** The versions the server serves, from its own ApiVersions answer. */
async function servedVersions(port: number): Promise<Map<number, [number, number]>> {
  const w = new Writer();
  writeRequestHeader(w, { apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 1, clientId: 'sluice-fuzz' });
  kafka.writeApiVersionsRequest(w, 3, { clientSoftwareName: 'sluice-fuzz', clientSoftwareVersion: '1' });
  const frame = await new Promise<Buffer>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(sizePrefixed(w.toBuffer())));
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        socket.destroy();
        resolve(buf.subarray(4, 4 + buf.readInt32BE(0)));
      }
    });
    socket.on('error', reject);
  });
  const r = new Reader(frame);
  readResponseHeader(r, 0);
  const body = kafka.readApiVersionsResponse(r, 3);
  return new Map(body.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
}

async function createTopic(target: Target, name: string, partitions: number, configs: Record<string, string> = {}): Promise<void> {
  const res = await fetch(`${target.httpUrl}/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, partitions, configs }) });
  if (!res.ok && res.status !== 409) throw new Error(`creating ${name}: ${res.status} ${await res.text()}`);
}

/** Every stored record of the fuzz topics still reads over HTTP (a batch accepted at produce must never block a reader). */
async function fuzzTopicsReadable(target: Target, cursors: Map<string, number>): Promise<string | undefined> {
  for (const [topic, partitions] of [['fuzz-a', 3], ['fuzz-compact', 1]] as const) {
    const topicRes = await fetch(`${target.httpUrl}/topics/${topic}`);
    if (topicRes.status === 404) {
      // Deleted by an input (DELETE /topics/{topic} is fair game): start it over.
      await createTopic(target, topic, partitions, topic === 'fuzz-compact' ? { 'cleanup.policy': 'compact' } : {});
      for (let p = 0; p < partitions; p++) cursors.delete(`${topic}/${p}`);
      continue;
    }
    for (let p = 0; p < partitions; p++) {
      const key = `${topic}/${p}`;
      const offsets = (await (await fetch(`${target.httpUrl}/topics/${topic}/partitions/${p}/offsets`)).json()) as { beginning_offset?: number; end_offset?: number };
      let offset = Math.max(cursors.get(key) ?? 0, offsets.beginning_offset ?? 0);
      const end = offsets.end_offset ?? 0;
      for (let reads = 0; offset < end && reads < 50; reads++) {
        const res = await fetch(`${target.httpUrl}/topics/${topic}/partitions/${p}/records?offset=${offset}`);
        const text = await res.text();
        if (res.status === 416 || res.status === 404) break; // moved by DeleteRecords, or the partition is gone
        if (!res.ok) return `GET /topics/${topic}/partitions/${p}/records?offset=${offset} answered ${res.status}: ${text.slice(0, 300)}`;
        const records = JSON.parse(text) as Array<{ offset: number }>;
        // No records from here (all compacted or deleted away): the rest was read.
        offset = records.length ? records[records.length - 1].offset + 1 : end;
      }
      cursors.set(key, offset);
    }
  }
  return undefined;
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? ((line: string) => process.stdout.write(line + '\n'));
  const roundInputs = options.roundInputs ?? 2000;
  const concurrency = options.concurrency ?? 16;
  const maxRss = options.maxRssBytes ?? 1536 * MB;
  const maxInputs = options.inputs ?? Infinity;
  log(`sluice fuzz: seed ${options.seed}${options.replay ? ` (replaying ${options.replay.length} scripts)` : ''}`);

  const target = await startTarget();
  const canaryTopic = `canary-${(options.seed >>> 0).toString(16)}`;
  const canary = new Canary(target.kafkaBootstrap, canaryTopic, 2);
  let kafkaInputs: KafkaInputs;
  let httpInputs: HttpInputs;
  try {
    await createTopic(target, canaryTopic, 2);
    await createTopic(target, 'fuzz-a', 3);
    await createTopic(target, 'fuzz-compact', 1, { 'cleanup.policy': 'compact' });
    for (const t of ['fuzz-t0', 'fuzz-t1']) await createTopic(target, t, 2);
    await canary.start();
    await canary.check(-1);
    const apis = servedApis(await servedVersions(target.kafkaPort));
    kafkaInputs = new KafkaInputs(apis, produceBody);
    httpInputs = new HttpInputs(await discoverRoutes(target.httpUrl), `127.0.0.1:${target.httpPort}`);
    log(`target: pid ${target.process.pid}, Kafka ${target.kafkaBootstrap} (${apis.length} APIs served), HTTP ${target.httpUrl}, data ${target.dataDir}`);
  } catch (error) {
    await canary.stop();
    await target.stop();
    throw error;
  }

  const report: FuzzReport = { seed: options.seed, rounds: 0, inputs: 0, kafkaInputs: 0, httpRequests: 0, connections: 0, kafkaAnswered: 0, seconds: 0, inputsPerSecond: 0, maxRssBytes: 0, canaryRecords: 0, httpStatuses: {}, unanswered: [], errorLogs: {} };
  const started = Date.now();
  // Fuzzing time: start-up and the first check do not count.
  const deadline = options.seconds === undefined ? Infinity : started + options.seconds * 1000;
  const cursors = new Map<string, number>();
  let roundScripts: Script[] = [];
  let failure: string | undefined;
  let lastRss = await target.rss();
  let logScan = 0;

  const progress = setInterval(() => {
    const s = (Date.now() - started) / 1000;
    log(`[${s.toFixed(0)} s] round ${report.rounds}: ${report.inputs} inputs (${(report.inputs / s).toFixed(0)}/s; Kafka ${report.kafkaInputs}, HTTP ${report.httpRequests}) over ${report.connections} connections; RSS ${(lastRss / MB).toFixed(0)} MB (max ${(report.maxRssBytes / MB).toFixed(0)}); canary ${report.canaryRecords} records`);
  }, options.progressMs ?? 5000);

  const check = async (round: number): Promise<string | undefined> => {
    if (!target.process.running) return `the process exited: ${JSON.stringify(await target.process.exited)}\n${target.process.tail(40)}`;
    lastRss = await target.rss();
    report.maxRssBytes = Math.max(report.maxRssBytes, lastRss);
    if (lastRss > maxRss) return `RSS ${(lastRss / MB).toFixed(0)} MB is over the bound of ${(maxRss / MB).toFixed(0)} MB`;
    const lines = target.process.lines;
    for (; logScan < lines.length; logScan++) {
      const raw = lines[logScan].raw;
      if (FATAL_LOG.test(raw)) return `logged: ${raw.slice(0, 2000)}`;
      const json = lines[logScan].json;
      if (json && (json.level === 'error' || json.level === 'fatal')) {
        const msg = String(json.msg);
        report.errorLogs[msg] = (report.errorLogs[msg] ?? 0) + 1;
      }
    }
    // The lines were checked: drop them so a long run's memory stays flat (the log file keeps them all).
    lines.splice(0, lines.length);
    logScan = 0;
    try {
      await canary.check(round);
      report.canaryRecords = canary.records;
      return await withTimeout(fuzzTopicsReadable(target, cursors), 30_000, 'reading the fuzz topics');
    } catch (error) {
      return `${(error as Error).message}${target.process.running ? '' : `\nthe process exited:\n${target.process.tail(40)}`}`;
    }
  };

  try {
    for (let round = 0; !failure; round++) {
      if (report.inputs >= maxInputs || Date.now() >= deadline || options.signal?.aborted) break;
      const rng = Rng.forRound(options.seed, round);
      let scripts: Script[];
      if (options.replay) {
        scripts = options.replay;
      } else {
        scripts = [];
        for (let n = 0; n < roundInputs && report.inputs + n < maxInputs; ) {
          const roll = rng.int(10);
          const script = roll < 4 ? httpInputs.script(rng) : kafkaInputs.script(rng);
          scripts.push(script);
          n += script.inputs;
        }
      }
      roundScripts = scripts;
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < scripts.length) {
            const script = scripts[next++];
            const { head } = await send(script, script.kind === 'http' ? target.httpPort : target.kafkaPort);
            report.connections++;
            report.inputs += script.inputs;
            if (script.kind === 'http') {
              report.httpRequests++;
              const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 'none';
              report.httpStatuses[status] = (report.httpStatuses[status] ?? 0) + 1;
              if (status === 'none' && report.unanswered.length < 10) report.unanswered.push(script.label);
              if (status === '500' && !failure) failure = `HTTP 500 for ${script.label}`;
            } else {
              report.kafkaInputs += script.inputs;
              if (head.length > 0) report.kafkaAnswered++;
            }
          }
        }),
      );
      report.rounds = round + 1;
      failure ??= await check(round);
      if (options.replay) break;
    }
  } finally {
    clearInterval(progress);
    report.seconds = (Date.now() - started) / 1000;
    report.inputsPerSecond = report.inputs / report.seconds;
    if (failure) {
      report.failure = failure;
      const dir = options.failureDir ?? join(workspaceRoot, 'fuzz-failures');
      await mkdir(dir, { recursive: true });
      const file = join(dir, `seed-${options.seed}-round-${report.rounds - 1}.json`);
      await writeFile(file, JSON.stringify({ seed: options.seed, round: report.rounds - 1, failure, scripts: roundScripts.map((s) => ({ ...s, chunks: s.chunks.map((c) => c.toString('base64')) })) }));
      report.failureFile = file;
      if (target.process.running) {
        // A diagnostic report of the live process: where its event loop is, if it is stuck.
        target.process.kill('SIGUSR2');
        await new Promise((r) => setTimeout(r, 3000));
      }
      log(`FAILURE (seed ${options.seed}, round ${report.rounds - 1}): ${failure}\ninputs of the round kept in ${file} (replay: npm run fuzz -- --replay ${file})\nprocess log: ${target.dataDir}/logs, diagnostic report: ${target.dataDir}/reports`);
    }
    await canary.stop();
    if (!failure) await target.stop();
    else await target.stopKeepingData();
  }
  return report;
}

/** The scripts of a failure file written by runFuzz. */
export async function loadReplay(file: string): Promise<{ seed: number; scripts: Script[] }> {
  const saved = JSON.parse(await readFile(file, 'utf8')) as { seed: number; scripts: Array<Omit<Script, 'chunks'> & { chunks: string[] }> };
  return { seed: saved.seed, scripts: saved.scripts.map((s) => ({ ...s, chunks: s.chunks.map((c) => Buffer.from(c, 'base64')) })) };
}
