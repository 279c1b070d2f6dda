export * from './partition-log.js';
export type { CompactionResult } from './log-compaction.js';
export { FilePool } from './file-pool.js';
export { UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, type EpochEntry } from './leader-epoch-cache.js';
