// Reads Prometheus text exposition in tests: the sum of one metric's samples whose labels include the given ones.
import { waitReady, type ServiceProcess } from '@sluice/testing';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of the samples of `name` carrying every label in `labels`; undefined when there is none. */
export function metricValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const matching = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return matching.length === 0 ? undefined : matching.reduce((n, s) => n + s.value, 0);
}

/** The metric names a scrape declares (`# TYPE` lines), with or without series. */
export function declaredMetrics(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
}

/** Scrapes the admin /metrics of service processes (their samples together). */
export async function scrape(processes: ReadonlyArray<{ process: ServiceProcess; service: string }>): Promise<Sample[]> {
  return parseMetrics(await scrapeText(processes));
}

/** The /metrics texts of service processes, one after the other. */
export async function scrapeText(processes: ReadonlyArray<{ process: ServiceProcess; service: string }>): Promise<string> {
  const texts = await Promise.all(
    processes.map(async ({ process, service }) => {
      const port = await waitReady(process, service);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      if (!res.ok) throw new Error(`${process.name} /metrics answered ${res.status}`);
      return res.text();
    }),
  );
  return texts.join('\n');
}
