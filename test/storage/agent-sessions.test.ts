import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/create-db.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createAgentSessionStore, MAX_SESSIONS_PER_AGENT } from '../../src/db/stores/agent-session-store.js';
import { dialects, type TestDatabase } from '../support/databases.js';

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`My Sessions storage on ${dialect.name}`, () => {
    let testDb: TestDatabase;
    let first: DatabaseHandle;
    let second: DatabaseHandle;
    beforeAll(async () => {
      testDb = await dialect.create();
      first = createDatabase(testDb.target);
      second = createDatabase(testDb.target);
      await migrateToLatest(first.db);
      const now = Date.now();
      for (let i = 0; i < 140; i++) {
        await first.db
          .insertInto('contact')
          .values({
            id: `c-${i}`,
            sending_number_id: 'pn-1',
            phone_number: `+4479111${String(10000 + i)}`,
            user_id: null,
            profile_name: null,
            note: null,
            last_inbound_at: null,
            last_message_at: now,
            last_direction: 'inbound',
            created_at: now,
            updated_at: now,
          })
          .execute();
      }
    });
    afterAll(async () => {
      await first?.close();
      await second?.close();
      await testDb?.drop();
    });

    it('never lets concurrent adds take an agent past 100 sessions, from one or two processes', async () => {
      const a = createAgentSessionStore(first.db, first.dialect);
      const b = createAgentSessionStore(second.db, second.dialect);
      // 95 already: the race is over the last few places.
      for (let i = 0; i < 95; i++) expect(await a.add('URACE', `c-${i}`, 1)).toBe('added');
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, k) => (k % 2 === 0 ? a : b).add('URACE', `c-${95 + k}`, 2)),
      );
      expect(results.filter((r) => r === 'added')).toHaveLength(MAX_SESSIONS_PER_AGENT - 95);
      expect(results.filter((r) => r === 'limit_reached')).toHaveLength(40 - (MAX_SESSIONS_PER_AGENT - 95));
      expect(await a.count('URACE')).toBe(MAX_SESSIONS_PER_AGENT);
      // Another agent's sessions are counted apart.
      expect(await b.add('UOTHER', 'c-0', 3)).toBe('added');
      expect(await a.add('URACE', 'c-0', 4)).toBe('already');
    });

    it('adds the same conversation once even when the adds race', async () => {
      const a = createAgentSessionStore(first.db, first.dialect);
      const b = createAgentSessionStore(second.db, second.dialect);
      const results = await Promise.all([
        a.add('UTWICE', 'c-1', 1),
        b.add('UTWICE', 'c-1', 1),
        a.add('UTWICE', 'c-1', 1),
      ]);
      expect(results.filter((r) => r === 'added')).toHaveLength(1);
      expect(results.filter((r) => r === 'already')).toHaveLength(2);
      expect(await a.count('UTWICE')).toBe(1);
    });
  });
}
