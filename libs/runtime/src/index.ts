export { ConfigError, defineConfig, v, type ConfigDefinition, type VarSpec } from './config.js';
export { createLogger, logFailure, type Logger, type LoggerOptions } from './logger.js';
export { createMetricsRegistry, startAdminServer, type AdminServer, type AdminServerOptions, type Readiness } from './admin-server.js';
export { runService, wantsHelp, type RunOptions, type Stoppable } from './lifecycle.js';
export { Registry, Counter, Gauge, Histogram } from 'prom-client';
export { hostService, hostConfig, type HostOptions, type RunningService, type ServiceDeps, type ServiceFactory } from './service-host.js';
export {
  sharedCounter,
  sharedGauge,
  sharedHistogram,
  sharedCounterFamily,
  sharedHistogramFamily,
  CounterFamily,
  CounterCell,
  HistogramFamily,
  HistogramCell,
  LATENCY_BUCKETS,
} from './metrics.js';
export { DataDirLockedError, DataDirLockErrorCode, lockDataDir, LOCK_FILE, type DataDirLock, type LockHolder } from './data-dir-lock.js';
