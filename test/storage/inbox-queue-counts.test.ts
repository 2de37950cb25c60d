import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/create-db.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createInboxQueueStore, QUEUE_COUNT_CAP } from '../../src/db/stores/inbox-queue-store.js';
import { dialects, type TestDatabase } from '../support/databases.js';

const cases = await dialects();

/**
 * App Home's *Unassigned* and *Mine* stop counting at a cap (issue #18: a Home publish must not read
 * a year of unresolved conversations); *Waiting on us* is always counted in full.
 */
for (const dialect of cases) {
  describe.runIf(dialect.available)(`App Home queue counts on ${dialect.name}`, () => {
    let testDb: TestDatabase;
    let handle: DatabaseHandle;
    let serial = 0;

    async function addContacts(
      count: number,
      fields: { owner?: string; status?: 'open' | 'waiting' | 'resolved'; waitingSince?: number },
    ) {
      for (let i = 0; i < count; i++) {
        serial++;
        await handle.db
          .insertInto('contact')
          .values({
            id: `c-${serial}`,
            sending_number_id: 'pn-1',
            phone_number: `+4479111${String(serial).padStart(5, '0')}`,
            user_id: null,
            profile_name: null,
            last_inbound_at: null,
            last_message_at: 1000 + serial,
            last_direction: null,
            owner_user_id: fields.owner ?? null,
            status: fields.status ?? 'waiting',
            waiting_since: fields.waitingSince ?? null,
            created_at: 1,
            updated_at: 1,
          })
          .execute();
      }
    }

    beforeAll(async () => {
      testDb = await dialect.create();
      handle = createDatabase(testDb.target);
      await migrateToLatest(handle.db);
      await addContacts(7, {}); // answered, nobody owns them
      await addContacts(5, { owner: 'UFIVE' });
      await addContacts(6, { owner: 'USIX' });
      await addContacts(9, { status: 'open', waitingSince: 5000 }); // waiting on us, nobody's
      await addContacts(4, { status: 'resolved' });
    });
    afterAll(async () => {
      await handle?.close();
      await testDb?.drop();
    });

    it('counts Unassigned and Mine up to the cap and says when there are more', async () => {
      const store = createInboxQueueStore(handle.db, { countCap: 5 });
      const unassigned = await store.unassigned(2);
      expect(unassigned.rows).toHaveLength(2);
      expect(unassigned).toMatchObject({ total: 5, atLeast: true });
      expect(await store.mine('USIX', 10)).toMatchObject({ total: 5, atLeast: true });
    });

    it('counts exactly at the cap and below it', async () => {
      const store = createInboxQueueStore(handle.db, { countCap: 5 });
      const five = await store.mine('UFIVE', 2);
      expect(five).toMatchObject({ total: 5, atLeast: false });
      expect(five.rows).toHaveLength(2);
      expect(await store.mine('UNOBODY', 2)).toMatchObject({ total: 0, atLeast: false, rows: [] });
    });

    it('always counts Waiting on us in full', async () => {
      const store = createInboxQueueStore(handle.db, { countCap: 5 });
      const waiting = await store.waitingOnUs({ userId: 'UFIVE', team: true }, 3);
      expect(waiting).toMatchObject({ total: 9, atLeast: false, oldestSince: 5000 });
      expect(waiting.rows).toHaveLength(3);
    });

    it(`counts up to ${QUEUE_COUNT_CAP} by default`, async () => {
      const store = createInboxQueueStore(handle.db);
      expect(await store.unassigned(1)).toMatchObject({ total: 7, atLeast: false });
      expect(await store.mine('USIX', 1)).toMatchObject({ total: 6, atLeast: false });
    });
  });
}
