// Spawns a Sluice service from its build output as a real child process, keeps its log lines, and can kill it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const workspaceRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');

/** The built entry point of an app, e.g. appEntry('broker') → apps/broker/dist/main.js. */
export function appEntry(app: 'controller' | 'broker' | 'group-coordinator' | 'gateway' | 'cli'): string {
  return join(workspaceRoot, 'apps', app, 'dist', 'main.js');
}

export interface LogLine {
  raw: string;
  /** The parsed pino line, when the line is JSON. */
  json?: Record<string, unknown>;
}

export interface ServiceProcessOptions {
  name: string;
  entry: string;
  args?: string[];
  /** Node flags before the entry (e.g. --cpu-prof, which NODE_OPTIONS does not allow). */
  nodeArgs?: string[];
  env?: Record<string, string | undefined>;
  /** Where to keep the process's output (one file per process); defaults to test-logs/ in the workspace. */
  logDir?: string;
  /** Starts the process in a process group of its own, which signalGroup() signals as a terminal's Ctrl-C does. */
  detached?: boolean;
}

export class ServiceProcess {
  readonly lines: LogLine[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();
  private readonly logFile: WriteStream;

  private constructor(
    readonly name: string,
    child: ChildProcess,
    logFile: WriteStream,
  ) {
    this.child = child;
    this.logFile = logFile;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (raw) => {
        logFile.write(raw + '\n');
        let json: Record<string, unknown> | undefined;
        if (raw.startsWith('{')) {
          try {
            json = JSON.parse(raw) as Record<string, unknown>;
          } catch {
            json = undefined;
          }
        }
        this.lines.push({ raw, json });
        for (const w of this.waiters) w();
      });
    }
    void this.exited.then(() => {
      for (const w of this.waiters) w();
    });
  }

  static async start(options: ServiceProcessOptions): Promise<ServiceProcess> {
    const logDir = options.logDir ?? join(workspaceRoot, 'test-logs');
    await mkdir(logDir, { recursive: true });
    const logFile = createWriteStream(join(logDir, `${options.name}-${Date.now()}.log`));
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.entry, ...(options.args ?? [])], {
      env: { ...process.env, NODE_ENV: 'production', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    });
    return new ServiceProcess(options.name, child, logFile);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first log line (so far or to come) that matches; rejects on timeout or exit. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> {
    return new Promise((resolvePromise, reject) => {
      let checked = 0;
      const check = (): void => {
        for (; checked < this.lines.length; checked++) {
          if (match(this.lines[checked])) {
            done();
            resolvePromise(this.lines[checked]);
            return;
          }
        }
        if (!this.running) {
          done();
          reject(new Error(`${this.name} exited before the expected log line:\n${this.tail()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no matching log line within ${timeoutMs} ms:\n${this.tail()}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits for a pino line whose `msg` equals `message` (and whose fields match `fields`, if given). */
  waitForMessage(message: string, fields: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<LogLine> {
    return this.waitForLog(
      (l) => l.json?.msg === message && Object.entries(fields).every(([k, v]) => l.json?.[k] === v),
      timeoutMs,
    );
  }

  tail(n = 30): string {
    return this.lines
      .slice(-n)
      .map((l) => l.raw)
      .join('\n');
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.child.kill(signal);
  }

  /** Signals the whole process group (a `detached` process and its children), as Ctrl-C at a terminal does. */
  signalGroup(signal: NodeJS.Signals): void {
    if (this.running && this.child.pid !== undefined) process.kill(-this.child.pid, signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it exited. */
  async stop(graceMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
      const result = await this.exited;
      clearTimeout(timer);
      this.logFile.end();
      return result;
    }
    this.logFile.end();
    return this.exited;
  }
}
