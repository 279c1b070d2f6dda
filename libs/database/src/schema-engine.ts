// Prisma's schema engine as WebAssembly (no native engine download): applies the committed migrations exactly as
// `prisma migrate deploy` does (same _prisma_migrations table), and diffs schemas into SQL for new migrations.
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';

export type Provider = 'sqlite' | 'postgresql';

interface SchemaEngineInstance {
  free(): void;
  applyMigrations(input: unknown): Promise<{ appliedMigrationNames: string[] }>;
  diff(input: unknown): Promise<{ stdout?: string }>;
}
interface SchemaEngineClass {
  new: (params: unknown, log: (line: string) => void, adapter: unknown) => Promise<SchemaEngineInstance>;
}

/** The slice of the WebAssembly API used here (Node has it; @types/node 20 does not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, unknown>) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let engineClass: Promise<SchemaEngineClass> | undefined;

function loadEngine(): Promise<SchemaEngineClass> {
  engineClass ??= (async () => {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
    const bg = (await import(join(dir, 'schema_engine_bg.js'))) as Record<string, unknown> & {
      __wbg_set_wasm(exports: Record<string, unknown>): void;
      SchemaEngine: SchemaEngineClass;
    };
    const module = new wasm.Module(await readFile(join(dir, 'schema_engine_bg.wasm')));
    const instance = new wasm.Instance(module, { './schema_engine_bg.js': bg });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return bg.SchemaEngine;
  })();
  return engineClass;
}

/** Session settings for PostgreSQL connections (ignored on SQLite). */
export interface PgSessionOptions {
  /** Ends a session left idle inside a transaction for this long (its locks released). */
  idle_in_transaction_session_timeout?: number;
}

export function adapterFor(provider: Provider, url: string, pg: PgSessionOptions = {}): PrismaLibSql | PrismaPg {
  return provider === 'sqlite' ? new PrismaLibSql({ url }) : new PrismaPg({ connectionString: url, ...pg });
}

interface DisposableAdapter {
  dispose(): Promise<void>;
}

/**
 * Runs `work` with an engine on its own connection, then frees both: a connection left open keeps holding
 * the migration advisory lock on PostgreSQL and the next start waits for it.
 */
async function withEngine<T>(provider: Provider, url: string, schema: string, work: (engine: SchemaEngineInstance) => Promise<T>): Promise<T> {
  const SchemaEngine = await loadEngine();
  const factory = adapterFor(provider, url);
  const opened: DisposableAdapter[] = [];
  const tracking = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => {
      const adapter = await factory.connect();
      opened.push(adapter);
      return adapter;
    },
    connectToShadowDb: async () => {
      const adapter = await (factory as unknown as { connectToShadowDb(): Promise<DisposableAdapter> }).connectToShadowDb();
      opened.push(adapter);
      return adapter;
    },
  } as unknown as typeof factory;
  const engine = await SchemaEngine.new({ datamodels: [['schema.prisma', schema]] }, () => undefined, bindMigrationAwareSqlAdapterFactory(tracking));
  try {
    return await work(engine);
  } finally {
    engine.free();
    await Promise.all(opened.map((a) => a.dispose().catch(() => undefined)));
  }
}

const filters = { externalTables: [], externalEnums: [] };

/** Applies every migration in `migrationsDir` not applied yet; returns the names applied now. */
export async function applyMigrations(provider: Provider, url: string, migrationsDir: string): Promise<string[]> {
  const dir = resolve(migrationsDir);
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const lock = await readFile(join(dir, 'migration_lock.toml'), 'utf8').catch(() => null);
  const migrationsList = {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: lock },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: await readFile(join(dir, name, 'migration.sql'), 'utf8') } },
      })),
    ),
  };
  const schema = await readFile(join(dir, '..', 'schema.prisma'), 'utf8');
  const result = await withEngine(provider, url, schema, (engine) => engine.applyMigrations({ migrationsList, filters }));
  return result.appliedMigrationNames;
}

/** SQL that turns schema `from` (null: an empty database) into schema `to`. */
export async function diffSchemas(provider: Provider, url: string, from: string | null, to: string): Promise<string> {
  const result = await withEngine(provider, url, to, (engine) =>
    engine.diff({
    from: from === null ? { tag: 'empty' } : { tag: 'schemaDatamodel', files: [{ path: 'from.prisma', content: from }] },
    to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: to }] },
      script: true,
      exitCode: null,
      filters,
    }),
  );
  return result.stdout ?? '';
}
