import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient, HttpError } from '../../src/shared/http-client.js';
import { createMetaProvider } from '../../src/whatsapp/meta/meta-provider.js';
import { startFakeMetaGraph } from '../support/fake-meta-graph.js';

/**
 * The response-size cap holds while streaming: a server that sends more than the cap without
 * declaring a Content-Length (chunked) is cut off, and the body is refused.
 */
describe('HTTP client size cap', () => {
  let server: Server;
  let url = '';
  /** Bytes the server managed to write per request, and whether the client hung up before the end. */
  const served: { written: number; cutOff: boolean }[] = [];
  const TOTAL = 8 * 1024 * 1024;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const record = { written: 0, cutOff: false };
      served.push(record);
      res.on('close', () => {
        if (!res.writableFinished) record.cutOff = true;
      });
      if (req.url === '/declared') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) });
      } else {
        // No Content-Length: node sends Transfer-Encoding: chunked.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
      }
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (record.written < TOTAL && !res.destroyed) {
          record.written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        if (!res.destroyed) res.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('cuts off a chunked body that grows past the cap, without reading it all', async () => {
    const http = createHttpClient({ retries: 0 });
    const attempt = http.request({ method: 'GET', url: `${url}/chunked`, maxResponseBytes: 1024 * 1024 });
    await expect(attempt).rejects.toBeInstanceOf(HttpError);
    await expect(attempt).rejects.toMatchObject({ kind: 'too_large' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const record = served.at(-1);
    expect(record?.cutOff).toBe(true);
    expect(record?.written).toBeLessThan(TOTAL);
    await http.close();
  });

  it('refuses a declared Content-Length over the cap before reading the body', async () => {
    const http = createHttpClient({ retries: 0 });
    await expect(
      http.request({ method: 'GET', url: `${url}/declared`, maxResponseBytes: 1024 * 1024 }),
    ).rejects.toMatchObject({ kind: 'too_large', message: expect.stringMatching(/8388608 bytes exceeds/) });
    await http.close();
  });

  it('reads a chunked body under the cap in full', async () => {
    const http = createHttpClient({ retries: 0 });
    const response = await http.request({ method: 'GET', url: `${url}/chunked`, maxResponseBytes: TOTAL });
    expect(response.status).toBe(200);
    expect(response.body.length).toBe(TOTAL);
    await http.close();
  });

  it('reads a declared body straight into one buffer of its size, after asking beforeBody with its length', async () => {
    const http = createHttpClient({ retries: 0 });
    const asked: [number, number | null][] = [];
    const response = await http.request({
      method: 'GET',
      url: `${url}/declared`,
      maxResponseBytes: TOTAL,
      beforeBody: async (status, length) => {
        asked.push([status, length]);
      },
    });
    expect(asked).toEqual([[200, TOTAL]]);
    expect(response.body.length).toBe(TOTAL);
    // One allocation of exactly the declared size (no list of chunks joined into a second copy).
    expect(response.body.buffer.byteLength).toBe(TOTAL);
    expect(response.body.byteOffset).toBe(0);
    const chunked = await http.request({
      method: 'GET',
      url: `${url}/chunked`,
      maxResponseBytes: TOTAL,
      beforeBody: async (status, length) => {
        asked.push([status, length]);
      },
    });
    expect(chunked.body.length).toBe(TOTAL);
    expect(asked.at(-1)).toEqual([200, null]);
    await http.close();
  });

  it('makes the Meta adapter refuse inbound media that streams past the cap with no declared size', async () => {
    const graph = await startFakeMetaGraph();
    try {
      const provider = createMetaProvider({
        settings: {
          accessToken: 'token',
          appSecret: 'secret',
          verifyToken: 'verify',
          wabaId: '1',
          graphUrl: graph.url,
        },
        http: createHttpClient({ retries: 0 }),
      });
      graph.addMedia('4242', Buffer.alloc(3 * 1024 * 1024, 1), 'video/mp4', { fileSize: null, chunked: true });
      await expect(
        provider.downloadMedia({ id: '4242', mimeType: 'video/mp4', sha256: null, url: null }, 1024 * 1024),
      ).rejects.toMatchObject({
        code: 'media_error',
        message: expect.stringMatching(/exceeds the 1048576-byte limit/),
      });
      expect(graph.mediaDownloads().map((d) => d.id)).toEqual(['4242']);
      // Within the cap, the same streamed file arrives whole.
      const media = await provider.downloadMedia(
        { id: '4242', mimeType: 'video/mp4', sha256: null, url: null },
        4 * 1024 * 1024,
      );
      expect(media.bytes.length).toBe(3 * 1024 * 1024);
    } finally {
      await graph.close();
    }
  });
});

describe('HTTP client file bodies', () => {
  it('streams a file from disk as the body, opening it afresh when a 5xx is retried', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'http-file-body-'));
    const path = join(dir, 'export.csv');
    const content = Buffer.from('time,direction\n'.repeat(20_000));
    writeFileSync(path, content);
    const received: Buffer[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(Buffer.concat(chunks));
        res.writeHead(received.length === 1 ? 503 : 200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const http = createHttpClient({ retries: 1, baseRetryDelayMs: 1 });
      const response = await http.request({
        method: 'POST',
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/upload`,
        headers: { 'content-length': String(content.length) },
        body: { file: path },
      });
      expect(response.status).toBe(200);
      expect(received).toHaveLength(2);
      for (const body of received) expect(body.equals(content)).toBe(true);
      await http.close();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
