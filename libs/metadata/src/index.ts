export { applyDelta, emptyImage, MetadataView } from './metadata-image.js';
export { MetadataClient, type MetadataClientOptions, type MetadataClientEvents } from './metadata-client.js';
export { NodeSession, type NodeSessionOptions, type NodeSessionEvents } from './node-session.js';
