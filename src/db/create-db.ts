import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, type SqliteDatabase, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { DatabaseTarget } from '../config.js';
import type { Database } from './database.js';
import { startBackgroundCheckpoints } from './sqlite-checkpointer.js';

export type DatabaseHandle = {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  close(): Promise<void>;
};

const PG_INT8 = 20;
const PG_NUMERIC = 1700;

/** Timestamps are bigint epoch ms; they fit a JS number, so read them back as numbers. */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === PG_INT8 || oid === PG_NUMERIC) return (value: string) => Number(value);
    // biome-ignore lint/suspicious/noExplicitAny: pg's overloaded parser signature
    return pg.types.getTypeParser(oid, format as any);
  },
};

/**
 * Kysely asks better-sqlite3 to prepare every query it runs, and preparing costs about as much as
 * running a short one; the app runs the same few hundred SQL texts over and over, so prepared
 * statements are kept (most recently used first). Safe: kysely uses the one connection serially.
 */
function withStatementCache(sqlite: SQLite.Database, size = 500): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(source: string) {
      let statement = cache.get(source);
      if (statement) cache.delete(source);
      else statement = sqlite.prepare(source);
      cache.set(source, statement);
      if (cache.size > size) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      return statement;
    },
  };
}

export function createDatabase(
  target: DatabaseTarget,
  options: {
    poolSize?: number;
    /** SQLite file: checkpoint the WAL from a worker thread instead of inside commits (the app's connection). */
    backgroundCheckpoints?: boolean;
  } = {},
): DatabaseHandle {
  if (target.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: target.url,
      max: options.poolSize ?? 10,
      types: pgTypes,
      connectionTimeoutMillis: 10_000,
    });
    // An idle client losing its connection (server restart) must not crash the process.
    pool.on('error', () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', close: () => db.destroy() };
  }

  if (target.path !== ':memory:') mkdirSync(dirname(target.path), { recursive: true });
  const sqlite = new SQLite(target.path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  // NORMAL is crash-safe in WAL mode (a process kill loses nothing committed).
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  const checkpoints =
    options.backgroundCheckpoints && target.path !== ':memory:' ? startBackgroundCheckpoints(target.path) : null;
  if (checkpoints) sqlite.pragma('wal_autocheckpoint = 0');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return {
    db,
    dialect: 'sqlite',
    close: async () => {
      await checkpoints?.stop();
      await db.destroy();
    },
  };
}
