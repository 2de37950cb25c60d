import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/bridge-harness.js';
import { chatDriver, type FileShare } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { validateMetaMessageBody } from '../support/meta-openapi.js';
import { PHONE_NUMBER_ID } from '../support/meta-webhooks.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Files an agent shares in a conversation thread go out as the WhatsApp type their MIME type calls
 * for, within WhatsApp's size limits, with the message text as caption where WhatsApp allows one.
 * Every body Meta receives is checked against Meta's published OpenAPI spec.
 */

const MB = 1024 * 1024;
const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`agent replies with files on ${dialect.name} (Meta)`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    let fileCounter = 0;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
      chat = chatDriver(h);
      h.slack.addUser({ id: 'UAGENT1', name: 'agent1', realName: 'Agent One', displayName: 'Agent One' });
      h.slack.addUser({ id: 'UCACHED', name: 'carol', realName: 'Carol Reyes', displayName: 'Carol' });
    });
    afterAll(async () => {
      await h?.stop();
    });

    /** A file a person shared in Slack; `size` overrides what the event says (the bytes stay small). */
    function slackFile(name: string, mimetype: string, bytes: Buffer | string, size?: number): FileShare {
      const content = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
      const file = h.slack.addFile({ id: `FOUT${++fileCounter}`, name, mimetype, bytes: content });
      return size === undefined ? file : { ...file, size };
    }

    /** Sends accepted by Meta from `start` on, each checked against the OpenAPI spec. */
    function acceptedSince(start: number) {
      const bodies = h.meta?.accepted().slice(start) ?? [];
      for (const body of bodies) expect(validateMetaMessageBody(body)).toEqual([]);
      return bodies;
    }

    /** The multipart uploads to POST /:phone-number-id/media, from `start` on. */
    const mediaUploadsSince = (start: number) =>
      (h.meta?.requests ?? []).filter((r) => r.method === 'POST' && r.path.endsWith('/media')).slice(start);
    const mediaUploadCount = () => mediaUploadsSince(0).length;

    async function sendsFor(ts: string, start: number, count: number) {
      await chat.replyRow(ts);
      await waitFor(`${count} sends`, () => (h.meta?.accepted().length ?? 0) - start >= count);
      await h.settle();
      return acceptedSince(start);
    }

    it('sends an MP4 as a video with the text as caption, uploading the bytes to Meta first', async () => {
      const { threadTs } = await chat.metaContactWrites('Can you show me how?', { from: '447700900301' });
      const start = h.meta?.accepted().length ?? 0;
      const uploadsBefore = mediaUploadCount();
      const video = slackFile('how-to.mp4', 'video/mp4', 'MP4-HOW-TO', 15 * MB);
      const ts = await chat.agentWrites({ threadTs, text: 'Here is a *short* video', files: [video] });
      const sent = await sendsFor(ts, start, 1);
      expect(sent).toEqual([
        {
          messaging_product: 'whatsapp',
          recipient_type: 'individual',
          to: '447700900301',
          type: 'video',
          video: { id: expect.any(String), caption: 'Here is a *short* video' },
        },
      ]);
      const [upload] = mediaUploadsSince(uploadsBefore);
      expect(upload?.path).toBe(`/${PHONE_NUMBER_ID}/media`);
      const multipart = upload?.raw.toString('latin1') ?? '';
      expect(multipart).toContain('filename="how-to.mp4"');
      expect(multipart).toContain('Content-Type: video/mp4\r\n\r\nMP4-HOW-TO\r\n');
    });

    it('sends audio without a caption (WhatsApp has none for audio): the text goes first, on its own', async () => {
      const { threadTs } = await chat.metaContactWrites('Send me the recording', { from: '447700900302' });
      const start = h.meta?.accepted().length ?? 0;
      const audio = slackFile('call.mp3', 'audio/mpeg', 'MP3-CALL', 16 * MB);
      const ts = await chat.agentWrites({ threadTs, text: 'Recording attached', files: [audio] });
      const sent = await sendsFor(ts, start, 2);
      expect(sent).toHaveLength(2);
      expect(sent[0]).toMatchObject({ to: '447700900302', type: 'text', text: { body: 'Recording attached' } });
      expect(sent[1]).toEqual({
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: '447700900302',
        type: 'audio',
        audio: { id: expect.any(String) },
      });
    });

    it('sends a PDF and a zip as documents under their filenames, the text as the caption of the first', async () => {
      const { threadTs } = await chat.metaContactWrites('Invoice please', { from: '447700900303' });
      const start = h.meta?.accepted().length ?? 0;
      const pdf = slackFile('invoice-0042.pdf', 'application/pdf', '%PDF-1.7', 2 * MB);
      const zip = slackFile('photos.zip', 'application/zip', 'PK-ZIP', 99 * MB);
      const ts = await chat.agentWrites({ threadTs, text: 'Your invoice and photos', files: [pdf, zip] });
      const sent = await sendsFor(ts, start, 2);
      expect(sent.map((b) => [b.type, b.document])).toEqual([
        ['document', { id: expect.any(String), caption: 'Your invoice and photos', filename: 'invoice-0042.pdf' }],
        ['document', { id: expect.any(String), filename: 'photos.zip' }],
      ]);
    });

    it('sends WebP and GIF images as documents: WhatsApp takes only JPEG and PNG as images', async () => {
      const { threadTs } = await chat.metaContactWrites('The screenshots?', { from: '447700900304' });
      const start = h.meta?.accepted().length ?? 0;
      const webp = slackFile('screen.webp', 'image/webp', 'RIFF-WEBP');
      const gif = slackFile('spinner.gif', 'image/gif', 'GIF89a');
      const ts = await chat.agentWrites({ threadTs, text: 'Screens', files: [webp, gif] });
      const sent = await sendsFor(ts, start, 2);
      expect(sent.map((b) => [b.type, b.document])).toEqual([
        ['document', { id: expect.any(String), caption: 'Screens', filename: 'screen.webp' }],
        ['document', { id: expect.any(String), filename: 'spinner.gif' }],
      ]);
    });

    it('sends several files as several messages, with the caption on the first file that can carry one', async () => {
      const { threadTs } = await chat.metaContactWrites('Everything at once please', { from: '447700900305' });
      const start = h.meta?.accepted().length ?? 0;
      const files = [
        slackFile('voice.ogg', 'audio/ogg', 'OGG'),
        slackFile('clip.3gp', 'video/3gpp', '3GP'),
        slackFile('photo.jpg', 'image/jpeg', 'JPEG'),
        slackFile('terms.pdf', 'application/pdf', 'PDF'),
      ];
      const ts = await chat.agentWrites({ threadTs, text: 'All four', files });
      const sent = await sendsFor(ts, start, 4);
      expect(sent.map((b) => [b.type, b[b.type as string]])).toEqual([
        ['audio', { id: expect.any(String) }],
        ['video', { id: expect.any(String), caption: 'All four' }],
        ['image', { id: expect.any(String) }],
        ['document', { id: expect.any(String), filename: 'terms.pdf' }],
      ]);
      // The Slack message is tracked by its first part; the others are recorded as sent too.
      const row = await chat.replyRow(ts);
      const contact = await chat.contact('+447700900305');
      const outbound = await h.app.database.db
        .selectFrom('message')
        .select(['kind', 'status', 'provider_message_id'])
        .where('contact_id', '=', contact.id)
        .where('direction', '=', 'outbound')
        .execute();
      expect(outbound.map((m) => m.kind).sort()).toEqual(['audio', 'document', 'image', 'video']);
      expect(outbound.every((m) => m.status === 'sent' && m.provider_message_id?.startsWith('wamid.'))).toBe(true);
      expect(row.kind).toBe('audio');
    });

    it.each([
      {
        what: 'a video over 16 MB',
        from: '447700900311',
        file: ['long.mp4', 'video/mp4', 16 * MB + 1] as const,
        reason: '`long.mp4` is 16.0 MB; WhatsApp accepts videos (MP4/3GP) up to 16.0 MB.',
      },
      {
        what: 'audio over 16 MB',
        from: '447700900312',
        file: ['podcast.mp3', 'audio/mpeg', 17 * MB] as const,
        reason: '`podcast.mp3` is 17.0 MB; WhatsApp accepts audio up to 16.0 MB.',
      },
      {
        what: 'a document over 100 MB',
        from: '447700900313',
        file: ['dump.zip', 'application/zip', 101 * MB] as const,
        reason: '`dump.zip` is 101.0 MB; WhatsApp accepts documents up to 100.0 MB.',
      },
    ])('refuses $what with a clear message to the agent, and sends nothing', async ({ from, file, reason }) => {
      const [name, mimetype, size] = file;
      const { threadTs } = await chat.metaContactWrites(`about ${name}`, { from });
      const sendsBefore = h.meta?.sent().length ?? 0;
      const uploadsBefore = mediaUploadCount();
      const shared = slackFile(name, mimetype, 'x', size);
      const ts = await chat.agentWrites({ threadTs, text: 'here', files: [shared] });
      const notice = await waitFor('refusal', () => chat.ephemerals(threadTs).find((t) => t.includes(name)));
      expect(notice).toBe(`:warning: Nothing was sent. ${reason}`);
      await h.settle();
      expect(h.meta?.sent().length).toBe(sendsBefore);
      expect(mediaUploadCount()).toBe(uploadsBefore);
      expect(h.slack.downloads.map((d) => d.id)).not.toContain(shared.id);
      // Kept in the history as refused, never sent.
      const stored = await h.app.database.db
        .selectFrom('message')
        .select(['status', 'error_code'])
        .where('slack_ts', '=', ts)
        .executeTakeFirst();
      expect(stored).toEqual({ status: 'refused', error_code: 'file_refused' });
    });

    it('refuses the whole message when one of several files is too large', async () => {
      const { threadTs } = await chat.metaContactWrites('two files', { from: '447700900320' });
      const sendsBefore = h.meta?.sent().length ?? 0;
      const small = slackFile('ok.pdf', 'application/pdf', 'PDF');
      const big = slackFile('big.png', 'image/png', 'PNG', 6 * MB);
      await chat.agentWrites({ threadTs, text: 'both', files: [small, big] });
      const notice = await waitFor('refusal', () => chat.ephemerals(threadTs).find((t) => t.includes('big.png')));
      expect(notice).toContain('`big.png` is 6.0 MB; WhatsApp accepts images (JPEG/PNG) up to 5.0 MB.');
      await h.settle();
      expect(h.meta?.sent().length).toBe(sendsBefore);
    });

    it('looks a mentioned person up once and reuses the name', async () => {
      const first = await chat.metaContactWrites('who will call me?', { from: '447700900321' });
      const second = await chat.metaContactWrites('and me?', { from: '447700900322' });
      const start = h.meta?.accepted().length ?? 0;
      const viaBlocks = await chat.agentWrites({
        threadTs: first.threadTs,
        text: '<@UCACHED> will call you',
        blocks: [
          {
            type: 'rich_text',
            elements: [
              {
                type: 'rich_text_section',
                elements: [
                  { type: 'user', user_id: 'UCACHED' },
                  { type: 'text', text: ' will call you' },
                ],
              },
            ],
          },
        ],
      });
      await chat.replyRow(viaBlocks);
      const viaText = await chat.agentWrites({ threadTs: second.threadTs, text: '<@UCACHED> will call you too' });
      await chat.replyRow(viaText);
      expect(acceptedSince(start).map((b) => (b.text as { body: string }).body)).toEqual([
        '@Carol will call you',
        '@Carol will call you too',
      ]);
      expect(h.slack.callsTo('users.info').filter((c) => c.body.user === 'UCACHED')).toHaveLength(1);
    });

    it('retries a reply Meta throttles (130429, HTTP 429, Retry-After) and sends it exactly once', async () => {
      const { threadTs } = await chat.metaContactWrites('quick question', { from: '447700900323' });
      const start = h.meta?.accepted().length ?? 0;
      // More 429s than one HTTP request retries on its own: the durable queue must retry too.
      h.meta?.failNext(4, {
        status: 429,
        headers: { 'retry-after': '1' },
        body: {
          error: {
            message: '(#130429) Rate limit hit',
            type: 'OAuthException',
            code: 130429,
            error_data: { details: 'Cloud API message throughput has been reached.' },
            fbtrace_id: 'AbCdEf',
          },
        },
      });
      const ts = await chat.agentWrites({ threadTs, text: 'throttled but delivered' });
      const row = await chat.replyRow(ts, ['sent'], 20_000);
      await h.settle();
      const attempts = (h.meta?.requests ?? []).filter(
        (r) => (r.body as { text?: { body?: string } } | null)?.text?.body === 'throttled but delivered',
      );
      expect(attempts.length).toBe(5);
      const accepted = acceptedSince(start);
      expect(accepted).toHaveLength(1);
      expect(accepted[0]).toMatchObject({ to: '447700900323', text: { body: 'throttled but delivered' } });
      expect(row.provider_message_id).toMatch(/^wamid\.FAKE/);
      expect(chat.ephemerals(threadTs)).toEqual([]);
    }, 30_000);
  });
}
