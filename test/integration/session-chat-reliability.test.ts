import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, postMetaWebhook, SIGNING_SECRET, startHarness } from '../support/bridge-harness.js';
import { dialects } from '../support/databases.js';
import { inboundWebhook, nextWamid } from '../support/meta-webhooks.js';
import { eventCallback, postSlack, slashCommand } from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Session chat when things go wrong half-way: lost Slack responses, provider outages, retries
 * running out, races between Slack surfaces. Each Slack post still happens exactly once, customer
 * messages keep flowing, and an agent is told when a reply could not be sent.
 */

const cases = await dialects();
const UNAVAILABLE = { status: 503, body: { error: { message: 'Service temporarily unavailable', code: 131016 } } };
let tsCounter = 0;
// A person's message ts; the fake Slack numbers its own posts from .000001 within each second.
const slackTs = () => `${Math.floor(Date.now() / 1000)}.9${String(++tsCounter).padStart(5, '0')}`;

for (const dialect of cases) {
  describe.runIf(dialect.available)(`session chat reliability on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
    });
    afterAll(async () => {
      await h?.stop();
    });

    async function contactWrites(from: string, text: string, extra: Record<string, unknown> = {}) {
      const id = nextWamid();
      const body = Object.keys(extra).length > 0 ? extra : { type: 'text', text: { body: text } };
      const response = await postMetaWebhook(h.url, inboundWebhook(body as { type: string }, { from, id }));
      expect(response.status).toBe(200);
      const post = await waitFor(`message ${id} in Slack`, () =>
        h.slack.messages(CHANNEL_ID).find((m) => m.thread_ts && m.metadata?.event_payload.key === id),
      );
      return { threadTs: post.thread_ts as string, id };
    }

    const headersFor = (number: string) =>
      h.slack.rootMessages(CHANNEL_ID).filter((m) => JSON.stringify(m.blocks ?? '').includes(number));

    function agentReplies(threadTs: string, text: string, files: unknown[] = []) {
      const ts = slackTs();
      return postSlack(
        h.url,
        eventCallback(SIGNING_SECRET, {
          type: 'message',
          ...(files.length > 0 ? { subtype: 'file_share', files } : {}),
          channel: CHANNEL_ID,
          user: 'UAGENT1',
          text,
          ts,
          thread_ts: threadTs,
        }),
      ).then((response) => ({ response, ts }));
    }

    it('asks Slack who the bot is once, not on every request it answers', async () => {
      for (let i = 0; i < 5; i++)
        expect((await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'help' }))).status).toBe(200);
      expect(h.slack.callsTo('auth.test')).toHaveLength(1);
    });

    it('starts conversations without reading channel history', async () => {
      for (const from of ['447700910001', '447700910002', '447700910003']) await contactWrites(from, 'hello');
      await h.settle();
      expect(h.slack.callsTo('conversations.history')).toHaveLength(0);
      expect(h.slack.callsTo('conversations.replies')).toHaveLength(0);
    });

    it('posts a header once when Slack took it but the response was lost', async () => {
      h.slack.loseResponses('chat.postMessage', 1); // the header: it is in Slack, the app saw a 500
      await contactWrites('447700910010', 'first words');
      await h.settle();
      expect(headersFor('+447700910010')).toHaveLength(1);
      // The retry looked for the header in the channel instead of posting a second one.
      expect(h.slack.callsTo('conversations.history').length).toBeGreaterThan(0);
      expect(h.slack.threadReplies(CHANNEL_ID, headersFor('+447700910010')[0]?.ts ?? '').map((m) => m.text)).toEqual([
        'first words',
      ]);
    });

    it('posts a customer message once when Slack took it but the response was lost', async () => {
      const { threadTs } = await contactWrites('447700910020', 'one');
      h.slack.loseResponses('chat.postMessage', 1);
      const second = await contactWrites('447700910020', 'two');
      await h.settle();
      const posts = h.slack.threadReplies(CHANNEL_ID, threadTs);
      expect(posts.map((m) => m.text)).toEqual(['one', 'two']);
      expect(posts.filter((m) => m.metadata?.event_payload.key === second.id)).toHaveLength(1);
    });

    it('uploads a customer file once when Slack shared it but the response was lost', async () => {
      h.meta?.addMedia('MEDIALOST1', Buffer.from('JPEGDATA'), 'image/jpeg');
      h.slack.loseResponses('files.completeUploadExternal', 1);
      const { threadTs, id } = await contactWrites('447700910030', '', {
        type: 'image',
        image: { id: 'MEDIALOST1', mime_type: 'image/jpeg', sha256: 'x', caption: 'the receipt' },
      });
      // The retry (after backoff) checks the file Slack already has, and records the message.
      await waitFor('message recorded as posted', () =>
        h.app.database.db
          .selectFrom('message')
          .select('slack_ts')
          .where('provider_message_id', '=', id)
          .where('slack_ts', 'is not', null)
          .executeTakeFirst(),
      );
      const shared = h.slack.completed.filter((c) => c.thread_ts === threadTs);
      expect(shared).toHaveLength(1);
      expect(shared[0]?.bytes[0]?.toString()).toBe('JPEGDATA');
      expect(h.slack.callsTo('files.info').length).toBeGreaterThan(0);
    });

    it('keeps customer messages flowing while a reply waits out a provider outage', async () => {
      const { threadTs } = await contactWrites('447700910040', 'are you there?');
      h.meta?.failNextSends(4, UNAVAILABLE);
      const { ts } = await agentReplies(threadTs, 'yes, one moment');
      await contactWrites('447700910040', 'hello??');
      const reply = await h.app.database.db
        .selectFrom('message')
        .select('status')
        .where('slack_ts', '=', ts)
        .executeTakeFirstOrThrow();
      expect(reply.status).not.toBe('sent'); // still retrying, yet the customer's message is in Slack
      await waitFor(
        'the reply sent once the provider is back',
        () => h.meta?.accepted().some((b) => (b.text as { body?: string } | undefined)?.body === 'yes, one moment'),
        20_000,
      );
      await h.settle();
      expect(
        h.meta?.accepted().filter((b) => (b.text as { body?: string } | undefined)?.body === 'yes, one moment'),
      ).toHaveLength(1);
    });

    it("sends an agent's reply while Slack rate-limits the channel and new customer messages wait to be posted", async () => {
      const { threadTs } = await contactWrites('447700910045', 'where is my order?');
      // More conversations than the workers posting to Slack, all held back by a long 429.
      const rateLimitedUntil = Date.now() + 15_000;
      h.slack.rateLimit('chat.postMessage', { untilMs: rateLimitedUntil, retryAfterSeconds: 15 });
      const waiting = Array.from({ length: 24 }, (_, i) => ({
        from: `4477009101${String(i).padStart(2, '0')}`,
        id: nextWamid(),
      }));
      await Promise.all(
        waiting.map(async ({ from, id }) => {
          const response = await postMetaWebhook(
            h.url,
            inboundWebhook({ type: 'text', text: { body: 'hello' } }, { from, id }),
          );
          expect(response.status).toBe(200);
        }),
      );
      await new Promise((r) => setTimeout(r, 500)); // let the posting jobs take every worker
      await agentReplies(threadTs, 'it ships today');
      await waitFor(
        'the reply at the provider',
        () => h.meta?.accepted().some((b) => (b.text as { body?: string } | undefined)?.body === 'it ships today'),
        20_000,
      );
      const posted = () =>
        h.slack.messages(CHANNEL_ID).filter((m) => waiting.some(({ id }) => m.metadata?.event_payload.key === id));
      expect(Date.now(), 'the reply went out while Slack was still refusing posts').toBeLessThan(rateLimitedUntil);
      expect(posted(), 'none of the waiting messages was posted yet').toHaveLength(0);
      await waitFor(
        'the waiting messages posted once Slack recovers',
        () => posted().length === waiting.length,
        60_000,
      );
    }, 90_000);

    it('resumes a reply made of several messages at the part that failed, sending each once', async () => {
      const { threadTs } = await contactWrites('447700910050', 'send the photo and the invoice');
      const photo = h.slack.addFile({
        id: 'FPARTS1',
        name: 'photo.jpg',
        mimetype: 'image/jpeg',
        bytes: Buffer.from('J'),
      });
      const invoice = h.slack.addFile({
        id: 'FPARTS2',
        name: 'invoice.pdf',
        mimetype: 'application/pdf',
        bytes: Buffer.from('%PDF'),
      });
      const longText = `${'Here is everything you asked for. '.repeat(40)}Thanks!`; // > 1,024: not a caption
      h.meta?.failNextSends(2, UNAVAILABLE, (body) => body.type === 'image');
      const before = h.meta?.accepted().length ?? 0;
      await agentReplies(threadTs, longText, [photo, invoice]);
      await waitFor('three parts sent', () => (h.meta?.accepted().length ?? 0) - before >= 3, 20_000);
      await h.settle();
      const sent = h.meta?.accepted().slice(before) ?? [];
      expect(sent.map((b) => b.type)).toEqual(['text', 'image', 'document']);
      expect(sent[0]).toMatchObject({ text: { body: longText.trim() } });
      expect(sent[2]).toMatchObject({ document: { filename: 'invoice.pdf' } });
    });

    it("splits a reply longer than WhatsApp's 4,096 characters into several messages", async () => {
      const { threadTs } = await contactWrites('447700910060', 'tell me everything');
      const words = Array.from({ length: 600 }, (_, i) => `word${i}`).join(' '); // about 4,700 characters
      const before = h.meta?.accepted().length ?? 0;
      await agentReplies(threadTs, words);
      await waitFor('two parts sent', () => (h.meta?.accepted().length ?? 0) - before >= 2, 10_000);
      await h.settle();
      const bodies = (h.meta?.accepted().slice(before) ?? []).map(
        (b) => (b.text as { body?: string } | undefined)?.body ?? '',
      );
      expect(bodies).toHaveLength(2);
      for (const body of bodies) expect(body.length).toBeLessThanOrEqual(4096);
      expect(bodies.join(' ')).toBe(words);
    });

    it('starts one thread when the first message and /wa chat arrive at the same moment', async () => {
      for (const from of ['447700910071', '447700910072', '447700910073']) {
        const id = nextWamid();
        await Promise.all([
          postMetaWebhook(h.url, inboundWebhook({ type: 'text', text: { body: 'hi' } }, { from, id })),
          postSlack(h.url, slashCommand(SIGNING_SECRET, { text: `chat +${from}` })),
        ]);
        await waitFor('message posted', () =>
          h.slack.messages(CHANNEL_ID).some((m) => m.metadata?.event_payload.key === id),
        );
        await h.settle();
        expect(headersFor(`+${from}`)).toHaveLength(1);
      }
    });

    it('tells the agent once when Slack delivers a refused reply again', async () => {
      const old = Date.now() - 25 * 60 * 60 * 1000; // the customer wrote 25 hours ago: window closed
      const id = nextWamid();
      await postMetaWebhook(
        h.url,
        inboundWebhook({ type: 'text', text: { body: 'old message' } }, { from: '447700910080', id, timestamp: old }),
      );
      const post = await waitFor('old message posted', () =>
        h.slack.messages(CHANNEL_ID).find((m) => m.metadata?.event_payload.key === id),
      );
      const event = {
        type: 'message',
        channel: CHANNEL_ID,
        user: 'UAGENT1',
        text: 'sorry for the delay',
        ts: slackTs(),
        thread_ts: post.thread_ts,
      };
      const ephemeralsBefore = h.slack.callsTo('chat.postEphemeral').length;
      await postSlack(h.url, eventCallback(SIGNING_SECRET, event, { eventId: 'EvREFUSED1' }));
      await postSlack(h.url, eventCallback(SIGNING_SECRET, event, { eventId: 'EvREFUSED1' }));
      await waitFor('the agent told', () => h.slack.callsTo('chat.postEphemeral').length > ephemeralsBefore);
      await h.settle();
      const notices = h.slack.callsTo('chat.postEphemeral').slice(ephemeralsBefore);
      // …and the thread once (the reason, for everyone).
      expect(
        h.slack.threadReplies(CHANNEL_ID, post.thread_ts as string).filter((m) => m.text.startsWith(':no_entry_sign:')),
      ).toHaveLength(1);
      expect(notices).toHaveLength(1);
      expect(JSON.stringify(notices[0]?.body)).toContain('24-hour');
    });
  });

  describe.runIf(dialect.available)(`session chat headers and give-ups on ${dialect.name}`, () => {
    let h: Harness;
    let offset = 0; // moves the app's clock forward (the 24-hour window), while time still passes
    const now = () => Date.now() + offset;
    beforeAll(async () => {
      h = await startHarness({
        database: await dialect.create(),
        now,
        jobBackoffMs: { base: 5, max: 20 },
        env: { INTERNAL_NOTE_PREFIX: '//', SLACK_CHANNEL_BY_NUMBER: '+15550001111=C0SUPPORT' },
        // The provider's number list is empty (say, a token without the management scope): the
        // webhook's own display number still routes the conversation to its channel.
        metaPhoneNumbers: [],
      });
    });
    afterAll(async () => {
      await h?.stop();
    });

    const header = (number: string) =>
      h.slack.rootMessages('C0SUPPORT').find((m) => JSON.stringify(m.blocks ?? '').includes(number));

    it("routes a number's conversations to its channel from the webhook alone, and shows the note prefix", async () => {
      const id = nextWamid();
      await postMetaWebhook(
        h.url,
        inboundWebhook(
          { type: 'text', text: { body: 'hello support' } },
          { from: '447700920001', id, timestamp: now() },
        ),
      );
      await waitFor('posted in the number channel', () =>
        h.slack.messages('C0SUPPORT').find((m) => m.metadata?.event_payload.key === id),
      );
      expect(h.slack.messages(CHANNEL_ID)).toHaveLength(0);
      const blocks = JSON.stringify(header('+447700920001')?.blocks);
      expect(blocks).toContain('Start a reply with `//` to keep it internal');
      expect(blocks).not.toContain('`note:`');
    });

    it('shows the window closing in the header when the 24 hours are over, and opening again', async () => {
      expect(JSON.stringify(header('+447700920001')?.blocks)).toContain('24-hour window open');
      offset += 24 * 60 * 60 * 1000 + 20 * 60 * 1000; // past the window, and past the refresh slot
      await waitFor('header says closed', () =>
        JSON.stringify(header('+447700920001')?.blocks).includes('24-hour window closed'),
      );
      const id = nextWamid();
      await postMetaWebhook(
        h.url,
        inboundWebhook({ type: 'text', text: { body: 'back again' } }, { from: '447700920001', id, timestamp: now() }),
      );
      await waitFor('header says open again', () =>
        JSON.stringify(header('+447700920001')?.blocks).includes('24-hour window open'),
      );
    });

    it('refreshes the header only when the window time it shows moved noticeably', async () => {
      await h.settle();
      const updatesBefore = h.slack.callsTo('chat.update').length;
      for (let i = 0; i < 3; i++) {
        offset += 60_000; // a chatty customer: one message a minute
        const id = nextWamid();
        await postMetaWebhook(
          h.url,
          inboundWebhook({ type: 'text', text: { body: `msg ${i}` } }, { from: '447700920001', id, timestamp: now() }),
        );
        await waitFor('posted', () => h.slack.messages('C0SUPPORT').some((m) => m.metadata?.event_payload.key === id));
      }
      await h.settle();
      expect(h.slack.callsTo('chat.update').length).toBe(updatesBefore);
    });

    it('tells the agent when a reply could not be sent after every retry, and never sends it later', async () => {
      const thread = await waitFor('thread', () => header('+447700920001'));
      h.meta?.failNextSends(40, UNAVAILABLE);
      const ts = `${Math.floor(Date.now() / 1000)}.999001`;
      await postSlack(
        h.url,
        eventCallback(SIGNING_SECRET, {
          type: 'message',
          channel: 'C0SUPPORT',
          user: 'UAGENT1',
          text: 'this will not make it',
          ts,
          thread_ts: thread.ts,
        }),
      );
      const row = await waitFor(
        'the reply marked as given up',
        () =>
          h.app.database.db
            .selectFrom('message')
            .selectAll()
            .where('slack_ts', '=', ts)
            .where('status', '=', 'failed')
            .executeTakeFirst(),
        20_000,
      );
      expect(row.error_code).toBe('gave_up');
      const notice = await waitFor('the agent told', () =>
        h.slack.callsTo('chat.postEphemeral').find((c) => JSON.stringify(c.body).includes('could not be reached')),
      );
      expect(notice.body.user).toBe('UAGENT1');
      // A plain sentence, what to do, and an error id that finds the log line: never the exception's text.
      const told = String(notice.body.text);
      expect(told).not.toContain('Service temporarily unavailable');
      const errorId = /\(error id `(E-[0-9A-F]{8})`\)/.exec(told)?.[1];
      expect(told).toContain('Send it again when the provider is back');
      expect(row.error_detail).toContain(`(error id \`${errorId}\`)`);
      expect(row.error_detail).not.toContain('Service temporarily unavailable');
      expect(h.logs.join('')).toContain(`"errorId":"${errorId}"`);
      const job = await h.app.database.db
        .selectFrom('job')
        .selectAll()
        .where('idempotency_key', '=', `reply:C0SUPPORT:${ts}`)
        .executeTakeFirstOrThrow();
      expect(job.attempts).toBe(12); // AGENT_REPLY_MAX_ATTEMPTS: about 20 minutes with real backoff
      await h.settle();
      expect(
        h.meta?.accepted().some((b) => (b.text as { body?: string } | undefined)?.body === 'this will not make it'),
      ).toBe(false);
    });
  });
}
