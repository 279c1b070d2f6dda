import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { GatewayCluster } from '../cluster/gateway-cluster.js';
import { gatewayConfig } from '../gateway-config.js';
import { consoleRoot } from './console-routes.js';
import { buildHttpApi } from './http-api.js';

// The routes are registered on a gateway view without a cluster: /console and /docs never touch it.
let app: FastifyInstance | undefined;
async function api(env: Record<string, string>): Promise<FastifyInstance> {
  const offline = { config: gatewayConfig.load(env), metrics: { requests: { observe: () => undefined } } } as unknown as GatewayCluster;
  app = await buildHttpApi(offline);
  await app.ready();
  return app;
}

afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('console and docs routes', () => {
  it('serve the built console at /console/ (on by default), /console redirecting there', async () => {
    // The console's build output comes with the gateway package (libs/console is its dependency, built before it).
    expect(consoleRoot()).toBeDefined();
    const http = await api({});
    expect((await http.inject({ url: '/console' })).headers.location).toBe('/console/');
    const index = await http.inject({ url: '/console/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    expect(index.headers['cache-control']).toBe('no-cache');
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(index.body)?.[1];
    expect(script).toBeDefined();
    const asset = await http.inject({ url: script });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await http.inject({ url: '/console/nope.js' })).statusCode).toBe(404);
  });

  it('SLUICE_CONSOLE_ENABLED=false: /console answers 404, /docs stays', async () => {
    const http = await api({ SLUICE_CONSOLE_ENABLED: 'false' });
    for (const url of ['/console', '/console/', '/console/index.html']) expect((await http.inject({ url })).statusCode, url).toBe(404);
    expect((await http.inject({ url: '/docs/json' })).statusCode).toBe(200);
  });

  it('refuses a value of SLUICE_CONSOLE_ENABLED that is not a boolean, naming the variable', () => {
    expect(() => gatewayConfig.load({ SLUICE_CONSOLE_ENABLED: 'maybe' })).toThrow(/SLUICE_CONSOLE_ENABLED/);
  });

  it('serves the API docs page with its assets from the package, and the OpenAPI document behind it', async () => {
    const http = await api({});
    const page = await http.inject({ url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<title>Sluice HTTP API</title>');
    expect(page.body).not.toMatch(/https?:\/\//);
    expect((await http.inject({ url: '/docs/static/swagger-ui-bundle.js' })).statusCode).toBe(200);
    const doc = (await http.inject({ url: '/docs/json' })).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(doc.paths)).toContain('/topics/{topic}/stream');
  });
});
