import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHANNEL_ID,
  type Harness,
  LEAD,
  postMetaWebhook,
  SIGNING_SECRET,
  startHarness,
} from '../support/bridge-harness.js';
import { chatDriver, nextSlackTs } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { validateMetaMessageBody } from '../support/meta-openapi.js';
import { statusWebhook } from '../support/meta-webhooks.js';
import { type Modal, pickState, quickReplyDriver } from '../support/quick-reply-driver.js';
import {
  blockActionsPayload,
  eventCallback,
  interactivity,
  postSlack,
  slashCommand,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Quick replies (issue #16, item 5): leads keep the team's saved replies with `/wa replies`; an
 * agent picks one from a thread header's *Quick reply*, sees it filled in, and it goes out the way a
 * typed reply does: 24-hour window, a message in the thread with delivery reactions, 4,096-character
 * split, sent once. Everything goes through signed Slack requests and Meta webhooks.
 */

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`quick replies on ${dialect.name} (Meta)`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    let qr: ReturnType<typeof quickReplyDriver>;
    let list: Modal;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
      chat = chatDriver(h);
      qr = quickReplyDriver(h);
      h.slack.addUser({ id: 'UAGENT1', name: 'agent1', realName: 'Agent One', displayName: 'Agent One' });
      const opened = await qr.openList();
      if (!opened.list) throw new Error(`/wa replies opened no modal: ${opened.answer}`);
      list = opened.list;
    });
    afterAll(async () => {
      await h?.stop();
    });

    /** Adds a reply through the list modal (as the lead) and returns its stored row. */
    async function addReply(title: string, body: string) {
      const { answer } = await qr.save(list, { title, body });
      expect(answer).toBeNull();
      const row = (await qr.replies()).find((r) => r.title === title);
      if (!row) throw new Error(`${title} was not stored`);
      return row;
    }

    /** Meta sends to a number from `start` on, each checked against Meta's OpenAPI spec. */
    function sendsTo(number: string, start = 0) {
      const bodies = (h.meta?.accepted() ?? []).slice(start).filter((b) => b.to === number);
      for (const body of bodies) expect(validateMetaMessageBody(body)).toEqual([]);
      return bodies;
    }

    it('lists /wa replies in /wa help', async () => {
      const help = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'help' }));
      expect((help.json as { text: string }).text).toContain('`/wa replies`');
    });

    it('lets a lead add, edit and delete quick replies in a modal listing title and first line', async () => {
      expect(list.callback_id).toBe('wa_quick_replies');
      const { editor, answer } = await qr.save(list, {
        title: 'Opening hours',
        body: 'Hi {{customer_name}}, we are open 9:00–17:00.\nSee you soon, {{agent_name}}',
      });
      expect(editor.callback_id).toBe('wa_quick_reply_edit');
      expect(answer).toBeNull(); // closes the editor
      const [stored] = (await qr.replies()).filter((r) => r.title === 'Opening hours');
      expect(stored).toMatchObject({
        body: 'Hi {{customer_name}}, we are open 9:00–17:00.\nSee you soon, {{agent_name}}',
        created_by: LEAD,
        updated_by: LEAD,
      });
      let shown = qr.text(qr.modal(list.id));
      expect(shown).toContain('Saved \\"Opening hours\\"');
      expect(shown).toContain('*Opening hours*\\nHi {{customer_name}}, we are open 9:00–17:00.');
      expect(shown).not.toContain('See you soon');

      // Edit: the editor opens with the stored values; saving changes them.
      const clicked = await qr.click(qr.modal(list.id), 'wa_qr_edit', { value: stored?.id ?? '', userId: LEAD });
      const edit = clicked.pushed();
      const inputs = edit?.blocks.filter((b) => b.type === 'input').map((b) => b.element?.initial_value);
      expect(inputs).toEqual(['Opening hours', stored?.body]);
      expect(
        await qr.submit(
          edit as Modal,
          qr.draftValues('Opening hours (weekdays)', 'Open 9–17, {{customer_name}}.'),
          LEAD,
        ),
      ).toBeNull();
      const [edited] = await qr.replies();
      expect(edited).toMatchObject({
        id: stored?.id,
        title: 'Opening hours (weekdays)',
        body: 'Open 9–17, {{customer_name}}.',
      });
      shown = qr.text(qr.modal(list.id));
      expect(shown).toContain('*Opening hours (weekdays)*\\nOpen 9–17, {{customer_name}}.');

      // Delete (behind Slack's confirmation dialog): gone from the list and the database.
      const deleteButton = qr
        .modal(list.id)
        .blocks.flatMap((b) => b.elements ?? [])
        .find((e) => e.action_id === 'wa_qr_delete' && e.value === stored?.id);
      expect(deleteButton).toMatchObject({ confirm: { confirm: { text: 'Delete' } } });
      await qr.click(qr.modal(list.id), 'wa_qr_delete', { value: stored?.id ?? '', userId: LEAD });
      expect(await qr.replies()).toEqual([]);
      shown = qr.text(qr.modal(list.id));
      expect(shown).toContain('Deleted \\"Opening hours (weekdays)\\"');
      expect(shown).toContain('No quick replies yet');
    });

    it('refuses bad input on the field it concerns: title, length, unknown placeholders, duplicate titles', async () => {
      const greeting = await addReply('Greeting', 'Hello {{customer_name}}!');
      const other = await addReply('Goodbye', 'Bye {{ customer_name }}!');
      const attempts: [title: string, body: string, errors: Record<string, string | RegExp>][] = [
        ['   ', 'Some text', { qr_title: 'Give the quick reply a title.' }],
        ['T'.repeat(76), 'Some text', { qr_title: 'A title has at most 75 characters.' }],
        ['Blank', '  \n ', { qr_body: 'Write the text of the reply.' }],
        ['Too long', 'x'.repeat(3001), { qr_body: 'The text has at most 3,000 characters.' }],
        [
          'Shipping',
          'Your order {{order_id}} ships on {{ship_date}}, {{customer_name}}. {{order_id}}',
          {
            qr_body:
              'Unknown placeholders {{order_id}}, {{ship_date}}: only {{customer_name}} and {{agent_name}} can be used.',
          },
        ],
        ['  greeting ', 'Another hello', { qr_title: 'There is already a quick reply called "greeting".' }],
        [
          '',
          '{{Customer_Name}}',
          { qr_title: 'Give the quick reply a title.', qr_body: /Unknown placeholder \{\{Customer_Name\}\}/ },
        ],
      ];
      for (const [title, body, errors] of attempts) {
        const { answer } = await qr.save(list, { title, body });
        expect(answer?.response_action).toBe('errors');
        for (const [field, message] of Object.entries(errors))
          typeof message === 'string'
            ? expect(answer?.errors?.[field]).toBe(message)
            : expect(answer?.errors?.[field]).toMatch(message);
        expect(Object.keys(answer?.errors ?? {}).sort()).toEqual(Object.keys(errors).sort());
      }
      // Renaming one reply to another's title (in another case) is refused too.
      const { answer } = await qr.save(list, { id: other.id, title: 'GREETING', body: 'Bye!' });
      expect(answer?.errors?.qr_title).toBe('There is already a quick reply called "GREETING".');
      expect((await qr.replies()).map((r) => [r.title, r.body])).toEqual([
        ['Goodbye', 'Bye {{ customer_name }}!'],
        ['Greeting', greeting.body],
      ]);
    });

    it('lets only leads manage quick replies: /wa replies, saving and deleting are refused to anyone else', async () => {
      const before = await qr.replies();
      const { list: opened, answer } = await qr.openList('UAGENT1');
      expect(opened).toBeNull();
      expect(answer).toContain('Only the people listed in LEADS');
      expect(answer).toContain('can add, change or delete quick replies');

      // Requests a non-lead could only forge (or send from a modal opened before losing the role).
      const add = await qr.click(qr.modal(list.id), 'wa_qr_add', { userId: 'UAGENT1' });
      expect(add.pushed()).toBeNull(); // no editor: the list says why instead
      expect(qr.text(qr.modal(list.id))).toContain('Only the people listed in LEADS');
      const forgedEditor = {
        ...list,
        callback_id: 'wa_quick_reply_edit',
        private_metadata: JSON.stringify({ id: null, listViewId: list.id, page: 0 }),
      };
      const forged = await qr.submit(forgedEditor, qr.draftValues('Sneaky', 'Hi'), 'UAGENT1');
      expect(forged?.errors?.qr_title).toBe('Only the people listed in LEADS can add, change or delete quick replies.');
      await qr.click(qr.modal(list.id), 'wa_qr_delete', { value: before[0]?.id ?? '', userId: 'UAGENT1' });
      expect(qr.text(qr.modal(list.id))).toContain('Only the people listed in LEADS');
      expect(await qr.replies()).toEqual(before);
    });

    it('sends a picked quick reply as the agent: preview, placeholders filled on WhatsApp, a thread post with delivery reactions, once', async () => {
      const reply = await addReply(
        'Welcome',
        'Hi {{customer_name}} :wave: I am {{agent_name}}. *How can I help?*\nTerms & conditions apply <3',
      );
      const { threadTs } = await chat.metaContactWrites('Hello?', { from: '447700900501', name: 'Ana Souza' });
      const contact = await chat.contact('+447700900501');
      const header = h.slack.rootMessages(CHANNEL_ID).find((m) => m.ts === threadTs);
      expect(JSON.stringify(header?.blocks)).toContain('wa_quick_reply_open');

      const picker = await qr.openPicker(threadTs, contact.id);
      expect(picker.callback_id).toBe('wa_quick_reply_picker');
      expect(qr.options(picker).map((o) => [o.text.text, o.description?.text])).toContainEqual([
        'Welcome',
        'Hi {{customer_name}} :wave: I am {{agent_name}}. *How can I help?*',
      ]);
      expect(qr.text(picker)).toContain('To: *Ana Souza (+447700900501)*');
      const chosen = await qr.choose(picker, reply.id);
      const preview = chosen.blocks.find((b) => b.block_id === 'qr_preview')?.text?.text;
      expect(preview).toBe('Hi Ana Souza :wave: I am Agent One. *How can I help?*\nTerms &amp; conditions apply &lt;3');
      expect(qr.text(chosen)).toContain('sent as you');

      const start = h.meta?.accepted().length ?? 0;
      expect(await qr.send(chosen, reply.id)).toBeNull();
      await waitFor('quick reply sent', () => sendsTo('447700900501', start).length === 1);
      expect(sendsTo('447700900501', start)).toEqual([
        {
          messaging_product: 'whatsapp',
          recipient_type: 'individual',
          to: '447700900501',
          type: 'text',
          text: {
            body: 'Hi Ana Souza 👋 I am Agent One. *How can I help?*\nTerms & conditions apply <3',
            preview_url: false,
          },
        },
      ]);

      // In the thread, under the agent's name, saying what it is; the stored reply points at it.
      const post = await waitFor('quick reply in the thread', () =>
        h.slack.threadReplies(CHANNEL_ID, threadTs).find((m) => m.username === 'Agent One'),
      );
      expect(post.text).toBe(
        'Hi Ana Souza :wave: I am Agent One. *How can I help?*\nTerms &amp; conditions apply &lt;3',
      );
      expect(JSON.stringify(post.blocks)).toContain('Quick reply _Welcome_, sent on WhatsApp by Agent One');
      const row = await chat.replyRow(post.ts);
      expect(row).toMatchObject({ author_slack_user_id: 'UAGENT1', source: 'agent', direction: 'outbound' });

      // Delivery statuses land on that post.
      await postMetaWebhook(h.url, statusWebhook(row.provider_message_id as string, 'delivered'));
      await postMetaWebhook(h.url, statusWebhook(row.provider_message_id as string, 'read'));
      await waitFor('read reaction', () => post.reactions.includes('blue_book'));
      expect(
        h.slack
          .callsTo('reactions.add')
          .filter((c) => c.body.timestamp === post.ts)
          .map((c) => c.body.name),
      ).toEqual(['white_check_mark', 'blue_book']);

      // Slack tells the app about its own post, and the same submission arrives again: neither sends.
      const echoed = await postSlack(
        h.url,
        eventCallback(SIGNING_SECRET, {
          type: 'message',
          subtype: 'bot_message',
          channel: CHANNEL_ID,
          bot_id: 'BBOT',
          username: 'Agent One',
          text: post.text,
          ts: post.ts,
          thread_ts: threadTs,
        }),
      );
      expect(echoed.status).toBe(200);
      expect(await qr.send(chosen, reply.id)).toBeNull();
      await h.settle();
      expect(sendsTo('447700900501', start)).toHaveLength(1);
      expect(h.slack.threadReplies(CHANNEL_ID, threadTs).filter((m) => m.username === 'Agent One')).toHaveLength(1);
      const rows = await h.app.database.db
        .selectFrom('message')
        .select('id')
        .where('contact_id', '=', contact.id)
        .where('direction', '=', 'outbound')
        .execute();
      expect(rows).toHaveLength(1);
    });

    it("posts a quick reply in the thread once when Slack's answer to the post is lost, then sends it once", async () => {
      const reply = await addReply('Checking', 'One moment please, {{customer_name}}.');
      const { threadTs } = await chat.metaContactWrites('Status?', { from: '447700900505', name: 'Dan' });
      const contact = await chat.contact('+447700900505');
      const chosen = await qr.choose(await qr.openPicker(threadTs, contact.id), reply.id);
      const start = h.meta?.accepted().length ?? 0;
      const searches = h.slack.callsTo('conversations.replies').length;
      h.slack.loseResponses('chat.postMessage', 1);
      expect(await qr.send(chosen, reply.id)).toBeNull();
      await waitFor('sent after the retry', () => sendsTo('447700900505', start).length === 1, 15_000);
      await h.settle();
      const posts = h.slack.threadReplies(CHANNEL_ID, threadTs).filter((m) => m.username === 'Agent One');
      expect(posts.map((m) => m.text)).toEqual(['One moment please, Dan.']);
      // The retry looked for the post it may have made before posting again.
      expect(h.slack.callsTo('conversations.replies').length).toBeGreaterThan(searches);
      const row = await chat.replyRow(posts[0]?.ts ?? '');
      const sent = sendsTo('447700900505', start);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ text: { body: 'One moment please, Dan.' } });
      expect(row.provider_message_id).toEqual(expect.any(String));
    });

    /** Outbound rows of a conversation (the quick replies stored for it). */
    const outboundRows = (contactId: string) =>
      h.app.database.db
        .selectFrom('message')
        .selectAll()
        .where('contact_id', '=', contactId)
        .where('direction', '=', 'outbound')
        .execute();

    let responses = 0;
    /** A button of the agent's notice, clicked; resolves with what the app answered on its response_url. */
    async function clickNotice(actionId: string, value: string, answered = true) {
      const responseId = `qr-notice-${++responses}`;
      const answer = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            actionId,
            value,
            userId: 'UAGENT1',
            message: { channelId: CHANNEL_ID, ts: nextSlackTs() },
            responseUrl: `${h.slack.baseUrl}response/${responseId}`,
          }),
        ),
      );
      expect(answer.status).toBe(200);
      if (!answered) return null;
      return waitFor(`response ${responseId}`, () => {
        const call = h.slack.calls.find((c) => c.method === 'response_url' && c.path === `/response/${responseId}`);
        return call ? String(call.body.text) : null;
      });
    }

    /**
     * What a refused quick reply shows, as a typed reply refused outside the window does: in the
     * thread for everyone (the reply under the agent's name with 🚫, and one line with the reason),
     * in the history as refused with its text, and to its author the notice with Send as template
     * and Send again. Returns the stored row and the thread post.
     */
    async function expectRefusedInThread(threadTs: string, contactId: string, text: string, title: string) {
      const post = await waitFor('the refused quick reply in the thread', () =>
        h.slack.threadReplies(CHANNEL_ID, threadTs).find((m) => m.username === 'Agent One'),
      );
      expect(post.text).toBe(text);
      // It does not claim to have been sent.
      expect(JSON.stringify(post.blocks)).toContain(`Quick reply _${title}_ by Agent One`);
      expect(JSON.stringify(post.blocks)).not.toContain('sent on WhatsApp');
      await waitFor('the refused mark on it', () => post.reactions.includes('no_entry_sign'));
      const reason = await waitFor('the reason in the thread', () =>
        h.slack.threadReplies(CHANNEL_ID, threadTs).find((m) => m.text.startsWith(':no_entry_sign: Not sent')),
      );
      expect(reason.text).toBe(
        ':no_entry_sign: Not sent to the customer: the 24-hour customer-service window is closed; WhatsApp allows only a template until the customer writes again.',
      );
      const rows = await outboundRows(contactId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        status: 'refused',
        error_code: 'window_closed',
        body: text,
        slack_channel_id: CHANNEL_ID,
        slack_ts: post.ts,
        author_slack_user_id: 'UAGENT1',
        provider_message_id: null,
      });
      const notice = await waitFor('the notice to its author', () =>
        h.slack.callsTo('chat.postEphemeral').find((c) => c.body.thread_ts === threadTs),
      );
      expect(notice.body.user).toBe('UAGENT1');
      expect(String(notice.body.text)).toContain('24-hour customer-service window is closed');
      const buttons = JSON.stringify(notice.body.blocks);
      expect(buttons).toContain(
        `"action_id":"wa_refused_as_template","text":{"type":"plain_text","text":"Send as template"},"value":"${rows[0]?.id}"`,
      );
      expect(buttons).toContain(
        `"action_id":"wa_refused_send_again","text":{"type":"plain_text","text":"Send again"},"value":"${rows[0]?.id}"`,
      );
      return { row: rows[0] as NonNullable<(typeof rows)[0]>, post };
    }

    it('refuses a quick reply outside the 24-hour window as a typed reply: 🚫 and the reason in the thread, kept as refused, sent again later', async () => {
      const reply = await addReply('Late answer', 'Sorry for the wait, {{customer_name}}.');
      const { threadTs } = await chat.metaContactWrites('Anyone there?', { from: '447700900502', name: 'Bea' });
      const contact = await chat.contact('+447700900502');
      await chat.closeWindow('+447700900502');
      const start = h.meta?.accepted().length ?? 0;

      const picker = await qr.openPicker(threadTs, contact.id);
      expect(qr.text(picker)).toContain('24-hour window closed');
      const chosen = await qr.choose(picker, reply.id);
      expect(await qr.send(chosen, reply.id)).toBeNull();
      const { row, post } = await expectRefusedInThread(
        threadTs,
        contact.id,
        'Sorry for the wait, Bea.',
        'Late answer',
      );
      await h.settle();
      expect(sendsTo('447700900502', start)).toEqual([]);

      // The same submission delivered again changes nothing: one post, one line, one row.
      expect(await qr.send(chosen, reply.id)).toBeNull();
      await h.settle();
      expect(h.slack.threadReplies(CHANNEL_ID, threadTs).filter((m) => m.username === 'Agent One')).toHaveLength(1);
      expect(
        h.slack.threadReplies(CHANNEL_ID, threadTs).filter((m) => m.text.startsWith(':no_entry_sign:')),
      ).toHaveLength(1);
      expect(await outboundRows(contact.id)).toHaveLength(1);

      // The kept text goes as a template's first variable, or as it is once the customer writes again.
      await clickNotice('wa_refused_as_template', row.id, false);
      const templates = await waitFor('the template picker with the kept text', () =>
        [...h.slack.views.values()].find((v) => JSON.stringify(v.view).includes('Your reply that was not sent')),
      );
      expect(JSON.parse((templates.view as { private_metadata: string }).private_metadata)).toMatchObject({
        contactId: contact.id,
        draft: 'Sorry for the wait, Bea.',
      });
      await chat.metaContactWrites('Still there?', { from: '447700900502', name: 'Bea' });
      expect(await clickNotice('wa_refused_send_again', row.id)).toContain('Sending your reply again');
      await waitFor('sent again', () => sendsTo('447700900502', start).length === 1);
      expect(sendsTo('447700900502', start)[0]).toMatchObject({ text: { body: 'Sorry for the wait, Bea.' } });
      const sent = await chat.replyRow(post.ts);
      expect(sent.id).toBe(row.id);
      await waitFor('the refused mark gone', () => !post.reactions.includes('no_entry_sign'));
    });

    it('refuses a quick reply whose window closed between the pick and its job the same way, never sending it', async () => {
      const reply = await addReply('Too late', 'We are on it, {{customer_name}}.');
      const { threadTs } = await chat.metaContactWrites('Any news?', { from: '447700900507', name: 'Gus' });
      const contact = await chat.contact('+447700900507');
      const start = h.meta?.accepted().length ?? 0;
      const chosen = await qr.choose(await qr.openPicker(threadTs, contact.id), reply.id);
      expect(qr.text(chosen)).not.toContain('24-hour window closed');
      // Jobs wait (as behind a busy queue) while the pick is accepted; the window closes meanwhile.
      await h.app.runner.stop();
      try {
        expect(await qr.send(chosen, reply.id)).toBeNull();
        expect(await outboundRows(contact.id)).toMatchObject([{ status: 'queued', slack_ts: null }]);
        await chat.closeWindow('+447700900507');
      } finally {
        h.app.runner.start();
      }
      await expectRefusedInThread(threadTs, contact.id, 'We are on it, Gus.', 'Too late');
      await h.settle();
      expect(sendsTo('447700900507', start)).toEqual([]);
      // Refused, not failed: nothing else told the agent it failed.
      expect(chat.ephemerals(threadTs).filter((t) => t.includes(':warning:'))).toEqual([]);
    });

    it('shows a quick reply whose thread was deleted before it went out in a new linked thread, refused until the agent sends it again', async () => {
      const reply = await addReply('After cleanup', 'Thanks {{customer_name}}, we are on it.');
      const { threadTs } = await chat.metaContactWrites('Hello again', { from: '447700900508', name: 'Hal' });
      const contact = await chat.contact('+447700900508');
      const start = h.meta?.accepted().length ?? 0;
      const chosen = await qr.choose(await qr.openPicker(threadTs, contact.id), reply.id);
      // The pick is accepted while jobs wait; meanwhile someone deletes the thread's header, and
      // Slack's message_deleted event is lost, so only the failed post tells the app.
      await h.app.runner.stop();
      try {
        expect(await qr.send(chosen, reply.id)).toBeNull();
        h.slack.deleteMessage(CHANNEL_ID, threadTs);
      } finally {
        h.app.runner.start();
      }

      // A new thread, linked to the deleted one; nothing in the channel root but its header.
      const header = await waitFor('a new thread for the conversation', () =>
        h.slack
          .rootMessages(CHANNEL_ID)
          .find((m) => m.ts !== threadTs && JSON.stringify(m.blocks).includes('+447700900508')),
      );
      expect(JSON.stringify(header.blocks)).toContain('an earlier thread');
      const post = await waitFor('the quick reply in the new thread', () =>
        h.slack.threadReplies(CHANNEL_ID, header.ts).find((m) => m.username === 'Agent One'),
      );
      expect(post.text).toBe('Thanks Hal, we are on it.');
      expect(JSON.stringify(post.blocks)).not.toContain('sent on WhatsApp');
      await waitFor('the refused mark on it', () => post.reactions.includes('no_entry_sign'));
      const reason = await waitFor('the reason in the new thread', () =>
        h.slack.threadReplies(CHANNEL_ID, header.ts).find((m) => m.text.startsWith(':no_entry_sign: Not sent')),
      );
      expect(reason.text).toContain("The conversation's thread was deleted before this quick reply went out");
      const [row] = await outboundRows(contact.id);
      expect(row).toMatchObject({
        status: 'refused',
        error_code: 'thread_deleted',
        body: 'Thanks Hal, we are on it.',
        slack_ts: post.ts,
        provider_message_id: null,
      });
      const notice = await waitFor('Send again offered to its author in the new thread', () =>
        h.slack.callsTo('chat.postEphemeral').find((c) => c.body.thread_ts === header.ts),
      );
      expect(notice.body.user).toBe('UAGENT1');
      expect(JSON.stringify(notice.body.blocks)).toContain(
        `"action_id":"wa_refused_send_again","text":{"type":"plain_text","text":"Send again"},"value":"${row?.id}"`,
      );
      await h.settle();
      expect(sendsTo('447700900508', start)).toEqual([]);

      // One click sends the kept text, once, and its marks show on the post in the new thread.
      expect(await clickNotice('wa_refused_send_again', String(row?.id))).toContain('Sending your reply again');
      await waitFor('sent again', () => sendsTo('447700900508', start).length === 1);
      expect(sendsTo('447700900508', start)[0]).toMatchObject({ text: { body: 'Thanks Hal, we are on it.' } });
      await waitFor('the refused mark gone', () => !post.reactions.includes('no_entry_sign'));
      await h.settle();
      expect(sendsTo('447700900508', start)).toHaveLength(1);
      expect(await outboundRows(contact.id)).toHaveLength(1);
    });

    it('sends nothing when the chosen quick reply was deleted while the picker was open, and says so on the field', async () => {
      const reply = await addReply('Soon gone', 'This one will be deleted.');
      const { threadTs } = await chat.metaContactWrites('Hi there', { from: '447700900506', name: 'Eve' });
      const contact = await chat.contact('+447700900506');
      const chosen = await qr.choose(await qr.openPicker(threadTs, contact.id), reply.id);
      await qr.click(qr.modal(list.id), 'wa_qr_delete', { value: reply.id, userId: LEAD });
      const start = h.meta?.accepted().length ?? 0;
      const answer = await qr.send(chosen, reply.id);
      expect(answer).toEqual({
        response_action: 'errors',
        errors: { qr_pick: 'This quick reply was deleted meanwhile: choose another.' },
      });
      await h.settle();
      expect(sendsTo('447700900506', start)).toEqual([]);
    });

    it('splits a quick reply longer than 4,096 characters once filled in, as a typed reply, and says so first', async () => {
      const name = 'Maximiliana Alexandra Fitzgerald-Montgomery';
      const body = `Dear ${Array.from({ length: 110 }, (_, i) => `{{customer_name}} (${i + 1}),`).join('\n')}`;
      expect(body.length).toBeLessThanOrEqual(3000);
      const reply = await addReply('Very long', body);
      const { threadTs } = await chat.metaContactWrites('Tell me everything', { from: '447700900503', name });
      const contact = await chat.contact('+447700900503');
      const full = `Dear ${Array.from({ length: 110 }, (_, i) => `${name} (${i + 1}),`).join('\n')}`;
      expect(full.length).toBeGreaterThan(4096);

      const chosen = await qr.choose(await qr.openPicker(threadTs, contact.id), reply.id);
      expect(qr.text(chosen)).toContain(
        `${full.length.toLocaleString('en-US')} characters once filled in: WhatsApp takes at most 4,096 in one message, so it goes out as *2 messages*`,
      );
      const preview = chosen.blocks.find((b) => b.block_id === 'qr_preview')?.text?.text ?? '';
      expect(preview.length).toBeLessThanOrEqual(3000);

      const start = h.meta?.accepted().length ?? 0;
      expect(await qr.send(chosen, reply.id)).toBeNull();
      await waitFor('both parts sent', () => sendsTo('447700900503', start).length === 2);
      const parts = sendsTo('447700900503', start).map((b) => (b.text as { body: string }).body);
      for (const part of parts) expect(part.length).toBeLessThanOrEqual(4096);
      expect(parts.join('\n')).toBe(full);
      const post = await waitFor('quick reply in the thread', () =>
        h.slack.threadReplies(CHANNEL_ID, threadTs).find((m) => m.username === 'Agent One'),
      );
      expect(post.text).toBe(full);
      const sections = (post.blocks as { type: string; text?: { text: string } }[]).filter((b) => b.type === 'section');
      expect(sections.map((s) => s.text?.text).join('\n')).toBe(full);
    });

    it("keeps within Block Kit's limits with more than 100 quick replies: the list pages, the picker searches", async () => {
      const now = Date.now();
      await h.app.database.db
        .insertInto('quick_reply')
        .values(
          Array.from({ length: 130 }, (_, i) => {
            const n = String(i + 1).padStart(3, '0');
            return {
              id: `bulk-${n}`,
              title: `Bulk ${n}`,
              title_key: `bulk ${n}`,
              body: `Bulk answer number ${n} for {{customer_name}}`,
              created_by: LEAD,
              updated_by: LEAD,
              created_at: now,
              updated_at: now,
            };
          }),
        )
        .execute();
      const total = (await qr.replies()).length;
      expect(total).toBeGreaterThan(130);

      // The list: pages of 20 (the fake Slack refuses a modal over 100 blocks and fails the test).
      const { list: fresh } = await qr.openList();
      if (!fresh) throw new Error('no list');
      expect(fresh.blocks.length).toBeLessThanOrEqual(100);
      expect(qr.text(fresh)).toContain(`Page 1 of ${Math.ceil(total / 20)}`);
      expect(qr.text(fresh)).toContain('Bulk 001');
      expect(qr.text(fresh)).not.toContain('Bulk 030');
      await qr.click(fresh, 'wa_qr_page:next', { value: '1', userId: LEAD });
      const second = qr.modal(fresh.id);
      expect(qr.text(second)).toContain('Page 2 of');
      expect(qr.text(second)).toContain('Bulk 030');
      expect(second.blocks.flatMap((b) => b.elements ?? []).map((e) => e.action_id)).toContain('wa_qr_page:prev');

      // The picker: 100 options at most, and a search for the rest.
      const { threadTs } = await chat.metaContactWrites('So many answers', { from: '447700900504', name: 'Cleo' });
      const contact = await chat.contact('+447700900504');
      const picker = await qr.openPicker(threadTs, contact.id);
      expect(qr.options(picker)).toHaveLength(100);
      expect(qr.text(picker)).toContain(`Showing the first 100 of ${total} by title: search to find the others.`);
      expect(picker.blocks.map((b) => b.block_id)).toContain('qr_search');
      await qr.click(picker, 'wa_qr_search', { value: 'number 125' });
      expect(qr.options(qr.modal(picker.id)).map((o) => o.value)).toEqual(['bulk-125']);
      await qr.click(qr.modal(picker.id), 'wa_qr_search', { value: '50%' });
      expect(qr.text(qr.modal(picker.id))).toContain('No quick reply matches \\"50%\\"');
      expect(qr.modal(picker.id).blocks.map((b) => b.block_id)).not.toContain('qr_pick');
      await qr.click(qr.modal(picker.id), 'wa_qr_search', { value: 'Bulk 12' });
      expect(qr.options(qr.modal(picker.id)).map((o) => o.value)).toEqual(
        Array.from({ length: 10 }, (_, i) => `bulk-12${i}`),
      );
      const chosen = await qr.choose(qr.modal(picker.id), 'bulk-125');
      expect(chosen.blocks.find((b) => b.block_id === 'qr_preview')?.text?.text).toBe(
        'Bulk answer number 125 for Cleo',
      );
      // Searching on keeps the chosen reply listed, chosen and previewed.
      await qr.click(chosen, 'wa_qr_search', { value: 'Bulk 00', state: pickState('bulk-125') });
      const still = qr.modal(picker.id);
      expect(qr.options(still)[0]?.value).toBe('bulk-125');
      expect(still.blocks.find((b) => b.block_id === 'qr_pick')?.element?.initial_option?.value).toBe('bulk-125');
      expect(still.blocks.find((b) => b.block_id === 'qr_preview')?.text?.text).toBe('Bulk answer number 125 for Cleo');
      const start = h.meta?.accepted().length ?? 0;
      expect(await qr.send(chosen, 'bulk-125')).toBeNull();
      await waitFor('sent', () => sendsTo('447700900504', start).length === 1);
      expect(sendsTo('447700900504', start)[0]).toMatchObject({ text: { body: 'Bulk answer number 125 for Cleo' } });
    });
  });
}
