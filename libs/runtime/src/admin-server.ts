// The small admin HTTP port every service has: /healthz (alive), /readyz (ready to serve) and Prometheus /metrics.
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from 'pino';

export interface Readiness {
  ready: boolean;
  reason?: string;
  details?: Record<string, unknown>;
}

export interface AdminServerOptions {
  host: string;
  port: number;
  service: string;
  registry: Registry;
  logger: Logger;
  readiness: () => Readiness;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A registry with Node's default metrics, labelled with the service name. */
export function createMetricsRegistry(service: string, labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service, ...labels });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'application/json' }).end(JSON.stringify({ error_code: 'METHOD_NOT_ALLOWED' }));
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', service: options.service }));
      return;
    }
    if (path === '/readyz') {
      const r = options.readiness();
      res
        .writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: r.ready ? 'ready' : 'not-ready', service: options.service, reason: r.reason, ...r.details }));
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error_code: 'NOT_FOUND', message: `no admin route ${path}` }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  options.logger.info({ port, host: options.host }, 'admin server listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
