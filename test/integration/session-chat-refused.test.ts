import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, SIGNING_SECRET, startHarness } from '../support/bridge-harness.js';
import { chatDriver, nextSlackTs } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import {
  blockActionsPayload,
  eventCallback,
  interactivity,
  postSlack,
  slashCommand,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Replies the bridge refuses or holds back are visible to everyone in the thread, not only to their
 * author: a refused reply gets 🚫 and a one-line reason, stays in the history as refused with its
 * text, and its author can send it again or as a template; a reply waiting for a slot shows ⏳ until
 * it is sent. The marks' legend is on the thread header and in `/wa help`; the read mark is not 👀.
 */

const cases = await dialects();
const RATE_LIMITED = {
  status: 429,
  body: { error: { message: '(#130429) Rate limit hit', type: 'OAuthException', code: 130429 } },
};

for (const dialect of cases) {
  describe.runIf(dialect.available)(`refused and pending replies on ${dialect.name} (Meta)`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
      chat = chatDriver(h);
    });
    afterAll(async () => {
      await h?.stop();
    });

    /** An agent's thread reply, in the fake Slack first (so marks land on it), then as a signed event. */
    async function agentReplies(threadTs: string, text: string, user = 'UAGENT1') {
      const ts = nextSlackTs();
      const message = h.slack.addMessage({ channel: CHANNEL_ID, ts, thread_ts: threadTs, text });
      const event = { type: 'message', channel: CHANNEL_ID, user, text, ts, thread_ts: threadTs };
      expect((await postSlack(h.url, eventCallback(SIGNING_SECRET, event))).status).toBe(200);
      return { ts, message };
    }

    const row = (ts: string) =>
      h.app.database.db.selectFrom('message').selectAll().where('slack_ts', '=', ts).executeTakeFirst();

    const sentText = (text: string) =>
      h.meta?.accepted().filter((b) => (b.text as { body?: string } | undefined)?.body === text) ?? [];

    let responses = 0;
    /** A button on the agent's notice, clicked; resolves with what the app answered on its response_url. */
    async function click(actionId: string, value: string, user = 'UAGENT1') {
      const responseId = `refused-${++responses}`;
      const before = h.slack.calls.length;
      const answer = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            actionId,
            value,
            userId: user,
            message: { channelId: CHANNEL_ID, ts: nextSlackTs() },
            responseUrl: `${h.slack.baseUrl}response/${responseId}`,
          }),
        ),
      );
      expect(answer.status).toBe(200);
      return { before, responseId };
    }
    const responseText = (responseId: string) =>
      waitFor(`response ${responseId}`, () => {
        const call = h.slack.calls.find((c) => c.method === 'response_url' && c.path === `/response/${responseId}`);
        return call ? String(call.body.text) : null;
      });

    it('shows a reply refused outside the window to the whole thread, keeps it as refused, and sends it again later', async () => {
      const from = '447700930001';
      const { threadTs } = await chat.metaContactWrites('hello', { from });
      await chat.closeWindow(`+${from}`);
      const sendsBefore = h.meta?.sent().length ?? 0;

      const { ts, message } = await agentReplies(threadTs, 'Your refund is on its way');

      // Everyone in the thread sees it: the refused mark on the reply and one line with the reason.
      const reason = await waitFor('the reason in the thread', () =>
        h.slack.threadReplies(CHANNEL_ID, threadTs).find((m) => m.text.startsWith(':no_entry_sign: Not sent')),
      );
      expect(reason.text).toBe(
        ':no_entry_sign: Not sent to the customer: the 24-hour customer-service window is closed; WhatsApp allows only a template until the customer writes again.',
      );
      await waitFor('the refused mark', () => message.reactions.includes('no_entry_sign'));
      // In the history as refused, with the text kept.
      const refused = await row(ts);
      expect(refused).toMatchObject({
        status: 'refused',
        error_code: 'window_closed',
        body: 'Your refund is on its way',
        provider_message_id: null,
      });
      // Its author is offered to send it again or as a template.
      const notice = await waitFor('the notice to the agent', () =>
        h.slack.callsTo('chat.postEphemeral').find((c) => c.body.thread_ts === threadTs),
      );
      expect(notice.body.user).toBe('UAGENT1');
      const buttons = JSON.stringify(notice.body.blocks);
      expect(buttons).toContain('"action_id":"wa_refused_send_again"');
      expect(buttons).toContain('"text":"Send again"');
      expect(buttons).toContain('"action_id":"wa_refused_as_template"');
      expect(buttons).toContain('"text":"Send as template"');
      await h.settle();
      expect(h.meta?.sent().length).toBe(sendsBefore);

      // Only its author can send it again, and not while the window is closed.
      const stranger = await click('wa_refused_send_again', refused?.id ?? '', 'UAGENT2');
      expect(await responseText(stranger.responseId)).toContain('Only the agent who wrote this reply');
      const tooEarly = await click('wa_refused_send_again', refused?.id ?? '');
      expect(await responseText(tooEarly.responseId)).toContain('the 24-hour window is still closed');
      await h.settle();
      expect(sentText('Your refund is on its way')).toEqual([]);
      expect((await row(ts))?.status).toBe('refused');

      // The customer writes again: Send again sends the kept text as that same reply.
      await chat.metaContactWrites('any news?', { from });
      const again = await click('wa_refused_send_again', refused?.id ?? '');
      expect(await responseText(again.responseId)).toContain('Sending your reply again');
      await waitFor('sent again', () => sentText('Your refund is on its way').length === 1);
      const sent = await chat.replyRow(ts);
      expect(sent.id).toBe(refused?.id);
      expect(
        h.slack.calls
          .slice(again.before)
          .some((c) => c.method === 'reactions.remove' && c.body.name === 'no_entry_sign'),
      ).toBe(true);
      expect(message.reactions).not.toContain('no_entry_sign');
      // A second click finds nothing left to send.
      const twice = await click('wa_refused_send_again', refused?.id ?? '');
      expect(await responseText(twice.responseId)).toContain('no longer waiting');
      await h.settle();
      expect(sentText('Your refund is on its way')).toHaveLength(1);
    });

    it('puts a refused reply in the template picker with its text in the first variable', async () => {
      const from = '447700930002';
      const { threadTs } = await chat.metaContactWrites('hello', { from });
      await chat.closeWindow(`+${from}`);
      const { ts } = await agentReplies(threadTs, 'Your order\nhas shipped');
      const refused = await waitFor('refused', async () => {
        const stored = await row(ts);
        return stored?.status === 'refused' ? stored : null;
      });
      await click('wa_refused_as_template', refused.id);
      const opened = await waitFor('the picker', () =>
        [...h.slack.views.values()].find((v) => JSON.stringify(v.view).includes('Your reply that was not sent')),
      );
      const metadata = (opened.view as { private_metadata: string }).private_metadata;
      expect(JSON.parse(metadata)).toMatchObject({ contactId: refused.contact_id, draft: 'Your order has shipped' });
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            actionId: 'tpl_template_select',
            selectedOption: 'hello_world',
            view: { id: opened.id, hash: opened.hash, callbackId: 'wa_template_picker', privateMetadata: metadata },
          }),
        ),
      );
      const chosen = await waitFor('template chosen', () =>
        JSON.stringify(h.slack.views.get(opened.id)?.view).includes('tpl_var:body.1')
          ? JSON.stringify(h.slack.views.get(opened.id)?.view)
          : null,
      );
      expect(chosen).toContain('"initial_value":"Your order has shipped"');

      // Someone else's refused reply is not theirs to reuse.
      const other = await click('wa_refused_as_template', refused.id, 'UAGENT2');
      expect(await responseText(other.responseId)).toContain('not yours');
    });

    it('shows a reply waiting for a slot as pending, and takes the mark away once it is sent', async () => {
      const from = '447700930003';
      const { threadTs } = await chat.metaContactWrites('hello', { from });
      // More 429s than the HTTP client's own retries (3 tries): the reply job waits for its next try.
      h.meta?.failNextSends(4, RATE_LIMITED);
      const before = h.slack.calls.length;
      const { ts, message } = await agentReplies(threadTs, 'one moment please');
      await chat.replyRow(ts, ['sent'], 20_000);
      await h.settle();
      const marks = h.slack.calls
        .slice(before)
        .filter((c) => c.body.timestamp === ts && ['reactions.add', 'reactions.remove'].includes(c.method))
        .map((c) => `${c.method} ${String(c.body.name)}`);
      expect(marks.filter((m) => m.includes('hourglass_flowing_sand'))).toEqual([
        'reactions.add hourglass_flowing_sand',
        'reactions.remove hourglass_flowing_sand',
      ]);
      expect(message.reactions).not.toContain('hourglass_flowing_sand');
      expect(sentText('one moment please')).toHaveLength(1);

      // A reply sent at the first try never shows the mark.
      const quick = h.slack.calls.length;
      const { ts: second } = await agentReplies(threadTs, 'and thanks');
      await chat.replyRow(second);
      await h.settle();
      expect(
        h.slack.calls
          .slice(quick)
          .filter((c) => c.body.timestamp === second && c.body.name === 'hourglass_flowing_sand'),
      ).toEqual([]);
    });

    it('explains the marks on the thread header and in /wa help, with a read mark that is not 👀', async () => {
      const legend =
        'Marks on replies: :hourglass_flowing_sand: waiting · :heavy_check_mark: sent · :white_check_mark: delivered · :blue_book: read · :x: failed · :no_entry_sign: refused';
      const { threadTs } = await chat.metaContactWrites('hello', { from: '447700930004' });
      const header = h.slack.rootMessages(CHANNEL_ID).find((m) => m.ts === threadTs);
      expect(JSON.stringify(header?.blocks)).toContain(JSON.stringify(legend).slice(1, -1));
      const help = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'help' }));
      const text = (help.json as { text: string }).text;
      expect(text).toContain(legend);
      expect(text).not.toContain(':eyes:');
    });
  });
}
