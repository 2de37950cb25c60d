import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/bridge-harness.js';
import { chatDriver } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { validateMetaMarkReadBody } from '../support/meta-openapi.js';
import { waitFor } from '../support/wait-for.js';

/**
 * When an agent replies, the customer first sees their latest message read and the agent typing
 * (Meta's read receipt with `typing_indicator`, one request, checked against Meta's OpenAPI spec),
 * once per customer message, and a read receipt that fails never holds the reply back.
 */

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`read receipts on ${dialect.name} (Meta)`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
      chat = chatDriver(h);
    });
    afterAll(async () => {
      await h?.stop();
    });

    /** The Graph API's requests to the messages endpoint from `start` on: read receipts and sends, in arrival order. */
    const messagesRequests = (start: number) =>
      (h.meta?.requests ?? [])
        .slice(start)
        .filter((r) => r.method === 'POST' && r.path.endsWith('/messages'))
        .map((r) => r.body as Record<string, unknown>);
    const describeRequest = (body: Record<string, unknown>) =>
      body.status === 'read' ? `read ${String(body.message_id)}` : `send ${(body.text as { body: string }).body}`;

    it("marks the customer's latest message read, with the typing indicator, just before the reply", async () => {
      const from = '447700900901';
      const first = await chat.metaContactWrites('Hi', { from });
      const latest = await chat.metaContactWrites('Is my order on its way?', { from });
      const start = h.meta?.requests.length ?? 0;

      await chat.replyRow(await chat.agentWrites({ threadTs: first.threadTs, text: 'Yes, tomorrow' }));

      expect(messagesRequests(start).map(describeRequest)).toEqual([`read ${latest.id}`, 'send Yes, tomorrow']);
      const receipt = messagesRequests(start)[0];
      expect(receipt).toEqual({
        messaging_product: 'whatsapp',
        status: 'read',
        message_id: latest.id,
        typing_indicator: { type: 'text' },
      });
      expect(validateMetaMarkReadBody(receipt)).toEqual([]);
      expect(h.meta?.requests.at(start)?.path).toBe(`/${(await chat.contact(`+${from}`)).sending_number_id}/messages`);
    });

    it('marks each customer message once: not again for a second reply, nor for each part of a long one', async () => {
      const from = '447700900902';
      const { threadTs, id: question } = await chat.metaContactWrites('Two questions', { from });
      const start = h.meta?.requests.length ?? 0;

      await chat.replyRow(await chat.agentWrites({ threadTs, text: 'First answer' }));
      const long = `${'word '.repeat(900)}\n\n${'more '.repeat(200)}`; // over 4096 characters: two messages
      await chat.replyRow(await chat.agentWrites({ threadTs, text: long }));
      await h.settle();
      const afterTwoReplies = messagesRequests(start);
      expect(afterTwoReplies.filter((b) => b.status === 'read').map((b) => b.message_id)).toEqual([question]);
      expect(afterTwoReplies.filter((b) => b.status !== 'read')).toHaveLength(3);

      // A reaction is not a message to mark read; the customer's next message is.
      const { id: followUp } = await chat.metaContactWrites('One more', { from });
      await chat.metaContactReacts('👍', { from, to: followUp });
      await h.settle();
      const next = h.meta?.requests.length ?? 0;
      await chat.replyRow(await chat.agentWrites({ threadTs, text: 'Sure' }));
      expect(messagesRequests(next).map(describeRequest)).toEqual([`read ${followUp}`, 'send Sure']);
    });

    it('sends the reply when the read receipt fails, and logs it', async () => {
      const from = '447700900903';
      const { threadTs, id } = await chat.metaContactWrites('Hello?', { from });
      h.meta?.failNextMarkRead(1, {
        status: 500,
        body: { error: { message: 'An unknown error occurred', type: 'OAuthException', code: 1 } },
      });
      const start = h.meta?.requests.length ?? 0;

      const ts = await chat.agentWrites({ threadTs, text: 'Here I am' });
      const row = await chat.replyRow(ts);
      expect(row.provider_message_id).toMatch(/^wamid\./);
      // One attempt only: a read receipt is not worth delaying a reply for.
      expect(messagesRequests(start).map(describeRequest)).toEqual([`read ${id}`, 'send Here I am']);
      expect(h.meta?.marksRead().some((b) => b.message_id === id)).toBe(false);
      await waitFor('the failure logged', () =>
        h.logs.some((line) => line.includes("marking the customer's message read failed")),
      );
      expect(chat.ephemerals(threadTs)).toEqual([]);
    });
  });

  describe.runIf(dialect.available)(`read receipts on ${dialect.name} (EngageLab)`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    beforeAll(async () => {
      h = await startHarness({ provider: 'engagelab', database: await dialect.create() });
      chat = chatDriver(h);
    });
    afterAll(async () => {
      await h?.stop();
    });

    it('sends the reply alone: EngageLab documents no read receipts', async () => {
      const { threadTs } = await chat.engageLabContactWrites('Hi', { from: '447700900911' });
      const start = h.engagelab?.requests.length ?? 0;
      await chat.replyRow(await chat.agentWrites({ threadTs, text: 'Hello' }));
      expect(h.engagelab?.requests.slice(start).map((r) => `${r.method} ${r.path.split('?')[0] ?? ''}`)).toEqual([
        'POST /v1/messages',
      ]);
    });
  });
}
