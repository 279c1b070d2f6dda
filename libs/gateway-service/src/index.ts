export { startGateway, gatewayConfig, type Gateway } from './gateway-service.js';
export type { GatewayConfig } from './gateway-config.js';
export { buildHttpApi } from './http/http-api.js';
export { StickyPartitioner, choosePartition, STICKY_BATCH_BYTES } from './partitioner.js';
export { openApiDocument } from './http/openapi-document.js';
