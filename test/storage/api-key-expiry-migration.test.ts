import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { createDatabase, type DatabaseHandle } from '../../src/db/create-db.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { dialects, type TestDatabase } from '../support/databases.js';

const cases = await dialects();
const DAY = 24 * 60 * 60 * 1000;

for (const dialect of cases) {
  describe.runIf(dialect.available)(`API key expiry migration on ${dialect.name}`, () => {
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

    it('gives keys made before expiry existed a full 90 days from the upgrade, and can be undone', async () => {
      const migrator = new Migrator({ db: handle.db, provider: { getMigrations: async () => migrations } });
      const before = await migrator.migrateTo('2026_12_01_1300_send_schedule');
      expect(before.error).toBeUndefined();
      const createdAt = Date.now() - 400 * DAY;
      await handle.db
        .insertInto('api_key')
        // The columns of the table as it was: the typed schema already has the new ones.
        .values({
          id: 'legacy1',
          name: 'legacy',
          key_hash: 'hash-legacy',
          created_by: 'UOLD',
          created_at: createdAt,
          revoked_at: null,
          last_used_at: null,
        } as never)
        .execute();

      const upgradedAt = Date.now();
      await migrateToLatest(handle.db);
      const row = await handle.db
        .selectFrom('api_key')
        .selectAll()
        .where('id', '=', 'legacy1')
        .executeTakeFirstOrThrow();
      expect(row.revoked_by).toBeNull();
      expect(row.expires_at).toBeGreaterThanOrEqual(upgradedAt + 90 * DAY);
      expect(row.expires_at).toBeLessThan(Date.now() + 90 * DAY + 1000);

      // Undone with whatever came after it (later migrations are undone first).
      const down = await migrator.migrateTo('2026_12_04_1000_user_downloads');
      expect(down.error).toBeUndefined();
      expect(down.results?.at(-1)?.migrationName).toBe('2026_12_04_1100_api_key_expiry');
      expect(down.results?.every((r) => r.direction === 'Down' && r.status === 'Success')).toBe(true);
      await migrateToLatest(handle.db);
    });
  });
}
