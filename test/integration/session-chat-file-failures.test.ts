import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/bridge-harness.js';
import { chatDriver } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { waitFor } from '../support/wait-for.js';

/** A file an agent shares that can never go out is refused at once, with the reason, not retried for hours. */

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`a Slack file that cannot be sent on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
    });
    afterAll(async () => {
      await h?.stop();
    });

    const replyJob = (ts: string) =>
      h.app.database.db
        .selectFrom('job')
        .selectAll()
        .where('idempotency_key', 'like', `reply:%:${ts}`)
        .executeTakeFirstOrThrow();

    it('tells the agent when the file Slack serves is larger than WhatsApp allows, and does not retry', async () => {
      const chat = chatDriver(h);
      const { threadTs } = await chat.metaContactWrites('the file?', { from: '447700900699' });
      // The event says 1 KB, but the file Slack serves is 6 MB: above WhatsApp's 5 MB for images.
      const file = {
        ...h.slack.addFile({
          id: 'FBIG',
          name: 'big.png',
          mimetype: 'image/png',
          bytes: Buffer.alloc(6 * 1024 * 1024),
        }),
        size: 1024,
      };
      const ts = await chat.agentWrites({ threadTs, text: 'here', files: [file] });
      const message = await waitFor('the reply marked failed', () =>
        h.app.database.db
          .selectFrom('message')
          .select(['status', 'error_code', 'error_detail'])
          .where('slack_ts', '=', ts)
          .where('status', '=', 'failed')
          .executeTakeFirst(),
      );
      expect(message.error_code).toBe('file_unavailable');
      expect(message.error_detail).toContain('big.png');
      await waitFor('the agent told', () => chat.ephemerals(threadTs).some((t) => t.includes('Not sent')));
      await h.settle();
      expect(await replyJob(ts)).toMatchObject({ status: 'done', attempts: 1 });
      expect(h.meta?.requests.some((r) => r.path.endsWith('/media'))).toBe(false);
    });

    it('tells the agent when Meta refuses the file upload (131053), instead of dropping the reply silently', async () => {
      const chat = chatDriver(h);
      const { threadTs } = await chat.metaContactWrites('the pdf?', { from: '447700900698' });
      const file = h.slack.addFile({
        id: 'FPDF',
        name: 'a.pdf',
        mimetype: 'application/pdf',
        bytes: Buffer.from('PDF'),
      });
      h.meta?.failNext(1, {
        status: 400,
        body: {
          error: { message: '(#131053) Media upload error', code: 131053, error_data: { details: 'Unsupported' } },
        },
      });
      const ts = await chat.agentWrites({ threadTs, text: 'here', files: [file] });
      await waitFor('upload attempted', () => h.meta?.requests.some((r) => r.path.endsWith('/media')));
      await waitFor('the agent told', () => chat.ephemerals(threadTs).some((t) => t.includes('Not sent')));
      await h.settle();
      const rows = await h.app.database.db
        .selectFrom('message')
        .select(['status', 'error_code', 'kind'])
        .where('author_slack_user_id', 'is not', null)
        .where('contact_id', '=', (await chat.replyRow(ts, ['failed'])).contact_id)
        .execute();
      // "here" goes out as the document's caption: one part, failed with Meta's code.
      expect(rows).toEqual([{ status: 'failed', error_code: '131053', kind: 'document' }]);
    });
  });
}
