// What the operator verbs print: aligned tables for people, JSON for scripts, and the exit codes.
import { SluiceApiError } from '@sluice/http-client';

/** Exit codes of every operator verb (README "CLI"). */
export const ExitCode = {
  ok: 0,
  /** The gateway refused the request or failed (HTTP 4xx/5xx not listed below). */
  failed: 1,
  /** Bad command line: unknown verb or option, missing or malformed value. */
  usage: 2,
  /** The topic, partition or group does not exist (HTTP 404). */
  notFound: 3,
  /** A conflict: the topic already exists, the group has active members (HTTP 409). */
  conflict: 4,
  /** `cluster health`: some partition is offline or under-replicated. */
  unhealthy: 5,
  /** No gateway answered at the URL. */
  unreachable: 6,
} as const;

export function table(headers: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** The exit code and message for an error a verb threw. */
export function describeFailure(err: unknown, url: string): { code: number; message: string } {
  if (err instanceof SluiceApiError) {
    const code = err.status === 404 ? ExitCode.notFound : err.status === 409 ? ExitCode.conflict : ExitCode.failed;
    return { code, message: `${err.message} (${err.code}, HTTP ${err.status})` };
  }
  // fetch fails with a TypeError "fetch failed" whose cause says why (refused, unknown host, reset, bad port...).
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (err instanceof TypeError && err.message === 'fetch failed') {
    return { code: ExitCode.unreachable, message: `no gateway answered at ${url} (${cause?.code ?? cause?.message ?? 'network error'}); start one with \`npm start\` or pass --url / SLUICE_URL` };
  }
  return { code: ExitCode.failed, message: err instanceof Error ? err.message : String(err) };
}
