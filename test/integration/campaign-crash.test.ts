import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/create-db.js';
import type { AppProcess } from '../support/app-process.js';
import { launchHelloWorld, recipientsFile } from '../support/campaign-driver.js';
import { createSqliteDatabase, dialects, type TestDatabase } from '../support/databases.js';
import type { FakeMetaGraph } from '../support/fake-meta-graph.js';
import type { FakeSlack } from '../support/fake-slack.js';
import { validateMetaMessageBody } from '../support/meta-openapi.js';
import { startProcessStack, stopProcessStack } from '../support/process-stack.js';
import { waitFor } from '../support/wait-for.js';

const cases = await dialects();

function campaignCompleted(handle: DatabaseHandle, campaignId: string, timeoutMs: number) {
  return waitFor(
    `campaign ${campaignId} completed`,
    async () =>
      (await handle.db.selectFrom('campaign').select('status').where('id', '=', campaignId).executeTakeFirst())
        ?.status === 'completed',
    timeoutMs,
  );
}
const CONCURRENCY = 32;

for (const dialect of cases) {
  describe.runIf(dialect.available)(`a campaign killed mid-way on ${dialect.name}`, () => {
    let slack: FakeSlack;
    let meta: FakeMetaGraph;
    let database: TestDatabase;
    let app: AppProcess;
    beforeAll(async () => {
      ({ slack, meta, database, app } = await startProcessStack({
        database: dialect.name === 'sqlite' ? createSqliteDatabase() : await dialect.create(),
        settings: { SLACK_CHANNEL_POST_INTERVAL_MS: '5', WORK_LEASE_MS: '3000', WHATSAPP_MAX_MPS: '150' },
      }));
    }, 60_000);
    const launch = (file: Buffer) => launchHelloWorld({ appUrl: app.url, slack, recipientsFile: file });
    afterAll(() => stopProcessStack({ slack, meta, database, app }));

    it('resumes after kill -9: every recipient gets it, duplicates bounded by the in-flight sends', async () => {
      const total = 600;
      meta.setLatency(15);
      const { campaignId } = await launch(recipientsFile(total));
      await waitFor('a third sent', () => meta.sent().length >= total / 3, 60_000);
      await app.kill9();
      const atKill = meta.sent().length;
      await app.start();
      const handle = createDatabase(database.target);
      try {
        await campaignCompleted(handle, campaignId, 120_000);
        const sends = meta.accepted();
        const perRecipient = new Map<string, number>();
        for (const body of sends) perRecipient.set(String(body.to), (perRecipient.get(String(body.to)) ?? 0) + 1);
        const duplicates = [...perRecipient.values()].reduce((n, c) => n + (c - 1), 0);
        expect(atKill).toBeLessThan(total);
        expect(perRecipient.size).toBe(total); // nobody missed
        expect(duplicates).toBeLessThanOrEqual(CONCURRENCY); // only sends in flight at the kill can repeat
        console.info(
          `campaign kill -9 on ${dialect.name}: ${total} recipients, ${atKill} sent before the kill, ${duplicates} duplicate sends`,
        );
        const recipients = await handle.db
          .selectFrom('campaign_recipient')
          .select('status')
          .where('campaign_id', '=', campaignId)
          .execute();
        expect(recipients.every((r) => r.status === 'sent')).toBe(true);
        expect(validateMetaMessageBody(sends[0])).toEqual([]); // template bodies match Meta's spec
      } finally {
        await handle.close();
      }
    }, 240_000);

    it('after a restart during a provider outage, the campaign waits for the template list instead of failing its recipients', async () => {
      const total = 120;
      meta.setLatency(15);
      try {
        const { campaignId } = await launch(recipientsFile(total, 600000));
        const sentBefore = meta.sent().length;
        await waitFor('some sent', () => meta.sent().length - sentBefore >= 20, 60_000);
        await app.kill9();
        // Two whole template lookups fail (each is tried three times by the HTTP client).
        meta.failNextOn(/\/message_templates$/, 6, {
          status: 503,
          body: { error: { message: 'Service temporarily unavailable', code: 131016 } },
        });
        const listingsBefore = meta.requests.filter((r) => r.path.endsWith('/message_templates')).length;
        await app.start();
        const handle = createDatabase(database.target);
        try {
          await campaignCompleted(handle, campaignId, 60_000);
          const listings = meta.requests.filter((r) => r.path.endsWith('/message_templates')).length - listingsBefore;
          expect(listings, 'the failed lookups were asked again').toBeGreaterThanOrEqual(7);
          const statuses = await handle.db
            .selectFrom('campaign_recipient')
            .select(['status', 'error_code', 'phone_number'])
            .where('campaign_id', '=', campaignId)
            .execute();
          expect(statuses.filter((r) => r.status !== 'sent')).toEqual([]);
          expect(statuses).toHaveLength(total);
          const ours = new Set(statuses.map((r) => r.phone_number.slice(1)));
          const reached = new Set(
            meta
              .accepted()
              .map((b) => String(b.to))
              .filter((to) => ours.has(to)),
          );
          expect(reached.size, 'every recipient reached').toBe(total);
        } finally {
          await handle.close();
        }
      } finally {
        meta.setLatency(0);
      }
    }, 120_000);

    it('never sends twice a recipient whose send outlasts the lease: the live worker renews it', async () => {
      meta.setLatency(0);
      // 7 s per send against a 3 s lease: without renewal each send would be reclaimed and repeated.
      meta.setSendLatency(7000);
      const numbers = ['447912200000', '447912200001', '447912200002', '447912200003', '447912200004'];
      try {
        const { campaignId } = await launch(recipientsFile(numbers.length, 500000));
        const handle = createDatabase(database.target);
        try {
          await campaignCompleted(handle, campaignId, 60_000);
        } finally {
          await handle.close();
        }
        const sends = meta.sent().filter((s) => numbers.includes(String(s.to)));
        expect(sends.map((s) => s.to).sort()).toEqual(numbers);
      } finally {
        meta.setSendLatency(0);
      }
    }, 120_000);
  });
}
