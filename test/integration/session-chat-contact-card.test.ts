import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, postMetaWebhook, startHarness } from '../support/bridge-harness.js';
import { chatDriver, metaSample } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`shared contact without a name on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
    });
    afterAll(async () => {
      await h?.stop();
    });

    it('names a shared contact that has no name "Contact", never an empty bold "**"', async () => {
      const sample = metaSample('contactMessage.json', {
        from: '5511900000011',
        patch: (message) => {
          message.contacts = [{ phones: [{ phone: '+351 912 345 678', wa_id: '351912345678', type: 'CELL' }] }];
        },
      });
      expect((await postMetaWebhook(h.url, sample.payload)).status).toBe(200);
      const post = await chatDriver(h).postOf(sample.id);
      expect(post.text).toBe(':bust_in_silhouette: Shared contact:\n• *Contact* — +351 912 345 678 (CELL)');
      const row = await h.app.database.db
        .selectFrom('message')
        .select('body')
        .where('provider_message_id', '=', sample.id)
        .executeTakeFirstOrThrow();
      expect(row.body).toBe('contacts: Contact');
    });
  });
}
