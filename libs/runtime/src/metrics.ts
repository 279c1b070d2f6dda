// Metrics that several services in one process (the embedded mode) may register on the same registry: created once, then shared.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

type Kind = typeof Counter | typeof Gauge | typeof Histogram;

function shared<K extends Kind>(Kind: K, registry: Registry, config: { name: string; help: string; labelNames?: string[]; buckets?: number[] }): InstanceType<K> {
  const existing = registry.getSingleMetric(config.name);
  if (existing) return existing as InstanceType<K>;
  const options = Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined));
  return new Kind({ ...options, name: config.name, help: config.help, registers: [registry] }) as InstanceType<K>;
}

export const sharedCounter = (registry: Registry, name: string, help: string, labelNames?: string[]): Counter =>
  shared(Counter, registry, { name, help, labelNames });
export const sharedGauge = (registry: Registry, name: string, help: string, labelNames?: string[]): Gauge =>
  shared(Gauge, registry, { name, help, labelNames });
export const sharedHistogram = (registry: Registry, name: string, help: string, labelNames?: string[], buckets?: number[]): Histogram =>
  shared(Histogram, registry, { name, help, labelNames, buckets });
