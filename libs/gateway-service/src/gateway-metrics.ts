// Prometheus metrics of the HTTP gateway.
import { sharedCounter, sharedHistogram, type Counter, type Histogram, type Registry } from '@sluice/runtime';

export interface GatewayMetrics {
  recordsIn: Counter;
  bytesIn: Counter;
  recordsOut: Counter;
  bytesOut: Counter;
  requests: Histogram;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  return {
    recordsIn: sharedCounter(registry, 'sluice_gateway_http_records_produced_total', 'Records produced over HTTP'),
    bytesIn: sharedCounter(registry, 'sluice_gateway_http_batch_bytes_produced_total', 'Record batch bytes produced over HTTP'),
    recordsOut: sharedCounter(registry, 'sluice_gateway_http_records_read_total', 'Records read over HTTP'),
    bytesOut: sharedCounter(registry, 'sluice_gateway_http_batch_bytes_read_total', 'Record batch bytes fetched for HTTP reads'),
    requests: sharedHistogram(registry, 'sluice_gateway_http_request_seconds', 'HTTP request durations', ['route', 'status'], [
      0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ]),
  };
}
