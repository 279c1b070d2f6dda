// The data directory lock against real processes: a live holder refuses, a killed one leaves a lock that is taken
// over, and a lock never outlives the process that wrote it, however the pid numbers fall.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirLockedError, lockDataDir, LOCK_FILE, type LockHolder } from './data-dir-lock.js';

let dir: { path: string };
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = { path: await mkdtemp(join(tmpdir(), 'sluice-lock-')) };
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await rm(dir.path, { recursive: true, force: true });
});

/** A process that runs until killed. */
async function sleeper(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(child);
  await new Promise((resolve) => child.once('spawn', resolve));
  return child;
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}

/** Writes a lock file as another process would have. */
async function writeLock(holder: Partial<LockHolder>): Promise<void> {
  const full: LockHolder = { pid: 1, hostname: hostname(), owner: 'broker', startedAt: '2026-01-01T00:00:00.000Z', processStart: null, ...holder };
  await writeFile(join(dir.path, LOCK_FILE), JSON.stringify(full));
}

describe('lockDataDir', () => {
  it('refuses a second lock while the first is held, in this process too, and locks again once released', async () => {
    const lock = await lockDataDir(dir.path, 'broker');
    const holder = JSON.parse(await readFile(join(dir.path, LOCK_FILE), 'utf8')) as LockHolder;
    expect(holder).toMatchObject({ pid: process.pid, hostname: hostname(), owner: 'broker' });
    const err = await lockDataDir(dir.path, 'broker').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect((err as DataDirLockedError).code).toBe('DATA_DIR_LOCKED');
    expect((err as Error).message).toContain(`data directory ${dir.path} is in use by broker (pid ${process.pid}, this process`);
    await lock.release();
    expect(await readdir(dir.path)).toEqual([]);
    const again = await lockDataDir(dir.path, 'broker');
    expect(again.replaced).toBeUndefined();
    await again.release();
  });

  it('creates the directory', async () => {
    const lock = await lockDataDir(join(dir.path, 'a', 'b'), 'controller');
    expect(await readdir(join(dir.path, 'a', 'b'))).toEqual([LOCK_FILE]);
    await lock.release();
  });

  it('refuses while the holding process runs and takes the lock over once it was killed with SIGKILL', async () => {
    const holder = await sleeper();
    await writeLock({ pid: holder.pid, owner: 'sluice dev' });
    await expect(lockDataDir(dir.path, 'sluice dev')).rejects.toThrow(
      `data directory ${dir.path} is in use by sluice dev (pid ${holder.pid} on ${hostname()}, since 2026-01-01T00:00:00.000Z)`,
    );
    holder.kill('SIGKILL');
    await exited(holder);
    const lock = await lockDataDir(dir.path, 'sluice dev');
    expect(lock.replaced?.pid).toBe(holder.pid);
    expect((JSON.parse(await readFile(lock.path, 'utf8')) as LockHolder).pid).toBe(process.pid);
    await lock.release();
  });

  it('takes over a lock whose pid now belongs to another process, to this one, or to another host, and an unreadable one', async () => {
    const other = await sleeper();
    // The pid runs, but it started later than the process that wrote the lock (Linux start times).
    await writeLock({ pid: other.pid, processStart: 1 });
    const reused = await lockDataDir(dir.path, 'broker');
    expect(reused.replaced?.pid).toBe(other.pid);
    await reused.release();
    // A restarted container's process often gets the pid its predecessor had.
    await writeLock({ pid: process.pid });
    const mine = await lockDataDir(dir.path, 'broker');
    expect(mine.replaced?.pid).toBe(process.pid);
    await mine.release();
    await writeLock({ pid: other.pid, hostname: 'another-container' });
    const foreign = await lockDataDir(dir.path, 'broker');
    expect(foreign.replaced?.hostname).toBe('another-container');
    await foreign.release();
    await writeFile(join(dir.path, LOCK_FILE), 'not a lock');
    const unreadable = await lockDataDir(dir.path, 'broker');
    await unreadable.release();
    expect(await readdir(dir.path)).toEqual([]);
  });

  it('gives a stale lock to exactly one of many takers', async () => {
    const gone = await sleeper();
    gone.kill('SIGKILL');
    await exited(gone);
    await writeLock({ pid: gone.pid });
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => lockDataDir(dir.path, 'broker')));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DataDirLockedError);
    await won[0].value.release();
    expect(await readdir(dir.path)).toEqual([]);
  });

  it('releases only its own lock', async () => {
    const lock = await lockDataDir(dir.path, 'broker');
    await writeLock({ pid: 424242, startedAt: 'later' });
    await lock.release();
    expect((JSON.parse(await readFile(join(dir.path, LOCK_FILE), 'utf8')) as LockHolder).startedAt).toBe('later');
  });
});
