import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHANNEL_ID,
  type Harness,
  META_ACCESS_TOKEN,
  postMetaWebhook,
  startHarness,
} from '../support/bridge-harness.js';
import { chatDriver, metaSample } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { inboundWebhook, nextWamid } from '../support/meta-webhooks.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Every kind of message a contact can send reaches the conversation thread readably; files are
 * fetched from the Graph API and uploaded into the thread with Slack's current upload flow. The
 * bodies are Meta's real webhook samples (test/fixtures/meta-samples), re-addressed per test.
 * Reactions are not posted as messages: they show on the message they are for
 * (session-chat-reactions.test.ts).
 */

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`inbound message types on ${dialect.name} (Meta)`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
      chat = chatDriver(h);
    });
    afterAll(async () => {
      await h?.stop();
    });

    /** Posts a sample and resolves with the Slack post and its thread. */
    async function contactSends(sample: ReturnType<typeof metaSample>) {
      expect((await postMetaWebhook(h.url, sample.payload)).status).toBe(200);
      const post = await chat.postOf(sample.id);
      expect(post.channel).toBe(CHANNEL_ID);
      return { post, threadTs: post.thread_ts as string };
    }

    /** The file uploaded into `threadTs` with these bytes, via getUploadURLExternal → upload → complete. */
    async function uploadedInThread(threadTs: string, bytes: Buffer) {
      const completed = await waitFor('files.completeUploadExternal into the thread', () =>
        h.slack.completed.find((c) => c.thread_ts === threadTs && c.bytes[0]?.equals(bytes)),
      );
      expect(completed.channel_id).toBe(CHANNEL_ID);
      expect(completed.files).toHaveLength(1);
      const fileId = completed.files[0]?.id ?? '';
      const upload = h.slack.uploads.get(fileId);
      // The id came from files.getUploadURLExternal, and the bytes went to the URL it handed out.
      expect(upload?.bytes?.equals(bytes)).toBe(true);
      const requested = h.slack
        .callsTo('files.getUploadURLExternal')
        .find((c) => c.body.filename === upload?.filename && Number(c.body.length) === bytes.length);
      expect(requested).toBeDefined();
      return { filename: upload?.filename ?? '', title: completed.files[0]?.title };
    }

    /** The Graph API was asked for the media's URL, then for its bytes, with the access token. */
    function expectFetchedFromGraph(mediaId: string) {
      const lookup = h.meta?.requests.find((r) => r.method === 'GET' && r.path === `/${mediaId}`);
      const download = h.meta?.requests.find((r) => r.method === 'GET' && r.path === `/media-bytes/${mediaId}`);
      expect(lookup?.headers.authorization).toBe(`Bearer ${META_ACCESS_TOKEN}`);
      expect(download?.headers.authorization).toBe(`Bearer ${META_ACCESS_TOKEN}`);
    }

    it('uploads a video into the thread with its caption', async () => {
      const bytes = Buffer.from('MP4-VIDEO-BYTES');
      h.meta?.addMedia('661828760183585', bytes, 'video/mp4');
      const { post, threadTs } = await contactSends(metaSample('videoMessage.json', { from: '5511900000001' }));
      expect(post.text).toBe(':film_frames: Video\nhello world');
      const file = await uploadedInThread(threadTs, bytes);
      expect(file.filename).toMatch(/^whatsapp-video-\w+\.mp4$/);
      expectFetchedFromGraph('661828760183585');
    });

    it('uploads a voice note, labelled as one', async () => {
      const bytes = Buffer.from('OGG-OPUS-VOICE');
      h.meta?.addMedia('827776106019109', bytes, 'audio/ogg; codecs=opus');
      const sample = metaSample('audioMessage.json', { from: '5511900000002' });
      const { post, threadTs } = await contactSends(sample);
      expect(post.text).toBe(':studio_microphone: Voice note');
      const file = await uploadedInThread(threadTs, bytes);
      expect(file.filename).toMatch(/^whatsapp-audio-\w+\.ogg$/);
      expectFetchedFromGraph('827776106019109');
      const row = await h.app.database.db
        .selectFrom('message')
        .select(['kind', 'body'])
        .where('provider_message_id', '=', sample.id)
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ kind: 'audio', body: 'voice note' });
    });

    it('uploads an audio file that is not a voice note as audio', async () => {
      const bytes = Buffer.from('MP3-SONG');
      h.meta?.addMedia('media-audio-mp3', bytes, 'audio/mpeg');
      const sample = metaSample('audioMessage.json', {
        from: '5511900000003',
        patch: (message) => {
          message.audio = { id: 'media-audio-mp3', mime_type: 'audio/mpeg', sha256: 'x', voice: false };
        },
      });
      const { post, threadTs } = await contactSends(sample);
      expect(post.text).toBe(':musical_note: Audio');
      const file = await uploadedInThread(threadTs, bytes);
      expect(file.filename).toMatch(/\.mp3$/);
    });

    it('uploads a document under its own filename, with its caption', async () => {
      const bytes = Buffer.from('%PDF-1.7 invoice');
      h.meta?.addMedia('848704520347750', bytes, 'application/pdf');
      const sample = metaSample('documentMessage.json', {
        from: '5511900000004',
        patch: (message) => {
          (message.document as Record<string, unknown>).caption = 'Invoice for *March*';
        },
      });
      const { post, threadTs } = await contactSends(sample);
      expect(post.text).toBe(':page_facing_up: Document `4_641947.pdf`\nInvoice for *March*');
      const file = await uploadedInThread(threadTs, bytes);
      expect(file).toEqual({ filename: '4_641947.pdf', title: '4_641947.pdf' });
      expectFetchedFromGraph('848704520347750');
    });

    it('uploads a sticker', async () => {
      const bytes = Buffer.from('RIFF-WEBP-STICKER');
      h.meta?.addMedia('1604825680670873', bytes, 'image/webp');
      const { post, threadTs } = await contactSends(metaSample('stickerMessage.json', { from: '5511900000005' }));
      expect(post.text).toBe(':label: Sticker');
      const file = await uploadedInThread(threadTs, bytes);
      expect(file.filename).toMatch(/^whatsapp-sticker-\w+\.webp$/);
    });

    it('says plainly when a file can no longer be fetched, and uploads nothing', async () => {
      const uploadsBefore = h.slack.completed.length;
      const sample = metaSample('imageMessage.json', {
        from: '5511900000006',
        patch: (message) => {
          message.image = { id: 'media-expired', mime_type: 'image/jpeg', sha256: 'x', caption: 'the receipt' };
        },
      });
      const { post } = await contactSends(sample);
      expect(post.text).toMatch(/^:frame_with_picture: Image\nthe receipt\n:warning: The file could not be fetched/);
      await h.settle();
      expect(h.slack.completed.length).toBe(uploadsBefore);
    });

    it("shows a list reply's choice and its description, and a template button's text", async () => {
      const from = '5511900000007';
      const listReply = inboundWebhook(
        {
          type: 'interactive',
          interactive: {
            type: 'list_reply',
            list_reply: { id: 'slot-tue-10', title: 'Tuesday 10:00', description: 'In-store pickup' },
          },
        },
        { from, id: nextWamid() },
      );
      const listId = listReply.entry[0]?.changes[0]?.value.messages[0]?.id as string;
      expect((await postMetaWebhook(h.url, listReply)).status).toBe(200);
      expect((await chat.postOf(listId)).text).toBe(':radio_button: Chose *Tuesday 10:00* — In-store pickup');

      const button = metaSample('buttonMessage.json', { from });
      const { post } = await contactSends(button);
      expect(post.text).toBe(':radio_button: Chose *SIM*');
    });

    it("lists a shared contact's name and numbers", async () => {
      const { post } = await contactSends(metaSample('contactMessage.json', { from: '5511900000009' }));
      expect(post.text).toBe(':bust_in_silhouette: Shared contact:\n• *Person Ok* — +55 11 11111-1111 (CELL)');
    });

    it('names a shared contact by first and last name when WhatsApp sends no formatted name', async () => {
      const { post } = await contactSends(
        metaSample('contactMessage.json', {
          from: '5511900000010',
          patch: (message) => {
            message.contacts = [
              { name: { first_name: 'Carla', last_name: 'Dias' }, phones: [{ phone: '+351 912 345 678' }] },
            ];
          },
        }),
      );
      expect(post.text).toBe(':bust_in_silhouette: Shared contact:\n• *Carla Dias* — +351 912 345 678');
    });
  });
}
