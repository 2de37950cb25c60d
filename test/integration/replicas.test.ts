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
import { launchCampaign, recipientsFile } from '../support/campaign-driver.js';
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
      WORK_LEASE_MS: '3000',
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

  it('shares a campaign: no duplicate sends, the rate limit holds across both, and one finishes after the other dies', async () => {
    const total = 900;
    const before = meta.sendTimes.length;
    const { campaignId } = await launchCampaign({
      appUrl: a.url,
      slack,
      userId: 'UMARKETER',
      channelId: 'C0MARKETING',
      sendingNumberId: '1906385232743451',
      template: 'hello_world',
      variables: { 'body.1': 'friend' },
      recipientsFile: recipientsFile(total, 200000),
    });
    await waitFor('both replicas sending', () => meta.sendTimes.length - before >= 300, 60_000);
    await a.kill9();
    const handle = createDatabase(database.target);
    try {
      await waitFor(
        'campaign completed by the survivor',
        async () =>
          (await handle.db.selectFrom('campaign').select('status').where('id', '=', campaignId).executeTakeFirst())
            ?.status === 'completed',
        120_000,
      );
      const sends = meta.sent().filter((s) => String(s.to).startsWith('4479112'));
      const perRecipient = new Map<string, number>();
      for (const s of sends) perRecipient.set(String(s.to), (perRecipient.get(String(s.to)) ?? 0) + 1);
      const duplicates = [...perRecipient.values()].reduce((n, c) => n + c - 1, 0);
      expect(perRecipient.size).toBe(total);
      expect(duplicates).toBeLessThanOrEqual(32); // only what the killed replica had in flight
      const campaignTimes = meta.sendTimes.slice(before);
      expect(maxInAnySecond(campaignTimes)).toBeLessThanOrEqual(MPS);
      console.info(
        `replicas: ${total} recipients, ${duplicates} duplicate sends after killing one replica, max ${maxInAnySecond(campaignTimes)} sends in any second (limit ${MPS})`,
      );
      const claimers = await handle.db
        .selectFrom('campaign_recipient')
        .select('claimed_by')
        .where('campaign_id', '=', campaignId)
        .execute();
      expect(claimers).toHaveLength(total);
    } finally {
      await handle.close();
    }
  }, 240_000);
});
