import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SESSIONS_PER_AGENT } from '../../src/db/stores/agent-session-store.js';
import {
  CHANNEL_ID,
  type Harness,
  LEAD,
  postMetaWebhook,
  SIGNING_SECRET,
  startHarness,
} from '../support/bridge-harness.js';
import { chatDriver } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { inboxDriver } from '../support/inbox-driver.js';
import { inboundWebhook, nextWamid } from '../support/meta-webhooks.js';
import { blockActionsPayload, interactivity, postSlack } from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Nothing unseen (issue #16, item 2) and the status cycle (item 3), through signed Meta webhooks
 * and signed Slack requests: a customer message into a conversation quiet for QUIET_AFTER_MINUTES,
 * or resolved, is shown in the channel once (a `reply_broadcast` post), not once per message; new
 * customer messages mention the owner; the first agent to reply owns an unowned conversation
 * (unless AUTO_ASSIGN_ON_REPLY=false) and it waits on the customer; the history export has owner,
 * status and first-response time. The app's clock is moved forward instead of waiting.
 */

const cases = await dialects();
const MINUTE = 60_000;
let phoneCounter = 0;
const nextPhone = () => `4479118${String(10000 + ++phoneCounter)}`;

for (const dialect of cases) {
  describe.runIf(dialect.available)(`team inbox surfacing on ${dialect.name}`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    let inbox: ReturnType<typeof inboxDriver>;
    let offset = 0;
    const now = () => Date.now() + offset;

    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create(), now });
      chat = chatDriver(h);
      inbox = inboxDriver(h);
      for (const id of ['UAGENT1', 'UAGENT2', 'UBUSY']) h.slack.addUser({ id, name: id.toLowerCase() });
    });
    afterAll(async () => {
      await h?.stop();
    });

    /** A customer's text, sent at the app's current time; resolves with its Slack post. */
    async function customerWrites(phone: string, text: string) {
      const id = nextWamid();
      const payload = inboundWebhook({ type: 'text', text: { body: text } }, { from: phone, id, timestamp: now() });
      expect((await postMetaWebhook(h.url, payload)).status).toBe(200);
      return chat.postOf(id);
    }

    /** Posts surfaced in the channel (thread replies also sent to the channel). */
    const broadcasts = (threadTs: string) =>
      h.slack.threadReplies(CHANNEL_ID, threadTs).filter((m) => m.reply_broadcast === true);

    it('shows a customer message into a quiet conversation in the channel once, mentioning the owner each time', async () => {
      const phone = nextPhone();
      const first = await customerWrites(phone, 'Hi, my order is late');
      const threadTs = first.thread_ts as string;
      expect(first.reply_broadcast).toBeUndefined();
      expect(first.text).not.toContain('<@');

      // The first agent to reply owns it; it now waits on the customer.
      const replyTs = await chat.agentWrites({ threadTs, text: 'Let me check', user: 'UAGENT1' });
      await chat.replyRow(replyTs);
      await waitFor('auto-assign note', () => inbox.notes(threadTs).length === 1);
      expect(inbox.notes(threadTs)).toEqual([
        ':bust_in_silhouette: <@UAGENT1> took this conversation (first to reply).',
      ]);
      await waitFor('header shows owner and waiting', () => {
        const text = inbox.headerText(threadTs);
        return text.includes('Owner: <@UAGENT1>') && text.includes('*Waiting on the customer*');
      });
      const contact = await inbox.contact(`+${phone}`);
      expect(contact).toMatchObject({ owner_user_id: 'UAGENT1', status: 'waiting', waiting_since: null });

      // 40 quiet minutes, then three messages in a row: the first is surfaced, the others are not.
      offset += 40 * MINUTE;
      const startedWaiting = Math.floor(now() / 1000) * 1000;
      const posts = [];
      for (const text of ['Hello?', 'Anyone?', 'Order #1234']) posts.push(await customerWrites(phone, text));
      expect(posts.map((p) => p.reply_broadcast === true)).toEqual([true, false, false]);
      for (const post of posts) expect(post.text).toContain('<@UAGENT1>');
      expect(broadcasts(threadTs)).toHaveLength(1);
      await h.settle();
      const after = await inbox.contact(`+${phone}`);
      expect(after.status).toBe('open');
      expect(after.waiting_since).toBe(startedWaiting);
      await waitFor('header shows open', () => inbox.headerText(threadTs).includes('*Open*'));

      // Within the quiet limit nothing is surfaced again.
      offset += 10 * MINUTE;
      expect((await customerWrites(phone, 'Still waiting')).reply_broadcast).toBeUndefined();
      expect(broadcasts(threadTs)).toHaveLength(1);

      // The first answer was recorded once, with its response time.
      const responses = (await inbox.events(contact.id)).filter((e) => e.kind === 'first_response');
      expect(responses).toHaveLength(1);
      expect(responses[0]?.actor_user_id).toBe('UAGENT1');
      expect(Number(responses[0]?.response_ms)).toBeGreaterThanOrEqual(0);
      expect(Number(responses[0]?.response_ms)).toBeLessThan(MINUTE);
    });

    it('reopens a resolved conversation on the next customer message and surfaces it once', async () => {
      const phone = nextPhone();
      const first = await customerWrites(phone, 'Question about billing');
      const threadTs = first.thread_ts as string;
      await (await inbox.click(threadTs, 'wa_inbox_resolve', 'UAGENT2')).answer();
      await waitFor('resolved header', () => inbox.headerText(threadTs).includes('*Resolved*'));

      // Not quiet (a minute later), but resolved: surfaced once.
      offset += MINUTE;
      const again = await customerWrites(phone, 'One more thing');
      const more = await customerWrites(phone, 'Sorry, and another');
      expect([again.reply_broadcast, more.reply_broadcast]).toEqual([true, undefined]);
      await waitFor('header open again', () => inbox.headerText(threadTs).includes('*Open*'));
      const contact = await inbox.contact(`+${phone}`);
      expect(contact.status).toBe('open');
      expect((await inbox.events(contact.id)).map((e) => [e.kind, e.actor_user_id])).toEqual([
        ['opened', null],
        ['resolved', 'UAGENT2'],
        ['reopened', null],
        ['opened', null],
      ]);
    });

    it('sends the reply but says so when a full My Sessions stops the auto-assign', async () => {
      const phone = nextPhone();
      const first = await customerWrites(phone, 'Hello there');
      const threadTs = first.thread_ts as string;
      const contact = await inbox.contact(`+${phone}`);
      const at = now();
      const others = Array.from({ length: MAX_SESSIONS_PER_AGENT }, (_, i) => ({
        id: `${dialect.name}-busy-${i}`,
        sending_number_id: contact.sending_number_id,
        phone_number: `+4479119${String(10000 + i)}`,
        user_id: null,
        profile_name: null,
        note: null,
        last_inbound_at: null,
        last_message_at: at,
        last_direction: 'inbound' as const,
        created_at: at,
        updated_at: at,
      }));
      await h.app.database.db.insertInto('contact').values(others).execute();
      await h.app.database.db
        .insertInto('agent_session')
        .values(others.map((c) => ({ slack_user_id: 'UBUSY', contact_id: c.id, created_at: at })))
        .execute();
      await chat.replyRow(await chat.agentWrites({ threadTs, text: 'On it', user: 'UBUSY' }));
      await waitFor('told why', () =>
        chat.ephemerals(threadTs).find((t) => t.includes('this conversation was not assigned to you')),
      );
      expect(chat.ephemerals(threadTs).join('\n')).toContain(
        `My Sessions already holds ${MAX_SESSIONS_PER_AGENT} conversations`,
      );
      await h.settle();
      expect(await inbox.contact(`+${phone}`)).toMatchObject({ owner_user_id: null, status: 'waiting' });
      expect(inbox.notes(threadTs)).toEqual([]);
    });

    it('exports owner, status and first-response time with the history', async () => {
      const phone = nextPhone();
      const first = await customerWrites(phone, 'Need help');
      const threadTs = first.thread_ts as string;
      offset += 5 * MINUTE;
      await chat.replyRow(await chat.agentWrites({ threadTs, text: 'Here to help', user: 'UAGENT2' }));
      await waitFor('owner', async () => (await inbox.contact(`+${phone}`)).owner_user_id === 'UAGENT2');
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId: LEAD,
            actionId: 'wa_history_export',
            value: 'export',
            view: {
              id: 'VHIST',
              callbackId: 'wa_history_modal',
              privateMetadata: JSON.stringify({ phoneNumber: `+${phone}`, page: 0 }),
            },
          }),
        ),
      );
      const upload = await waitFor('CSV uploaded to the DM', () =>
        h.slack.completed.find((c) => c.channel_id === `D${LEAD}`),
      );
      const lines = (upload.bytes[0]?.toString() ?? '').trim().split(/\r?\n/);
      expect(lines[0]).toMatch(/,agent,owner,conversation_status,first_response_seconds$/);
      expect(lines).toHaveLength(3);
      // Every row carries the conversation's owner, status and first-response time (about 300 s).
      for (const line of lines.slice(1)) {
        const [owner, status, seconds] = line.split(',').slice(-3);
        expect([owner, status]).toEqual(['UAGENT2', 'waiting']);
        expect(Number(seconds)).toBeGreaterThanOrEqual(299);
        expect(Number(seconds)).toBeLessThanOrEqual(302);
      }
    });
  });

  describe.runIf(dialect.available)(`team inbox with AUTO_ASSIGN_ON_REPLY=false on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create(), env: { AUTO_ASSIGN_ON_REPLY: 'false' } });
      h.slack.addUser({ id: 'UAGENT1', name: 'agent1' });
    });
    afterAll(async () => {
      await h?.stop();
    });

    it('leaves the conversation unowned when an agent replies, still waiting on the customer', async () => {
      const chat = chatDriver(h);
      const inbox = inboxDriver(h);
      const phone = nextPhone();
      const { threadTs } = await chat.metaContactWrites('Hello', { from: phone });
      await chat.replyRow(await chat.agentWrites({ threadTs, text: 'Hi!', user: 'UAGENT1' }));
      await waitFor('waiting', async () => (await inbox.contact(`+${phone}`)).status === 'waiting');
      await h.settle();
      expect((await inbox.contact(`+${phone}`)).owner_user_id).toBeNull();
      expect(inbox.notes(threadTs)).toEqual([]);
      await waitFor('header shows waiting', () => inbox.headerText(threadTs).includes('*Waiting on the customer*'));
      expect(inbox.headerText(threadTs)).toContain('Owner: _unassigned_');
    });
  });
}
