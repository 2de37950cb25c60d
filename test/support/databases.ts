import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseTarget } from '../../src/config.js';

/**
 * Where the PostgreSQL suites run. `.ci/run` starts the server and sets REQUIRE_POSTGRES=1, so in
 * CI an unreachable server fails the run; elsewhere the suites are skipped with a visible notice.
 */
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let reachable: boolean | undefined;

export async function postgresIsReachable(): Promise<boolean> {
  if (reachable !== undefined) return reachable;
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    reachable = true;
  } catch (error) {
    if (process.env.REQUIRE_POSTGRES === '1') {
      throw new Error(
        `PostgreSQL is required (REQUIRE_POSTGRES=1) but ${POSTGRES_ADMIN_URL} is unreachable: ${String(error)}`,
      );
    }
    console.warn(`\n*** PostgreSQL at ${POSTGRES_ADMIN_URL} is unreachable: PostgreSQL suites are SKIPPED ***\n`);
    reachable = false;
  } finally {
    await client.end().catch(() => {});
  }
  return reachable;
}

export type TestDatabase = { target: DatabaseTarget; drop(): Promise<void> };

/** A brand-new, empty PostgreSQL database (dropped by `drop`). */
export async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = `bridge_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    target: { kind: 'postgres', url: url.toString() },
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

export function createSqliteDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-test-'));
  return {
    target: { kind: 'sqlite', path: join(dir, 'bridge.sqlite') },
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type DialectCase = { name: 'sqlite' | 'postgres'; available: boolean; create(): Promise<TestDatabase> };

/** Both dialects, for `describe.each`-style suites; PostgreSQL is marked unavailable (skipped) off CI. */
export async function dialects(): Promise<DialectCase[]> {
  return [
    { name: 'sqlite', available: true, create: async () => createSqliteDatabase() },
    { name: 'postgres', available: await postgresIsReachable(), create: createPostgresDatabase },
  ];
}
