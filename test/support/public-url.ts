import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The app's PUBLIC_URL, as a reverse proxy in front of it would provide: its address is known before
 * the app starts (PUBLIC_URL is configuration), and it forwards to the app once `forwardTo` is set.
 */
export type PublicUrl = Awaited<ReturnType<typeof startPublicUrl>>;

export async function startPublicUrl() {
  let target: URL | null = null;
  const server: Server = createServer((req, res) => {
    if (!target) {
      res.writeHead(502).end('no upstream yet');
      return;
    }
    const upstream = request(
      { hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forwardTo(appUrl: string) {
      target = new URL(appUrl);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
