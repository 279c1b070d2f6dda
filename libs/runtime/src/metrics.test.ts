import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from './admin-server.js';
import { sharedCounterFamily, sharedHistogramFamily } from './metrics.js';

describe('counter and histogram families', () => {
  it('count on cached children and format them as Prometheus text at scrape time', async () => {
    const registry = createMetricsRegistry('test');
    const bytes = sharedCounterFamily(registry, 'sluice_test_bytes_total', 'bytes', ['topic']);
    expect(sharedCounterFamily(registry, 'sluice_test_bytes_total', 'bytes', ['topic'])).toBe(bytes);
    const orders = bytes.child('orders');
    expect(bytes.child('orders')).toBe(orders);
    orders.inc(100);
    orders.inc(23);
    bytes.child('a"b').inc();
    const latency = sharedHistogramFamily(registry, 'sluice_test_seconds', 'latency', ['api'], [0.01, 0.1]);
    const produce = latency.child('Produce');
    produce.observe(0.005);
    produce.observe(0.05);
    produce.observe(0.1);
    produce.observe(3);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE sluice_test_bytes_total counter');
    expect(text).toContain('sluice_test_bytes_total{topic="orders",service="test"} 123');
    expect(text).toContain('sluice_test_bytes_total{topic="a\\"b",service="test"} 1');
    expect(text).toContain('# TYPE sluice_test_seconds histogram');
    expect(text).toContain('sluice_test_seconds_bucket{api="Produce",le="0.01",service="test"} 1');
    expect(text).toContain('sluice_test_seconds_bucket{api="Produce",le="0.1",service="test"} 3');
    expect(text).toContain('sluice_test_seconds_bucket{api="Produce",le="+Inf",service="test"} 4');
    expect(text).toContain('sluice_test_seconds_count{api="Produce",service="test"} 4');
    expect(text).toMatch(/sluice_test_seconds_sum\{api="Produce",service="test"\} 3\.155/);
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('sluice_test_bytes_total{topic="orders",service="test"} 0');
    orders.inc(5);
    expect(await registry.metrics()).toContain('sluice_test_bytes_total{topic="orders",service="test"} 5');
    bytes.remove('orders');
    expect(await registry.metrics()).not.toContain('topic="orders"');
  });
});
