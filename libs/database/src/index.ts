export { adapterFor, applyMigrations, diffSchemas, type PgSessionOptions, type Provider } from './schema-engine.js';
export { openPrismaClient, providerFor } from './prisma-client.js';
export { chunkRows, MAX_BIND_PARAMETERS } from './bind-chunks.js';
