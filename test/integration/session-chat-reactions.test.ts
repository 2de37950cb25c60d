import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, postMetaWebhook, startHarness } from '../support/bridge-harness.js';
import { chatDriver, metaSample, nextSlackTs } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { validateMetaMessageBody } from '../support/meta-openapi.js';
import { statusWebhook } from '../support/meta-webhooks.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Reactions both ways, through the entry points only: a customer's WhatsApp reaction (Meta's
 * reactMessage.json sample, signed) shows as a reaction on the Slack message it is for, and an
 * agent's Slack reaction (a signed reaction_added / reaction_removed event) on a customer's message
 * reaches Meta as a `type: reaction` message valid against Meta's OpenAPI spec.
 */

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`reactions on ${dialect.name} (Meta)`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
      chat = chatDriver(h);
    });
    afterAll(async () => {
      await h?.stop();
    });

    /** A customer's message in its thread, and an agent's reply to it that Meta accepted. */
    async function conversation(from: string) {
      const customer = await chat.metaContactWrites(`hello from ${from}`, { from });
      const customerPost = await chat.postOf(customer.id);
      const text = `reply to ${from}`;
      const ts = await chat.agentWrites({ threadTs: customer.threadTs, text });
      // The agent's own post, as Slack holds it: the bridge only hears of it through the event.
      const reply = h.slack.addMessage({ channel: CHANNEL_ID, ts, thread_ts: customer.threadTs, text });
      const row = await chat.replyRow(ts);
      // The reply makes the agent the owner (team inbox): its note in the thread is posted by a job.
      await h.settle();
      return {
        threadTs: customer.threadTs,
        customer: { wamid: customer.id, post: customerPost },
        reply: { wamid: row.provider_message_id as string, message: reply },
      };
    }

    const threadPosts = (threadTs: string) => h.slack.threadReplies(CHANNEL_ID, threadTs).length;

    describe('from the customer', () => {
      it('shows on the agent reply it is for, replaced by a new one and gone when taken back', async () => {
        const from = '447700900801';
        const { threadTs, reply } = await conversation(from);
        const posts = threadPosts(threadTs);

        await chat.metaContactReacts('👍', { from, to: reply.wamid });
        await waitFor('👍 on the reply', () => reply.message.reactions.includes('+1'));
        await chat.metaContactReacts('❤️', { from, to: reply.wamid });
        await waitFor('❤️ instead of 👍', () => reply.message.reactions.join() === 'heart');
        await chat.metaContactReacts('', { from, to: reply.wamid });
        await waitFor('no reaction', () => reply.message.reactions.length === 0);

        await h.settle();
        expect(threadPosts(threadTs), 'no text posted for any of them').toBe(posts);
        expect(h.slack.callsTo('chat.postMessage').filter((c) => String(c.body.text).includes('Reacted'))).toEqual([]);
      });

      it("shows on the customer's own message, skin tone included, once however often Meta delivers it", async () => {
        const from = '447700900802';
        const { threadTs, customer } = await conversation(from);
        const posts = threadPosts(threadTs);
        const sample = metaSample('reactMessage.json', {
          from,
          patch: (message) => {
            message.reaction = { message_id: customer.wamid, emoji: '👍🏽' };
          },
        });
        expect((await postMetaWebhook(h.url, sample.payload)).status).toBe(200);
        expect((await postMetaWebhook(h.url, sample.payload)).status).toBe(200);
        await waitFor('👍🏽 on the message', () => customer.post.reactions.includes('+1::skin-tone-4'));
        await h.settle();
        expect(customer.post.reactions).toEqual(['+1::skin-tone-4']);
        expect(threadPosts(threadTs)).toBe(posts);
      });

      it('is posted as text in the thread when Slack has no emoji for it, escaped', async () => {
        const from = '447700900803';
        const { threadTs, reply } = await conversation(from);
        const link = `<https://acme.slack.com/archives/${CHANNEL_ID}/p${reply.message.ts.replace('.', '')}|:leftwards_arrow_with_hook: in reply to this message>`;

        // 🫪 (Unicode 17) has no Slack name yet.
        const unnamed = await chat.metaContactReacts('🫪', { from, to: reply.wamid });
        expect((await chat.postOf(unnamed)).text).toBe(`${link}\nReacted 🫪`);
        // 🦩 has a name, but this workspace's Slack answers invalid_name for it.
        h.slack.removeEmoji('flamingo');
        const refused = await chat.metaContactReacts('🦩', { from, to: reply.wamid });
        expect((await chat.postOf(refused)).text).toBe(`${link}\nReacted 🦩`);
        // A forged "emoji" is quoted as plain text, never markup.
        const forged = await chat.metaContactReacts('<!channel>', { from, to: reply.wamid });
        expect((await chat.postOf(forged)).text).toBe(`${link}\nReacted “&lt;!channel&gt;”`);
        expect(reply.message.reactions).toEqual([]);
        expect(await postsMentioning(threadTs, '<!channel>')).toBe(0);
      });

      it('is ignored, with a log line and no post, when the message it is for was never shown in Slack', async () => {
        const from = '447700900804';
        const { threadTs } = await conversation(from);
        const contact = await chat.contact(`+${from}`);
        // Known to the bridge but never in Slack (as a campaign's template is).
        await h.app.database.db
          .insertInto('message')
          .values({
            id: 'campaign-message-804',
            contact_id: contact.id,
            direction: 'outbound',
            kind: 'template',
            body: 'Spring sale',
            media_json: null,
            provider_message_id: 'wamid.CAMPAIGN804',
            alternate_message_id: null,
            slack_channel_id: null,
            slack_ts: null,
            status: 'delivered',
            error_code: null,
            error_detail: null,
            provider_timestamp: null,
            source: 'campaign',
            author_slack_user_id: null,
            campaign_id: null,
            created_at: Date.now(),
            updated_at: Date.now(),
          })
          .execute();
        const posts = threadPosts(threadTs);
        const reactionCalls = h.slack.callsTo('reactions.add').length;

        await chat.metaContactReacts('👍', { from, to: 'wamid.NEVER.SENT.BY.THE.BRIDGE' });
        await chat.metaContactReacts('🎉', { from, to: 'wamid.CAMPAIGN804' });
        await h.settle();

        expect(threadPosts(threadTs)).toBe(posts);
        expect(h.slack.callsTo('reactions.add').length).toBe(reactionCalls);
        const ignored = h.logs.filter((line) =>
          line.includes('WhatsApp reaction to a message the bridge has not shown in Slack; ignored'),
        );
        expect(ignored.some((line) => line.includes('wamid.NEVER.SENT.BY.THE.BRIDGE'))).toBe(true);
        expect(ignored.some((line) => line.includes('wamid.CAMPAIGN804'))).toBe(true);
      });

      it('never takes away the read mark when the customer takes back the same 👀', async () => {
        const from = '447700900805';
        const { reply } = await conversation(from);
        expect((await postMetaWebhook(h.url, statusWebhook(reply.wamid, 'read'))).status).toBe(200);
        await waitFor('read mark', () => reply.message.reactions.includes('blue_book'));

        await chat.metaContactReacts('👀', { from, to: reply.wamid });
        await chat.metaContactReacts('', { from, to: reply.wamid });
        await chat.metaContactReacts('🙏', { from, to: reply.wamid });
        await waitFor('🙏 on the reply', () => reply.message.reactions.includes('pray'));
        await h.settle();
        expect(reply.message.reactions).toEqual(['blue_book', 'pray']);
      });
    });

    describe('from an agent', () => {
      const reactionsTo = (wamid: string) =>
        (h.meta?.reactions() ?? []).filter((body) => (body.reaction as { message_id?: string }).message_id === wamid);

      it("goes to WhatsApp as a reaction to the customer's message; only the one shown is taken back", async () => {
        const from = '447700900811';
        const { customer } = await conversation(from);

        await chat.agentReacts({ ts: customer.post.ts, name: '+1' });
        await waitFor('👍 sent', () => reactionsTo(customer.wamid).length === 1);
        await chat.agentReacts({ ts: customer.post.ts, name: 'wave::skin-tone-3' });
        await waitFor('👋🏼 sent', () => reactionsTo(customer.wamid).length === 2);
        // 👍 was replaced on WhatsApp by 👋🏼: taking 👍 off in Slack changes nothing there.
        await chat.agentReacts({ ts: customer.post.ts, name: '+1', removed: true });
        await chat.agentReacts({ ts: customer.post.ts, name: 'wave::skin-tone-3', removed: true });
        await waitFor('removal sent', () => reactionsTo(customer.wamid).length === 3);
        await h.settle();

        const sent = reactionsTo(customer.wamid);
        expect(sent).toEqual([
          {
            messaging_product: 'whatsapp',
            recipient_type: 'individual',
            to: from,
            type: 'reaction',
            reaction: { message_id: customer.wamid, emoji: '👍' },
          },
          expect.objectContaining({ reaction: { message_id: customer.wamid, emoji: '👋🏼' } }),
          expect.objectContaining({ reaction: { message_id: customer.wamid, emoji: '' } }),
        ]);
        for (const body of sent) expect(validateMetaMessageBody(body)).toEqual([]);
        // Kept in the conversation's history like every message the customer got.
        const rows = await h.app.database.db
          .selectFrom('message')
          .select(['kind', 'body', 'status', 'author_slack_user_id'])
          .where('contact_id', '=', (await chat.contact(`+${from}`)).id)
          .where('kind', '=', 'reaction')
          .orderBy('created_at')
          .execute();
        expect(rows.map((r) => r.body)).toEqual(['reaction 👍', 'reaction 👋🏼', 'reaction removed']);
        expect(rows.every((r) => r.status === 'sent' && r.author_slack_user_id === 'UAGENT1')).toBe(true);
      });

      it("never sends the bridge's own reactions, nor reactions on anything but a customer's message", async () => {
        const from = '447700900812';
        const { threadTs, customer, reply } = await conversation(from);
        const before = h.meta?.reactions().length ?? 0;

        // The bot's status marks and the customer's reactions it shows are the bot's own.
        await chat.agentReacts({ ts: reply.message.ts, name: 'blue_book', user: 'UBOT' });
        await chat.agentReacts({ ts: customer.post.ts, name: 'heart', user: 'UBOT' });
        // People reacting to the header, to an agent's reply, and to a message outside any conversation.
        await chat.agentReacts({ ts: threadTs, name: '+1' });
        await chat.agentReacts({ ts: reply.message.ts, name: 'tada' });
        await chat.agentReacts({ ts: nextSlackTs(), name: 'tada', channel: 'C0ELSEWHERE' });
        // …and one that does go, so the others had their chance to.
        await chat.agentReacts({ ts: customer.post.ts, name: 'ok_hand' });
        await waitFor('the one reaction sent', () => (h.meta?.reactions().length ?? 0) > before);
        await h.settle();

        expect(h.meta?.reactions().slice(before)).toEqual([
          expect.objectContaining({ reaction: { message_id: customer.wamid, emoji: '👌' } }),
        ]);
      });

      it('tells the agent that a custom emoji cannot be sent, and sends nothing', async () => {
        const from = '447700900813';
        const { threadTs, customer } = await conversation(from);
        const before = h.meta?.reactions().length ?? 0;

        await chat.agentReacts({ ts: customer.post.ts, name: 'partyparrot' });
        await waitFor('the agent told', () => chat.ephemerals(threadTs).length > 0);
        await chat.agentReacts({ ts: customer.post.ts, name: 'partyparrot', removed: true });
        await h.settle();

        expect(chat.ephemerals(threadTs)).toEqual([
          ':warning: :partyparrot: is a custom emoji of this workspace. WhatsApp only has standard emoji, so the customer did not get this reaction.',
        ]);
        const ephemeral = h.slack.callsTo('chat.postEphemeral').find((c) => c.body.thread_ts === threadTs);
        expect(ephemeral?.body.user).toBe('UAGENT1');
        expect(h.meta?.reactions().length).toBe(before);
      });

      it('tells the agent when the window is closed, and sends nothing', async () => {
        const from = '447700900814';
        const { threadTs, customer } = await conversation(from);
        const before = h.meta?.reactions().length ?? 0;
        await chat.closeWindow(`+${from}`);

        await chat.agentReacts({ ts: customer.post.ts, name: '+1' });
        await waitFor('the agent told', () => chat.ephemerals(threadTs).length > 0);
        await h.settle();
        expect(chat.ephemerals(threadTs)[0]).toMatch(/^:no_entry: Not sent: the 24-hour customer-service window/);
        expect(h.meta?.reactions().length).toBe(before);
      });
    });

    async function postsMentioning(threadTs: string, text: string) {
      return h.slack.threadReplies(CHANNEL_ID, threadTs).filter((m) => m.text.includes(text)).length;
    }
  });

  describe.runIf(dialect.available)(`reactions on ${dialect.name} (EngageLab)`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    beforeAll(async () => {
      h = await startHarness({ provider: 'engagelab', database: await dialect.create() });
      chat = chatDriver(h);
    });
    afterAll(async () => {
      await h?.stop();
    });

    it('tells each agent once per conversation that EngageLab cannot send reactions', async () => {
      const { threadTs, id } = await chat.engageLabContactWrites('hello', { from: '447700900821' });
      const post = await chat.postOf(id);
      const sentBefore = h.engagelab?.sent().length ?? 0;

      await chat.agentReacts({ ts: post.ts, name: '+1' });
      await waitFor('the agent told', () => chat.ephemerals(threadTs).length === 1);
      await chat.agentReacts({ ts: post.ts, name: 'heart' });
      await chat.agentReacts({ ts: post.ts, name: 'heart', user: 'UAGENT2' });
      await waitFor('the other agent told', () => chat.ephemerals(threadTs).length === 2);
      await h.settle();

      const told = h.slack.callsTo('chat.postEphemeral').filter((c) => c.body.thread_ts === threadTs);
      expect(told.map((c) => c.body.user)).toEqual(['UAGENT1', 'UAGENT2']);
      expect(String(told[0]?.body.text)).toMatch(/EngageLab .*reaction/);
      expect(h.engagelab?.sent().length).toBe(sentBefore);
    });
  });
}
