// Runs the real kcat (librdkafka) against a bootstrap address, feeding `input` on stdin.
import { spawn } from 'node:child_process';

export interface KcatResult {
  code: number | null;
  out: string;
  err: string;
}

export function runKcat(bootstrap: string, args: string[], input = ''): Promise<KcatResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-b', bootstrap, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out, err }));
    child.stdin.end(input);
  });
}

/** kcat that must succeed: its stdout and stderr, or an error with what it printed. */
export async function kcatOk(bootstrap: string, args: string[], input?: string): Promise<{ out: string; err: string }> {
  const r = await runKcat(bootstrap, args, input);
  if (r.code !== 0) throw new Error(`kcat ${args.join(' ')} exited ${r.code}: ${r.err}`);
  return r;
}
