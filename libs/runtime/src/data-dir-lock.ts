// An exclusive lock on a service's data directory: a second process started on the same directory refuses to start,
// naming the holder, before it writes anything there. The lock is a file created whole (written beside, then hard-linked
// into place, which fails if it exists) holding the holder's pid; a lock whose holder is gone (killed with SIGKILL,
// crashed) is stale and taken over, so it never outlives its process. No native code: Node has no flock().
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { SluiceError } from '@sluice/protocol';
import type { Logger } from 'pino';

/** The lock file's name inside the directory (Kafka's log directories use the same). */
export const LOCK_FILE = '.lock';

export const DataDirLockErrorCode = {
  locked: 'DATA_DIR_LOCKED',
} as const;

/** What a lock file says about its holder. */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** What holds it (broker, controller, sluice dev, ...). */
  owner: string;
  startedAt: string;
  /** Linux: the process's start time in clock ticks since boot (/proc/<pid>/stat), to tell a reused pid apart. */
  processStart: number | null;
}

export class DataDirLockedError extends SluiceError {
  constructor(
    readonly dir: string,
    readonly holder: LockHolder | null,
  ) {
    super(
      DataDirLockErrorCode.locked,
      holder
        ? `data directory ${dir} is in use by ${holder.owner} (pid ${holder.pid}${holder.pid === process.pid ? ', this process' : ''} on ${holder.hostname}, since ${holder.startedAt}): stop it first, or give this process another directory`
        : `data directory ${dir} could not be locked: other processes keep taking ${join(dir, LOCK_FILE)}`,
    );
  }
}

export interface DataDirLock {
  readonly dir: string;
  readonly path: string;
  /** The holder of a stale lock this one replaced (worth a log line), if any. */
  readonly replaced: LockHolder | undefined;
  /** Removes the lock file if it is still this one. */
  release(): Promise<void>;
}

/** Lock files this process holds: a second lock of the same directory in one process is refused too. */
const held = new Set<string>();

/**
 * Locks `dir` (created if missing) for this process, or throws DataDirLockedError naming the live holder.
 * `owner` says what holds it, for the message a second process prints; `logger` hears of a stale lock taken over.
 */
export async function lockDataDir(dir: string, owner: string, logger?: Logger): Promise<DataDirLock> {
  const absolute = resolve(dir);
  const path = join(absolute, LOCK_FILE);
  await mkdir(absolute, { recursive: true });
  const me: LockHolder = { pid: process.pid, hostname: hostname(), owner, startedAt: new Date().toISOString(), processStart: linuxProcessStat(process.pid)?.start ?? null };
  let replaced: LockHolder | undefined;
  // A few rounds: another process may take a stale lock over or release a lock between our steps.
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await createWhole(path, `${JSON.stringify(me)}\n`)) {
      held.add(path);
      if (replaced) logger?.warn({ dataDir: absolute, previous: replaced }, 'took over the data directory lock of a process that is gone');
      return { dir: absolute, path, replaced, release: () => release(path, me) };
    }
    const current = await readHolder(path);
    if (current === undefined) continue;
    if (current.holder && holderAlive(current.holder, path)) throw new DataDirLockedError(absolute, current.holder);
    // Stale, or not a lock this code wrote (locks are created whole, so an unreadable one is no one's).
    if (await removeIfSame(path, current.ino)) replaced = current.holder ?? undefined;
  }
  throw new DataDirLockedError(absolute, null);
}

/** Creates `path` with `content`, complete from the first moment it exists; false if it exists already. */
async function createWhole(path: string, content: string): Promise<boolean> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(temp, content, { flag: 'wx' });
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    // A file system without hard links: an exclusive create, written at once.
    return await writeFile(path, content, { flag: 'wx' }).then(
      () => true,
      (e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? false : Promise.reject(e)),
    );
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** The lock file's holder (null when the file says nothing readable) and inode; undefined when there is none. */
async function readHolder(path: string): Promise<{ holder: LockHolder | null; ino: number } | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const { ino } = await handle.stat();
    return { holder: parseHolder(await handle.readFile('utf8')), ino };
  } finally {
    await handle.close();
  }
}

function parseHolder(text: string): LockHolder | null {
  let parsed: Partial<LockHolder>;
  try {
    parsed = JSON.parse(text) as Partial<LockHolder>;
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || !Number.isSafeInteger(parsed.pid) || (parsed.pid as number) <= 0) return null;
  return {
    pid: parsed.pid as number,
    hostname: String(parsed.hostname ?? '?'),
    owner: String(parsed.owner ?? 'another process'),
    startedAt: String(parsed.startedAt ?? '?'),
    processStart: typeof parsed.processStart === 'number' ? parsed.processStart : null,
  };
}

/**
 * Whether the process a lock names still runs. Pids are only comparable on one machine (one pid namespace): a lock
 * written under another host name (a recreated container on the same volume) cannot be checked and counts as stale.
 */
function holderAlive(holder: LockHolder, path: string): boolean {
  if (holder.hostname !== hostname()) return false;
  // Our own pid: either this process holds it (refused), or an earlier process had our pid (a container's pid 1).
  if (holder.pid === process.pid) return held.has(path);
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // The pid exists; on Linux, a zombie (killed, not yet reaped by its parent) is gone, and a different start time means
  // the pid was reused by another process since.
  const stat = linuxProcessStat(holder.pid);
  if (stat === null) return true;
  return stat.state !== 'Z' && (holder.processStart === null || stat.start === holder.processStart);
}

/**
 * Removes a stale lock file if it is still the one that was read (inode `ino`): it is renamed aside first, which only
 * one process can do, and put back if another process's fresh lock was taken by mistake.
 */
async function removeIfSame(path: string, ino: number): Promise<boolean> {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if ((await stat(aside)).ino === ino) {
    await unlink(aside);
    return true;
  }
  await link(aside, path).catch(() => undefined);
  await unlink(aside);
  return false;
}

async function release(path: string, me: LockHolder): Promise<void> {
  if (!held.delete(path)) return;
  try {
    const current = JSON.parse(await readFile(path, 'utf8')) as Partial<LockHolder>;
    if (current.pid !== me.pid || current.startedAt !== me.startedAt) return;
    await unlink(path);
  } catch {
    // Gone or replaced already: nothing of ours to remove.
  }
}

/** Linux: fields 3 (state) and 22 (start time) of /proc/<pid>/stat, after the command name (which may hold spaces). */
function linuxProcessStat(pid: number): { state: string; start: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isFinite(start) ? { state: fields[0], start } : null;
  } catch {
    return null;
  }
}
