// The HTTP API's OpenAPI document without a cluster: the routes are registered on a gateway view that serves nothing
// (only their schemas are read), so the document can be written at build time for the generated HTTP client.
import type { GatewayCluster } from '../cluster/gateway-cluster.js';
import { gatewayConfig } from '../gateway-config.js';
import { buildHttpApi } from './http-api.js';

export async function openApiDocument(): Promise<Record<string, unknown>> {
  const offline = { config: gatewayConfig.load({}) } as unknown as GatewayCluster;
  const app = await buildHttpApi(offline);
  try {
    await app.ready();
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
  }
}
