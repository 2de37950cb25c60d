import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, SIGNING_SECRET, startHarness } from '../support/bridge-harness.js';
import {
  chatDriver,
  ENGAGELAB_BUSINESS_NUMBER,
  engageLabStatus,
  type FileShare,
  postEngageLabCallback,
} from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { type PublicUrl, startPublicUrl } from '../support/public-url.js';
import { blockActionsPayload, interactivity, postSlack, viewSubmissionPayload } from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Session chat through EngageLab behaves as through Meta where EngageLab allows it: files go out as
 * signed links under PUBLIC_URL that EngageLab fetches, the 24-hour rule stops free-form replies
 * and offers a template, failed deliveries are explained, and statuses show on the message.
 */

const cases = await dialects();

type SentBody = {
  from: string;
  to: string[];
  body: { type: string } & Record<string, Record<string, unknown>>;
  request_id?: string;
};

for (const dialect of cases) {
  describe.runIf(dialect.available)(`session chat on ${dialect.name} (EngageLab)`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    let publicUrl: PublicUrl;
    let fileCounter = 0;
    beforeAll(async () => {
      publicUrl = await startPublicUrl();
      h = await startHarness({
        provider: 'engagelab',
        database: await dialect.create(),
        env: { PUBLIC_URL: publicUrl.url },
      });
      publicUrl.forwardTo(h.url);
      h.engagelab?.fetchMediaLinks();
      chat = chatDriver(h);
    });
    afterAll(async () => {
      await h?.stop();
      await publicUrl?.close();
    });

    const sentSince = (start: number) => (h.engagelab?.sent().slice(start) ?? []) as SentBody[];
    const sentCount = () => h.engagelab?.sent().length ?? 0;

    function slackFile(name: string, mimetype: string, bytes: string): FileShare {
      return h.slack.addFile({ id: `FEL${++fileCounter}`, name, mimetype, bytes: Buffer.from(bytes) });
    }

    /** What EngageLab got when it fetched `link`. */
    const fetchedFrom = (link: unknown) =>
      waitFor(`EngageLab fetched ${String(link)}`, () => h.engagelab?.fetched.find((f) => f.link === link));

    it('sends files as signed PUBLIC_URL links that EngageLab fetches, captioned where WhatsApp allows', async () => {
      const { threadTs } = await chat.engageLabContactWrites('Send me the manual', { from: '447700900601' });
      const start = sentCount();
      const files = [
        slackFile('manual.pdf', 'application/pdf', '%PDF-manual'),
        slackFile('diagram.png', 'image/png', 'PNG-diagram'),
      ];
      const ts = await chat.agentWrites({ threadTs, text: 'The manual, page *4*', files });
      await chat.replyRow(ts);
      await waitFor('two sends', () => sentCount() - start >= 2);
      const [document, image] = sentSince(start);
      expect(document).toMatchObject({
        from: ENGAGELAB_BUSINESS_NUMBER,
        to: ['447700900601'],
        body: {
          type: 'document',
          document: { link: expect.any(String), caption: 'The manual, page *4*', filename: 'manual.pdf' },
        },
      });
      expect(image).toMatchObject({ body: { type: 'image', image: { link: expect.any(String) } } });
      expect(image?.body.image).not.toHaveProperty('caption');

      for (const [sent, bytes, type] of [
        [document?.body.document, '%PDF-manual', 'application/pdf'],
        [image?.body.image, 'PNG-diagram', 'image/png'],
      ] as const) {
        const link = new URL(String(sent?.link));
        expect(link.origin).toBe(publicUrl.url);
        expect(link.pathname).toMatch(/^\/media\/[^/]+$/);
        expect(link.searchParams.get('expires')).toMatch(/^\d+$/);
        expect(link.searchParams.get('sig')).toBeTruthy();
        const fetched = await fetchedFrom(sent?.link);
        expect(fetched.status).toBe(200);
        expect(fetched.contentType).toContain(type);
        expect(fetched.bytes.toString()).toBe(bytes);
      }

      // The signature is what lets EngageLab in: an altered link is refused.
      const tampered = new URL(String(document?.body.document?.link));
      tampered.searchParams.set('sig', `${tampered.searchParams.get('sig')}x`);
      expect((await fetch(tampered)).status).toBe(403);
    });

    it('sends audio by link without a caption, the text on its own first', async () => {
      const { threadTs } = await chat.engageLabContactWrites('voice message please', { from: '447700900602' });
      const start = sentCount();
      const ts = await chat.agentWrites({
        threadTs,
        text: 'Listen to this',
        files: [slackFile('hello.ogg', 'audio/ogg', 'OGG-hello')],
      });
      await chat.replyRow(ts);
      await waitFor('two sends', () => sentCount() - start >= 2);
      const [text, audio] = sentSince(start);
      expect(text?.body).toEqual({ type: 'text', text: { body: 'Listen to this' } });
      expect(audio?.body).toEqual({ type: 'audio', audio: { link: expect.any(String) } });
      expect((await fetchedFrom(audio?.body.audio?.link)).bytes.toString()).toBe('OGG-hello');
    });

    it('refuses a free-form reply outside the 24-hour window, offers a template, and sends the chosen one', async () => {
      const from = '447700900603';
      const { threadTs } = await chat.engageLabContactWrites('old question', { from });
      await chat.closeWindow(`+${from}`);
      const start = sentCount();
      await chat.agentWrites({ threadTs, text: 'sorry for the wait' });
      const refusal = await waitFor('window notice', () =>
        h.slack.callsTo('chat.postEphemeral').find((c) => c.body.thread_ts === threadTs),
      );
      expect(String(refusal.body.text)).toContain('Not sent: the 24-hour customer-service window is closed');
      await h.settle();
      expect(sentCount()).toBe(start);

      // The notice's button opens the template picker for this contact, with the refused reply's text.
      const button = (refusal.body.blocks as { type: string; elements?: { action_id: string; value: string }[] }[])
        .find((b) => b.type === 'actions')
        ?.elements?.find((e) => e.action_id === 'wa_refused_as_template');
      const refused = await h.app.database.db
        .selectFrom('message')
        .select(['id', 'status'])
        .where('contact_id', '=', (await chat.contact(`+${from}`)).id)
        .where('direction', '=', 'outbound')
        .executeTakeFirstOrThrow();
      expect(refused.status).toBe('refused');
      expect(button?.value).toBe(refused.id);
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            actionId: 'wa_refused_as_template',
            value: button?.value ?? '',
            message: { channelId: CHANNEL_ID, ts: threadTs },
          }),
        ),
      );
      const opened = await waitFor('picker filled', () =>
        [...h.slack.views.values()].find(
          (v) => JSON.stringify(v.view).includes('tpl_template_select') && JSON.stringify(v.view).includes(from),
        ),
      );
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
              privateMetadata: (opened.view as { private_metadata: string }).private_metadata,
            },
          }),
        ),
      );
      const chosen = await waitFor('variables shown', () =>
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
            values: { 'tpl_var:body.1': { value: { type: 'plain_text_input', value: 'Bob' } } },
          }),
        ),
      );
      expect(submit.status).toBe(200);
      await waitFor('template sent', () => sentCount() > start);
      expect(sentSince(start)).toEqual([
        {
          from: ENGAGELAB_BUSINESS_NUMBER,
          to: [from],
          body: {
            type: 'template',
            template: {
              name: 'hello_world',
              language: 'en_US',
              components: [{ type: 'body', parameters: [{ type: 'text', text: 'Bob' }] }],
            },
          },
          request_id: expect.any(String),
          custom_args: { bridge_ref: expect.any(String) },
        },
      ]);
      const shown = await waitFor('template shown in the thread', () =>
        h.slack.threadReplies(CHANNEL_ID, threadTs).find((m) => m.text.includes('Template *hello_world*')),
      );
      expect(shown.text).toContain('>Hello Bob, thanks for contacting Acme.');

      // Its delivery shows on that post, like any message the bridge sent.
      const row = await waitFor('template linked to its post', () =>
        h.app.database.db.selectFrom('message').selectAll().where('slack_ts', '=', shown.ts).executeTakeFirst(),
      );
      const status = (messageStatus: string) =>
        postEngageLabCallback(h.url, [engageLabStatus(row.provider_message_id as string, `+${from}`, messageStatus)]);
      expect((await status('delivered')).status).toBe(200);
      await waitFor('delivered shown', () => shown.reactions.includes('white_check_mark'));
      expect((await status('read')).status).toBe(200);
      await waitFor('read shown', () => shown.reactions.includes('blue_book'));
      expect(shown.reactions).toEqual(['blue_book']);
    });

    it("explains a failed delivery from EngageLab's callback in the thread", async () => {
      const from = '447700900604';
      const { threadTs } = await chat.engageLabContactWrites('still there?', { from });
      const windowTs = await chat.agentWrites({ threadTs, text: 'yes, one moment' });
      const windowRow = await chat.replyRow(windowTs);
      const undeliveredTs = await chat.agentWrites({ threadTs, text: 'and another thing' });
      const undeliveredRow = await chat.replyRow(undeliveredTs);

      const failure = engageLabStatus(windowRow.provider_message_id as string, `+${from}`, 'delivered_failed', {
        errorCode: 131047,
        errorMessage: 'Message failed to send because more than 24 hours have passed',
        loss: { step: 3, source: 'meta' },
      });
      expect((await postEngageLabCallback(h.url, [failure, failure])).status).toBe(200);
      expect(
        (
          await postEngageLabCallback(h.url, [
            engageLabStatus(undeliveredRow.provider_message_id as string, `+${from}`, 'sent_failed', {
              errorMessage: 'Recipient is not a valid WhatsApp user',
              loss: { step: 2, source: 'meta' },
            }),
          ])
        ).status,
      ).toBe(200);
      await h.settle();
      const notices = await waitFor('two failure notices', () => {
        const found = h.slack
          .threadReplies(CHANNEL_ID, threadTs)
          .filter((m) => m.text.startsWith(':x: Not delivered'))
          .map((m) => m.text);
        return found.length >= 2 ? found : null;
      });
      // Statuses of different messages are independent: the notices may come in either order.
      expect(notices.sort()).toEqual([
        ':x: Not delivered to the customer: Recipient is not a valid WhatsApp user (sent_failed)',
        ':x: Not delivered to the customer: outside the 24-hour window — send a template (131047)',
      ]);
      const rows = await h.app.database.db
        .selectFrom('message')
        .select(['slack_ts', 'status', 'error_code'])
        .where('slack_ts', 'in', [windowTs, undeliveredTs])
        .orderBy('slack_ts')
        .execute();
      expect(rows).toEqual([
        { slack_ts: windowTs, status: 'failed', error_code: '131047' },
        { slack_ts: undeliveredTs, status: 'failed', error_code: 'sent_failed' },
      ]);
    });

    it("tracks statuses by EngageLab's message id, remembering the wamid, never moving backwards", async () => {
      const from = '447700900605';
      const { threadTs } = await chat.engageLabContactWrites('track me', { from });
      const ts = await chat.agentWrites({ threadTs, text: 'shipped today' });
      const message = h.slack.addMessage({ channel: CHANNEL_ID, ts, thread_ts: threadTs, text: 'shipped today' });
      const row = await chat.replyRow(ts);
      const id = row.provider_message_id as string;
      expect(id).toMatch(/^el\d+$/);

      const send = async (...rows: unknown[]) => {
        expect((await postEngageLabCallback(h.url, rows)).status).toBe(200);
        await h.settle();
      };
      await send(engageLabStatus(id, `+${from}`, 'read', { wamid: 'wamid.EL.SHIPPED' }));
      expect(message.reactions).toEqual(['blue_book']);
      await send(
        engageLabStatus(id, `+${from}`, 'delivered', { wamid: 'wamid.EL.SHIPPED' }),
        engageLabStatus(id, `+${from}`, 'sent', { wamid: 'wamid.EL.SHIPPED' }),
        engageLabStatus(id, `+${from}`, 'read', { wamid: 'wamid.EL.SHIPPED' }),
      );
      const stored = await h.app.database.db
        .selectFrom('message')
        .select(['status', 'alternate_message_id'])
        .where('id', '=', row.id)
        .executeTakeFirstOrThrow();
      expect(stored).toEqual({ status: 'read', alternate_message_id: 'wamid.EL.SHIPPED' });
      expect(message.reactions).toEqual(['blue_book']);
    });
  });
}
