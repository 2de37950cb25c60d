import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../shared/logger.js';
import { WebhookAuthError, WebhookPayloadError } from '../whatsapp/provider-errors.js';
import type { WebhookEvent, WhatsAppProvider } from '../whatsapp/whatsapp-provider.js';

export const WHATSAPP_WEBHOOK_PATH = '/webhooks/whatsapp';
/** Meta sends webhook payloads of up to 3 MB. */
export const WEBHOOK_BODY_LIMIT_BYTES = 3 * 1024 * 1024;

export type WebhookOutcome = 'accepted' | 'rejected_auth' | 'rejected_payload' | 'failed';

export type WebhookRouteDeps = {
  provider: WhatsAppProvider;
  logger: Logger;
  /** Stores the events durably; the request is acknowledged only after this resolves. */
  accept(events: WebhookEvent[]): Promise<void>;
  onStarted?(): void;
  onFinished?(): void;
  onResult?(outcome: WebhookOutcome, durationMs: number): void;
};

/** True when this request is for the webhook route (any method; other methods get a 405). */
export function isWhatsAppWebhookRequest(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  return url === WHATSAPP_WEBHOOK_PATH || url.startsWith(`${WHATSAPP_WEBHOOK_PATH}?`);
}

const headersOf = (req: IncomingMessage): Record<string, string | undefined> => {
  const result: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(req.headers)) result[key] = Array.isArray(value) ? value[0] : value;
  return result;
};

const queryOf = (req: IncomingMessage): Record<string, string | undefined> => {
  const search = new URL(req.url ?? '/', 'http://localhost').searchParams;
  const result: Record<string, string | undefined> = {};
  for (const key of new Set(search.keys())) {
    const values = search.getAll(key);
    result[key] = values.length === 1 ? values[0] : undefined; // a repeated parameter is not trusted
  }
  return result;
};

function reply(res: ServerResponse, status: number, body: string, type = 'application/json', close = false): void {
  res.writeHead(status, {
    'content-type': `${type}; charset=utf-8`,
    'content-length': Buffer.byteLength(body),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(body);
}

const json = (value: unknown) => JSON.stringify(value);

/** Reads the whole body, or null once it passes the limit (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

/**
 * The provider webhook, on plain node:http: it is the bridge's hottest route, and a framework's
 * routing, body parsing and response helpers cost more than the signature check and the database
 * write it exists for. GET is Meta's subscription handshake; POST is verified (signature or
 * token), parsed, stored, and only then acknowledged.
 */
export function createWhatsAppWebhookHandler(deps: WebhookRouteDeps) {
  async function handlePost(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (Number.isFinite(declared) && declared > WEBHOOK_BODY_LIMIT_BYTES) {
      reply(res, 413, json({ error: 'body larger than 3 MB' }), 'application/json', true);
      return;
    }
    const rawBody = await readBody(req, WEBHOOK_BODY_LIMIT_BYTES);
    if (rawBody === null) {
      reply(res, 413, json({ error: 'body larger than 3 MB' }), 'application/json', true);
      return;
    }
    let events: WebhookEvent[];
    try {
      events = deps.provider.parseWebhook({ rawBody, headers: headersOf(req), query: queryOf(req) });
    } catch (error) {
      if (error instanceof WebhookAuthError) {
        deps.logger.warn({ status: error.status, reason: error.message }, 'webhook refused');
        deps.onResult?.('rejected_auth', Date.now() - started);
        reply(res, error.status, json({ error: error.message }));
        return;
      }
      if (error instanceof WebhookPayloadError) {
        deps.logger.warn({ reason: error.message }, 'malformed webhook refused');
        deps.onResult?.('rejected_payload', Date.now() - started);
        reply(res, 400, json({ error: error.message }));
        return;
      }
      throw error;
    }
    try {
      await deps.accept(events);
    } catch (error) {
      // Not stored → not acknowledged: the provider will deliver it again.
      deps.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'storing webhook failed');
      deps.onResult?.('failed', Date.now() - started);
      reply(res, 503, json({ error: 'temporarily unable to store the webhook; retry' }));
      return;
    }
    deps.onResult?.('accepted', Date.now() - started);
    reply(res, 200, json({ received: events.length }));
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method === 'GET') {
      const check = deps.provider.checkSubscription(queryOf(req));
      if (check.ok) reply(res, 200, check.challenge, 'text/plain');
      else reply(res, 403, 'verification failed', 'text/plain');
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST');
      reply(res, 405, json({ error: 'method not allowed' }));
      return;
    }
    deps.onStarted?.();
    res.once('close', () => deps.onFinished?.());
    handlePost(req, res).catch((error: unknown) => {
      deps.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'webhook handling failed');
      if (!res.headersSent) reply(res, 500, json({ error: 'internal error' }));
      else res.destroy();
    });
  };
}
