export { applyDelta, emptyImage, MetadataView } from './metadata-image.js';
export { MetadataClient, type MetadataClientOptions, type MetadataClientEvents } from './metadata-client.js';
export { encodeSnapshot, fetchSnapshot, SnapshotCache, SNAPSHOT_CHUNK_BYTES, type EncodedSnapshot } from './metadata-snapshot.js';
export { NodeSession, type NodeSessionOptions, type NodeSessionEvents } from './node-session.js';
