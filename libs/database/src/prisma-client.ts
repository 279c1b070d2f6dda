// Opening a service's generated Prisma client on SQLite or PostgreSQL after applying its committed migrations.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { adapterFor, applyMigrations, type PgSessionOptions, type Provider } from './schema-engine.js';

/** The provider a database URL names: `file:` is SQLite, `postgres://`/`postgresql://` PostgreSQL. */
export function providerFor(url: string): Provider {
  if (url.startsWith('file:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgresql';
  throw new Error(`unsupported database URL ${url.replace(/\/\/[^@]*@/, '//***@')} (file:... or postgres://...)`);
}

type ClientClass<C> = new (options: { adapter: ReturnType<typeof adapterFor> }) => C;

/**
 * Applies the migrations of `prismaDir/<sqlite|postgres>/migrations` and opens the matching generated client.
 * Both generated clients have the same models; only the provider differs.
 */
export async function openPrismaClient<C>(
  url: string,
  prismaDir: string,
  clients: { sqlite: () => Promise<{ PrismaClient: unknown }>; postgres: () => Promise<{ PrismaClient: unknown }> },
  pg: PgSessionOptions = {},
): Promise<{ client: C; provider: Provider; applied: string[] }> {
  const provider = providerFor(url);
  if (provider === 'sqlite') await mkdir(dirname(url.slice('file:'.length)) || '.', { recursive: true });
  const applied = await applyMigrations(provider, url, `${prismaDir}/${provider === 'sqlite' ? 'sqlite' : 'postgres'}/migrations`);
  const module = provider === 'sqlite' ? await clients.sqlite() : await clients.postgres();
  const Client = module.PrismaClient as ClientClass<C>;
  return { client: new Client({ adapter: adapterFor(provider, url, pg) }), provider, applied };
}
