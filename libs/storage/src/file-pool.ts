// A bounded pool of open file handles shared by every log of a broker, so 1,000 partitions do not hold 1,000s of
// descriptors: files open on first use and the least recently used idle ones close when the pool is over its bound.
// A file in use is never closed under its user; `retire` waits for the users of a file that is about to be
// replaced or deleted, and later uses fail with FileRetiredError so the caller can look again.
import { open, type FileHandle } from 'node:fs/promises';

export class FileRetiredError extends Error {
  constructor(readonly path: string) {
    super(`${path} was replaced or deleted`);
  }
}

/** A file the pool can open; its identity (not its path) keys the pool, so a replacement at the same path is a new file. */
export interface PooledFile {
  readonly path: string;
}

interface Entry {
  handle: Promise<FileHandle>;
  users: number;
  waiters: Array<() => void>;
}

export class FilePool {
  private readonly entries = new Map<PooledFile, Entry>();
  private readonly retired = new WeakSet<PooledFile>();
  private readonly slotWaiters: Array<() => void> = [];

  constructor(readonly maxOpen = 1024) {}

  get openCount(): number {
    return this.entries.size;
  }

  /**
   * Runs `work` with the file's handle (opened read-write), keeping it open for the duration. When the pool is full
   * of files in use, waits for one to become idle.
   */
  async use<T>(file: PooledFile, work: (handle: FileHandle) => Promise<T>): Promise<T> {
    if (this.retired.has(file)) throw new FileRetiredError(file.path);
    let entry = this.entries.get(file);
    while (!entry && this.entries.size >= this.maxOpen && !this.evictOne()) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      if (this.retired.has(file)) throw new FileRetiredError(file.path);
      entry = this.entries.get(file);
    }
    if (entry) {
      this.entries.delete(file);
      this.entries.set(file, entry);
    } else {
      const created: Entry = { handle: open(file.path, 'r+'), users: 0, waiters: [] };
      entry = created;
      this.entries.set(file, created);
      created.handle.catch(() => {
        if (this.entries.get(file) === created) this.remove(file);
      });
    }
    entry.users++;
    try {
      return await work(await entry.handle);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new FileRetiredError(file.path);
      throw err;
    } finally {
      entry.users--;
      if (entry.users === 0) {
        for (const wake of entry.waiters.splice(0)) wake();
        this.slotWaiters.shift()?.();
      }
    }
  }

  /** Refuses new uses of `file`, waits for the current ones and closes its handle. */
  async retire(file: PooledFile): Promise<void> {
    this.retired.add(file);
    await this.close(file);
  }

  /** Closes the file's handle once idle (it reopens on next use). */
  async close(file: PooledFile): Promise<void> {
    const entry = this.entries.get(file);
    if (!entry) return;
    if (entry.users > 0) await new Promise<void>((resolve) => entry.waiters.push(resolve));
    if (this.entries.get(file) !== entry) return;
    this.remove(file);
    await (await entry.handle.catch(() => undefined))?.close();
  }

  /** Closes every handle once idle (a broker shutting down; a test dropping a log as if its process died). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((file) => this.close(file)));
  }

  /** Closes the least recently used idle file; false when every open file is in use. */
  private evictOne(): boolean {
    for (const [file, entry] of this.entries) {
      if (entry.users > 0) continue;
      this.remove(file);
      void entry.handle.then((h) => h.close()).catch(() => undefined);
      return true;
    }
    return false;
  }

  private remove(file: PooledFile): void {
    this.entries.delete(file);
    this.slotWaiters.shift()?.();
  }
}

/** The pool logs share unless given their own (a broker makes one sized by its configuration). */
export const defaultFilePool = new FilePool(1024);
