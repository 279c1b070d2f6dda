export * from './partition-log.js';
export { FilePool } from './file-pool.js';
export { UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, type EpochEntry } from './leader-epoch-cache.js';
