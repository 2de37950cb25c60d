import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_TEMPLATES } from './fake-meta-graph.js';

/**
 * A real local EngageLab WhatsApp API (node:http on 127.0.0.1, a free port), shaped after
 * ../shared/docs/whatsapp.md §2:
 *
 * - `POST /v1/messages` — HTTP Basic `devKey:devSecret` (otherwise 401 `{code: 2001}`); a non-JSON
 *   body answers 400 `{code: 3001}`; otherwise 200 `{message_id, request_id?}` with a unique
 *   `message_id` ("el1000001", "el1000002", …) and the request's `request_id` echoed.
 * - `GET /v1/templates` — a bare JSON array (Meta-like components, lower-case header `format` as in
 *   EngageLab's examples); replace it with `setTemplates(list)`.
 * - anything else — 404 `{code: 4001}`.
 *
 * API of `await startFakeEngageLab({ devKey, devSecret })`:
 * - `url` — base URL to use as `ENGAGELAB_API_URL`.
 * - `requests` — every request received, in order: `{ method, path, headers, body }` (body parsed
 *   as JSON when it is JSON, else the raw text); includes refused and failed ones.
 * - `sent()` — bodies of the `POST /v1/messages` requests that were answered 200.
 * - `failNext(n, { status, body, headers?, delayMs?, dropConnection? })` — the next `n`
 *   authenticated requests answer `status` with `body` (JSON) and `headers` instead, after
 *   `delayMs`; `dropConnection: true` destroys the socket after reading the request (a "sent but no
 *   answer" failure). Queued failures are used in order, before normal handling.
 * - `setTemplates(list)` — what `GET /v1/templates` returns from now on.
 * - `fetchMediaLinks()` — from now on, like EngageLab, fetch the `link` of every accepted media
 *   message (and template header media) before answering; `fetched` lists what each fetch got.
 * - `close()` — stops the server, dropping open connections.
 */

export type EngageLabRequest = {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
};

export type EngageLabFailure = {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
  dropConnection?: boolean;
};

export type FetchedMedia = { link: string; status: number; contentType: string | null; bytes: Buffer };

/** Every `link` in a message body (media objects, template header parameters). */
function mediaLinks(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value)) return value.flatMap(mediaLinks);
  return Object.entries(value).flatMap(([key, inner]) =>
    key === 'link' && typeof inner === 'string' ? [inner] : mediaLinks(inner),
  );
}

export async function startFakeEngageLab(options: { devKey: string; devSecret: string }) {
  const fetched: FetchedMedia[] = [];
  let fetchLinks = false;
  const requests: EngageLabRequest[] = [];
  const accepted: Record<string, unknown>[] = [];
  const failures: EngageLabFailure[] = [];
  let templates: unknown[] = DEFAULT_TEMPLATES.map((t) => ({
    ...t,
    components: t.components.map((c) => ('format' in c && c.format ? { ...c, format: c.format.toLowerCase() } : c)),
  }));
  let counter = 0;
  const expected = `Basic ${Buffer.from(`${options.devKey}:${options.devSecret}`).toString('base64')}`;

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void handleRequest(req, res).catch(() => {
      // A client that went away mid-request (a killed app) is not the fake's problem.
      if (!res.headersSent) res.destroy();
    });
  });

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString();
    let body: unknown = null;
    let validJson = true;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {
      body = raw;
      validJson = false;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body });
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    };
    if (req.headers.authorization !== expected) return send(401, { code: 2001, message: 'auth failed' });
    const failure = failures.shift();
    if (failure) {
      if (failure.delayMs) await new Promise((resolve) => setTimeout(resolve, failure.delayMs));
      if (failure.dropConnection) {
        res.destroy();
        return;
      }
      return send(failure.status, failure.body, failure.headers);
    }
    if (req.method === 'POST' && path === '/v1/messages') {
      if (!validJson || typeof body !== 'object' || body === null)
        return send(400, { code: 3001, message: 'request body is not valid JSON' });
      if (fetchLinks) {
        for (const link of mediaLinks((body as { body?: unknown }).body)) {
          try {
            const response = await fetch(link);
            fetched.push({
              link,
              status: response.status,
              contentType: response.headers.get('content-type'),
              bytes: Buffer.from(await response.arrayBuffer()),
            });
          } catch {
            fetched.push({ link, status: 0, contentType: null, bytes: Buffer.alloc(0) });
          }
        }
      }
      counter++;
      accepted.push(body as Record<string, unknown>);
      const requestId = (body as { request_id?: unknown }).request_id;
      return send(200, {
        message_id: `el${1_000_000 + counter}`,
        ...(typeof requestId === 'string' ? { request_id: requestId } : {}),
      });
    }
    if (req.method === 'GET' && path === '/v1/templates') return send(200, templates);
    send(404, { code: 4001, message: 'not found' });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    sent: (): Record<string, unknown>[] => [...accepted],
    failNext(count: number, failure: EngageLabFailure) {
      for (let i = 0; i < count; i++) failures.push(failure);
    },
    setTemplates(list: unknown[]) {
      templates = list;
    },
    fetched,
    fetchMediaLinks() {
      fetchLinks = true;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
export type FakeEngageLab = Awaited<ReturnType<typeof startFakeEngageLab>>;
