import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateMetaMarkReadBody, validateMetaMessageBody } from './meta-openapi.js';

/**
 * A local Graph API for the WhatsApp Cloud API wire format:
 * - `POST /:phoneNumberId/messages` → `{messaging_product, contacts, messages:[{id:"wamid.…"}]}`;
 *   a read receipt to the same endpoint (`{status:"read", message_id, typing_indicator?}`) → `{success:true}`.
 *   Reactions and read receipts are checked against Meta's OpenAPI spec (test/support/meta-openapi.ts)
 *   and refused as Meta refuses a bad parameter (HTTP 400, error code 100).
 * - `POST /:phoneNumberId/media` (multipart) → `{id}`
 * - `GET /:mediaId` → `{url, mime_type, sha256, file_size, id}`; `GET /media-bytes/:id` (bearer) → bytes
 * - `GET /:wabaId/phone_numbers` (only the `fields` asked for, each number with its `quality_rating` and
 *   `messaging_limit_tier` in Meta's shape; an unknown field → 400, code 100), `GET /:wabaId/message_templates`
 *   (cursor paging)
 *
 * API: `startFakeMetaGraph({accessToken?})` → `{ url, requests, sent, failNext(n, {status, body, headers}),
 * failSendsTo(to, n, failure), failNextSends(n, failure, match?), failNextMarkRead(n, failure), marksRead, reactions,
 * addMedia(id, bytes, mime, {url?, fileSize?, chunked?}), mediaDownloads, setPhoneNumbers, setTemplates,
 * setLatency, setSendLatency, close }`.
 */

export type GraphRequest = {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  raw: Buffer;
};
type Failure = { status: number; body: unknown; headers?: Record<string, string> };
/**
 * How `GET /:mediaId` describes a media item and `GET /media-bytes/:id` serves it: `url` replaces
 * the download URL (a foreign host, say), `fileSize` what is declared (null: not declared), and
 * `chunked` streams the bytes without a Content-Length.
 */
export type MediaOptions = { url?: string; fileSize?: number | null; chunked?: boolean };
type StoredMedia = { bytes: Buffer; mimeType: string; options: MediaOptions };

export const DEFAULT_PHONE_NUMBERS = [
  {
    id: '1906385232743451',
    display_phone_number: '+1 555-000-1111',
    verified_name: 'Acme Support',
    status: 'CONNECTED',
    quality_rating: 'GREEN',
    messaging_limit_tier: 'TIER_UNLIMITED',
  },
  {
    id: '1906385232743452',
    display_phone_number: '+1 555-000-2222',
    verified_name: 'Acme Sales',
    status: 'FLAGGED',
    quality_rating: 'RED',
    messaging_limit_tier: 'TIER_250',
    health_status: { can_send_message: 'BLOCKED' },
  },
];

export const DEFAULT_TEMPLATES = [
  {
    id: 't1',
    name: 'hello_world',
    language: 'en_US',
    status: 'APPROVED',
    category: 'UTILITY',
    // Meta lists the example values a template was approved with (here as Meta shapes them).
    components: [{ type: 'BODY', text: 'Hello {{1}}, thanks for contacting Acme.', example: { body_text: [['Ada']] } }],
  },
  {
    id: 't2',
    name: 'order_update',
    language: 'en_US',
    status: 'APPROVED',
    category: 'UTILITY',
    components: [
      { type: 'HEADER', format: 'TEXT', text: 'Order {{1}}', example: { header_text: ['4521'] } },
      {
        type: 'BODY',
        text: 'Hi {{1}}, your order {{2}} has shipped.',
        example: { body_text: [['Ada', 'A-4521']] },
      },
      { type: 'FOOTER', text: 'Reply STOP to opt out' },
      {
        type: 'BUTTONS',
        buttons: [
          {
            type: 'URL',
            text: 'Track',
            url: 'https://acme.example/track/{{1}}',
            example: ['https://acme.example/track/A-4521'],
          },
        ],
      },
    ],
  },
  {
    id: 't3',
    name: 'order_update',
    language: 'pt_BR',
    status: 'APPROVED',
    category: 'UTILITY',
    components: [{ type: 'BODY', text: 'Olá {{1}}, seu pedido {{2}} foi enviado.' }],
  },
  {
    id: 't4',
    name: 'spring_sale',
    language: 'en_US',
    status: 'APPROVED',
    category: 'MARKETING',
    components: [
      { type: 'HEADER', format: 'IMAGE' },
      { type: 'BODY', text: 'Spring sale: {{1}} off everything!' },
    ],
  },
  {
    id: 't5',
    name: 'draft_promo',
    language: 'en_US',
    status: 'PENDING',
    category: 'MARKETING',
    components: [{ type: 'BODY', text: 'Not approved yet' }],
  },
];

/**
 * The fields a phone number can be asked for: those Meta's OpenAPI file lists for
 * `GET /{waba-id}/phone_numbers` and `GET /{phone-number-id}`, and the ones Meta's reference
 * documents besides (health_status, throughput, the portfolio's messaging limit).
 */
const PHONE_NUMBER_FIELDS = new Set([
  'id',
  'display_phone_number',
  'verified_name',
  'status',
  'quality_rating',
  'country_code',
  'country_dial_code',
  'code_verification_status',
  'name_status',
  'unified_cert_status',
  'account_mode',
  'host_platform',
  'certificate',
  'messaging_limit_tier',
  'is_official_business_account',
  'username',
  'health_status',
  'throughput',
  'platform_type',
  'whatsapp_business_manager_messaging_limit',
]);

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startFakeMetaGraph(options: { accessToken?: string } = {}) {
  const requests: GraphRequest[] = [];
  /** Scripted failures; only those made for read receipts (`markRead`) ever answer one. */
  const failures: {
    failure: Failure;
    sendsOnly: boolean;
    markRead?: boolean;
    match?: (body: unknown) => boolean;
    path?: RegExp;
  }[] = [];
  /** Failures for sends to one recipient (`to` as Meta sees it, digits only), in order. */
  const recipientFailures = new Map<string, Failure[]>();
  const media = new Map<string, StoredMedia>();
  let phoneNumbers: unknown[] = DEFAULT_PHONE_NUMBERS;
  let templates: unknown[] = DEFAULT_TEMPLATES;
  let counter = 0;
  let url = '';
  const state = { latencyMs: 0, sendLatencyMs: 0, failUntil: 0, failStatus: 500, ratePerSecond: 0 };
  /** Arrival times of accepted sends, to check the rate afterwards. */
  const sendTimes: number[] = [];
  const recentSends: number[] = [];
  /** Bodies of sends answered with success (failed attempts excluded). */
  const accepted: Record<string, unknown>[] = [];
  /** Bodies of read receipts answered with success. */
  const markReads: Record<string, unknown>[] = [];

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void handleRequest(req, res).catch(() => {
      // A client that went away mid-request (a killed app) is not the fake's problem.
      if (!res.headersSent) res.destroy();
    });
  });
  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    let body: unknown = null;
    if ((req.headers['content-type'] ?? '').includes('application/json')) {
      try {
        body = JSON.parse(raw.toString());
      } catch {
        body = raw.toString();
      }
    }
    requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body, raw });
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(Buffer.isBuffer(payload) ? payload : JSON.stringify(payload));
    };
    const toMessages = req.method === 'POST' && path.endsWith('/messages');
    // A read receipt goes to the messages endpoint too, but is no message: it has a status instead of a type.
    const isMarkRead = toMessages && typeof body === 'object' && body !== null && 'status' in body;
    const isSend = toMessages && !isMarkRead;
    const latency = state.latencyMs + (isSend ? state.sendLatencyMs : 0);
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    if (options.accessToken && req.headers.authorization !== `Bearer ${options.accessToken}`) {
      return send(401, {
        error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190, fbtrace_id: 'x' },
      });
    }
    const to = isSend ? String((body as { to?: unknown } | null)?.to ?? '') : '';
    const next = failures.findIndex((f) =>
      isMarkRead
        ? f.markRead === true
        : !f.markRead && (f.path ? f.path.test(path) : !f.sendsOnly || (isSend && (!f.match || f.match(body)))),
    );
    const failure =
      (isSend ? recipientFailures.get(to)?.shift() : undefined) ??
      (next >= 0 ? failures.splice(next, 1)[0]?.failure : undefined);
    if (failure) return send(failure.status, failure.body, failure.headers);
    if (state.failUntil > Date.now())
      return send(state.failStatus, { error: { message: 'Service temporarily unavailable', code: 131016 } });

    const parts = path.split('/').filter(Boolean);
    if (req.method === 'GET' && parts[0] === 'media-bytes' && parts[1]) {
      const item = media.get(parts[1]);
      if (!item) return send(404, { error: { message: 'not found', code: 100 } });
      if (item.options.chunked) {
        res.writeHead(200, { 'content-type': item.mimeType });
        const chunk = 64 * 1024;
        for (let offset = 0; offset < item.bytes.length && !res.destroyed; offset += chunk) {
          if (!res.write(item.bytes.subarray(offset, offset + chunk)))
            await new Promise<void>((resolve) => {
              const done = () => {
                res.off('drain', done);
                res.off('close', done);
                resolve();
              };
              res.on('drain', done);
              res.on('close', done);
            });
        }
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': item.mimeType, 'content-length': String(item.bytes.length) });
      res.end(item.bytes);
      return;
    }
    if (isMarkRead || (isSend && (body as { type?: unknown } | null)?.type === 'reaction')) {
      const problems = isMarkRead ? validateMetaMarkReadBody(body) : validateMetaMessageBody(body);
      // The spec only says "string"; Meta needs the id of a real message.
      const target = isMarkRead
        ? (body as { message_id?: unknown }).message_id
        : (body as { reaction?: { message_id?: unknown } }).reaction?.message_id;
      if (target === '') problems.push('/message_id is empty');
      if (problems.length > 0)
        return send(400, {
          error: {
            message: '(#100) Invalid parameter',
            type: 'OAuthException',
            code: 100,
            error_data: { messaging_product: 'whatsapp', details: problems.join('; ') },
            fbtrace_id: 'AFakeTrace',
          },
        });
    }
    if (isMarkRead) {
      markReads.push(body as Record<string, unknown>);
      return send(200, { success: true });
    }
    if (req.method === 'POST' && parts[1] === 'messages') {
      if (state.ratePerSecond > 0) {
        const now = Date.now();
        while (recentSends.length > 0 && (recentSends[0] ?? 0) <= now - 1000) recentSends.shift();
        if (recentSends.length >= state.ratePerSecond) {
          return send(429, {
            error: {
              message: '(#130429) Rate limit hit',
              type: 'OAuthException',
              code: 130429,
              error_data: { details: 'Cloud API message throughput has been reached.' },
            },
          });
        }
        recentSends.push(now);
      }
      sendTimes.push(Date.now());
      accepted.push(body as Record<string, unknown>);
      counter++;
      const to = (body as { to?: string } | null)?.to ?? '';
      return send(200, {
        messaging_product: 'whatsapp',
        contacts: [{ input: to, wa_id: to }],
        messages: [{ id: `wamid.FAKE${counter}.${randomUUID().slice(0, 8)}` }],
      });
    }
    if (req.method === 'POST' && parts[1] === 'media') {
      const id = `${9_000_000 + ++counter}`;
      media.set(id, { bytes: raw, mimeType: 'application/octet-stream', options: {} });
      return send(200, { id });
    }
    if (req.method === 'GET' && parts[1] === 'phone_numbers') {
      // Like the Graph API: only the fields asked for (the default set when none are), and an
      // unknown field is refused rather than ignored.
      const fields = (query.get('fields') ?? 'id,display_phone_number,status').split(',').filter(Boolean);
      const unknown = fields.filter((f) => !PHONE_NUMBER_FIELDS.has(f));
      if (unknown.length > 0)
        return send(400, {
          error: {
            message: `(#100) Tried accessing nonexisting field (${unknown[0]}) on node type (WhatsAppBusinessPhoneNumber)`,
            type: 'OAuthException',
            code: 100,
            fbtrace_id: 'AFakeTrace',
          },
        });
      const data = phoneNumbers.map((n) =>
        Object.fromEntries(Object.entries(n as Record<string, unknown>).filter(([key]) => fields.includes(key))),
      );
      return send(200, { data, paging: { cursors: { before: 'a', after: 'b' } } });
    }
    if (req.method === 'GET' && parts[1] === 'message_templates') {
      const after = Number(query.get('after') ?? '0');
      const pageSize = 3;
      const page = templates.slice(after, after + pageSize);
      const next =
        after + pageSize < templates.length
          ? `${url}${parts[0]}/message_templates?after=${after + pageSize}`
          : undefined;
      return send(200, { data: page, paging: { cursors: { before: 'x', after: 'y' }, ...(next ? { next } : {}) } });
    }
    if (req.method === 'GET' && parts.length === 1 && parts[0]) {
      const item = media.get(parts[0]);
      if (!item) return send(404, { error: { message: 'Unsupported get request.', code: 100 } });
      const fileSize = item.options.fileSize === undefined ? item.bytes.length : item.options.fileSize;
      return send(200, {
        messaging_product: 'whatsapp',
        url: item.options.url ?? `${url}media-bytes/${parts[0]}`,
        mime_type: item.mimeType,
        sha256: 'x',
        ...(fileSize === null ? {} : { file_size: String(fileSize) }),
        id: parts[0],
      });
    }
    send(404, { error: { message: 'Unknown path', code: 100 } });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  return {
    /** Base URL as META_GRAPH_URL (no trailing slash). */
    url: url.replace(/\/$/, ''),
    requests,
    /** Bodies of every send (POST …/messages), read receipts aside. */
    sent: () =>
      requests
        .filter((r) => r.method === 'POST' && r.path.endsWith('/messages'))
        .map((r) => r.body as Record<string, unknown>)
        .filter((body) => !('status' in (body ?? {}))),
    /** Read receipts answered with success, in order. */
    marksRead: () => markReads,
    /** Reactions answered with success (`type: reaction` sends), in order. */
    reactions: () => accepted.filter((body) => body.type === 'reaction'),
    /** The next `count` requests fail like this (read receipts aside: see failNextMarkRead). */
    failNext(count: number, failure: Failure) {
      for (let i = 0; i < count; i++) failures.push({ failure, sendsOnly: false });
    },
    /** Like failNext, but only requests whose path matches fail (e.g. /message_templates/). */
    failNextOn(path: RegExp, count: number, failure: Failure) {
      for (let i = 0; i < count; i++) failures.push({ failure, sendsOnly: false, path });
    },
    /** Like failNext, but only message sends (POST …/messages) fail; uploads and downloads work. */
    failNextSends(count: number, failure: Failure, match?: (body: Record<string, unknown>) => boolean) {
      for (let i = 0; i < count; i++)
        failures.push({
          failure,
          sendsOnly: true,
          ...(match ? { match: (body: unknown) => match((body ?? {}) as Record<string, unknown>) } : {}),
        });
    },
    /** The next `count` read receipts fail like this (other scripted failures never hit read receipts). */
    failNextMarkRead(count: number, failure: Failure) {
      for (let i = 0; i < count; i++) failures.push({ failure, sendsOnly: false, markRead: true });
    },
    /** The next `count` sends to this recipient (digits, e.g. 447911123456) fail like this. */
    failSendsTo(to: string, count: number, failure: Failure) {
      const list = recipientFailures.get(to) ?? [];
      for (let i = 0; i < count; i++) list.push(failure);
      recipientFailures.set(to, list);
    },
    /** Every request fails with `status` until the time given. */
    failUntil(untilMs: number, status = 500) {
      state.failUntil = untilMs;
      state.failStatus = status;
    },
    /** Like Meta's throughput limit: more than `perSecond` sends in any second get 130429. */
    setRateLimit(perSecond: number) {
      state.ratePerSecond = perSecond;
    },
    sendTimes,
    accepted: () => accepted,
    setLatency(ms: number) {
      state.latencyMs = ms;
    },
    /** Extra latency for sends only (POST …/messages), on top of setLatency. */
    setSendLatency(ms: number) {
      state.sendLatencyMs = ms;
    },
    addMedia(id: string, bytes: Buffer, mimeType: string, options: MediaOptions = {}) {
      media.set(id, { bytes, mimeType, options });
    },
    /** Requests for media bytes (`GET /media-bytes/:id`), with the Host they were sent to. */
    mediaDownloads: () =>
      requests
        .filter((r) => r.path.startsWith('/media-bytes/'))
        .map((r) => ({ id: r.path.slice('/media-bytes/'.length), host: String(r.headers.host ?? '') })),
    setPhoneNumbers(list: unknown[]) {
      phoneNumbers = list;
    },
    setTemplates(list: unknown[]) {
      templates = list;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
export type FakeMetaGraph = Awaited<ReturnType<typeof startFakeMetaGraph>>;
