// Metrics that several services in one process (the embedded mode) may register on the same registry: created once, then shared.
//
// For the hot paths (produce, fetch, every Kafka request) there are also counter and histogram families whose labelled
// children are cached objects with plain number fields: a produce adds to a field, and the values are formatted only
// when /metrics is scraped. prom-client's own labelled children hash their label object on every call.
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

type Labels = Readonly<Record<string, string>>;

/** One labelled series of a CounterFamily: `inc` adds to a number. */
export class CounterCell {
  value = 0;
  constructor(readonly labels: Labels) {}
  inc(by = 1): void {
    this.value += by;
  }
}

/** One labelled series of a HistogramFamily: `observe` finds the bucket and adds to numbers. */
export class HistogramCell {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    private readonly upperBounds: readonly number[],
  ) {
    this.counts = new Float64Array(upperBounds.length + 1);
  }
  observe(value: number): void {
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

interface MetricValue {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** What a Registry needs of a metric (prom-client formats it at scrape time). */
abstract class Family<C extends { labels: Labels }> {
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';
  private readonly cells = new Map<string, C>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  /** The series for these label values (in `labelNames` order), created once: keep it, and count on it. */
  child(...values: string[]): C {
    const key = values.join('\u0000');
    let cell = this.cells.get(key);
    if (!cell) {
      if (values.length !== this.labelNames.length) throw new Error(`${this.name} takes labels ${this.labelNames.join(', ')}`);
      cell = this.create(Object.fromEntries(this.labelNames.map((n, i) => [n, values[i]])));
      this.cells.set(key, cell);
    }
    return cell;
  }

  /** Drops a series (a deleted topic); a cell kept elsewhere counts on unseen. */
  remove(...values: string[]): void {
    this.cells.delete(values.join('\u0000'));
  }

  protected abstract create(labels: Labels): C;
  protected abstract values(cell: C): MetricValue[];

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [...this.cells.values()].flatMap((c) => this.values(c)) };
  }

  /** Zeroes every series (prom-client's Registry.resetMetrics); the cells others keep stay the ones scraped. */
  reset(): void {
    for (const cell of this.cells.values()) this.zero(cell);
  }

  protected abstract zero(cell: C): void;
}

export class CounterFamily extends Family<CounterCell> {
  readonly type = 'counter';
  protected create(labels: Labels): CounterCell {
    return new CounterCell(labels);
  }
  protected values(cell: CounterCell): MetricValue[] {
    return [{ labels: cell.labels, value: cell.value }];
  }
  protected zero(cell: CounterCell): void {
    cell.value = 0;
  }
}

export class HistogramFamily extends Family<HistogramCell> {
  readonly type = 'histogram';
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }
  protected create(labels: Labels): HistogramCell {
    return new HistogramCell(labels, this.buckets);
  }
  protected values(cell: HistogramCell): MetricValue[] {
    const out: MetricValue[] = [];
    let cumulative = 0;
    for (let i = 0; i <= this.buckets.length; i++) {
      cumulative += cell.counts[i];
      out.push({ metricName: `${this.name}_bucket`, labels: { ...cell.labels, le: i < this.buckets.length ? String(this.buckets[i]) : '+Inf' }, value: cumulative });
    }
    out.push({ metricName: `${this.name}_sum`, labels: cell.labels, value: cell.sum });
    out.push({ metricName: `${this.name}_count`, labels: cell.labels, value: cell.count });
    return out;
  }
  protected zero(cell: HistogramCell): void {
    cell.counts.fill(0);
    cell.sum = 0;
    cell.count = 0;
  }
}

/** Request durations in seconds: 0.5 ms to 30 s. */
export const LATENCY_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function sharedFamily<F extends Family<{ labels: Labels }>>(registry: Registry, name: string, make: () => F, Kind: abstract new (...args: never[]) => F): F {
  const existing = registry.getSingleMetric(name) as unknown;
  if (existing instanceof Kind) return existing;
  const family = make();
  registry.registerMetric(family as unknown as Counter);
  return family;
}

export const sharedCounterFamily = (registry: Registry, name: string, help: string, labelNames: readonly string[]): CounterFamily =>
  sharedFamily(registry, name, () => new CounterFamily(name, help, labelNames), CounterFamily);
export const sharedHistogramFamily = (registry: Registry, name: string, help: string, labelNames: readonly string[], buckets: readonly number[] = LATENCY_BUCKETS): HistogramFamily =>
  sharedFamily(registry, name, () => new HistogramFamily(name, help, labelNames, buckets), HistogramFamily);
