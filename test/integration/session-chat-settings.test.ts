import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, startHarness } from '../support/bridge-harness.js';
import { chatDriver } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { DEFAULT_PHONE_NUMBERS } from '../support/fake-meta-graph.js';
import { validateMetaMessageBody } from '../support/meta-openapi.js';
import { PHONE_NUMBER_ID } from '../support/meta-webhooks.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The chat settings an operator can change: SIGN_AGENT_NAME, INTERNAL_NOTE_PREFIX and
 * SLACK_CHANNEL_BY_NUMBER (each sending number's conversations in their own channel).
 */

const SALES_CHANNEL = 'C0SALES';
const SALES_NUMBER_ID = DEFAULT_PHONE_NUMBERS[1]?.id ?? '';
const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`chat settings on ${dialect.name} (Meta)`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    beforeAll(async () => {
      h = await startHarness({
        database: await dialect.create(),
        env: {
          SIGN_AGENT_NAME: 'true',
          INTERNAL_NOTE_PREFIX: '//',
          SLACK_CHANNEL_BY_NUMBER: `+15550002222=${SALES_CHANNEL}`,
        },
      });
      chat = chatDriver(h);
      h.slack.addUser({ id: 'UAGENT1', name: 'agent1', realName: 'Agent One', displayName: 'Agent One' });
      h.slack.addUser({ id: 'UAGENT2', name: 'agent2', realName: 'Marta Lopes', displayName: '' });
      // Routing goes by the sending number's phone number, learnt from the Graph API at start.
      await waitFor('sending numbers listed', async () => {
        const rows = await h.app.database.db.selectFrom('sending_number').select('id').execute();
        return rows.length === DEFAULT_PHONE_NUMBERS.length;
      });
    });
    afterAll(async () => {
      await h?.stop();
    });

    /** Sends Meta accepted from `start` on, each checked against Meta's OpenAPI spec. */
    function sentSince(start: number) {
      const bodies = h.meta?.accepted().slice(start) ?? [];
      for (const body of bodies) expect(validateMetaMessageBody(body)).toEqual([]);
      return bodies;
    }

    it("prefixes outgoing text with the agent's name", async () => {
      const { threadTs } = await chat.metaContactWrites('who am I talking to?', { from: '447700900501' });
      const start = h.meta?.accepted().length ?? 0;
      await chat.replyRow(await chat.agentWrites({ threadTs, text: 'Happy to help _today_' }));
      await chat.replyRow(await chat.agentWrites({ threadTs, text: 'Me too', user: 'UAGENT2' }));
      expect(sentSince(start).map((b) => (b.text as { body: string }).body)).toEqual([
        '*Agent One:* Happy to help _today_',
        '*Marta Lopes:* Me too',
      ]);
    });

    it("signs a file's caption too", async () => {
      const { threadTs } = await chat.metaContactWrites('the photo?', { from: '447700900502' });
      const start = h.meta?.accepted().length ?? 0;
      const photo = h.slack.addFile({ id: 'FSIGNED', name: 'p.jpg', mimetype: 'image/jpeg', bytes: Buffer.from('J') });
      await chat.replyRow(await chat.agentWrites({ threadTs, text: 'Here', files: [photo] }));
      expect(sentSince(start)).toMatchObject([{ type: 'image', image: { caption: '*Agent One:* Here' } }]);
    });

    it('keeps messages that start with the configured prefix in Slack, and sends "note:" like any text', async () => {
      const { threadTs } = await chat.metaContactWrites('hello', { from: '447700900503' });
      const start = h.meta?.accepted().length ?? 0;
      const internal = await chat.agentWrites({ threadTs, text: '// VIP, offer the discount' });
      const indented = await chat.agentWrites({ threadTs, text: '   // also for internal eyes' });
      const sent = await chat.agentWrites({ threadTs, text: 'note: your order ships Monday' });
      await chat.replyRow(sent);
      await h.settle();
      expect(sentSince(start).map((b) => (b.text as { body: string }).body)).toEqual([
        '*Agent One:* note: your order ships Monday',
      ]);
      const stored = await h.app.database.db
        .selectFrom('message')
        .select('slack_ts')
        .where('slack_ts', 'in', [internal, indented])
        .execute();
      expect(stored).toEqual([]);
    });

    it("starts a sending number's conversations in its own channel, and replies go out from that number", async () => {
      const sales = await chat.metaContactWrites('I want to buy', {
        from: '447700900504',
        phoneNumberId: SALES_NUMBER_ID,
        name: 'Rui Costa',
      });
      expect(sales.channel).toBe(SALES_CHANNEL);
      const header = h.slack.rootMessages(SALES_CHANNEL).find((m) => m.ts === sales.threadTs);
      expect(JSON.stringify(header?.blocks)).toContain('+15550002222');
      const later = await chat.metaContactWrites('Do you ship to Porto?', {
        from: '447700900504',
        phoneNumberId: SALES_NUMBER_ID,
      });
      expect(later).toMatchObject({ channel: SALES_CHANNEL, threadTs: sales.threadTs });

      const start = h.meta?.requests.length ?? 0;
      await chat.replyRow(await chat.agentWrites({ threadTs: sales.threadTs, channel: SALES_CHANNEL, text: 'We do' }));
      const send = h.meta?.requests.slice(start).find((r) => r.method === 'POST' && r.path.endsWith('/messages'));
      expect(send?.path).toBe(`/${SALES_NUMBER_ID}/messages`);

      // The default channel got nothing of this conversation; the other number still lands there.
      const inDefault = h.slack
        .messages(CHANNEL_ID)
        .filter((m) => m.text.includes('I want to buy') || m.text.includes('Porto') || m.text.includes('Rui Costa'));
      expect(inDefault).toEqual([]);
      const support = await chat.metaContactWrites('help', { from: '447700900504', phoneNumberId: PHONE_NUMBER_ID });
      expect(support.channel).toBe(CHANNEL_ID);
    });
  });
}
