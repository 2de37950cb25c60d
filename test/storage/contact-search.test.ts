import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/create-db.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createConversationStore } from '../../src/db/stores/conversation-store.js';
import { dialects, type TestDatabase } from '../support/databases.js';

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`All Sessions search on ${dialect.name}`, () => {
    let testDb: TestDatabase;
    let handle: DatabaseHandle;
    beforeAll(async () => {
      testDb = await dialect.create();
      handle = createDatabase(testDb.target);
      await migrateToLatest(handle.db);
      const contacts = [
        { id: 'c-nora', sending: 'pn-1', phone: '+447911150000', name: 'Nora Lima', note: 'VIP Customer' },
        { id: 'c-ana', sending: 'pn-2', phone: '+447911150001', name: 'ana souza', note: 'prefers email' },
        { id: 'c-silent', sending: 'pn-1', phone: '+447911150002', name: 'Never Wrote', note: 'VIP' },
      ];
      for (const [i, c] of contacts.entries()) {
        await handle.db
          .insertInto('contact')
          .values({
            id: c.id,
            sending_number_id: c.sending,
            phone_number: c.phone,
            user_id: null,
            profile_name: c.name,
            note: c.note,
            last_inbound_at: null,
            // No message either way yet: not in All Sessions.
            last_message_at: c.id === 'c-silent' ? null : 1000 + i,
            last_direction: null,
            created_at: 1,
            updated_at: 1,
          })
          .execute();
      }
    });
    afterAll(async () => {
      await handle?.close();
      await testDb?.drop();
    });

    const search = async (query: string, sendingNumberId?: string) =>
      (
        await createConversationStore(handle.db).searchContacts({
          query,
          ...(sendingNumberId ? { sendingNumberId } : {}),
          limit: 10,
          offset: 0,
        })
      ).rows.map((r) => r.id);

    it('ignores case in notes and names, the same on every dialect', async () => {
      expect(await search('vip')).toEqual(['c-nora']);
      expect(await search('vIp cUsToMeR')).toEqual(['c-nora']);
      expect(await search('NORA')).toEqual(['c-nora']);
      expect(await search('ANA SOUZA')).toEqual(['c-ana']);
      expect(await search('Prefers')).toEqual(['c-ana']);
    });

    it('finds numbers by their digits however they are typed, and filters by sending number', async () => {
      expect(await search('+44 7911 150001')).toEqual(['c-ana']);
      expect(await search('7911-150000')).toEqual(['c-nora']);
      expect((await search('7911')).sort()).toEqual(['c-ana', 'c-nora']);
      expect(await search('7911', 'pn-2')).toEqual(['c-ana']);
      expect(await search('', 'pn-1')).toEqual(['c-nora']);
    });

    it('finds any substring of a name, a number or a note, including terms shorter than three characters', async () => {
      // Three characters and more go through the trigram index; shorter ones through LIKE.
      expect(await search('ora li')).toEqual(['c-nora']);
      expect(await search('a sou')).toEqual(['c-ana']);
      expect(await search('ustom')).toEqual(['c-nora']);
      expect(await search('s email')).toEqual(['c-ana']);
      expect(await search('1150001')).toEqual(['c-ana']);
      expect(await search('150000')).toEqual(['c-nora']);
      expect(await search('no')).toEqual(['c-nora']);
      expect(await search('SO')).toEqual(['c-ana']);
      expect((await search('a')).sort()).toEqual(['c-ana', 'c-nora']);
      expect(await search('Ip')).toEqual(['c-nora']);
      // `%` and `_` are not wildcards, and a quote is only a character.
      expect(await search('v%p')).toEqual([]);
      expect(await search('"vip"')).toEqual([]);
      expect(await search('nobody here')).toEqual([]);
    });

    it('keeps up with new contacts and with changed names, notes and numbers', async () => {
      const store = createConversationStore(handle.db);
      await handle.db
        .insertInto('contact')
        .values({
          id: 'c-new',
          sending_number_id: 'pn-2',
          phone_number: '+5511987650000',
          user_id: null,
          profile_name: 'Quentin Blake',
          note: null,
          last_inbound_at: null,
          last_message_at: 5000,
          last_direction: null,
          created_at: 1,
          updated_at: 1,
        })
        .execute();
      expect(await search('uentin')).toEqual(['c-new']);
      expect(await search('98765')).toEqual(['c-new']);

      await store.setNote('c-new', 'Illustrator', 2);
      expect(await search('llustra')).toEqual(['c-new']);
      await handle.db
        .updateTable('contact')
        .set({ profile_name: 'Q. B.', phone_number: '+5511912340000' })
        .where('id', '=', 'c-new')
        .execute();
      expect(await search('uentin')).toEqual([]);
      expect(await search('98765')).toEqual([]);
      expect(await search('91234')).toEqual(['c-new']);
      expect(await search('llustra')).toEqual(['c-new']);
      // Activity alone (every message updates it) leaves the match as it was.
      await handle.db.updateTable('contact').set({ last_message_at: 6000 }).where('id', '=', 'c-new').execute();
      expect(await search('llustra')).toEqual(['c-new']);

      await store.setNote('c-new', null, 3);
      expect(await search('llustra')).toEqual([]);
      await handle.db.deleteFrom('contact').where('id', '=', 'c-new').execute();
      expect(await search('91234')).toEqual([]);
      expect(await search('Blake')).toEqual([]);
    });
  });
}
