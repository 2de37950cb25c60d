import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/create-db.js';
import { AppProcess, freePort } from '../support/app-process.js';
import {
  BOT_TOKEN,
  CHANNEL_ID,
  META_ACCESS_TOKEN,
  META_APP_SECRET,
  META_VERIFY_TOKEN,
  postMetaWebhook,
  SIGNING_SECRET,
  WABA_ID,
} from '../support/bridge-harness.js';
import { launchHelloWorld, recipientsFile } from '../support/campaign-driver.js';
import { createPostgresDatabase, postgresIsReachable, type TestDatabase } from '../support/databases.js';
import { type FakeMetaGraph, startFakeMetaGraph } from '../support/fake-meta-graph.js';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { inboundWebhook } from '../support/meta-webhooks.js';
import { waitFor } from '../support/wait-for.js';

const available = await postgresIsReachable();

function maxInAnySecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] ?? 0) - (sorted[start] ?? 0) >= 1000) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}

describe.runIf(available)('two replicas on one PostgreSQL database', () => {
  let slack: FakeSlack;
  let meta: FakeMetaGraph;
  let database: TestDatabase;
  let a: AppProcess;
  let b: AppProcess;
  const MPS = 100;
  const LEASE_MS = 3000;

  beforeAll(async () => {
    slack = await startFakeSlack({ botToken: BOT_TOKEN });
    meta = await startFakeMetaGraph();
    database = await createPostgresDatabase();
    const env = {
      DATABASE_URL: database.target.kind === 'postgres' ? database.target.url : '',
      LOG_LEVEL: process.env.BRIDGE_TEST_LOGS ? 'info' : 'warn',
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.url,
      SLACK_CHANNEL_ID: CHANNEL_ID,
      SLACK_CHANNEL_POST_INTERVAL_MS: '2',
      WORK_LEASE_MS: String(LEASE_MS),
      WHATSAPP_MAX_MPS: String(MPS),
      META_ACCESS_TOKEN,
      META_APP_SECRET,
      META_VERIFY_TOKEN,
      META_WABA_ID: WABA_ID,
      META_GRAPH_URL: meta.url,
    };
    a = new AppProcess(env, await freePort());
    b = new AppProcess(env, await freePort());
    await Promise.all([a.start(), b.start()]);
  }, 90_000);

  afterAll(async () => {
    if (process.env.BRIDGE_TEST_LOGS) process.stderr.write(`A:\n${a?.output.join('')}\nB:\n${b?.output.join('')}\n`);
    await a?.stop('SIGKILL');
    await b?.stop('SIGKILL');
    await slack?.close();
    await meta?.close();
    await database?.drop();
    slack?.assertFollowedRules();
  });

  it('shares webhooks without posting anything twice, keeping each thread in order', async () => {
    const contacts = Array.from({ length: 8 }, (_, i) => `4479113${String(10000 + i)}`);
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        contacts.map(async (from, i) => {
          const body = inboundWebhook(
            { type: 'text', text: { body: `${from}/${round}` } },
            { from, id: `wamid.REPL.${from}.${round}`, timestamp: Date.now() + round },
          );
          // Load balancer: alternate replicas; every tenth message is delivered to both.
          const target = (round + i) % 2 === 0 ? a : b;
          expect((await postMetaWebhook(target.url, body)).status).toBe(200);
          if (round % 10 === 5) await postMetaWebhook((target === a ? b : a).url, body);
        }),
      );
    }
    await waitFor(
      '80 posts',
      () =>
        slack.messages(CHANNEL_ID).filter((m) => String(m.metadata?.event_payload.key ?? '').startsWith('wamid.REPL.'))
          .length >= 80,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    const posts = slack
      .messages(CHANNEL_ID)
      .filter((m) => String(m.metadata?.event_payload.key ?? '').startsWith('wamid.REPL.'));
    expect(posts).toHaveLength(80);
    for (const from of contacts) {
      const thread = posts.filter((p) => String(p.metadata?.event_payload.key).includes(from));
      expect(thread.map((p) => p.text)).toEqual(Array.from({ length: 10 }, (_, r) => `${from}/${r}`));
      expect(new Set(thread.map((p) => p.thread_ts)).size).toBe(1);
    }
  }, 120_000);

  it('shares a campaign: both replicas send with 0 duplicates and the rate limit held across both; after one dies the other finishes, duplicates bounded by what the dead one had in flight', async () => {
    const total = 900;
    const acceptedBefore = meta.accepted().length;
    const timesBefore = meta.sendTimes.length;
    // A little provider latency keeps each send in flight long enough to be seen in the database.
    meta.setLatency(15);
    const handle = createDatabase(database.target);
    try {
      const { campaignId } = await launchHelloWorld({
        appUrl: a.url,
        slack,
        recipientsFile: recipientsFile(total, 200000),
      });

      // Who sends what is read from the database: a recipient being sent is `sending`, claimed by the
      // worker id of one replica. Sampled until the end of the campaign.
      type Sample = { at: number; rows: { id: number; claimed_by: string | null; claimed_until: number | null }[] };
      const samples: Sample[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const at = Date.now();
          const rows = await handle.db
            .selectFrom('campaign_recipient')
            .select(['id', 'claimed_by', 'claimed_until'])
            .where('campaign_id', '=', campaignId)
            .where('status', '=', 'sending')
            .execute();
          samples.push({ at, rows });
          await new Promise((r) => setTimeout(r, 10));
        }
      })();

      // Phase 1: both replicas alive.
      await waitFor('a third sent', () => meta.accepted().length - acceptedBefore >= total / 3, 60_000);
      const killedAt = Date.now();
      const phaseOne = meta.accepted().slice(acceptedBefore);
      await a.kill9();
      const exitedAt = Date.now();

      // Phase 2: only B.
      await waitFor(
        'campaign completed by the survivor',
        async () =>
          (await handle.db.selectFrom('campaign').select('status').where('id', '=', campaignId).executeTakeFirst())
            ?.status === 'completed',
        120_000,
      );
      sampling = false;
      await sampler;

      const countByRecipient = (bodies: Record<string, unknown>[]) => {
        const counts = new Map<string, number>();
        for (const body of bodies) counts.set(String(body.to), (counts.get(String(body.to)) ?? 0) + 1);
        return counts;
      };
      const duplicatesIn = (counts: Map<string, number>) => [...counts.values()].reduce((n, c) => n + c - 1, 0);

      // Which worker is which: only B claims after the kill, so a claim whose lease ends later than
      // any lease A could have taken is B's.
      const survivor = samples
        .flatMap((s) => s.rows)
        .find((r) => r.claimed_until !== null && r.claimed_until > killedAt + LEASE_MS + 500)?.claimed_by;
      expect(survivor, 'the surviving replica claimed recipients after the kill').toBeTruthy();
      const before = samples.filter((s) => s.at < killedAt);
      const workers = new Set(before.flatMap((s) => s.rows.map((r) => r.claimed_by)).filter((w) => w !== null));
      const victim = [...workers].find((w) => w !== survivor);
      expect(workers.size, 'both replicas claimed recipients while both were alive').toBe(2);
      expect(victim).toBeTruthy();
      const bothAtOnce = before.filter((s) => new Set(s.rows.map((r) => r.claimed_by)).size === 2).length;
      expect(bothAtOnce, 'both replicas had sends in flight at the same moment').toBeGreaterThan(0);

      // Recipients seen claimed before the kill, and finally sent after exactly one claim, were sent
      // by that claimer: both replicas sent.
      const claimedBy = new Map<number, string>();
      for (const sample of before)
        for (const row of sample.rows) if (row.claimed_by) claimedBy.set(row.id, row.claimed_by);
      const finals = await handle.db
        .selectFrom('campaign_recipient')
        .select(['id', 'status', 'attempts'])
        .where('campaign_id', '=', campaignId)
        .execute();
      const sentBy = new Map<string, number>();
      for (const row of finals) {
        const worker = claimedBy.get(row.id);
        if (worker && row.status === 'sent' && row.attempts === 1) sentBy.set(worker, (sentBy.get(worker) ?? 0) + 1);
      }
      expect(sentBy.get(survivor ?? '') ?? 0, 'the survivor sent').toBeGreaterThan(0);
      expect(sentBy.get(victim ?? '') ?? 0, 'the killed replica sent').toBeGreaterThan(0);

      // What the killed replica had in flight: its claims still open once it was gone.
      const firstAfter = samples.find((s) => s.at > exitedAt);
      const inFlightAtKill = firstAfter?.rows.filter((r) => r.claimed_by === victim).length ?? 0;

      const phaseOneDuplicates = duplicatesIn(countByRecipient(phaseOne));
      const all = countByRecipient(meta.accepted().slice(acceptedBefore));
      const duplicates = duplicatesIn(all);
      const campaignTimes = meta.sendTimes.slice(timesBefore);
      const phaseOneTimes = campaignTimes.slice(0, phaseOne.length);
      console.info(
        `replicas: ${total} recipients; while both ran: ${phaseOne.length} sends, ${phaseOneDuplicates} duplicates, ` +
          `attributed to the killed replica ${sentBy.get(victim ?? '') ?? 0} and to the survivor ${sentBy.get(survivor ?? '') ?? 0}, ` +
          `both in flight in ${bothAtOnce} of ${before.length} samples, ` +
          `max ${maxInAnySecond(phaseOneTimes)} sends in any second; after killing one: ${duplicates} duplicate sends ` +
          `(it had ${inFlightAtKill} in flight), max ${maxInAnySecond(campaignTimes)} sends in any second overall (limit ${MPS})`,
      );
      expect(phaseOneDuplicates, 'no duplicate send while both replicas run').toBe(0);
      expect(all.size, 'every recipient reached').toBe(total);
      expect(duplicates, 'duplicates only from what the killed replica had in flight').toBeLessThanOrEqual(
        inFlightAtKill,
      );
      expect(maxInAnySecond(phaseOneTimes), 'rate limit held across both replicas').toBeLessThanOrEqual(MPS);
      expect(maxInAnySecond(campaignTimes)).toBeLessThanOrEqual(MPS);
    } finally {
      meta.setLatency(0);
      await handle.close();
    }
  }, 240_000);
});
