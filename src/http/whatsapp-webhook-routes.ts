import express, { type Request, type Response, Router } from 'express';
import type { Logger } from '../shared/logger.js';
import { WebhookAuthError, WebhookPayloadError } from '../whatsapp/provider-errors.js';
import type { WebhookEvent, WhatsAppProvider } from '../whatsapp/whatsapp-provider.js';

export const WHATSAPP_WEBHOOK_PATH = '/webhooks/whatsapp';
/** Meta sends webhook payloads of up to 3 MB. */
export const WEBHOOK_BODY_LIMIT_BYTES = 3 * 1024 * 1024;

export type WebhookRouteDeps = {
  provider: WhatsAppProvider;
  logger: Logger;
  /** Stores the events durably; the request is acknowledged only after this resolves. */
  accept(events: WebhookEvent[]): Promise<void>;
  onResult?(outcome: 'accepted' | 'rejected_auth' | 'rejected_payload' | 'failed', durationMs: number): void;
};

const queryOf = (req: Request): Record<string, string | undefined> => {
  const result: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(req.query)) result[key] = typeof value === 'string' ? value : undefined;
  return result;
};

const headersOf = (req: Request): Record<string, string | undefined> => {
  const result: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(req.headers))
    result[key.toLowerCase()] = Array.isArray(value) ? value[0] : value;
  return result;
};

export function whatsappWebhookRoutes(deps: WebhookRouteDeps): Router {
  const router = Router();

  router.get(WHATSAPP_WEBHOOK_PATH, (req: Request, res: Response) => {
    const check = deps.provider.checkSubscription(queryOf(req));
    if (check.ok) res.status(200).type('text/plain').send(check.challenge);
    else res.status(403).type('text/plain').send('verification failed');
  });

  router.post(
    WHATSAPP_WEBHOOK_PATH,
    express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT_BYTES }),
    async (req: Request, res: Response) => {
      const started = Date.now();
      const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let events: WebhookEvent[];
      try {
        events = deps.provider.parseWebhook({ rawBody, headers: headersOf(req), query: queryOf(req) });
      } catch (error) {
        if (error instanceof WebhookAuthError) {
          deps.logger.warn({ status: error.status, reason: error.message }, 'webhook refused');
          deps.onResult?.('rejected_auth', Date.now() - started);
          res.status(error.status).json({ error: error.message });
          return;
        }
        if (error instanceof WebhookPayloadError) {
          deps.logger.warn({ reason: error.message }, 'malformed webhook refused');
          deps.onResult?.('rejected_payload', Date.now() - started);
          res.status(400).json({ error: error.message });
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
        res.status(503).json({ error: 'temporarily unable to store the webhook; retry' });
        return;
      }
      deps.onResult?.('accepted', Date.now() - started);
      res.status(200).json({ received: events.length });
    },
  );

  return router;
}
