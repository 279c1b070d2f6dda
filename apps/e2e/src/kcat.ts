// Runs the real kcat (librdkafka) against a bootstrap address, feeding `input` on stdin.
import { spawn } from 'node:child_process';

export interface KcatResult {
  code: number | null;
  out: string;
  err: string;
}

/** A kcat still running (a consumer in a group): what it printed so far, and its end. */
export interface KcatProcess {
  readonly out: string;
  readonly err: string;
  /** Its exit code once it has exited, else undefined. */
  readonly code: number | null | undefined;
  readonly exited: Promise<KcatResult>;
  /** SIGTERM (kcat then leaves its group), and its end. */
  stop(): Promise<KcatResult>;
}

export function spawnKcat(bootstrap: string, args: string[], input = ''): KcatProcess {
  const child = spawn('kcat', ['-b', bootstrap, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let code: number | null | undefined;
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<KcatResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c) => {
      code = c;
      resolve({ code: c, out, err });
    });
  });
  child.stdin.end(input);
  return {
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    get code() {
      return code;
    },
    exited,
    stop: () => {
      if (code === undefined) child.kill('SIGTERM');
      return exited;
    },
  };
}

export function runKcat(bootstrap: string, args: string[], input = ''): Promise<KcatResult> {
  return spawnKcat(bootstrap, args, input).exited;
}

/** kcat that must succeed: its stdout and stderr, or an error with what it printed. */
export async function kcatOk(bootstrap: string, args: string[], input?: string): Promise<{ out: string; err: string }> {
  const r = await runKcat(bootstrap, args, input);
  if (r.code !== 0) throw new Error(`kcat ${args.join(' ')} exited ${r.code}: ${r.err}`);
  return r;
}
