import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient } from '../../src/shared/http-client.js';
import { createMetaProvider } from '../../src/whatsapp/meta/meta-provider.js';
import {
  buildMetaMarkReadBody,
  buildMetaMessageBody,
  buildMetaReactionBody,
} from '../../src/whatsapp/meta/meta-requests.js';
import { ProviderError, WebhookAuthError, WebhookPayloadError } from '../../src/whatsapp/provider-errors.js';
import type { OutboundMessage, WhatsAppProvider } from '../../src/whatsapp/whatsapp-provider.js';
import { type FakeMetaGraph, startFakeMetaGraph } from '../support/fake-meta-graph.js';
import {
  READ_RECEIPT_EXAMPLE,
  specSendExamples,
  validateMetaMarkReadBody,
  validateMetaMessageBody,
} from '../support/meta-openapi.js';

const APP_SECRET = 'app-secret-for-tests';
const FIXTURES = resolve(import.meta.dirname, '../fixtures/meta-samples/webhooks');
const sign = (body: Buffer | string) => `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}`;

const outbound: [string, OutboundMessage][] = [
  ['text', { type: 'text', to: '+447700900123', text: 'Hello *there*', previewUrl: true }],
  [
    'image by id with caption',
    {
      type: 'media',
      to: '+447700900123',
      mediaKind: 'image',
      media: { kind: 'id', id: '1037543291543636' },
      caption: 'screenshot',
    },
  ],
  [
    'image by link',
    {
      type: 'media',
      to: '+447700900123',
      mediaKind: 'image',
      media: { kind: 'link', url: 'https://bridge.example.com/media/a?sig=1' },
    },
  ],
  [
    'video by id',
    { type: 'media', to: '+447700900123', mediaKind: 'video', media: { kind: 'id', id: '55' }, caption: 'clip' },
  ],
  [
    'audio by id (caption dropped)',
    { type: 'media', to: '+447700900123', mediaKind: 'audio', media: { kind: 'id', id: '56' }, caption: 'ignored' },
  ],
  [
    'document by link',
    {
      type: 'media',
      to: '+447700900123',
      mediaKind: 'document',
      media: { kind: 'link', url: 'https://files.example.com/r.pdf' },
      filename: 'r.pdf',
      caption: 'Q3',
    },
  ],
  ['sticker by id', { type: 'media', to: '+447700900123', mediaKind: 'sticker', media: { kind: 'id', id: '57' } }],
  [
    'template with text header, body and url button',
    {
      type: 'template',
      to: '+447700900123',
      template: {
        name: 'order_update',
        language: 'en_US',
        parameters: {
          header: { type: 'text', text: 'A-1' },
          body: ['Ana', 'A-1'],
          buttons: [{ index: 1, subType: 'url', value: 'A-1' }],
        },
      },
    },
  ],
  [
    'template with image header',
    {
      type: 'template',
      to: '+447700900123',
      template: {
        name: 'spring_sale',
        language: 'en_US',
        parameters: { header: { type: 'image', media: { kind: 'id', id: '99' } }, body: ['20%'], buttons: [] },
      },
    },
  ],
  [
    'template with document header by link',
    {
      type: 'template',
      to: '+447700900123',
      template: {
        name: 'invoice',
        language: 'pt_BR',
        parameters: {
          header: { type: 'document', media: { kind: 'link', url: 'https://x.example/i.pdf' }, filename: 'i.pdf' },
          body: [],
          buttons: [],
        },
      },
    },
  ],
];

describe("Meta request bodies against Meta's OpenAPI spec", () => {
  for (const [name, message] of outbound) {
    it(`builds a valid ${name} body`, () => {
      expect(validateMetaMessageBody(buildMetaMessageBody(message))).toEqual([]);
    });
  }

  it('rejects bodies the spec does not allow (the check can fail)', () => {
    expect(
      validateMetaMessageBody({
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: '1',
        type: 'text',
        text: { body: 'x', bold: true },
      }),
    ).not.toEqual([]);
    expect(
      validateMetaMessageBody({
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: '1',
        type: 'template',
        template: { name: 'x', language: 'en' },
      }),
    ).not.toEqual([]);
  });

  it("differs from the spec only on the first button's index, where the spec's pattern is a broken character class", () => {
    // The spec says `index` must match ^[2-6, 11-14]$ — a one-character class that rejects "0",
    // although Meta documents button positions 0 to 9. We send Meta's documented 0-based index.
    const body = buildMetaMessageBody({
      type: 'template',
      to: '+447700900123',
      template: {
        name: 'order_update',
        language: 'en_US',
        parameters: { body: ['Ana'], buttons: [{ index: 0, subType: 'url', value: 'A-1' }] },
      },
    });
    expect(validateMetaMessageBody(body)).toEqual([expect.stringMatching(/index must match pattern/)]);
  });

  it('builds a valid reaction, and its removal (an empty emoji)', () => {
    const reaction = buildMetaReactionBody({ to: '+447700900123', messageId: 'wamid.HBgL1', emoji: '👍🏽' });
    expect(reaction).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '447700900123',
      type: 'reaction',
      reaction: { message_id: 'wamid.HBgL1', emoji: '👍🏽' },
    });
    expect(validateMetaMessageBody(reaction)).toEqual([]);
    expect(
      validateMetaMessageBody(buildMetaReactionBody({ to: '+447700900123', messageId: 'wamid.HBgL1', emoji: '' })),
    ).toEqual([]);
    // The check can fail: the spec's reaction object has no other fields.
    expect(validateMetaMessageBody({ ...reaction, reaction: { message_id: 'w', emoji: '👍', by: 'me' } })).not.toEqual(
      [],
    );
  });

  it('builds the read receipt with the typing indicator as one request, as the spec shows it', () => {
    const body = buildMetaMarkReadBody('wamid.HBgL2', { typing: true });
    expect(body).toEqual({
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: 'wamid.HBgL2',
      typing_indicator: { type: 'text' },
    });
    expect(validateMetaMarkReadBody(body)).toEqual([]);
    expect(validateMetaMarkReadBody(buildMetaMarkReadBody('wamid.HBgL2', { typing: false }))).toEqual([]);
  });

  it("checks read receipts against the spec's schema and its example (the check can fail)", () => {
    const example = specSendExamples().find((e) => e.name === READ_RECEIPT_EXAMPLE)?.value;
    expect(example).toBeDefined();
    expect(validateMetaMarkReadBody(example)).toEqual([]);
    const valid = buildMetaMarkReadBody('wamid.X', { typing: true });
    expect(validateMetaMarkReadBody({ ...valid, message_id: undefined })).toEqual([
      expect.stringMatching(/required property 'message_id'/),
    ]);
    expect(validateMetaMarkReadBody({ ...valid, status: 'delivered' })).toEqual(['/status must be "read"']);
    expect(validateMetaMarkReadBody({ ...valid, typing_indicator: { type: 'audio' } })).toEqual([
      '/typing_indicator must be {"type":"text"}',
    ]);
    expect(validateMetaMarkReadBody({ ...valid, to: '447700900123' })).toEqual([
      expect.stringMatching(/^\/to is not a field of a read receipt/),
    ]);
  });

  it('sends numbers without the plus and captions only where WhatsApp allows them', () => {
    const audio = buildMetaMessageBody(outbound[4]![1]);
    expect(audio.to).toBe('447700900123');
    expect(audio.audio).toEqual({ id: '56' });
  });
});

describe('Meta provider over HTTP', () => {
  let graph: FakeMetaGraph;
  let provider: WhatsAppProvider;
  beforeAll(async () => {
    graph = await startFakeMetaGraph({ accessToken: 'token-1' });
    provider = createMetaProvider({
      settings: {
        accessToken: 'token-1',
        appSecret: APP_SECRET,
        verifyToken: 'verify-me',
        wabaId: '102290129340398',
        graphUrl: graph.url,
      },
      http: createHttpClient({ timeoutMs: 5000, retries: 2, baseRetryDelayMs: 5, maxRetryDelayMs: 50 }),
    });
  });
  afterAll(async () => {
    await graph.close();
  });

  it('sends with the bearer token and returns the wamid', async () => {
    const result = await provider.send('1906385232743451', outbound[0]![1]);
    expect(result.providerMessageId).toMatch(/^wamid\./);
    const request = graph.requests.at(-1)!;
    expect(request.path).toBe('/1906385232743451/messages');
    expect(request.headers.authorization).toBe('Bearer token-1');
    expect(validateMetaMessageBody(request.body)).toEqual([]);
  });

  it('sends a reaction to the messages endpoint and returns its wamid', async () => {
    const result = await provider.sendReaction('1906385232743451', {
      to: '+447700900123',
      messageId: 'wamid.CUSTOMER1',
      emoji: '🙏',
    });
    expect(result.providerMessageId).toMatch(/^wamid\./);
    const request = graph.requests.at(-1)!;
    expect(request.path).toBe('/1906385232743451/messages');
    expect(request.body).toMatchObject({ type: 'reaction', reaction: { message_id: 'wamid.CUSTOMER1', emoji: '🙏' } });
    expect(graph.reactions().at(-1)).toEqual(request.body);
  });

  it('marks a message read with the typing indicator in one request, trying once', async () => {
    await provider.markRead('1906385232743451', 'wamid.CUSTOMER2', { typing: true });
    const request = graph.requests.at(-1)!;
    expect(request.path).toBe('/1906385232743451/messages');
    expect(request.headers.authorization).toBe('Bearer token-1');
    expect(graph.marksRead().at(-1)).toEqual({
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: 'wamid.CUSTOMER2',
      typing_indicator: { type: 'text' },
    });

    const before = graph.requests.length;
    graph.failNextMarkRead(1, { status: 503, body: { error: { message: 'unavailable', code: 131016 } } });
    await expect(provider.markRead('1906385232743451', 'wamid.CUSTOMER2', { typing: true })).rejects.toMatchObject({
      code: 'unavailable',
    });
    expect(graph.requests.length - before, 'no retry inside the HTTP client').toBe(1);
  });

  it('is refused by the fake Graph API as Meta refuses a bad parameter', async () => {
    await expect(
      provider.sendReaction('1906385232743451', { to: '+447700900123', messageId: '', emoji: '👍' }),
    ).rejects.toMatchObject({ code: 'invalid_request', providerCode: '100' });
    const response = await fetch(`${graph.url}/1906385232743451/messages`, {
      method: 'POST',
      headers: { authorization: 'Bearer token-1', 'content-type': 'application/json' },
      body: JSON.stringify({ messaging_product: 'whatsapp', status: 'read' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { code: 100, type: 'OAuthException', error_data: { details: expect.stringMatching(/message_id/) } },
    });
  });

  it('maps error envelopes to typed errors', async () => {
    graph.failNext(1, {
      status: 400,
      body: {
        error: { message: 'Re-engagement message', code: 131047, error_data: { details: 'more than 24 hours' } },
      },
    });
    await expect(provider.send('1906385232743451', outbound[0]![1])).rejects.toMatchObject({
      code: 'window_closed',
      providerCode: '131047',
      retryable: false,
    });
    graph.failNext(1, { status: 401, body: { error: { message: 'Session has expired', code: 190 } } });
    await expect(provider.send('1906385232743451', outbound[0]![1])).rejects.toMatchObject({ code: 'auth_failed' });
    graph.failNext(1, {
      status: 400,
      body: { error: { message: 'Number of parameters does not match', code: 132000 } },
    });
    await expect(provider.send('1906385232743451', outbound[7]![1])).rejects.toMatchObject({ code: 'template_error' });
  });

  it('retries 429 and 5xx quickly for a conversation send, then reports a rate limit as retryable', async () => {
    graph.failNext(2, { status: 503, body: { error: { message: 'unavailable', code: 131016 } } });
    await expect(provider.send('1906385232743451', outbound[0]![1])).resolves.toMatchObject({
      providerMessageId: expect.stringMatching(/^wamid/),
    });
    graph.failNext(3, {
      status: 429,
      body: { error: { message: 'Rate limit hit', code: 130429 } },
      headers: { 'retry-after': '0' },
    });
    const error = await provider.send('1906385232743451', outbound[0]![1]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'rate_limited', retryable: true, mayHaveBeenSent: false });
  });

  it('makes exactly one request for a paced (campaign) send: its retry waits for a send slot', async () => {
    const before = graph.requests.length;
    graph.failNext(1, { status: 503, body: { error: { message: 'unavailable', code: 131016 } } });
    const unavailable = await provider
      .send('1906385232743451', outbound[0]![1], { singleAttempt: true })
      .catch((e: unknown) => e);
    expect(unavailable).toBeInstanceOf(ProviderError);
    expect(unavailable).toMatchObject({ code: 'unavailable', retryable: true, mayHaveBeenSent: false });
    graph.failNext(1, {
      status: 429,
      body: { error: { message: 'Rate limit hit', code: 130429 } },
      headers: { 'retry-after': '0' },
    });
    const limited = await provider
      .send('1906385232743451', outbound[0]![1], { singleAttempt: true })
      .catch((e: unknown) => e);
    expect(limited).toMatchObject({ code: 'rate_limited', retryable: true, mayHaveBeenSent: false });
    expect(graph.requests.length - before, 'no retry inside the HTTP client').toBe(2);
  });

  it('still retries reads: a listing survives two 5xx answers', async () => {
    graph.failNext(2, { status: 503, body: { error: { message: 'unavailable', code: 131016 } } });
    await expect(provider.listTemplates()).resolves.not.toHaveLength(0);
  });

  it('treats a 200 it cannot read as possibly sent, so it is never resent blindly', async () => {
    graph.failNextSends(1, { status: 200, body: Buffer.from('<html>proxy page</html>') });
    const error = await provider.send('1906385232743451', outbound[0]![1]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ mayHaveBeenSent: true });
  });

  it('lists sending numbers with their health and templates across pages', async () => {
    const numbers = await provider.listSendingNumbers();
    expect(numbers).toEqual([
      expect.objectContaining({
        id: '1906385232743451',
        phoneNumber: '+15550001111',
        health: 'connected',
        displayName: 'Acme Support',
      }),
      expect.objectContaining({
        id: '1906385232743452',
        phoneNumber: '+15550002222',
        health: 'unavailable',
        healthReason: expect.stringMatching(/cannot send/),
      }),
    ]);
    const templates = await provider.listTemplates();
    expect(templates.map((t) => `${t.name}/${t.language}/${t.status}`)).toEqual([
      'hello_world/en_US/APPROVED',
      'order_update/en_US/APPROVED',
      'order_update/pt_BR/APPROVED',
      'spring_sale/en_US/APPROVED',
      'draft_promo/en_US/PENDING',
    ]);
    expect(templates[1]).toMatchObject({
      header: { format: 'TEXT', text: 'Order {{1}}' },
      footer: 'Reply STOP to opt out',
      buttons: [{ index: 0, type: 'URL', url: 'https://acme.example/track/{{1}}' }],
    });
    expect(templates[3]?.header.format).toBe('IMAGE');
  });

  it('uploads media as multipart and downloads inbound media within the size cap', async () => {
    const ref = await provider.uploadMedia('1906385232743451', {
      bytes: Buffer.from('PNGDATA'),
      mimeType: 'image/png',
      filename: 'a.png',
    });
    expect(ref).toEqual({ kind: 'id', id: expect.any(String) });
    const upload = graph.requests.at(-1)!;
    expect(String(upload.headers['content-type'])).toMatch(/^multipart\/form-data/);
    expect(upload.raw.toString()).toContain('name="messaging_product"');

    graph.addMedia('777', Buffer.from('hello voice'), 'audio/ogg');
    const media = await provider.downloadMedia({ id: '777', mimeType: 'audio/ogg', sha256: null, url: null }, 1000);
    expect(media.bytes.toString()).toBe('hello voice');
    await expect(
      provider.downloadMedia({ id: '777', mimeType: null, sha256: null, url: null }, 5),
    ).rejects.toMatchObject({ code: 'media_error' });
  });

  it('verifies the subscription handshake token', () => {
    expect(
      provider.checkSubscription({ 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-me', 'hub.challenge': '42' }),
    ).toEqual({ ok: true, challenge: '42' });
    expect(
      provider.checkSubscription({ 'hub.mode': 'subscribe', 'hub.verify_token': 'nope', 'hub.challenge': '42' }),
    ).toEqual({ ok: false });
  });

  describe('webhooks', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));

    it.each(files)('parses the real payload %s when signed', (file) => {
      const rawBody = readFileSync(resolve(FIXTURES, file));
      const events = provider.parseWebhook({ rawBody, headers: { 'x-hub-signature-256': sign(rawBody) }, query: {} });
      const json = JSON.parse(rawBody.toString()) as {
        entry: { changes: { field: string; value: { messages?: unknown[]; statuses?: unknown[] } }[] }[];
      };
      const changes = json.entry.flatMap((e) => e.changes).filter((c) => c.field === 'messages');
      const expectedMessages = changes.flatMap((c) => c.value.messages ?? []).length;
      expect(events.filter((e) => e.kind === 'message')).toHaveLength(expectedMessages);
      for (const event of events) {
        if (event.kind === 'message') {
          expect(event.contact.phoneNumber).toMatch(/^\+\d+$/);
          expect(event.timestamp).toBeGreaterThan(1_500_000_000_000);
        }
      }
    });

    it('normalizes each message type', () => {
      const parse = (file: string) => {
        const rawBody = readFileSync(resolve(FIXTURES, file));
        return provider.parseWebhook({ rawBody, headers: { 'x-hub-signature-256': sign(rawBody) }, query: {} });
      };
      const content = (file: string) => {
        const [event] = parse(file);
        return event?.kind === 'message' ? event.content : null;
      };
      expect(content('textMessage.json')).toMatchObject({ type: 'text' });
      expect(content('imageMessage.json')).toMatchObject({
        type: 'media',
        mediaKind: 'image',
        media: { id: '8472976218001204', mimeType: 'image/jpeg' },
      });
      expect(content('audioMessage.json')).toMatchObject({ type: 'media', mediaKind: 'audio' });
      expect(content('documentMessage.json')).toMatchObject({ type: 'media', mediaKind: 'document' });
      expect(content('stickerMessage.json')).toMatchObject({ type: 'media', mediaKind: 'sticker' });
      expect(content('videoMessage.json')).toMatchObject({ type: 'media', mediaKind: 'video' });
      expect(content('locationMessage.json')).toMatchObject({ type: 'location' });
      expect(content('contactMessage.json')).toMatchObject({
        type: 'contacts',
        contacts: [{ name: 'Person Ok', phones: [{ waId: '5511111111111' }] }],
      });
      expect(content('buttonMessage.json')).toMatchObject({ type: 'reply' });
      expect(content('reactMessage.json')).toMatchObject({ type: 'reaction' });
      const [failed] = parse('reEngagementMessageError.json');
      expect(failed).toMatchObject({ kind: 'status', status: 'failed', errors: [{ code: '131047' }] });
      const [read] = parse('textMessageStatusRead.json');
      expect(read).toMatchObject({ kind: 'status', status: 'read' });
    });

    it('keeps a message it cannot read as a placeholder, so the rest of the batch is not refused', () => {
      const payload = JSON.parse(readFileSync(resolve(FIXTURES, 'textMessage.json'), 'utf8')) as {
        entry: { changes: { value: { messages: Record<string, unknown>[] } }[] }[];
      };
      const value = payload.entry[0]?.changes[0]?.value;
      const good = value?.messages[0] as Record<string, unknown>;
      // A second message whose image has no id: not a shape we know, but Meta did send it.
      value?.messages.push({ ...good, id: 'wamid.ODD', type: 'image', image: { caption: 42 }, text: undefined });
      const rawBody = Buffer.from(JSON.stringify(payload));
      const events = provider.parseWebhook({ rawBody, headers: { 'x-hub-signature-256': sign(rawBody) }, query: {} });
      expect(events.map((e) => (e.kind === 'message' ? e.content.type : e.kind))).toEqual(['text', 'unsupported']);
      expect(events[1]).toMatchObject({
        providerMessageId: 'wamid.ODD',
        content: { type: 'unsupported', description: 'a message (type image) the bridge could not read' },
      });
      // Without an id or a sender there is nothing to show: that is a malformed webhook.
      value?.messages.push({ type: 'text', text: { body: 'who?' } });
      const bad = Buffer.from(JSON.stringify(payload));
      expect(() =>
        provider.parseWebhook({ rawBody: bad, headers: { 'x-hub-signature-256': sign(bad) }, query: {} }),
      ).toThrow(WebhookPayloadError);
    });

    it('refuses missing and wrong signatures and malformed bodies', () => {
      const rawBody = readFileSync(resolve(FIXTURES, 'textMessage.json'));
      expect(() => provider.parseWebhook({ rawBody, headers: {}, query: {} })).toThrow(WebhookAuthError);
      try {
        provider.parseWebhook({ rawBody, headers: { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }, query: {} });
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(WebhookAuthError);
        expect((error as WebhookAuthError).status).toBe(403);
      }
      const junk = Buffer.from(
        '{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{}}}]}]}',
      );
      expect(() =>
        provider.parseWebhook({ rawBody: junk, headers: { 'x-hub-signature-256': sign(junk) }, query: {} }),
      ).toThrow(WebhookPayloadError);
      const notJson = Buffer.from('{oops');
      expect(() =>
        provider.parseWebhook({ rawBody: notJson, headers: { 'x-hub-signature-256': sign(notJson) }, query: {} }),
      ).toThrow(WebhookPayloadError);
    });
  });
});
