import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { DatabaseTarget } from '../config.js';
import type { Database } from './database.js';
import { startBackgroundCheckpoints } from './sqlite-checkpointer.js';
import { SqliteThreadDialect } from './sqlite-thread-dialect.js';

export type DatabaseHandle = {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  /** Resolves once the database answers a trivial query; rejects when it is unreachable. */
  ping(): Promise<void>;
  close(): Promise<void>;
};

/** Timestamps are bigint epoch ms; they fit a JS number, so read them back as numbers. */
const pgTypes: pg.CustomTypesConfig = {
  getTypeParser(oid, format) {
    if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

const ping = async (db: Kysely<Database>): Promise<void> => {
  await sql`select 1`.execute(db);
};

export function createDatabase(
  target: DatabaseTarget,
  options: {
    poolSize?: number;
    /** SQLite file: checkpoint the WAL from a worker thread instead of inside commits (the app's connection). */
    backgroundCheckpoints?: boolean;
    /** SQLite: NORMAL (default) survives a process crash; FULL also an OS crash or power loss. */
    synchronous?: 'NORMAL' | 'FULL';
    /** SQLite: the connection's thread is gone (nothing more can be stored until a restart). */
    onFailure?: (error: Error) => void;
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
    return { db, dialect: 'postgres', ping: () => ping(db), close: () => db.destroy() };
  }

  if (target.path !== ':memory:') mkdirSync(dirname(target.path), { recursive: true });
  const backgroundCheckpoints = options.backgroundCheckpoints === true && target.path !== ':memory:';
  const pragmas = [
    'journal_mode = WAL',
    'busy_timeout = 5000',
    // NORMAL is crash-safe in WAL mode (a process kill loses nothing committed); only FULL, an
    // fsync per commit, also keeps the last commits through an OS crash or a power cut.
    `synchronous = ${options.synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`,
    'foreign_keys = ON',
    // SQLite's page cache: better-sqlite3 builds with 16 MB per connection; reads that miss it come
    // from the OS page cache, and the bridge's queries are index lookups (issue #18: memory).
    'cache_size = -4000',
    ...(backgroundCheckpoints ? ['wal_autocheckpoint = 0'] : []),
  ];
  const db = new Kysely<Database>({
    dialect: new SqliteThreadDialect({ path: target.path, pragmas, onFailure: options.onFailure }),
  });
  const checkpoints = backgroundCheckpoints
    ? startBackgroundCheckpoints(target.path, {
        onFailure: () => void sql`pragma wal_autocheckpoint = 1000`.execute(db).catch(() => {}),
      })
    : null;
  return {
    db,
    dialect: 'sqlite',
    ping: () => ping(db),
    close: async () => {
      await checkpoints?.stop();
      await db.destroy();
    },
  };
}
