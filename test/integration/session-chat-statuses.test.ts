import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, postMetaWebhook, startHarness } from '../support/bridge-harness.js';
import { chatDriver } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Delivery statuses from Meta (the real sample webhooks, re-addressed to the message the agent
 * sent) show on the agent's Slack message and never move backwards, whatever order they come in.
 */

const SAMPLES = resolve(import.meta.dirname, '../fixtures/meta-samples/webhooks');

function statusSample(file: string, wamid: string, recipient: string) {
  const payload = JSON.parse(readFileSync(resolve(SAMPLES, file), 'utf8')) as {
    entry: { changes: { value: { statuses: Record<string, unknown>[] } }[] }[];
  };
  const status = payload.entry[0]?.changes[0]?.value.statuses[0];
  if (!status) throw new Error(`${file} holds no status`);
  status.id = wamid;
  status.recipient_id = recipient;
  status.timestamp = String(Math.floor(Date.now() / 1000));
  return payload;
}

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`delivery statuses on ${dialect.name} (Meta)`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
      chat = chatDriver(h);
    });
    afterAll(async () => {
      await h?.stop();
    });

    /** An agent's reply that Meta accepted; the Slack message exists in the fake so reactions land on it. */
    async function sentReply(from: string, text: string) {
      const { threadTs } = await chat.metaContactWrites(`hello from ${from}`, { from });
      const ts = await chat.agentWrites({ threadTs, text });
      const message = h.slack.addMessage({ channel: CHANNEL_ID, ts, thread_ts: threadTs, text });
      const row = await chat.replyRow(ts);
      return { threadTs, ts, message, row, wamid: row.provider_message_id as string };
    }

    const storedStatus = async (id: string) =>
      (await h.app.database.db.selectFrom('message').select('status').where('id', '=', id).executeTakeFirstOrThrow())
        .status;

    async function deliver(payload: unknown) {
      expect((await postMetaWebhook(h.url, payload)).status).toBe(200);
      await h.settle();
    }

    it('moves the reaction from delivered to read as the statuses arrive', async () => {
      const reply = await sentReply('447700900401', 'Your order shipped');
      await deliver(statusSample('textMessageStatusSent.json', reply.wamid, '447700900401'));
      expect(await storedStatus(reply.row.id)).toBe('sent');

      await deliver(statusSample('textMessageStatusDelivered.json', reply.wamid, '447700900401'));
      expect(await storedStatus(reply.row.id)).toBe('delivered');
      expect(reply.message.reactions).toEqual(['white_check_mark']);

      await deliver(statusSample('textMessageStatusRead.json', reply.wamid, '447700900401'));
      expect(await storedStatus(reply.row.id)).toBe('read');
      expect(reply.message.reactions).toEqual(['blue_book']);
    });

    it('ignores duplicates and late statuses: the message never moves backwards', async () => {
      const reply = await sentReply('447700900402', 'Tracking number inside');
      await deliver(statusSample('textMessageStatusRead.json', reply.wamid, '447700900402'));
      expect(reply.message.reactions).toEqual(['blue_book']);
      const callsAfterRead = h.slack.calls.filter((c) => c.method.startsWith('reactions.')).length;

      await deliver(statusSample('textMessageStatusDelivered.json', reply.wamid, '447700900402'));
      await deliver(statusSample('textMessageStatusSent.json', reply.wamid, '447700900402'));
      await deliver(statusSample('textMessageStatusRead.json', reply.wamid, '447700900402'));
      await deliver(statusSample('textMessageStatusDelivered.json', reply.wamid, '447700900402'));

      expect(await storedStatus(reply.row.id)).toBe('read');
      expect(reply.message.reactions).toEqual(['blue_book']);
      expect(h.slack.calls.filter((c) => c.method.startsWith('reactions.')).length).toBe(callsAfterRead);
    });

    it("posts Meta's 131047 failure as a reason the agent can act on, once", async () => {
      const reply = await sentReply('447700900403', 'Are you still there?');
      const failed = statusSample('reEngagementMessageError.json', reply.wamid, '447700900403');
      await deliver(failed);
      await deliver(failed); // Meta delivers webhooks at least once
      const notices = h.slack
        .threadReplies(CHANNEL_ID, reply.threadTs)
        .filter((m) => m.text.startsWith(':x: Not delivered'));
      expect(notices.map((m) => m.text)).toEqual([
        ':x: Not delivered to the customer: outside the 24-hour window — send a template (131047)',
      ]);
      expect(reply.message.reactions).toEqual(['x']);
      const row = await h.app.database.db
        .selectFrom('message')
        .select(['status', 'error_code'])
        .where('id', '=', reply.row.id)
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ status: 'failed', error_code: '131047' });
    });

    it('explains other failures in words too (131026: not on WhatsApp)', async () => {
      const reply = await sentReply('447700900404', 'Hello?');
      const failed = statusSample('reEngagementMessageError.json', reply.wamid, '447700900404');
      const status = failed.entry[0]?.changes[0]?.value.statuses[0] as { errors: Record<string, unknown>[] };
      status.errors = [
        {
          code: 131026,
          title: 'Message undeliverable',
          message: 'Message undeliverable',
          error_data: { details: 'Message Undeliverable.' },
        },
      ];
      await deliver(failed);
      const notice = await waitFor('failure notice', () =>
        h.slack.threadReplies(CHANNEL_ID, reply.threadTs).find((m) => m.text.startsWith(':x: Not delivered')),
      );
      expect(notice.text).toBe(
        ':x: Not delivered to the customer: WhatsApp could not deliver to this number (not on WhatsApp, blocked or opted out) (131026)',
      );
    });
  });
}
