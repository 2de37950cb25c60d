import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A response sent before its request body was read to the end (a 401 before authenticating, a 413
 * from a body parser that stopped reading) closes the connection. Otherwise the unread rest of the
 * body stays on a kept-alive connection: node waits for it before parsing the next request, and a
 * client that reuses the connection (as HTTP agents do) gets no answer at all.
 */
export function closeConnectionIfBodyUnread(req: IncomingMessage, res: ServerResponse): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody) return;
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: Parameters<typeof writeHead>) {
    if (!req.complete && !this.headersSent) this.setHeader('connection', 'close');
    return writeHead.apply(this, args);
  } as typeof res.writeHead;
}
