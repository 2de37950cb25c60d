import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, postMetaWebhook, startHarness } from '../support/bridge-harness.js';
import { chatDriver } from '../support/chat-driver.js';
import { inboundWebhook, nextWamid } from '../support/meta-webhooks.js';
import { waitFor } from '../support/wait-for.js';

const MB = 1024 * 1024;

/**
 * With a media memory budget much smaller than the files in flight, transfers wait their turn and
 * none is lost or cut: every customer's file reaches Slack whole, and every agent's file reaches
 * Meta whole. (How much memory that saves is measured by `npm run bench -- media`.)
 */
describe('media transfers under a small memory budget', () => {
  let h: Harness;
  let chat: ReturnType<typeof chatDriver>;
  beforeAll(async () => {
    h = await startHarness({ env: { MEDIA_MEMORY_BUDGET_MB: '16' } });
    chat = chatDriver(h);
  });
  afterAll(async () => {
    await h?.stop();
  });

  const file = (size: number, seed: number) => Buffer.alloc(size, seed);

  it('moves six customers’ files of 12 MB (one of them with no declared size) to Slack whole, a few at a time', async () => {
    const sizes = [12, 12, 12, 12, 12, 3].map((n) => n * MB);
    const ids: string[] = [];
    sizes.forEach((size, i) => {
      h.meta?.addMedia(
        `8800${i}`,
        file(size, 0x41 + i),
        'application/pdf',
        i === 5 ? { fileSize: null, chunked: true } : {},
      );
    });
    await Promise.all(
      sizes.map(async (_, i) => {
        const id = nextWamid();
        ids.push(id);
        const webhook = inboundWebhook(
          {
            type: 'document',
            document: { id: `8800${i}`, mime_type: 'application/pdf', sha256: 'x', filename: `f${i}.pdf` },
          },
          { from: `4477009007${i}`, id },
        );
        expect((await postMetaWebhook(h.url, webhook)).status).toBe(200);
      }),
    );
    await waitFor('every file uploaded', () => h.slack.completed.length >= sizes.length, 60_000);
    const uploaded = h.slack.completed.map((c) => c.bytes[0] as Buffer).sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
    expect(uploaded.map((b) => b.length)).toEqual(sizes);
    uploaded.forEach((bytes, i) => {
      expect(bytes.every((byte) => byte === 0x41 + i)).toBe(true);
    });
    for (const id of ids) await chat.postOf(id);
    await h.settle();
    expect(h.logs.join('')).not.toContain('could not be fetched');
  });

  it('sends two agents’ 10 MB files to Meta whole, one after the other', async () => {
    const { threadTs } = await chat.metaContactWrites('send me the files', { from: '447700900081' });
    const before = h.meta?.requests.filter((r) => r.path.endsWith('/media')).length ?? 0;
    const files = [0, 1].map((i) =>
      h.slack.addFile({
        id: `FMEM${i}`,
        name: `big${i}.pdf`,
        mimetype: 'application/pdf',
        bytes: file(10 * MB, 0x61 + i),
      }),
    );
    const replies = await Promise.all(
      files.map((f, i) => chat.agentWrites({ threadTs, text: `file ${i}`, files: [f] })),
    );
    for (const ts of replies) await chat.replyRow(ts, ['sent'], 60_000);
    const uploads = (h.meta?.requests ?? []).filter((r) => r.path.endsWith('/media')).slice(before);
    expect(uploads).toHaveLength(2);
    for (const upload of uploads) expect(upload.raw.length).toBeGreaterThan(10 * MB);
    expect(h.slack.messages(CHANNEL_ID).length).toBeGreaterThan(0);
  });
});
