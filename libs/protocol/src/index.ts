export * from './generated/kafka-error-codes.js';
export * from './errors.js';
export { Reader } from './binary/reader.js';
export { Writer } from './binary/writer.js';
export { crc32c, crc32cJs, crc32cIsNative } from './crc32c.js';
export { murmur2, partitionForKey } from './murmur2.js';
export * from './compression.js';
export * from './record-batch.js';
export * from './topic-name.js';
/** Kafka protocol messages (generated): kafka.readProduceRequest, kafka.MetadataResponse, ... */
export * as kafka from './generated/messages/index.js';
export { ApiKey, apiCatalog } from './generated/messages/index.js';
export * from './kafka/headers.js';
