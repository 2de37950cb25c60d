import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/create-db.js';
import type { AppProcess } from '../support/app-process.js';
import { CHANNEL_ID, postMetaWebhook, SIGNING_SECRET } from '../support/bridge-harness.js';
import { createSqliteDatabase, dialects, type TestDatabase } from '../support/databases.js';
import type { FakeMetaGraph } from '../support/fake-meta-graph.js';
import type { FakeSlack } from '../support/fake-slack.js';
import { inboundWebhook } from '../support/meta-webhooks.js';
import { startProcessStack, stopProcessStack } from '../support/process-stack.js';
import { eventCallback, postSlack } from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`kill -9 and restart on ${dialect.name}`, () => {
    let slack: FakeSlack;
    let meta: FakeMetaGraph;
    let database: TestDatabase;
    let app: AppProcess;

    beforeAll(async () => {
      ({ slack, meta, database, app } = await startProcessStack({
        database: dialect.name === 'sqlite' ? createSqliteDatabase() : await dialect.create(),
        settings: { SLACK_CHANNEL_POST_INTERVAL_MS: '2', WORK_LEASE_MS: '3000' },
      }));
    }, 60_000);

    afterAll(() => stopProcessStack({ slack, meta, database, app }));

    it('loses no acknowledged inbound message, posts none twice and keeps each thread in order', async () => {
      const contacts = Array.from({ length: 10 }, (_, i) => `44770090${String(1000 + i)}`);
      const perContact = 12;
      const acknowledged = new Map<string, string[]>();
      let sent = 0;
      const sendRound = async (round: number) => {
        await Promise.all(
          contacts.map(async (from) => {
            const id = `wamid.CRASH.${from}.${round}`;
            const body = inboundWebhook(
              { type: 'text', text: { body: `${from} #${round}` } },
              { from, id, timestamp: Date.now() + round },
            );
            const response = await postMetaWebhook(app.url, body).catch(() => null);
            if (response?.status === 200) {
              const list = acknowledged.get(from) ?? [];
              if (!list.includes(id)) list.push(id);
              acknowledged.set(from, list);
              // 10 % are delivered twice, as Meta does.
              if (round % 10 === 3) await postMetaWebhook(app.url, body).catch(() => null);
            }
            sent++;
          }),
        );
      };
      for (let round = 0; round < perContact / 2; round++) await sendRound(round);
      await app.kill9();
      await app.start();
      for (let round = perContact / 2; round < perContact; round++) await sendRound(round);
      await app.kill9();
      await app.start();

      const expected = [...acknowledged.values()].reduce((n, ids) => n + ids.length, 0);
      expect(sent).toBe(contacts.length * perContact);
      await waitFor(
        `${expected} posts in Slack`,
        () => slack.messages(CHANNEL_ID).filter((m) => m.metadata?.event_type === 'wa_inbound').length >= expected,
        60_000,
      );
      await new Promise((r) => setTimeout(r, 500));
      const posts = slack.messages(CHANNEL_ID).filter((m) => m.metadata?.event_type === 'wa_inbound');
      const keys = posts.map((p) => String(p.metadata?.event_payload.key));
      expect(new Set(keys).size).toBe(keys.length); // no duplicates
      for (const [from, ids] of acknowledged) {
        const threadPosts = posts.filter((p) => String(p.metadata?.event_payload.key).includes(from));
        expect(threadPosts.map((p) => p.metadata?.event_payload.key)).toEqual(ids); // none lost, in order
        expect(new Set(threadPosts.map((p) => p.thread_ts)).size).toBe(1); // one thread per conversation
      }
    }, 180_000);

    it('never loses an acknowledged agent reply, and never sends one twice', async () => {
      const from = '447700905555';
      await postMetaWebhook(
        app.url,
        inboundWebhook({ type: 'text', text: { body: 'reply to me' } }, { from, id: 'wamid.CRASH.reply' }),
      );
      const post = await waitFor('inbound posted', () =>
        slack.messages(CHANNEL_ID).find((m) => m.metadata?.event_payload.key === 'wamid.CRASH.reply'),
      );
      const replies = Array.from({ length: 20 }, (_, i) => `1800000000.${String(i).padStart(6, '0')}`);
      meta.setLatency(30);
      const acked: string[] = [];
      await Promise.all(
        replies.map(async (ts, i) => {
          const response = await postSlack(
            app.url,
            eventCallback(SIGNING_SECRET, {
              type: 'message',
              channel: CHANNEL_ID,
              user: 'UAGENT1',
              text: `reply ${i}`,
              ts,
              thread_ts: post.thread_ts,
            }),
          ).catch(() => null);
          if (response?.status === 200) acked.push(ts);
        }),
      );
      await app.kill9();
      meta.setLatency(0);
      await app.start();
      const handle = createDatabase(database.target);
      try {
        const settled = await waitFor(
          'every acknowledged reply sent or flagged',
          async () => {
            const rows = await handle.db
              .selectFrom('message')
              .select(['slack_ts', 'status', 'error_code'])
              .where('slack_ts', 'in', acked)
              .execute();
            return rows.length === acked.length && rows.every((r) => r.status === 'sent' || r.status === 'failed')
              ? rows
              : null;
          },
          60_000,
        );
        const sentBodies = meta
          .sent()
          .filter((b) => String((b.text as { body?: string } | undefined)?.body ?? '').startsWith('reply '));
        const counts = new Map<string, number>();
        for (const body of sentBodies) {
          const text = String((body.text as { body: string }).body);
          counts.set(text, (counts.get(text) ?? 0) + 1);
        }
        expect([...counts.values()].every((n) => n === 1)).toBe(true); // never twice
        const uncertain = settled.filter((r) => r.status === 'failed');
        expect(uncertain.every((r) => r.error_code === 'uncertain')).toBe(true); // only an interrupted send is flagged, never silently dropped
        expect(settled.filter((r) => r.status === 'sent').length + uncertain.length).toBe(acked.length);
        for (const row of uncertain) {
          expect(
            slack
              .callsTo('chat.postEphemeral')
              .some(
                (c) =>
                  c.body.thread_ts === post.thread_ts && String(c.body.text).includes('may or may not have reached'),
              ),
          ).toBe(true);
          void row;
        }
      } finally {
        await handle.close();
      }
    }, 120_000);

    it('shuts down cleanly on SIGTERM', async () => {
      expect(await app.stop('SIGTERM')).toBe(0);
      await app.start();
    }, 60_000);
  });
}
