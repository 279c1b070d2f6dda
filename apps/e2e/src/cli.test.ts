// The `sluice` operator CLI as a real process (its build output) against the embedded Sluice: every verb's output and
// exit code, records produced from stdin and from a file and consumed back exactly, a group's lag after the CLI
// consumed in it, offset resets (dry run and real), and `cluster health` on a stack that loses a broker.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '@sluice/protocol';
import { appEntry, freePort, startNatsServer, startStack, tempDir, waitFor, workspaceRoot, type NatsServer, type RunningStack, type TempDir } from '@sluice/testing';
import { startEmbedded, type EmbeddedSluice } from './embedded-sluice.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `sluice ARGS` (node apps/cli/dist/main.js) with stdin `input`; resolves when it exits. */
function sluiceAt(url: string | undefined, args: string[], input?: string, entry = [appEntry('cli')]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.SLUICE_URL;
    if (url !== undefined) env.SLUICE_URL = url;
    const child = spawn(entry.length === 1 ? process.execPath : entry[0], entry.length === 1 ? [entry[0], ...args] : [...entry.slice(1), ...args], { env, cwd: workspaceRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

let sluice: EmbeddedSluice;
let dir: TempDir;
const cli = (args: string[], input?: string) => sluiceAt(sluice.httpUrl, args, input);
const json = async <T>(args: string[]): Promise<T> => {
  const r = await cli([...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
};

interface Lag {
  topic: string;
  partition: number;
  committed_offset: number;
  log_end_offset: number;
  lag: number | null;
}

beforeAll(async () => {
  sluice = await startEmbedded();
  dir = await tempDir('sluice-cli-');
});

afterAll(async () => {
  await sluice?.stop();
  await dir?.remove();
});

describe('sluice CLI', { timeout: 300_000 }, () => {
  it('prints help for every verb, and exits 2 on a bad command line', async () => {
    const top = await sluiceAt(undefined, ['--help']);
    expect(top.code).toBe(0);
    for (const verb of ['cluster info', 'cluster health', 'partition reassign', 'partition reassignments', 'leader elect', 'topic create', 'topic list', 'topic describe', 'topic alter-config', 'topic add-partitions', 'topic delete', 'produce', 'consume', 'group list', 'group describe', 'group reset-offsets', 'group delete', 'group delete-offsets']) {
      expect(top.stdout).toContain(`sluice ${verb}`);
      const help = await sluiceAt(undefined, [...verb.split(' '), '--help']);
      expect(help.code, verb).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^sluice ${verb}`));
      expect(help.stdout).toContain('--json');
    }
    expect((await sluiceAt(undefined, ['topics', '--help'])).stdout).toContain('add-partitions');
    const unknown = await cli(['topic', 'explode']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown verb "explode"');
    const missing = await cli(['topic', 'create']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing NAME');
    const badFlag = await cli(['topic', 'create', 'x', '--partitions', 'three']);
    expect(badFlag.code).toBe(2);
    const completion = await cli(['completion', 'bash']);
    expect(completion.code).toBe(0);
    expect(completion.stdout).toContain('complete -o default -F _sluice sluice');
    expect(completion.stdout).toContain('reset-offsets');
  });

  it('is the workspace bin: node_modules/.bin/sluice runs the build', async () => {
    const bin = join(workspaceRoot, 'node_modules', '.bin', 'sluice');
    expect(existsSync(bin)).toBe(true);
    const r = await sluiceAt(sluice.httpUrl, ['topic', 'list'], undefined, [bin]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+PARTITIONS/);
  });

  it('exits 6 with a clear message when no gateway answers', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const r = await sluiceAt(closed, ['topic', 'list']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`no gateway answered at ${closed} (ECONNREFUSED)`);
  });

  it('creates, lists, describes, alters, grows and deletes topics', async () => {
    const created = await cli(['topic', 'create', 'cli-orders', '-p', '3', '-r', '1', '-c', 'retention.ms=60000', '-c', 'cleanup.policy=delete']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe('created topic cli-orders with 3 partitions\n');
    const again = await cli(['topic', 'create', 'cli-orders', '-p', '3']);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('TOPIC_ALREADY_EXISTS');

    const list = await cli(['topics', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^cli-orders\s+3\s+1\s+cleanup\.policy=delete,retention\.ms=60000$/m);
    expect((await json<Array<{ name: string; partitions: number }>>(['topic', 'list'])).find((t) => t.name === 'cli-orders')?.partitions).toBe(3);

    const described = await cli(['topic', 'describe', 'cli-orders']);
    expect(described.code).toBe(0);
    expect(described.stdout).toMatch(/^PARTITION\s+LEADER\s+EPOCH\s+REPLICAS\s+ISR\s+START\s+END/m);
    expect(described.stdout).toMatch(/^2\s+1\s+\d+\s+1\s+1\s+0\s+0$/m);
    expect(described.stdout).toMatch(/^retention\.ms\s+60000$/m);

    const altered = await cli(['topic', 'alter-config', 'cli-orders', '--set', 'retention.ms=120000', '--delete', 'cleanup.policy']);
    expect(altered.code, altered.stderr).toBe(0);
    expect((await json<{ configs: Record<string, string> }>(['topic', 'describe', 'cli-orders'])).configs).toEqual({ 'retention.ms': '120000' });
    expect((await cli(['topic', 'alter-config', 'cli-orders', '--set', 'retention.ms=soon'])).code).toBe(1);

    const grown = await cli(['topic', 'add-partitions', 'cli-orders', '-n', '4']);
    expect(grown.code, grown.stderr).toBe(0);
    expect(grown.stdout).toBe('cli-orders has 4 partitions\n');

    expect((await cli(['topic', 'create', 'cli-doomed', '-p', '1'])).code).toBe(0);
    const deleted = await cli(['topic', 'delete', 'cli-doomed']);
    expect(deleted.code, deleted.stderr).toBe(0);
    await waitFor(async () => (await cli(['topic', 'describe', 'cli-doomed'])).code === 3, { what: 'the deleted topic gone' });
    const gone = await cli(['topic', 'describe', 'cli-doomed']);
    expect(gone.stderr).toContain('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('produces from stdin and from a file, and consumes back exactly', async () => {
    expect((await cli(['topic', 'create', 'cli-records', '-p', '3'])).code).toBe(0);
    const stdinLines = Array.from({ length: 20 }, (_, i) => `user-${i % 5}:hello ${i}`);
    const fromStdin = await cli(['produce', 'cli-records', '-k', ':', '-H', 'source=cli', '-H', 'v=1'], stdinLines.join('\n') + '\n');
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(fromStdin.stdout).toBe('');

    const file = join(dir.path, 'records.txt');
    const fileLines = Array.from({ length: 3000 }, (_, i) => `file record ${i}`);
    await writeFile(file, fileLines.join('\n') + '\n');
    const fromFile = await cli(['produce', 'cli-records', '--file', file, '-p', '1', '--acks', '1']);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stderr).toMatch(/100% 3000 records, \d+ records\/s/);

    const consumed = await cli(['consume', 'cli-records', '-o', 'beginning', '-e', '-F', '%p|%o|%k|%s|%h']);
    expect(consumed.code, consumed.stderr).toBe(0);
    const lines = consumed.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3020);
    const keyed = lines.filter((l) => l.split('|')[2] !== '');
    expect(keyed.map((l) => l.split('|')[3]).sort()).toEqual(stdinLines.map((l) => l.slice(l.indexOf(':') + 1)).sort());
    for (const l of keyed) {
      const [partition, , key, , headers] = l.split('|');
      expect(Number(partition)).toBe(partitionForKey(Buffer.from(key), 3));
      expect(headers).toBe('source=cli,v=1');
    }
    // The file's records went to partition 1, in order, after whatever keyed records got there first.
    const onOne = lines.filter((l) => l.startsWith('1|') && l.split('|')[2] === '');
    expect(onOne.map((l) => l.split('|')[3])).toEqual(fileLines);

    // -n, -p, an offset and --json.
    const some = await cli(['consume', 'cli-records', '-p', '1', '-o', '5', '-n', '3', '--json']);
    expect(some.code).toBe(0);
    const records = some.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { partition: number; offset: number });
    expect(records.map((r) => [r.partition, r.offset])).toEqual([
      [1, 5],
      [1, 6],
      [1, 7],
    ]);
    // @timestamp: nothing at or after a time in the future, so nothing before the end.
    const future = await cli(['consume', 'cli-records', '-o', `@${Date.now() + 3_600_000}`, '-e']);
    expect(future.code).toBe(0);
    expect(future.stdout).toBe('');
    // -f json: a value that is not JSON is refused before anything is sent.
    const notJson = await cli(['produce', 'cli-records', '-f', 'json'], '{"a":1}\nnot json\n');
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('line 2');
    const jsonIn = await cli(['produce', 'cli-records', '-f', 'json', '-p', '0', '-k', '\t'], '"k"\t{"a":1}\n');
    expect(jsonIn.code, jsonIn.stderr).toBe(0);
    const jsonOut = await cli(['consume', 'cli-records', '-p', '0', '-o', '-1', '-n', '1', '-f', 'json', '-F', '%k=%s']);
    expect(jsonOut.stdout).toBe('"k"={"a":1}\n');
  });

  it('consumes in a group, shows its lag, resets its offsets (dry run and for real) and deletes it', async () => {
    expect((await cli(['topic', 'create', 'cli-lag', '-p', '2'])).code).toBe(0);
    const lines = Array.from({ length: 40 }, (_, i) => `k${i}:v${i}`);
    expect((await cli(['produce', 'cli-lag', '-k', ':'], lines.join('\n'))).code).toBe(0);
    const ends = (await json<{ partitions: Array<{ partition: number; end_offset: number }> }>(['topic', 'describe', 'cli-lag'])).partitions.map((p) => p.end_offset);
    expect(ends[0] + ends[1]).toBe(40);

    const read = await cli(['consume', 'cli-lag', '-g', 'cli-group', '-n', '15', '-F', '%p %o']);
    expect(read.code, read.stderr).toBe(0);
    const printed = read.stdout.trimEnd().split('\n').map((l) => l.split(' ').map(Number));
    expect(printed).toHaveLength(15);
    const next = new Map<number, number>();
    for (const [p, o] of printed) next.set(p, Math.max(next.get(p) ?? 0, o + 1));

    const groups = await cli(['groups', 'list']);
    expect(groups.stdout).toMatch(/^cli-group\s+Empty\s+consumer$/m);
    const described = await json<{ state: string; members: unknown[]; lag: Lag[]; total_lag: number }>(['group', 'describe', 'cli-group']);
    expect(described.members).toEqual([]);
    expect(described.lag.map((l) => [l.partition, l.committed_offset, l.lag])).toEqual([...next].sort((a, b) => a[0] - b[0]).map(([p, o]) => [p, o, ends[p] - o]));
    expect(described.total_lag).toBe([...next].reduce((s, [p, o]) => s + ends[p] - o, 0));
    const table = await cli(['group', 'describe', 'cli-group']);
    expect(table.stdout).toContain(`total lag ${described.total_lag}`);
    expect(table.stdout).toMatch(/^TOPIC\s+PARTITION\s+COMMITTED\s+END\s+LAG/m);

    // Continuing in the group picks up after what was committed: together, every record exactly once.
    const rest = await cli(['consume', 'cli-lag', '-g', 'cli-group', '-e', '-F', '%p %o']);
    expect(rest.code, rest.stderr).toBe(0);
    const all = [...printed, ...rest.stdout.trimEnd().split('\n').map((l) => l.split(' ').map(Number))].map(([p, o]) => `${p}/${o}`).sort();
    expect(all).toEqual([...Array.from({ length: ends[0] }, (_, o) => `0/${o}`), ...Array.from({ length: ends[1] }, (_, o) => `1/${o}`)].sort());
    expect((await json<{ total_lag: number }>(['group', 'describe', 'cli-group'])).total_lag).toBe(0);

    const dry = await cli(['group', 'reset-offsets', 'cli-group', '--topic', 'cli-lag', '--to-earliest', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`^cli-lag\\s+0\\s+${ends[0]}\\s+0$`, 'm'));
    expect(dry.stderr).toContain('dry run: nothing was committed');
    expect((await json<{ total_lag: number }>(['group', 'describe', 'cli-group'])).total_lag).toBe(0);

    const real = await cli(['group', 'reset-offsets', 'cli-group', '--topic', 'cli-lag', '--to-earliest']);
    expect(real.code, real.stderr).toBe(0);
    expect((await json<{ total_lag: number }>(['group', 'describe', 'cli-group'])).total_lag).toBe(40);

    const shifted = await json<{ offsets: Array<{ partition: number; offset: number; previous_offset: number }> }>(['group', 'reset-offsets', 'cli-group', '--topic', 'cli-lag', '--shift-by', '3', '-p', '0']);
    expect(shifted.offsets).toEqual([{ partition: 0, offset: Math.min(3, ends[0]), previous_offset: 0 }]);
    const toOffset = await json<{ offsets: Array<{ offset: number }> }>(['group', 'reset-offsets', 'cli-group', '--topic', 'cli-lag', '--to-offset', '1']);
    expect(toOffset.offsets.map((o) => o.offset)).toEqual([1, 1]);
    const future = await json<{ offsets: Array<{ offset: number }> }>(['group', 'reset-offsets', 'cli-group', '--topic', 'cli-lag', '--to-datetime', new Date(Date.now() + 3_600_000).toISOString()]);
    expect(future.offsets.map((o) => o.offset)).toEqual(ends);
    const latest = await cli(['group', 'reset-offsets', 'cli-group', '--topic', 'cli-lag', '--to-latest']);
    expect(latest.code).toBe(0);
    expect((await cli(['group', 'reset-offsets', 'cli-group', '--topic', 'cli-lag'])).code).toBe(2);
    expect((await cli(['group', 'reset-offsets', 'cli-group', '--topic', 'cli-lag', '--to-earliest', '--to-latest'])).code).toBe(2);

    // Kafka's OffsetDelete: partition 0's committed offset goes, partition 1's stays.
    const dropped = await cli(['group', 'delete-offsets', 'cli-group', '--topic', 'cli-lag', '-p', '0']);
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(dropped.stdout).toContain('deleted the committed offsets of group cli-group on cli-lag partitions 0');
    const afterDrop = await json<{ lag: Lag[] }>(['group', 'describe', 'cli-group']);
    expect(afterDrop.lag.filter((l) => l.partition === 0 && l.committed_offset >= 0)).toEqual([]);
    expect(afterDrop.lag.filter((l) => l.partition === 1 && l.committed_offset >= 0)).toHaveLength(1);
    expect((await cli(['group', 'delete-offsets', 'cli-group'])).code).toBe(2);
    expect((await cli(['group', 'delete-offsets', 'cli-group', '--topic', 'no-such-topic'])).code).toBe(3);

    const deleted = await cli(['group', 'delete', 'cli-group']);
    expect(deleted.code, deleted.stderr).toBe(0);
    const gone = await cli(['group', 'describe', 'cli-group']);
    expect(gone.code).toBe(3);
  });

  it('shows the cluster and reports it healthy', async () => {
    const info = await json<{ brokers: Array<{ id: number; state: string; partitions: number; leaders: number }>; gateways: unknown[]; group_coordinators: unknown[]; partitions: number; controller_epoch: number }>(['cluster', 'info']);
    expect(info.brokers).toHaveLength(1);
    expect(info.brokers[0]).toMatchObject({ id: 1, state: 'alive' });
    expect(info.brokers[0].leaders).toBe(info.partitions);
    expect(info.group_coordinators.length).toBeGreaterThan(0);
    expect(info.controller_epoch).toBeGreaterThan(0);
    expect(info.gateways.length).toBeGreaterThan(0);
    const table = await cli(['cluster', 'info']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^1\\s+\\S+\\s+-\\s+alive\\s+${info.partitions}\\s+${info.partitions}$`, 'm'));
    for (const title of ['BROKERS', 'GROUP COORDINATORS', 'GATEWAYS']) expect(table.stdout).toContain(title);
    const health = await cli(['cluster', 'health']);
    expect(health.code, health.stdout).toBe(0);
    expect(health.stdout).toMatch(/^healthy: \d+ partitions, 0 offline, 0 under-replicated, 1\/1 brokers alive$/m);
  });
});

describe('sluice cluster health on a stack that loses a broker', () => {
  let nats: NatsServer | undefined;
  let stack: RunningStack | undefined;
  beforeAll(async () => {
    nats = await startNatsServer();
    stack = await startStack({ natsUrl: nats.url, brokers: 2, sessionTimeoutMs: 3000 });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    await nats?.stop();
  });

  it('moves a partition to the other broker (partition reassign) and elects preferred leaders (leader elect)', async () => {
    const run = (args: string[]) => sluiceAt(stack!.httpUrl, args);
    expect((await run(['topic', 'create', 'moved', '-p', '1', '-r', '1'])).code).toBe(0);
    const replicasOf = async () => {
      const r = await run(['topic', 'describe', 'moved', '--json']);
      return (JSON.parse(r.stdout) as { partitions: Array<{ leader: number; replicas: Array<{ broker: number; in_sync: boolean }> }> }).partitions[0];
    };
    const from = (await replicasOf()).leader;
    const to = from === 1 ? 2 : 1;
    const started = await run(['partition', 'reassign', 'moved', '0', '--replicas', String(to)]);
    expect(started.code, started.stdout + started.stderr).toBe(0);
    expect(started.stdout).toMatch(/^moved\s+0\s+started$/m);
    await waitFor(async () => (await replicasOf()).leader === to, { timeoutMs: 30_000, what: `the partition moved to broker ${to}` });
    expect((await replicasOf()).replicas.map((r) => r.broker)).toEqual([to]);
    const listed = await run(['partition', 'reassignments', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual([]);
    // Nothing to cancel now, and bad command lines are usage errors.
    const cancel = await run(['partition', 'reassign', 'moved', '0', '--cancel']);
    expect(cancel.code).toBe(1);
    expect(cancel.stdout).toContain('NO_REASSIGNMENT_IN_PROGRESS');
    for (const bad of [['partition', 'reassign', 'moved', '0'], ['partition', 'reassign', 'moved', 'x', '--replicas', '1'], ['partition', 'reassign', 'moved', '0', '--replicas', 'a,b']]) {
      expect((await run(bad)).code, bad.join(' ')).toBe(2);
    }
    const elect = await run(['leader', 'elect', 'moved']);
    expect(elect.code, elect.stdout).toBe(0);
    expect(elect.stdout).toMatch(/^moved\s+0\s+ELECTION_NOT_NEEDED/m);
    expect((await run(['leader', 'elect', 'no-such-topic'])).code).toBe(3);
    // The next test counts this stack's partitions: leave none behind.
    expect((await run(['topic', 'delete', 'moved'])).code).toBe(0);
    await waitFor(async () => (await run(['topic', 'describe', 'moved'])).code === 3, { what: 'the moved topic deleted' });
  });

  it('exits 0 while every partition is in sync, 5 once some are offline or under-replicated', async () => {
    const run = (args: string[]) => sluiceAt(stack!.httpUrl, args);
    expect((await run(['topic', 'create', 'both', '-p', '2', '-r', '2'])).code).toBe(0);
    expect((await run(['topic', 'create', 'single', '-p', '2', '-r', '1'])).code).toBe(0);
    await waitFor(async () => (await run(['cluster', 'health'])).code === 0, { timeoutMs: 20_000, what: 'a healthy cluster' });
    await stack!.brokers.get(2)!.stop();
    const unhealthy = await waitFor(
      async () => {
        const r = await run(['cluster', 'health']);
        return r.code === 5 && r.stdout.includes(' 1 offline') ? r : undefined;
      },
      { timeoutMs: 30_000, what: 'cluster health to report the lost broker' },
    );
    expect(unhealthy.stdout).toMatch(/^unhealthy: 4 partitions, 1 offline, 2 under-replicated, 1\/2 brokers alive$/m);
    expect(unhealthy.stdout).toMatch(/^single\s+\d\s+offline/m);
    expect(unhealthy.stdout).toMatch(/^both\s+0\s+under-replicated/m);
    const asJson = JSON.parse((await run(['cluster', 'health', '--json'])).stdout) as { healthy: boolean; brokers_down: number[] };
    expect(asJson).toMatchObject({ healthy: false, brokers_down: [2] });
  });
});
