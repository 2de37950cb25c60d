import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOT_TOKEN,
  CHANNEL_ID,
  type Harness,
  META_ACCESS_TOKEN,
  META_APP_SECRET,
  META_VERIFY_TOKEN,
  postMetaWebhook,
  SIGNING_SECRET,
  startHarness,
} from '../support/bridge-harness.js';
import { dialects } from '../support/databases.js';
import { inboundWebhook, nextWamid, statusWebhook } from '../support/meta-webhooks.js';
import {
  blockActionsPayload,
  eventCallback,
  interactivity,
  postSlack,
  slashCommand,
  viewSubmissionPayload,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`session chat on ${dialect.name} (Meta)`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
      h.slack.addUser({ id: 'UAGENT1', name: 'agent1', realName: 'Agent One', displayName: 'Agent One' });
      h.slack.addUser({ id: 'UMENTIONED', name: 'bob', realName: 'Bob Builder', displayName: 'Bob' });
    });
    afterAll(async () => {
      // A whole run's logs (debug level) carry no token, secret or API key.
      const logs = h?.logs.join('') ?? '';
      for (const secret of [BOT_TOKEN, SIGNING_SECRET, META_APP_SECRET, META_ACCESS_TOKEN, META_VERIFY_TOKEN])
        expect(logs).not.toContain(secret);
      expect(logs).not.toMatch(/wab_[A-Za-z0-9_-]{20,}/);
      await h?.stop();
    });

    /** Sends a contact's text and returns the thread the bridge put it in. */
    async function contactWrites(text: string, options: { from?: string; id?: string } = {}) {
      const id = options.id ?? nextWamid();
      const response = await postMetaWebhook(
        h.url,
        inboundWebhook({ type: 'text', text: { body: text } }, { ...options, id }),
      );
      expect(response.status).toBe(200);
      const post = await waitFor(`"${text}" in Slack`, () =>
        h.slack.messages(CHANNEL_ID).find((m) => m.thread_ts && m.metadata?.event_payload.key === id),
      );
      return { threadTs: post.thread_ts as string, post, id };
    }

    it('starts a thread under a header on the first message, and keeps later messages in it, in order, once', async () => {
      const first = await contactWrites('Hi, I need help', { from: '447700900001' });
      const header = h.slack.rootMessages(CHANNEL_ID).find((m) => m.ts === first.threadTs);
      expect(header?.text).toContain('WhatsApp conversation with Ana Souza');
      expect(JSON.stringify(header?.blocks)).toContain('+447700900001');
      expect(JSON.stringify(header?.blocks)).toContain('24-hour window open');
      expect(JSON.stringify(header?.blocks)).toContain('wa_session_add');
      expect(first.post.username).toBe('Ana Souza (+447700900001)');

      const second = await contactWrites('Are you there?', { from: '447700900001' });
      expect(second.threadTs).toBe(first.threadTs);

      // Meta retries for days: the same message delivered again posts nothing new.
      await postMetaWebhook(
        h.url,
        inboundWebhook({ type: 'text', text: { body: 'Are you there?' } }, { from: '447700900001', id: second.id }),
      );
      await h.settle();
      const replies = h.slack.threadReplies(CHANNEL_ID, first.threadTs).map((m) => m.text);
      expect(replies).toEqual(['Hi, I need help', 'Are you there?']);
    });

    it('posts every message type readably', async () => {
      const from = '447700900002';
      h.meta?.addMedia('media-img-1', Buffer.from('JPEGBYTES'), 'image/jpeg');
      const send = (message: Record<string, unknown> & { type: string }) =>
        postMetaWebhook(h.url, inboundWebhook(message, { from }));
      await send({
        type: 'image',
        image: { id: 'media-img-1', mime_type: 'image/jpeg', sha256: 'x', caption: 'my receipt' },
      });
      await send({
        type: 'location',
        location: { latitude: 38.72, longitude: -9.14, name: 'Office', address: 'Rua Augusta 1' },
      });
      await send({
        type: 'contacts',
        contacts: [
          {
            name: { formatted_name: 'Carla Dias' },
            phones: [{ phone: '+351 912 345 678', wa_id: '351912345678', type: 'CELL' }],
          },
        ],
      });
      await send({
        type: 'interactive',
        interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Yes, please' } },
      });
      await send({ type: 'button', button: { text: 'Unsubscribe', payload: 'STOP' } });
      await send({
        type: 'unsupported',
        errors: [{ code: 131051, title: 'Message type unknown', message: 'Message type is not currently supported' }],
      });
      await h.settle();
      const thread = await waitFor('thread for media contact', async () => {
        const row = await h.app.database.db
          .selectFrom('contact')
          .innerJoin('slack_thread', 'slack_thread.contact_id', 'contact.id')
          .select('thread_ts')
          .where('contact.phone_number', '=', `+${from}`)
          .executeTakeFirst();
        return row?.thread_ts;
      });
      await waitFor('six posts', () => h.slack.threadReplies(CHANNEL_ID, thread).filter((m) => m.text).length >= 6);
      const texts = h.slack
        .threadReplies(CHANNEL_ID, thread)
        .map((m) => m.text)
        .filter(Boolean);
      expect(texts[0]).toMatch(/Image[\s\S]*my receipt/);
      expect(texts[1]).toMatch(/Location: Office — Rua Augusta 1[\s\S]*maps[\s\S]*38\.72,-9\.14/);
      expect(texts[2]).toMatch(/Carla Dias\* — \+351 912 345 678/);
      expect(texts[3]).toContain('Chose *Yes, please*');
      expect(texts[4]).toContain('Chose *Unsubscribe*');
      expect(texts[5]).toMatch(/can't be shown in Slack/);
      const upload = h.slack.completed.find((c) => c.thread_ts === thread);
      expect(upload?.channel_id).toBe(CHANNEL_ID);
      expect(upload?.bytes[0]?.toString()).toBe('JPEGBYTES');
    });

    it("sends an agent's thread reply to WhatsApp with Slack formatting converted", async () => {
      const { threadTs } = await contactWrites('Can you confirm my order?', { from: '447700900003' });
      const sendsBefore = h.meta?.sent().length ?? 0;
      const event = {
        type: 'message',
        channel: CHANNEL_ID,
        user: 'UAGENT1',
        text: 'ignored when blocks are present',
        ts: '1799999999.000100',
        thread_ts: threadTs,
        blocks: [
          {
            type: 'rich_text',
            elements: [
              {
                type: 'rich_text_section',
                elements: [
                  { type: 'text', text: 'Hi ' },
                  { type: 'user', user_id: 'UMENTIONED' },
                  { type: 'text', text: ', your order is ' },
                  { type: 'text', text: 'confirmed', style: { bold: true } },
                  { type: 'text', text: ' ' },
                  { type: 'emoji', name: 'tada' },
                  { type: 'text', text: ' see ' },
                  { type: 'link', url: 'https://acme.example/o/1', text: 'your order' },
                ],
              },
              {
                type: 'rich_text_list',
                style: 'bullet',
                elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: 'item one' }] }],
              },
            ],
          },
        ],
      };
      const request = eventCallback(SIGNING_SECRET, event, { eventId: 'EvREPLY1' });
      expect((await postSlack(h.url, request)).status).toBe(200);
      // Slack retries the same event: it must not send twice.
      await postSlack(h.url, eventCallback(SIGNING_SECRET, event, { eventId: 'EvREPLY1' }));
      await waitFor('reply sent', () => (h.meta?.sent().length ?? 0) > sendsBefore);
      await h.settle();
      const sent = h.meta?.sent().slice(sendsBefore) ?? [];
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({
        to: '447700900003',
        type: 'text',
        text: { body: 'Hi @Bob, your order is *confirmed* 🎉 see your order (https://acme.example/o/1)\n- item one' },
      });
      const row = await h.app.database.db
        .selectFrom('message')
        .selectAll()
        .where('slack_ts', '=', '1799999999.000100')
        .executeTakeFirstOrThrow();
      expect(row.status).toBe('sent');
      expect(row.author_slack_user_id).toBe('UAGENT1');
    });

    it('never sends bot messages, internal notes, edits, deletions or channel-root messages', async () => {
      const { threadTs } = await contactWrites('hello again', { from: '447700900004' });
      const before = h.meta?.sent().length ?? 0;
      const base = { type: 'message', channel: CHANNEL_ID, user: 'UAGENT1', thread_ts: threadTs };
      const events = [
        { ...base, ts: '1799999998.000001', text: 'from a bot', bot_id: 'BOTHER' },
        { ...base, ts: '1799999998.000002', text: 'note: customer is VIP, be nice' },
        { ...base, ts: '1799999998.000003', subtype: 'message_changed', text: 'edit' },
        {
          type: 'message',
          channel: CHANNEL_ID,
          subtype: 'message_deleted',
          deleted_ts: '1799999998.000002',
          ts: '1799999998.000004',
        },
        { type: 'message', channel: CHANNEL_ID, user: 'UAGENT1', ts: '1799999998.000005', text: 'root message' },
      ];
      for (const event of events)
        expect((await postSlack(h.url, eventCallback(SIGNING_SECRET, event))).status).toBe(200);
      await h.settle();
      expect(h.meta?.sent().length).toBe(before);
    });

    it('shows delivery status on the Slack message, whatever order statuses arrive in', async () => {
      const { threadTs } = await contactWrites('status please', { from: '447700900005' });
      await postSlack(
        h.url,
        eventCallback(SIGNING_SECRET, {
          type: 'message',
          channel: CHANNEL_ID,
          user: 'UAGENT1',
          text: 'on it',
          ts: '1799999997.000001',
          thread_ts: threadTs,
        }),
      );
      const row = await waitFor('reply recorded as sent', () =>
        h.app.database.db
          .selectFrom('message')
          .selectAll()
          .where('slack_ts', '=', '1799999997.000001')
          .where('status', '=', 'sent')
          .executeTakeFirst(),
      );
      const wamid = row.provider_message_id as string;
      // The agent's own Slack message needs to exist in the fake for reactions to land on it.
      const agentMessage = h.slack.messages(CHANNEL_ID).find((m) => m.ts === '1799999997.000001');
      expect(agentMessage).toBeUndefined(); // posted by a person, not the app: reactions are recorded as calls
      await postMetaWebhook(h.url, statusWebhook(wamid, 'read'));
      await postMetaWebhook(h.url, statusWebhook(wamid, 'delivered'));
      await postMetaWebhook(h.url, statusWebhook(wamid, 'read'));
      await h.settle();
      const stored = await h.app.database.db
        .selectFrom('message')
        .select('status')
        .where('id', '=', row.id)
        .executeTakeFirstOrThrow();
      expect(stored.status).toBe('read');
      const reactions = h.slack
        .callsTo('reactions.add')
        .filter((c) => c.body.timestamp === '1799999997.000001')
        .map((c) => c.body.name);
      expect(reactions).toEqual(['blue_book']);
    });

    it('explains a failed delivery in the thread', async () => {
      const { threadTs } = await contactWrites('fail me', { from: '447700900006' });
      await postSlack(
        h.url,
        eventCallback(SIGNING_SECRET, {
          type: 'message',
          channel: CHANNEL_ID,
          user: 'UAGENT1',
          text: 'this will fail',
          ts: '1799999996.000001',
          thread_ts: threadTs,
        }),
      );
      const row = await waitFor('reply sent', () =>
        h.app.database.db
          .selectFrom('message')
          .selectAll()
          .where('slack_ts', '=', '1799999996.000001')
          .where('status', '=', 'sent')
          .executeTakeFirst(),
      );
      await postMetaWebhook(
        h.url,
        statusWebhook(row.provider_message_id as string, 'failed', [{ code: 131047, title: 'Re-engagement message' }]),
      );
      const notice = await waitFor('failure notice', () =>
        h.slack.threadReplies(CHANNEL_ID, threadTs).find((m) => m.text.includes('Not delivered')),
      );
      expect(notice.text).toContain('outside the 24-hour window — send a template (131047)');
    });

    it('refuses a free-form reply outside the 24-hour window and offers the template picker', async () => {
      const dayAndAHourAgo = Date.now() - 25 * 60 * 60 * 1000;
      const { threadTs } = await contactWrites('old message', { from: '447700900007' });
      await h.app.database.db
        .updateTable('contact')
        .set({ last_inbound_at: dayAndAHourAgo })
        .where('phone_number', '=', '+447700900007')
        .execute();
      const before = h.meta?.sent().length ?? 0;
      await postSlack(
        h.url,
        eventCallback(SIGNING_SECRET, {
          type: 'message',
          channel: CHANNEL_ID,
          user: 'UAGENT1',
          text: 'late reply',
          ts: '1799999995.000001',
          thread_ts: threadTs,
        }),
      );
      const ephemeral = await waitFor('window notice', () =>
        h.slack.callsTo('chat.postEphemeral').find((c) => c.body.thread_ts === threadTs),
      );
      expect(String(ephemeral.body.text)).toContain('24-hour customer-service window is closed');
      expect(JSON.stringify(ephemeral.body.blocks)).toContain('wa_refused_as_template');
      await h.settle();
      expect(h.meta?.sent().length).toBe(before);

      // The button opens the picker; choosing a template and sending it goes out as a template.
      const contact = await h.app.database.db
        .selectFrom('contact')
        .selectAll()
        .where('phone_number', '=', '+447700900007')
        .executeTakeFirstOrThrow();
      const click = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            actionId: 'wa_template_open',
            value: contact.id,
            message: { channelId: CHANNEL_ID, ts: threadTs },
          }),
        ),
      );
      expect(click.status).toBe(200);
      const opened = await waitFor('picker filled', () =>
        [...h.slack.views.values()].find((v) => JSON.stringify(v.view).includes('tpl_template_select')),
      );
      const metadata = JSON.parse((opened.view as { private_metadata: string }).private_metadata) as Record<
        string,
        unknown
      >;
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            actionId: 'tpl_template_select',
            selectedOption: 'hello_world',
            view: {
              id: opened.id,
              hash: opened.hash,
              callbackId: 'wa_template_picker',
              privateMetadata: JSON.stringify(metadata),
            },
          }),
        ),
      );
      const chosen = await waitFor('language chosen', () =>
        JSON.stringify(h.slack.views.get(opened.id)?.view).includes('tpl_var:body.1')
          ? h.slack.views.get(opened.id)
          : null,
      );
      const submit = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            viewId: opened.id,
            callbackId: 'wa_template_picker',
            privateMetadata: (chosen.view as { private_metadata: string }).private_metadata,
            values: { 'tpl_var:body.1': { value: { type: 'plain_text_input', value: 'Ana' } } },
          }),
        ),
      );
      expect(submit.status).toBe(200);
      const templateSend = await waitFor('template sent', () =>
        h.meta
          ?.sent()
          .slice(before)
          .find((b) => b.type === 'template'),
      );
      expect(templateSend).toMatchObject({
        to: '447700900007',
        template: {
          name: 'hello_world',
          language: { code: 'en_US' },
          components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }] }],
        },
      });
      await waitFor('template shown in thread', () =>
        h.slack.threadReplies(CHANNEL_ID, threadTs).find((m) => m.text.includes('Template *hello_world*')),
      );
      // The template answers the customer (team inbox): the refused reply before it did not, so the
      // agent became the owner only now, and the conversation waits on the customer.
      const answered = await waitFor('answered in the inbox', async () => {
        const row = await h.app.database.db
          .selectFrom('contact')
          .select(['owner_user_id', 'status'])
          .where('id', '=', contact.id)
          .executeTakeFirstOrThrow();
        return row.status === 'waiting' ? row : null;
      });
      expect(answered).toEqual({ owner_user_id: 'UAGENT1', status: 'waiting' });
    });

    it('opens a conversation for a number that never wrote with /wa chat, and validates numbers', async () => {
      const invalid = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'chat 12345' }));
      expect((invalid.json as { text: string }).text).toMatch(/not a valid number: include the country code/);
      const ok = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'chat +44 7911 123456' }));
      expect((ok.json as { text: string }).text).toMatch(/Open the conversation thread[\s\S]*Added to My Sessions/);
      const header = await waitFor('header', () =>
        h.slack.rootMessages(CHANNEL_ID).find((m) => JSON.stringify(m.blocks).includes('+447911123456')),
      );
      expect(JSON.stringify(header.blocks)).toContain('24-hour window closed');
      const again = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'chat +447911123456' }));
      expect((again.json as { text: string }).text).toContain('Already in My Sessions');
      expect(
        h.slack.rootMessages(CHANNEL_ID).filter((m) => JSON.stringify(m.blocks).includes('+447911123456')),
      ).toHaveLength(1);
    });

    it('starts a new, linked thread when the header was deleted — never posts to the channel root', async () => {
      const first = await contactWrites('before deletion', { from: '447700900008' });
      h.slack.deleteMessage(CHANNEL_ID, first.threadTs);
      await postSlack(
        h.url,
        eventCallback(SIGNING_SECRET, {
          type: 'message',
          subtype: 'message_deleted',
          channel: CHANNEL_ID,
          deleted_ts: first.threadTs,
          ts: '1799999994.000001',
        }),
      );
      await h.settle();
      const second = await contactWrites('after deletion', { from: '447700900008' });
      expect(second.threadTs).not.toBe(first.threadTs);
      const roots = h.slack.rootMessages(CHANNEL_ID).filter((m) => m.text === 'after deletion');
      expect(roots).toHaveLength(0);
      // The new header links back to the old thread.
      expect(JSON.stringify(h.slack.rootMessages(CHANNEL_ID).find((m) => m.ts === second.threadTs)?.blocks)).toContain(
        `Continues <https://acme.slack.com/archives/${CHANNEL_ID}/p${first.threadTs.replace('.', '')}|an earlier thread>`,
      );
    });

    it('sends a shared file as the right WhatsApp type with the text as caption, and refuses oversized files', async () => {
      const { threadTs } = await contactWrites('send me the photo', { from: '447700900009' });
      const before = h.meta?.sent().length ?? 0;
      const photo = h.slack.addFile({
        id: 'FPHOTO1',
        name: 'photo.png',
        mimetype: 'image/png',
        bytes: Buffer.from('PNG'),
      });
      await postSlack(
        h.url,
        eventCallback(SIGNING_SECRET, {
          type: 'message',
          subtype: 'file_share',
          channel: CHANNEL_ID,
          user: 'UAGENT1',
          text: 'here it is',
          ts: '1799999993.000001',
          thread_ts: threadTs,
          files: [photo],
        }),
      );
      const sent = await waitFor('image sent', () =>
        h.meta
          ?.sent()
          .slice(before)
          .find((b) => b.type === 'image'),
      );
      expect(sent).toMatchObject({ to: '447700900009', image: { id: expect.any(String), caption: 'here it is' } });

      const huge = {
        ...h.slack.addFile({ id: 'FHUGE', name: 'huge.png', mimetype: 'image/png', bytes: Buffer.from('x') }),
        size: 6 * 1024 * 1024,
      };
      const countBefore = h.meta?.sent().length ?? 0;
      await postSlack(
        h.url,
        eventCallback(SIGNING_SECRET, {
          type: 'message',
          subtype: 'file_share',
          channel: CHANNEL_ID,
          user: 'UAGENT1',
          text: 'big one',
          ts: '1799999993.000002',
          thread_ts: threadTs,
          files: [huge],
        }),
      );
      const refusal = await waitFor('size refusal', () =>
        h.slack.callsTo('chat.postEphemeral').find((c) => String(c.body.text).includes('huge.png')),
      );
      expect(String(refusal.body.text)).toMatch(/Nothing was sent[\s\S]*6\.0 MB[\s\S]*5\.0 MB/);
      await h.settle();
      expect(h.meta?.sent().length).toBe(countBefore);
    });

    it('rides out Slack 429s and 5xx without losing, duplicating or reordering posts', async () => {
      const contacts = ['447700900201', '447700900202', '447700900203'];
      h.slack.rateLimit('chat.postMessage', { untilMs: Date.now() + 2500, retryAfterSeconds: 1 });
      h.slack.failWith('chat.postMessage', { status: 503, count: 3 });
      const sentIds = new Map<string, string[]>();
      for (let i = 0; i < 8; i++) {
        await Promise.all(
          contacts.map(async (from) => {
            const id = `wamid.RL.${from}.${i}`;
            expect(
              (
                await postMetaWebhook(
                  h.url,
                  inboundWebhook({ type: 'text', text: { body: `${from}-${i}` } }, { from, id }),
                )
              ).status,
            ).toBe(200);
            sentIds.set(from, [...(sentIds.get(from) ?? []), id]);
          }),
        );
      }
      await waitFor(
        'all 24 posted',
        () =>
          h.slack
            .messages(CHANNEL_ID)
            .filter((m) => String(m.metadata?.event_payload.key ?? '').startsWith('wamid.RL.')).length >= 24,
        30_000,
      );
      await h.settle();
      const posts = h.slack
        .messages(CHANNEL_ID)
        .filter((m) => String(m.metadata?.event_payload.key ?? '').startsWith('wamid.RL.'));
      expect(posts).toHaveLength(24);
      for (const [from, ids] of sentIds) {
        expect(
          posts
            .filter((p) => String(p.metadata?.event_payload.key).includes(from))
            .map((p) => p.metadata?.event_payload.key),
        ).toEqual(ids);
      }
      expect(h.slack.callsTo('chat.postMessage').length).toBeGreaterThan(24); // the 429s and 5xx really happened
    }, 60_000);

    it('retries a reply through provider outages until it is delivered, once', async () => {
      const { threadTs } = await contactWrites('retry test', { from: '447700900010' });
      const before = h.meta?.sent().length ?? 0;
      h.meta?.failNext(4, { status: 503, body: { error: { message: 'Service unavailable', code: 131016 } } });
      await postSlack(
        h.url,
        eventCallback(SIGNING_SECRET, {
          type: 'message',
          channel: CHANNEL_ID,
          user: 'UAGENT1',
          text: 'eventually',
          ts: '1799999992.000001',
          thread_ts: threadTs,
        }),
      );
      const row = await waitFor(
        'reply delivered after retries',
        () =>
          h.app.database.db
            .selectFrom('message')
            .selectAll()
            .where('slack_ts', '=', '1799999992.000001')
            .where('status', '=', 'sent')
            .executeTakeFirst(),
        20_000,
      );
      expect(row.provider_message_id).toMatch(/^wamid/);
      const attempts =
        h.meta?.requests.filter(
          (r) => r.method === 'POST' && (r.body as { text?: { body?: string } } | null)?.text?.body === 'eventually',
        ) ?? [];
      expect(attempts.length).toBeGreaterThanOrEqual(2);
      expect(h.meta?.sent().length).toBeGreaterThan(before);
      // Accepted exactly once, however many attempts it took.
      expect(
        h.meta?.accepted().filter((b) => (b.text as { body?: string } | undefined)?.body === 'eventually'),
      ).toHaveLength(1);
    });
  });
}

describe('session chat with EngageLab', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ provider: 'engagelab' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const callback = (rows: unknown[], token = 'engagelab-callback-token-0123456789') =>
    fetch(`${h.url}/webhooks/whatsapp?token=${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ total: rows.length, rows }),
    });
  const inbound = (id: string, message: unknown) => ({
    message_id: `el-${id}`,
    from: '+447700900123',
    to: '+15550001111',
    server: 'whatsapp',
    itime: Math.floor(Date.now() / 1000),
    response: {
      event: 'received',
      response_data: { channel_message_id: id, contact: { profile: { name: 'Bob' }, wa_id: '447700900123' }, message },
    },
  });

  it('refuses callbacks without the right token', async () => {
    expect((await fetch(`${h.url}/webhooks/whatsapp`, { method: 'POST', body: '{"rows":[]}' })).status).toBe(401);
    expect((await callback([], 'wrong-token')).status).toBe(403);
  });

  it('posts inbound messages, says plainly when media cannot be fetched, and sends replies', async () => {
    expect((await callback([inbound('wamid.EL1', { type: 'text', text: { body: 'hello from EL' } })])).status).toBe(
      200,
    );
    const post = await waitFor('inbound posted', () =>
      h.slack.messages(CHANNEL_ID).find((m) => m.text === 'hello from EL'),
    );
    await callback([
      inbound('wamid.EL2', { type: 'image', image: { id: '999', mime_type: 'image/jpeg', caption: 'photo' } }),
    ]);
    const notice = await waitFor('media notice', () =>
      h.slack.threadReplies(CHANNEL_ID, post.thread_ts as string).find((m) => m.text.includes('Image')),
    );
    expect(notice.text).toMatch(/EngageLab documents no API to download/);

    await postSlack(
      h.url,
      eventCallback(SIGNING_SECRET, {
        type: 'message',
        channel: CHANNEL_ID,
        user: 'UAGENT1',
        text: 'hi *Bob*',
        ts: '1799999991.000001',
        thread_ts: post.thread_ts,
      }),
    );
    const sent = await waitFor('EngageLab send', () =>
      h.engagelab?.sent().find((b) => (b.body as { type?: string }).type === 'text'),
    );
    expect(sent).toMatchObject({
      from: '+15550001111',
      to: ['447700900123'],
      body: { type: 'text', text: { body: 'hi *Bob*' } },
    });

    const row = await waitFor('reply recorded', () =>
      h.app.database.db
        .selectFrom('message')
        .selectAll()
        .where('slack_ts', '=', '1799999991.000001')
        .where('status', '=', 'sent')
        .executeTakeFirst(),
    );
    await callback([
      {
        message_id: row.provider_message_id,
        from: '+15550001111',
        to: '+447700900123',
        server: 'whatsapp',
        itime: Math.floor(Date.now() / 1000),
        status: { message_status: 'delivered', status_data: { channel_message_id: 'wamid.OUT1' }, error_code: 0 },
      },
    ]);
    await waitFor(
      'delivered',
      async () =>
        (await h.app.database.db.selectFrom('message').select('status').where('id', '=', row.id).executeTakeFirst())
          ?.status === 'delivered',
    );
  });
});
