export { ConfigError, defineConfig, v, type ConfigDefinition, type VarSpec } from './config.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { createMetricsRegistry, startAdminServer, type AdminServer, type AdminServerOptions, type Readiness } from './admin-server.js';
export { runService, wantsHelp, type RunOptions, type Stoppable } from './lifecycle.js';
export { Registry, Counter, Gauge, Histogram } from 'prom-client';
