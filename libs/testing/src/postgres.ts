// A fresh PostgreSQL database per test: a testcontainers container where a runtime exists, otherwise a new database
// on the local server (SLUICE_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { containerRuntimeAvailable } from './container-runtime.js';

export interface PostgresDatabase {
  /** Connection URL of the new, empty database. */
  url: string;
  drop(): Promise<void>;
}

export const defaultAdminUrl = 'postgres://postgres@127.0.0.1:5432/postgres';

export async function createPostgresDatabase(): Promise<PostgresDatabase> {
  if (!process.env.SLUICE_TEST_PG_URL && (await containerRuntimeAvailable())) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:16-alpine').start();
    return { url: container.getConnectionUri(), drop: async () => void (await container.stop()) };
  }
  const adminUrl = process.env.SLUICE_TEST_PG_URL ?? defaultAdminUrl;
  const name = `sluice_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`cannot reach PostgreSQL at ${adminUrl} (set SLUICE_TEST_PG_URL): ${(err as Error).message}`);
  }
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Runs one query on `url` with a connection of its own (tests looking at what a service wrote). */
export async function queryPostgres<R extends Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}
