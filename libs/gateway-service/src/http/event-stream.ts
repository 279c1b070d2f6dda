// Server-Sent Events on a hijacked reply: the stream's headers, a keepalive comment every 15 s, and writes that wait
// for the socket (backpressure), shared by topic streams and consumer-instance streams.
import type { ServerResponse } from 'node:http';
import type { GatewayMetrics } from '../gateway-metrics.js';

const KEEPALIVE_MS = 15_000;

/** Writes one chunk; resolves once the socket can take more (backpressure) or the client is gone. */
export function writeEvent(res: ServerResponse, chunk: string): Promise<void> {
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/** Starts an event stream on a hijacked reply (counted in the open streams gauge); returns whether the client is still there. */
export function openEventStream(res: ServerResponse, metrics: GatewayMetrics): { isOpen: () => boolean; close: () => void } {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  let open = true;
  metrics.connections.inc({ protocol: 'sse' });
  res.on('close', () => {
    open = false;
    metrics.connections.dec({ protocol: 'sse' });
  });
  const keepalive = setInterval(() => void (open && res.write(': keepalive\n\n')), KEEPALIVE_MS);
  return {
    isOpen: () => open,
    close: () => {
      clearInterval(keepalive);
      res.end();
    },
  };
}


