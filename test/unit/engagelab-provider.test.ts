import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngageLabSettings } from '../../src/config.js';
import { createHttpClient, type HttpClient } from '../../src/shared/http-client.js';
import { createEngageLabProvider } from '../../src/whatsapp/engagelab/engagelab-provider.js';
import { createMediaLinkSigner } from '../../src/whatsapp/media-links.js';
import { ProviderError, WebhookAuthError, WebhookPayloadError } from '../../src/whatsapp/provider-errors.js';
import type {
  MediaUpload,
  OutboundMessage,
  WebhookEvent,
  WhatsAppProvider,
} from '../../src/whatsapp/whatsapp-provider.js';
import { type FakeEngageLab, startFakeEngageLab } from '../support/fake-engagelab.js';

const TOKEN = 'callback-token-0123456789abcdef';
const BUSINESS = '+15550001111';
const CONTACT = '+447700900123';
const NOW = 1_800_000_000_000;
const PUBLIC_URL = 'https://bridge.example.com';

const settingsFor = (apiUrl: string): EngageLabSettings => ({
  devKey: 'key',
  devSecret: 'secret',
  apiUrl,
  sendingNumbers: [BUSINESS, '+15550002222'],
  callbackToken: TOKEN,
});

const clients: HttpClient[] = [];
const saved: MediaUpload[] = [];
const links = createMediaLinkSigner({ publicUrl: PUBLIC_URL, secret: 'link-secret', now: () => NOW });

function providerFor(apiUrl: string, httpOptions: Parameters<typeof createHttpClient>[0] = {}): WhatsAppProvider {
  const http = createHttpClient({
    timeoutMs: 5000,
    retries: 2,
    baseRetryDelayMs: 5,
    maxRetryDelayMs: 50,
    ...httpOptions,
  });
  clients.push(http);
  return createEngageLabProvider({
    settings: settingsFor(apiUrl),
    http,
    mediaStore: {
      async save(media) {
        saved.push(media);
        return `m${saved.length}`;
      },
    },
    mediaLinks: links,
    now: () => NOW,
  });
}

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe('EngageLab provider', () => {
  let fake: FakeEngageLab;
  let provider: WhatsAppProvider;
  beforeAll(async () => {
    fake = await startFakeEngageLab({ devKey: 'key', devSecret: 'secret' });
    provider = providerFor(fake.url);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await fake.close();
  });
  const lastBody = () => fake.requests.at(-1)?.body;
  const text = (to = CONTACT): OutboundMessage => ({ type: 'text', to, text: 'x' });

  describe('sending', () => {
    it('posts text to /v1/messages with Basic auth, one recipient without "+", and the correlation id', async () => {
      const result = await provider.send(
        BUSINESS,
        { type: 'text', to: CONTACT, text: 'Hi from Slack' },
        { correlationId: 'msg-1' },
      );
      const request = fake.requests.at(-1);
      expect(request?.method).toBe('POST');
      expect(request?.path).toBe('/v1/messages');
      expect(request?.headers.authorization).toBe(`Basic ${Buffer.from('key:secret').toString('base64')}`);
      expect(request?.headers['content-type']).toBe('application/json');
      expect(request?.body).toEqual({
        from: BUSINESS,
        to: ['447700900123'],
        body: { type: 'text', text: { body: 'Hi from Slack' } },
        request_id: 'msg-1',
        custom_args: { bridge_ref: 'msg-1' },
      });
      expect(result.providerMessageId).toMatch(/^el\d+$/);
      const second = await provider.send(BUSINESS, text());
      expect(second.providerMessageId).not.toBe(result.providerMessageId);
      expect(lastBody()).not.toHaveProperty('request_id');
    });

    it('keeps uploaded files in the media store and sends them as a signed link to PUBLIC_URL/media/:id', async () => {
      const upload = { bytes: Buffer.from('png'), mimeType: 'image/png', filename: 'a.png' };
      const ref = await provider.uploadMedia(BUSINESS, upload);
      expect(saved.at(-1)).toBe(upload);
      const id = `m${saved.length}`;
      if (ref.kind !== 'link') throw new Error('expected a link');
      const url = new URL(ref.url);
      expect(`${url.origin}${url.pathname}`).toBe(`${PUBLIC_URL}/media/${id}`);
      expect(
        links.verify(id, url.searchParams.get('expires') ?? undefined, url.searchParams.get('sig') ?? undefined),
      ).toBe(true);

      await provider.send(BUSINESS, { type: 'media', to: CONTACT, mediaKind: 'image', media: ref, caption: 'look' });
      expect(lastBody()).toMatchObject({ body: { type: 'image', image: { link: ref.url, caption: 'look' } } });
      await provider.send(BUSINESS, {
        type: 'media',
        to: CONTACT,
        mediaKind: 'document',
        media: ref,
        caption: 'report',
        filename: 'r.pdf',
      });
      expect(lastBody()).toMatchObject({
        body: { type: 'document', document: { link: ref.url, caption: 'report', filename: 'r.pdf' } },
      });
      // WhatsApp carries no caption on audio or stickers.
      await provider.send(BUSINESS, { type: 'media', to: CONTACT, mediaKind: 'audio', media: ref, caption: 'no' });
      expect(lastBody()).toMatchObject({ body: { type: 'audio', audio: { link: ref.url } } });
      expect((lastBody() as { body: { audio: object } }).body.audio).not.toHaveProperty('caption');
    });

    it('refuses media ids before calling EngageLab, which only takes links', async () => {
      const before = fake.requests.length;
      const error = await rejection(
        provider.send(BUSINESS, { type: 'media', to: CONTACT, mediaKind: 'image', media: { kind: 'id', id: '123' } }),
      );
      expect(error.code).toBe('invalid_request');
      expect(error.message).toMatch(/link/);
      expect(error.mayHaveBeenSent).toBe(false);
      const templateWithId = await rejection(
        provider.send(BUSINESS, {
          type: 'template',
          to: CONTACT,
          template: {
            name: 'spring_sale',
            language: 'en',
            parameters: { header: { type: 'image', media: { kind: 'id', id: '9' } }, body: [], buttons: [] },
          },
        }),
      );
      expect(templateWithId.code).toBe('invalid_request');
      expect(fake.requests.length).toBe(before);
    });

    it('sends templates with a plain-string language and Meta-like components', async () => {
      await provider.send(BUSINESS, {
        type: 'template',
        to: CONTACT,
        template: {
          name: 'ticket_update',
          language: 'en',
          parameters: {
            header: { type: 'image', media: { kind: 'link', url: 'https://cdn.example.com/a.jpg' } },
            body: ['Ana', '42'],
            buttons: [{ index: 0, subType: 'quick_reply', value: 'STOP' }],
          },
        },
      });
      expect(lastBody()).toEqual({
        from: BUSINESS,
        to: ['447700900123'],
        body: {
          type: 'template',
          template: {
            name: 'ticket_update',
            language: 'en',
            components: [
              { type: 'header', parameters: [{ type: 'image', image: { link: 'https://cdn.example.com/a.jpg' } }] },
              {
                type: 'body',
                parameters: [
                  { type: 'text', text: 'Ana' },
                  { type: 'text', text: '42' },
                ],
              },
              {
                type: 'button',
                sub_type: 'quick_reply',
                index: '0',
                parameters: [{ type: 'payload', payload: 'STOP' }],
              },
            ],
          },
        },
      });
      await provider.send(BUSINESS, {
        type: 'template',
        to: CONTACT,
        template: { name: 'hello_world', language: 'en_US', parameters: { body: [], buttons: [] } },
      });
      expect(lastBody()).toMatchObject({ body: { template: { name: 'hello_world', language: 'en_US' } } });
      expect((lastBody() as { body: { template: object } }).body.template).not.toHaveProperty('components');
    });
  });

  describe('send failures', () => {
    it.each([
      [400, { code: 3001, message: 'invalid json' }, 'invalid_request'],
      [400, { code: 3002, message: 'invalid to' }, 'invalid_request'],
      [400, { code: 3003, message: 'business validation failed' }, 'invalid_request'],
      [400, { code: 3003, message: 'outside the 24 hour customer service window' }, 'window_closed'],
      [401, { code: 2001, message: 'auth failed' }, 'auth_failed'],
      [401, { code: 2002, message: 'key disabled' }, 'auth_failed'],
      [400, { code: 2003, message: 'meta auth failed' }, 'auth_failed'],
      [403, { code: 2004, message: 'no permission for this number' }, 'permission_denied'],
      [400, { code: 4001, message: 'template not found' }, 'template_error'],
      [403, 'Forbidden', 'permission_denied'],
      [400, 'Bad Request', 'invalid_request'],
    ] as const)('maps HTTP %i %j to %s', async (status, body, code) => {
      fake.failNext(1, { status, body });
      const error = await rejection(provider.send(BUSINESS, text()));
      expect(error.code).toBe(code);
      expect(error.httpStatus).toBe(status);
      expect(error.providerCode).toBe(typeof body === 'object' ? String(body.code) : null);
      expect(error.mayHaveBeenSent).toBe(false);
      if (typeof body === 'object') expect(error.message).toContain(body.message);
    });

    it('maps a 429 with a long Retry-After to rate_limited carrying the wait', async () => {
      fake.failNext(1, {
        status: 429,
        body: { code: 1000, message: 'too many requests' },
        headers: { 'retry-after': '60' },
      });
      const error = await rejection(provider.send(BUSINESS, text()));
      expect(error.code).toBe('rate_limited');
      expect(error.retryAfterMs).toBe(60_000);
      expect(error.retryable).toBe(true);
    });

    it('retries 5xx and succeeds when EngageLab recovers', async () => {
      const before = fake.requests.length;
      fake.failNext(2, { status: 500, body: { code: 1000, message: 'internal error' } });
      const result = await provider.send(BUSINESS, text());
      expect(result.providerMessageId).toMatch(/^el\d+$/);
      expect(fake.requests.length - before).toBe(3);
    });

    it('makes exactly one request for a paced (campaign) send: its retry waits for a send slot', async () => {
      const before = fake.requests.length;
      fake.failNext(1, { status: 500, body: { code: 1000, message: 'internal error' } });
      const error = await rejection(provider.send(BUSINESS, text(), { singleAttempt: true }));
      expect(error).toMatchObject({ code: 'unavailable', retryable: true, mayHaveBeenSent: false });
      expect(fake.requests.length - before, 'no retry inside the HTTP client').toBe(1);
    });

    it('reports lasting 5xx as unavailable (retryable, not sent)', async () => {
      fake.failNext(3, { status: 503, body: '<html>down</html>' });
      const error = await rejection(provider.send(BUSINESS, text()));
      expect(error).toMatchObject({ code: 'unavailable', httpStatus: 503, mayHaveBeenSent: false });
      expect(error.retryable).toBe(true);
    });

    it('treats a 200 without message_id as possibly sent, and a 200 error envelope as a refusal', async () => {
      fake.failNext(1, { status: 200, body: { ok: true } });
      expect(await rejection(provider.send(BUSINESS, text()))).toMatchObject({
        code: 'unknown',
        mayHaveBeenSent: true,
      });
      fake.failNext(1, { status: 200, body: { code: 3002, message: 'invalid to' } });
      expect(await rejection(provider.send(BUSINESS, text()))).toMatchObject({
        code: 'invalid_request',
        providerCode: '3002',
        mayHaveBeenSent: false,
      });
    });

    it('says a timed-out or dropped send may have been sent', async () => {
      const impatient = providerFor(fake.url, { timeoutMs: 100 });
      fake.failNext(1, { status: 200, body: { message_id: 'late' }, delayMs: 400 });
      expect(await rejection(impatient.send(BUSINESS, text()))).toMatchObject({
        code: 'unavailable',
        mayHaveBeenSent: true,
      });
      fake.failNext(1, { status: 200, body: {}, dropConnection: true });
      expect(await rejection(provider.send(BUSINESS, text()))).toMatchObject({
        code: 'unavailable',
        mayHaveBeenSent: true,
      });
    });

    it('says a refused connection was not sent', async () => {
      const port = await new Promise<number>((resolve) => {
        const probe = createServer();
        probe.listen(0, '127.0.0.1', () => {
          const address = probe.address();
          probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
        });
      });
      const nowhere = providerFor(`http://127.0.0.1:${port}`);
      expect(await rejection(nowhere.send(BUSINESS, text()))).toMatchObject({
        code: 'unavailable',
        mayHaveBeenSent: false,
      });
    });
  });

  describe('reactions and read receipts, which EngageLab does not document', () => {
    it('refuses a reaction with a typed unsupported error, without calling EngageLab', async () => {
      const before = fake.requests.length;
      const error = await rejection(
        provider.sendReaction('+15550001111', { to: CONTACT, messageId: 'wamid.X', emoji: '👍' }),
      );
      expect(error).toMatchObject({ code: 'unsupported', retryable: false });
      expect(error.message).toMatch(/EngageLab .* reaction/);
      expect(fake.requests.length).toBe(before);
    });

    it('marks nothing read, and calls nothing', async () => {
      const before = fake.requests.length;
      await expect(provider.markRead('+15550001111', 'wamid.X', { typing: true })).resolves.toBeUndefined();
      expect(fake.requests.length).toBe(before);
    });
  });

  describe('media download, numbers, templates, subscription', () => {
    it('says plainly that inbound media cannot be downloaded', async () => {
      const error = await rejection(provider.downloadMedia({ id: '1', mimeType: null, sha256: null, url: null }, 10));
      expect(error.code).toBe('media_download_unsupported');
      expect(error.message).toMatch(/EngageLab documents no API to download/);
      expect(error.message).toMatch(/link/);
      expect(error.message).toMatch(/EngageLab console/);
    });

    it('lists the configured sending numbers as connected', async () => {
      expect(await provider.listSendingNumbers()).toEqual([
        {
          id: BUSINESS,
          phoneNumber: BUSINESS,
          displayName: null,
          health: 'connected',
          healthReason: expect.stringMatching(/ENGAGELAB_SENDING_NUMBERS/),
          qualityRating: null,
        },
        expect.objectContaining({ id: '+15550002222', phoneNumber: '+15550002222' }),
      ]);
    });

    it('lists templates from GET /v1/templates, normalising EngageLab’s lower-case formats', async () => {
      const templates = await provider.listTemplates();
      const request = fake.requests.at(-1);
      expect(request).toMatchObject({ method: 'GET', path: '/v1/templates' });
      expect(request?.headers.authorization).toBe(`Basic ${Buffer.from('key:secret').toString('base64')}`);
      expect(templates.find((t) => t.name === 'spring_sale')?.header.format).toBe('IMAGE');

      fake.setTemplates([
        {
          id: 406979728071589,
          name: 'code',
          language: 'zh_CN',
          status: 'approved',
          category: 'AUTHENTICATION',
          components: [
            { type: 'HEADER', format: 'text', text: 'Code' },
            { type: 'BODY', text: 'Your code is {{1}}' },
            { type: 'FOOTER', text: 'Do not share' },
            { type: 'BUTTONS', buttons: [{ type: 'url', text: 'Open', url: 'https://x.example/{{1}}' }] },
          ],
        },
      ]);
      expect(await provider.listTemplates()).toEqual([
        {
          providerTemplateId: '406979728071589',
          name: 'code',
          language: 'zh_CN',
          status: 'APPROVED',
          category: 'AUTHENTICATION',
          header: { format: 'TEXT', text: 'Code' },
          body: 'Your code is {{1}}',
          footer: 'Do not share',
          buttons: [{ index: 0, type: 'URL', text: 'Open', url: 'https://x.example/{{1}}' }],
        },
      ]);
      fake.failNext(1, { status: 401, body: { code: 2002, message: 'key expired' } });
      expect(await rejection(provider.listTemplates())).toMatchObject({ code: 'auth_failed', providerCode: '2002' });
      fake.failNext(1, { status: 200, body: { data: 'nope' } });
      expect(await rejection(provider.listTemplates())).toMatchObject({ code: 'unknown' });
    });

    it('refuses the GET subscription handshake (EngageLab has none)', () => {
      expect(provider.checkSubscription({ 'hub.mode': 'subscribe', 'hub.challenge': 'x', token: TOKEN })).toEqual({
        ok: false,
      });
    });
  });

  describe('callbacks', () => {
    const parse = (payload: unknown, query: Record<string, string | undefined> = { token: TOKEN }): WebhookEvent[] =>
      provider.parseWebhook({
        rawBody: Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload)),
        headers: { 'content-type': 'application/json' },
        query,
      });
    const envelope = (...rows: unknown[]) => ({ total: rows.length, rows });

    /** The status row of whatsapp.md §2.5, complete. */
    const statusRow = (messageStatus: string, extra: Record<string, unknown> = {}) => ({
      message_id: '1666165485030094861',
      from: BUSINESS,
      to: CONTACT,
      server: 'whatsapp',
      channel: 'whatsapp',
      itime: 1_663_432_360,
      custom_args: { bridge_ref: 'msg-1' },
      status: {
        message_status: messageStatus,
        status_data: {
          msg_time: 1_663_432_355,
          channel_message_id: 'wamid.HBgL',
          whatsapp_business_account_id: '1000',
          timezone: 'UTC',
          country_code: 'GB',
          from_phone_id: '111111',
          conversation: { id: 'c1', origin: { type: 'business_initiated' } },
          pricing: { pricing_model: 'CBP', category: 'business_initiated' },
        },
        error_code: 0,
        error_detail: { message: '' },
        ...extra,
      },
    });

    /** The inbound (response) row of whatsapp.md §2.5, with `message` varied. */
    const inboundRow = (message: unknown, response: Record<string, unknown> = {}) => ({
      message_id: '1666165485030094999',
      from: BUSINESS,
      to: CONTACT,
      server: 'whatsapp',
      channel: 'whatsapp',
      itime: 1_663_432_400,
      response: {
        event: 'received',
        response_data: {
          channel_message_id: 'wamid.IN1',
          whatsapp_business_account_id: '1000',
          contact: { profile: { name: 'Bob' }, wa_id: '447700900123' },
          message,
        },
        ...response,
      },
    });
    const contentOf = (message: unknown) => {
      const [event] = parse(envelope(inboundRow(message)));
      return event?.kind === 'message' ? event.content : null;
    };

    it('requires the callback token: missing → 401, wrong → 403, right → parsed', () => {
      const body = envelope(statusRow('delivered'));
      const status = (query: Record<string, string | undefined>) => {
        try {
          parse(body, query);
          return 200;
        } catch (error) {
          if (error instanceof WebhookAuthError) return error.status;
          throw error;
        }
      };
      expect(status({})).toBe(401);
      expect(status({ token: '' })).toBe(401);
      expect(status({ token: 'wrong' })).toBe(403);
      expect(status({ token: `${TOKEN.slice(0, -1)}X` })).toBe(403);
      expect(status({ token: TOKEN })).toBe(200);
    });

    it('checks the token before looking at the body', () => {
      expect(() => parse(Buffer.from('{nope'), {})).toThrow(WebhookAuthError);
    });

    it('turns the documented status row into a status with the wamid as an alternate id', () => {
      expect(parse(envelope(statusRow('delivered')))).toEqual([
        {
          kind: 'status',
          providerMessageId: '1666165485030094861',
          alternateIds: ['wamid.HBgL'],
          status: 'delivered',
          sendingNumberId: BUSINESS,
          recipient: CONTACT,
          timestamp: 1_663_432_355_000,
          errors: [],
        },
      ]);
    });

    it('maps every EngageLab status; progress-only ones are skipped', () => {
      const states = [
        'plan',
        'target_valid',
        'sent',
        'delivered',
        'read',
        'delivered_timeout',
        'target_invalid',
        'sent_failed',
        'delivered_failed',
        'some_future_status',
        'constructor',
      ];
      const events = parse(envelope(...states.map((s) => statusRow(s))));
      expect(events.map((e) => (e.kind === 'status' ? e.status : e.kind))).toEqual([
        'sent',
        'delivered',
        'read',
        'failed',
        'failed',
        'failed',
      ]);
    });

    it('carries failure codes: Meta’s code when given, else the EngageLab status and loss step', () => {
      const [meta, engagelab] = parse(
        envelope(
          statusRow('delivered_failed', {
            error_code: 131047,
            error_detail: { message: 'Re-engagement message' },
            loss: { loss_step: 3, loss_source: 'meta' },
          }),
          statusRow('sent_failed', { loss: { loss_step: 2, loss_source: 'engagelab' } }),
        ),
      );
      expect(meta).toMatchObject({
        status: 'failed',
        errors: [{ code: '131047', title: expect.any(String), detail: 'Re-engagement message' }],
      });
      expect(engagelab).toMatchObject({
        status: 'failed',
        errors: [{ code: 'sent_failed', detail: 'lost at step 2 (engagelab)' }],
      });
    });

    it('falls back to the callback time when a status has no msg_time', () => {
      const row = statusRow('read');
      row.status.status_data = { channel_message_id: 'wamid.X' } as typeof row.status.status_data;
      expect(parse(envelope(row))).toEqual([expect.objectContaining({ status: 'read', timestamp: 1_663_432_360_000 })]);
    });

    it('turns the documented inbound text row into a message from the contact to the business number', () => {
      expect(parse(envelope(inboundRow({ type: 'text', text: { body: 'hello' } })))).toEqual([
        {
          kind: 'message',
          providerMessageId: 'wamid.IN1',
          sendingNumberId: BUSINESS,
          contact: { phoneNumber: CONTACT, userId: null, profileName: 'Bob' },
          timestamp: 1_663_432_400_000,
          replyToProviderMessageId: null,
          content: { type: 'text', text: 'hello' },
        },
      ]);
    });

    it('links a "reply" to the quoted business message by EngageLab id (what the send recorded)', () => {
      const [event] = parse(
        envelope(
          inboundRow(
            { type: 'text', text: { body: 'yes' }, timestamp: '1663432401' },
            {
              event: 'reply',
              response_data: {
                channel_message_id: 'wamid.IN2',
                contact: { wa_id: '447700900123' },
                message: { type: 'text', text: { body: 'yes' }, timestamp: '1663432401' },
                message_context: {
                  origin_from_phone: BUSINESS,
                  origin_channel_message_id: 'wamid.OUT',
                  origin_from_phone_id: '111111',
                  origin_message_id: 'el1000001',
                },
              },
            },
          ),
        ),
      );
      expect(event).toMatchObject({
        kind: 'message',
        providerMessageId: 'wamid.IN2',
        replyToProviderMessageId: 'el1000001',
        timestamp: 1_663_432_401_000,
        contact: { phoneNumber: CONTACT, profileName: null },
      });
    });

    it('reads media by id, or by url when that is all EngageLab gives', () => {
      expect(
        contentOf({ type: 'image', image: { id: '123', mime_type: 'image/jpeg', sha256: 'abc', caption: 'look' } }),
      ).toEqual({
        type: 'media',
        mediaKind: 'image',
        media: { id: '123', mimeType: 'image/jpeg', sha256: 'abc', url: null },
        caption: 'look',
        filename: null,
        voice: false,
      });
      expect(
        contentOf({ type: 'document', document: { url: 'https://files.example/r.pdf', filename: 'r.pdf' } }),
      ).toMatchObject({
        type: 'media',
        mediaKind: 'document',
        media: { id: 'https://files.example/r.pdf', url: 'https://files.example/r.pdf' },
        filename: 'r.pdf',
      });
      expect(contentOf({ type: 'audio', audio: { id: '7', mime_type: 'audio/ogg', voice: true } })).toMatchObject({
        type: 'media',
        mediaKind: 'audio',
        voice: true,
      });
      expect(contentOf({ type: 'sticker', sticker: {} })).toMatchObject({ type: 'unsupported' });
    });

    it('reads locations, contact cards, button and list replies, and reactions', () => {
      expect(
        contentOf({
          type: 'location',
          location: { latitude: 51.5, longitude: '-0.12', name: 'Office', address: 'London' },
        }),
      ).toEqual({ type: 'location', latitude: 51.5, longitude: -0.12, name: 'Office', address: 'London', url: null });
      expect(
        contentOf({
          type: 'contacts',
          contacts: [
            {
              name: { formatted_name: 'Ana Lima' },
              phones: [{ phone: '+1 555 0100', wa_id: '15550100', type: 'CELL' }],
            },
          ],
        }),
      ).toEqual({
        type: 'contacts',
        contacts: [{ name: 'Ana Lima', phones: [{ phone: '+1 555 0100', waId: '15550100', type: 'CELL' }] }],
      });
      expect(contentOf({ type: 'button', button: { text: 'Stop promotions', payload: 'STOP' } })).toEqual({
        type: 'reply',
        text: 'Stop promotions',
        payload: 'STOP',
        description: null,
      });
      expect(
        contentOf({
          type: 'interactive',
          interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Yes' } },
        }),
      ).toEqual({ type: 'reply', text: 'Yes', payload: 'yes', description: null });
      expect(
        contentOf({
          type: 'interactive',
          interactive: { type: 'list_reply', list_reply: { id: 'p1', title: 'Plan 1', description: 'cheap' } },
        }),
      ).toEqual({ type: 'reply', text: 'Plan 1', payload: 'p1', description: 'cheap' });
      expect(contentOf({ type: 'reaction', reaction: { message_id: 'wamid.OUT', emoji: '👍' } })).toEqual({
        type: 'reaction',
        emoji: '👍',
        targetProviderMessageId: 'wamid.OUT',
      });
    });

    it('shows unknown types and orders as unsupported, skips deleted events and the balance, and keeps an unreadable template notification to log', () => {
      expect(contentOf({ type: 'unknown', errors: [{ code: 131051, title: 'Message type unknown' }] })).toEqual({
        type: 'unsupported',
        description: 'Message type unknown',
      });
      const events = parse(
        envelope(
          inboundRow({ type: 'order', order: { catalog_id: '1' } }, { event: 'order' }),
          inboundRow({ type: 'text', text: { body: 'gone' } }, { event: 'deleted' }),
          {
            message_id: '1',
            server: 'whatsapp',
            itime: 1_663_432_400,
            notification: { event: 'insufficient_balance', notification_data: { remain_balance: 1 } },
          },
          { server: 'whatsapp', itime: 1_663_432_400, notification: { event: 'template_update' } },
        ),
      );
      expect(events).toEqual([
        expect.objectContaining({ kind: 'message', content: { type: 'unsupported', description: 'type "order"' } }),
        // Account health (see test/integration/account-health.test.ts): kept, and logged when handled.
        expect.objectContaining({
          kind: 'health',
          change: expect.objectContaining({ type: 'unreadable', field: 'template_update' }),
        }),
      ]);
    });

    it('finds the business number whichever way round from/to are, and keeps several rows in order', () => {
      const swapped = { ...inboundRow({ type: 'text', text: { body: 'a' } }), from: CONTACT, to: '+15550002222' };
      const events = parse(envelope(swapped, statusRow('sent'), inboundRow({ type: 'text', text: { body: 'b' } })));
      expect(events.map((e) => [e.kind, e.kind === 'health' ? null : e.sendingNumberId])).toEqual([
        ['message', '+15550002222'],
        ['status', BUSINESS],
        ['message', BUSINESS],
      ]);
    });

    it('accepts an empty batch', () => {
      expect(parse({ total: 0, rows: [] })).toEqual([]);
    });

    it('refuses malformed callbacks', () => {
      expect(() => parse(Buffer.from('{nope'))).toThrow(WebhookPayloadError);
      expect(() => parse({ rows: 'x' })).toThrow(WebhookPayloadError);
      expect(() => parse([statusRow('sent')])).toThrow(WebhookPayloadError);
      expect(() => parse(envelope({ status: { message_status: 5 } }))).toThrow(WebhookPayloadError);
      expect(() => parse(envelope({ ...statusRow('delivered'), message_id: undefined }))).toThrow(WebhookPayloadError);
      expect(() => parse(envelope(inboundRow({ text: { body: 'no type' } })))).toThrow(WebhookPayloadError);
      expect(() => parse(envelope(inboundRow(undefined)))).toThrow(WebhookPayloadError);
    });
  });
});
