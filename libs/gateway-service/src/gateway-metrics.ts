// Prometheus metrics of a gateway: Kafka requests per API, HTTP requests per route, open connections and event
// streams, and HTTP traffic per topic. Counted on cached children (see @sluice/runtime's families): a Kafka request
// costs one bucket search, never a label lookup.
import {
  LATENCY_BUCKETS,
  sharedCounterFamily,
  sharedGauge,
  sharedHistogramFamily,
  type CounterCell,
  type Gauge,
  type HistogramCell,
  type Registry,
} from '@sluice/runtime';

/** One topic's traffic over HTTP. */
export interface HttpTopicTraffic {
  recordsIn: CounterCell;
  bytesIn: CounterCell;
  recordsOut: CounterCell;
  bytesOut: CounterCell;
}

export interface GatewayMetrics {
  /** HTTP traffic counters of a topic. */
  httpTopic(topic: string): HttpTopicTraffic;
  /** The duration histogram of one HTTP route (its pattern, e.g. /topics/:topic), method and status. */
  httpRequest(method: string, route: string, status: number): HistogramCell;
  /** The duration histogram of one Kafka API (its name, e.g. Produce). */
  kafkaRequest(api: string): HistogramCell;
  /** Open client connections by protocol (kafka, http) and open Server-Sent Events streams (sse). */
  connections: Gauge<'protocol'>;
  /** Connections accepted, by protocol. */
  connectionsAccepted: { kafka: CounterCell; http: CounterCell };
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const family = (name: string, help: string, labels = ['topic']) => sharedCounterFamily(registry, name, help, labels);
  const recordsIn = family('sluice_gateway_http_records_produced_total', 'Records produced over HTTP, by topic');
  const bytesIn = family('sluice_gateway_http_batch_bytes_produced_total', 'Record batch bytes produced over HTTP, by topic');
  const recordsOut = family('sluice_gateway_http_records_read_total', 'Records read over HTTP, by topic');
  const bytesOut = family('sluice_gateway_http_batch_bytes_read_total', 'Record batch bytes fetched for HTTP reads, by topic');
  const http = sharedHistogramFamily(registry, 'sluice_gateway_http_request_seconds', 'HTTP request durations, by method, route pattern and status', ['method', 'route', 'status'], LATENCY_BUCKETS);
  const kafka = sharedHistogramFamily(registry, 'sluice_gateway_kafka_request_seconds', 'Kafka request durations (request decoded to response encoded), by API', ['api'], LATENCY_BUCKETS);
  const accepted = family('sluice_gateway_connections_accepted_total', 'Client connections accepted, by protocol', ['protocol']);
  return {
    httpTopic: (topic) => ({ recordsIn: recordsIn.child(topic), bytesIn: bytesIn.child(topic), recordsOut: recordsOut.child(topic), bytesOut: bytesOut.child(topic) }),
    httpRequest: (method, route, status) => http.child(method, route, String(status)),
    kafkaRequest: (api) => kafka.child(api),
    connections: sharedGauge(registry, 'sluice_gateway_connections', 'Open client connections (kafka, http) and Server-Sent Events streams (sse)', ['protocol']) as Gauge<'protocol'>,
    connectionsAccepted: { kafka: accepted.child('kafka'), http: accepted.child('http') },
  };
}
