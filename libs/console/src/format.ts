// Pure formatting helpers for the console's tables and record views.

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return n.toLocaleString('en-US');
}

/** Bytes in binary units (KiB, MiB, GiB), one decimal below 10. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n) || n < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatRate(perSecond: number | undefined): string {
  if (perSecond === undefined) return '—';
  return `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond).toLocaleString('en-US')}/s`;
}

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** A record key or value for display: JSON text pretty-printed, anything else as it is. */
export function prettyValue(value: unknown): { text: string; json: boolean } {
  if (value === null || value === undefined) return { text: 'null', json: false };
  if (typeof value !== 'string') return { text: JSON.stringify(value, null, 2), json: true };
  const trimmed = value.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return { text: JSON.stringify(JSON.parse(trimmed), null, 2), json: true };
    } catch {
      // Not JSON after all: shown as text.
    }
  }
  return { text: value, json: false };
}

/** `key=value` lines (or comma-separated pairs) into an object; blank lines are skipped. */
export function parsePairs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(/[\n,]/)) {
    const line = part.trim();
    if (!line) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`"${line}" is not key=value`);
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return (err as Error & { code?: string }).code ? `${(err as Error & { code: string }).code}: ${err.message}` : err.message;
  return String(err);
}
