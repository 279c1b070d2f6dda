export { PartitionLog, defaultLogConfig, type AppendResult, type LogConfig, type ReadResult } from './partition-log.js';
