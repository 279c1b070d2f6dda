export { freePort, tempDir, waitFor, type TempDir } from './ports.js';
export { containerRuntimeAvailable } from './container-runtime.js';
export { startNatsServer, startLocalNatsServer, natsServerConfig, type NatsServer, type NatsServerOptions } from './nats-server.js';
export { createPostgresDatabase, defaultAdminUrl, queryPostgres, type PostgresDatabase } from './postgres.js';
export { ServiceProcess, appEntry, workspaceRoot, type LogLine, type ServiceProcessOptions } from './service-process.js';
export { ioPropertyLimits, PROPERTY_TEST_TIMEOUT_MS } from './property.js';
export { startStack, waitReady, type RunningGateway, type RunningStack, type StackOptions } from './stack.js';
