import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from '../shared/logger.js';
import { closeConnectionIfBodyUnread } from './unread-body.js';
import { isWhatsAppWebhookRequest } from './whatsapp-webhook-routes.js';

type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The bridge's one HTTP server. Provider webhooks take a plain node:http path of their own (see
 * whatsapp-webhook-routes.ts); everything else (Slack, the API, media, metrics, health) is express.
 * While stopping, every new request gets a 503 and the connection closes.
 */
export function createWebServer(deps: { logger: Logger }) {
  const app = express();
  app.disable('x-powered-by');
  let accepting = true;
  let server: Server | undefined;

  const refuseWhileStopping = (res: ServerResponse) => {
    res.writeHead(503, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ error: 'shutting down' }));
  };

  return {
    /** For routes that must come first (Slack's, mounted by Bolt's receiver). */
    express: app,
    /** The feature routes, then a 404 for anything else and 4xx for what body parsers refused. */
    mount(routers: readonly Router[]): void {
      for (const router of routers) app.use(router);
      app.use((_req: Request, res: Response) => {
        res.status(404).json({ error: 'not found' });
      });
      // Body-parser errors (too large, malformed) are the client's fault: 4xx, never a 5xx or a crash.
      app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
        const status = typeof error === 'object' && error !== null && 'status' in error ? Number(error.status) : 500;
        if (status >= 400 && status < 500) {
          res.status(status).json({ error: status === 413 ? 'request body too large' : 'bad request' });
          return;
        }
        deps.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'request failed');
        res.status(500).json({ error: 'internal error' });
      });
    },
    async listen(port: number, providerWebhook: NodeHandler | null): Promise<number> {
      const httpServer = createServer((req, res) => {
        if (!accepting) return refuseWhileStopping(res);
        closeConnectionIfBodyUnread(req, res);
        if (providerWebhook && isWhatsAppWebhookRequest(req)) providerWebhook(req, res);
        else app(req, res);
      });
      server = httpServer;
      httpServer.headersTimeout = 20_000;
      httpServer.requestTimeout = 30_000;
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, () => resolve());
      });
      return (httpServer.address() as AddressInfo).port;
    },
    /** Refuses new requests, lets those in flight finish (at most 5 s), and closes. */
    async stop(): Promise<void> {
      accepting = false;
      const httpServer = server;
      if (!httpServer) return;
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeIdleConnections();
        setTimeout(() => httpServer.closeAllConnections(), 5_000).unref();
      });
    },
  };
}
export type WebServer = ReturnType<typeof createWebServer>;
