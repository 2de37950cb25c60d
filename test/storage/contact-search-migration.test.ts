import { randomBytes } from 'node:crypto';
import { Migrator, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { createDatabase, type DatabaseHandle } from '../../src/db/create-db.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createConversationStore } from '../../src/db/stores/conversation-store.js';
import { dialects, POSTGRES_ADMIN_URL, postgresIsReachable, type TestDatabase } from '../support/databases.js';

/** migrations/2026_12_05_0900_contact_search.ts: the trigram index for the All Sessions search. */

const cases = await dialects();
const BEFORE = '2026_12_04_1900_scale_indexes';
const MIGRATION = '2026_12_05_0900_contact_search';

const contact = (id: string, phone: string, name: string, note: string | null) => ({
  id,
  sending_number_id: 'pn-1',
  phone_number: phone,
  user_id: null,
  profile_name: name,
  note,
  last_inbound_at: null,
  last_message_at: 1000,
  last_direction: null,
  created_at: 1,
  updated_at: 1,
});

const search = async (handle: DatabaseHandle, query: string) =>
  (await createConversationStore(handle.db).searchContacts({ query, limit: 10, offset: 0 })).rows
    .map((r) => r.id)
    .sort();

/** What the migration made: the FTS5 table and its triggers, or the pg_trgm indexes. */
async function searchObjects(handle: DatabaseHandle): Promise<string[]> {
  if (handle.dialect === 'sqlite') {
    const rows = await sql<{ name: string }>`select name from sqlite_master
      where name = 'contact_search' or (type = 'trigger' and name like 'contact_search%') order by name`.execute(
      handle.db,
    );
    return rows.rows.map((r) => r.name);
  }
  const rows = await sql<{ indexname: string }>`select indexname from pg_indexes
    where tablename = 'contact' and indexname like '%trgm' order by indexname`.execute(handle.db);
  return rows.rows.map((r) => r.indexname);
}

for (const dialect of cases) {
  describe.runIf(dialect.available)(`contact search migration on ${dialect.name}`, () => {
    let testDb: TestDatabase;
    let handle: DatabaseHandle;
    beforeAll(async () => {
      testDb = await dialect.create();
      handle = createDatabase(testDb.target);
    });
    afterAll(async () => {
      await handle?.close();
      await testDb?.drop();
    });

    it('indexes the contacts already there, and can be undone and redone', async () => {
      const migrator = new Migrator({ db: handle.db, provider: { getMigrations: async () => migrations } });
      expect((await migrator.migrateTo(BEFORE)).error).toBeUndefined();
      await handle.db
        .insertInto('contact')
        .values([
          contact('c-old', '+447911150000', 'Nora Lima', 'VIP customer'),
          contact('c-other', '+5511987650000', 'Ana Souza', null),
        ])
        .execute();

      await migrateToLatest(handle.db);
      expect(await searchObjects(handle)).toEqual(
        dialect.name === 'sqlite'
          ? ['contact_search', 'contact_search_delete', 'contact_search_insert', 'contact_search_update']
          : ['contact_note_trgm', 'contact_profile_name_trgm'],
      );
      expect(await search(handle, 'ora li')).toEqual(['c-old']);
      expect(await search(handle, 'p custom')).toEqual(['c-old']);
      expect(await search(handle, '9876')).toEqual(['c-other']);

      const down = await migrator.migrateTo(BEFORE);
      expect(down.error).toBeUndefined();
      expect(down.results?.map((r) => [r.migrationName, r.direction, r.status])).toEqual([
        [MIGRATION, 'Down', 'Success'],
      ]);
      expect(await searchObjects(handle)).toEqual([]);
      // Contacts can still be written without it (no trigger left behind writing to a dropped table).
      await handle.db
        .insertInto('contact')
        .values(contact('c-between', '+447911150009', 'Kai Berg', null))
        .execute();

      await migrateToLatest(handle.db);
      expect(await search(handle, 'ai ber')).toEqual(['c-between']);
      expect(await search(handle, 'p custom')).toEqual(['c-old']);
    });
  });
}

describe.runIf(await postgresIsReachable())(
  'contact search migration by a PostgreSQL user who may not create extensions',
  () => {
    const suffix = randomBytes(5).toString('hex');
    const role = `bridge_limited_${suffix}`;
    const database = `bridge_test_limited_${suffix}`;
    let handle: DatabaseHandle | undefined;
    const admin = async (statements: string[], db?: string) => {
      const url = new URL(POSTGRES_ADMIN_URL);
      if (db) url.pathname = `/${db}`;
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        for (const statement of statements) await client.query(statement);
      } finally {
        await client.end();
      }
    };
    beforeAll(async () => {
      await admin([`create role ${role} login`, `create database ${database}`]);
      // Enough to create tables in `public`, not CREATE on the database, which pg_trgm needs.
      await admin([`grant create, usage on schema public to ${role}`], database);
    });
    afterAll(async () => {
      await handle?.close();
      await admin([`drop database if exists ${database} with (force)`, `drop role if exists ${role}`]);
    });

    it('upgrades without the trigram indexes, and the search still works', async () => {
      const url = new URL(POSTGRES_ADMIN_URL);
      url.username = role;
      url.pathname = `/${database}`;
      handle = createDatabase({ kind: 'postgres', url: url.toString() });
      const results = await migrateToLatest(handle.db);
      expect(results.find((r) => r.migrationName === MIGRATION)?.status).toBe('Success');
      expect(await searchObjects(handle)).toEqual([]);
      await handle.db
        .insertInto('contact')
        .values(contact('c-1', '+447911150000', 'Nora Lima', 'VIP'))
        .execute();
      expect(await search(handle, 'ora li')).toEqual(['c-1']);
      expect(await search(handle, '11150')).toEqual(['c-1']);
    });
  },
);
