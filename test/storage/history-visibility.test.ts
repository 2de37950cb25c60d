import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHistory } from '../../src/bridge/history.js';
import type { MessageSource } from '../../src/bridge/records.js';
import { createDatabase, type DatabaseHandle } from '../../src/db/create-db.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createAgentSessionStore } from '../../src/db/stores/agent-session-store.js';
import { createMessageStore } from '../../src/db/stores/message-store.js';
import { dialects, type TestDatabase } from '../support/databases.js';

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`history visibility under LEADS on ${dialect.name}`, () => {
    let testDb: TestDatabase;
    let handle: DatabaseHandle;
    let n = 0;
    const message = async (
      contactId: string,
      source: MessageSource,
      author: string | null,
      body: string,
      outcome: { status: 'refused' | 'queued' | 'failed'; errorCode: string } | null = null,
    ) => {
      n++;
      await handle.db
        .insertInto('message')
        .values({
          id: `m-${n}`,
          contact_id: contactId,
          direction: source === 'contact' ? 'inbound' : 'outbound',
          kind: 'text',
          body,
          media_json: null,
          // A reply the bridge refused, or that never went out, has no WhatsApp id.
          provider_message_id: outcome ? null : `wamid.${n}`,
          alternate_message_id: null,
          slack_channel_id: null,
          slack_ts: null,
          status: outcome?.status ?? (source === 'contact' ? 'received' : 'delivered'),
          error_code: outcome?.errorCode ?? null,
          error_detail: outcome ? 'not sent' : null,
          provider_timestamp: null,
          source,
          author_slack_user_id: author,
          campaign_id: source === 'campaign' ? 'cmp-1' : null,
          created_at: 1000 + n,
          updated_at: 1000 + n,
        })
        .execute();
    };

    beforeAll(async () => {
      testDb = await dialect.create();
      handle = createDatabase(testDb.target);
      await migrateToLatest(handle.db);
      for (const id of ['c-replied', 'c-session', 'c-campaign', 'c-template', 'c-refused', 'c-unsent']) {
        await handle.db
          .insertInto('contact')
          .values({
            id,
            sending_number_id: 'pn-1',
            phone_number: `+4479111500${10 + n++}`,
            user_id: null,
            profile_name: null,
            note: 'a note',
            last_inbound_at: null,
            last_message_at: 1,
            last_direction: 'inbound',
            created_at: 1,
            updated_at: 1,
          })
          .execute();
      }
      await message('c-replied', 'contact', null, 'replied: question');
      await message('c-replied', 'agent', 'UAGENT', 'replied: answer');
      await message('c-replied', 'agent', 'UCOLLEAGUE', 'replied: colleague');
      await message('c-session', 'contact', null, 'session: secret');
      await message('c-session', 'agent', 'UCOLLEAGUE', 'session: colleague answer');
      await message('c-campaign', 'campaign', 'UAGENT', 'campaign: promo');
      await message('c-campaign', 'contact', null, 'campaign: reply to promo');
      await message('c-template', 'agent', 'UAGENT', 'template: order_update');
      // Replies that never reached WhatsApp: refused outside the window, queued, failed before sending.
      await message('c-refused', 'contact', null, 'refused: question');
      await message('c-refused', 'agent', 'UAGENT', 'refused: late answer', {
        status: 'refused',
        errorCode: 'window_closed',
      });
      await message('c-unsent', 'contact', null, 'unsent: question');
      await message('c-unsent', 'agent', 'UAGENT', 'unsent: waiting', { status: 'queued', errorCode: '' });
      await message('c-unsent', 'agent', 'UAGENT', 'unsent: failed', { status: 'failed', errorCode: 'no_number' });
      // In My Sessions (as `/wa chat <number>` does for anyone) without ever writing.
      expect(await createAgentSessionStore(handle.db, handle.dialect).add('UAGENT', 'c-session', 1)).toBe('added');
    });
    afterAll(async () => {
      await handle?.close();
      await testDb?.drop();
    });

    const history = () =>
      createHistory({ repository: createMessageStore(handle.db), isLead: async (userId) => userId === 'ULEAD' });

    it('shows a non-lead whole conversations they sent a message in as the agent, and nothing else', async () => {
      const page = await history().page('UAGENT', {}, 0);
      expect(page.entries.map((e) => e.body).sort()).toEqual(
        ['replied: answer', 'replied: colleague', 'replied: question', 'template: order_update'].sort(),
      );
      expect(page.restricted).toBe(true);
      // Asking for a hidden conversation by id gives nothing, and says so.
      const session = await history().page('UAGENT', { contactIds: ['c-session'] }, 0);
      expect(session.entries).toEqual([]);
      expect(session.restricted).toBe(true);
      // Within a visible conversation nothing is hidden.
      expect((await history().page('UAGENT', { contactIds: ['c-replied'] }, 0)).restricted).toBe(false);
    });

    it('does not count a refused reply, or one never sent, as taking part', async () => {
      for (const contactId of ['c-refused', 'c-unsent']) {
        const page = await history().page('UAGENT', { contactIds: [contactId] }, 0);
        expect(page.entries).toEqual([]);
        expect(page.restricted).toBe(true);
      }
      const all = await history().page('UAGENT', {}, 0);
      expect(all.entries.map((e) => e.body).filter((body) => /^(refused|unsent):/.test(body ?? ''))).toEqual([]);
    });

    it('shows leads everything', async () => {
      const page = await history().page('ULEAD', {}, 0);
      expect(page.entries).toHaveLength(13);
      expect(page.restricted).toBe(false);
    });
  });
}
