import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

/** Baseline for the ingest benchmark: node:http doing only the same HMAC check and a 200. */
const secret = process.env.META_APP_SECRET ?? '';
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const header = String(req.headers['x-hub-signature-256'] ?? '');
    const expected = createHmac('sha256', secret).update(body).digest();
    const given = Buffer.from(header.replace(/^sha256=/, ''), 'hex');
    const ok = given.length === expected.length && timingSafeEqual(given, expected);
    res.writeHead(ok ? 200 : 403, { 'content-type': 'application/json' });
    res.end(ok ? '{"received":1}' : '{}');
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
