import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/create-db.js';
import { AppProcess, bridgeEnv, freePort } from '../support/app-process.js';
import { BOT_TOKEN, SIGNING_SECRET } from '../support/bridge-harness.js';
import { launchCampaign, recipientsFile } from '../support/campaign-driver.js';
import { createPostgresDatabase, postgresIsReachable, type TestDatabase } from '../support/databases.js';
import { type FakeMetaGraph, startFakeMetaGraph } from '../support/fake-meta-graph.js';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { blockActionsPayload, interactivity, postSlack, viewSubmissionPayload } from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Two replicas (OS processes) on one PostgreSQL database: together they never reach more new
 * customers than the messaging limit allows, and a campaign one of them pauses is paused for both,
 * and stays paused across a restart, until a marketer resumes it.
 */

const available = await postgresIsReachable();
const CHANNEL = 'C0MARKETING';
const LIMITED = '1906385232743451';
const UNLIMITED = '1906385232743453';

/** The number recipientsFile writes for index i, as Meta sees it (digits only). */
const digits = (i: number) => `4479${11 + Math.floor(i / 300_000)}${String(i % 300_000).padStart(6, '0')}`;

describe.runIf(available)('messaging limits and pauses across two replicas', () => {
  let slack: FakeSlack;
  let meta: FakeMetaGraph;
  let database: TestDatabase;
  let a: AppProcess;
  let b: AppProcess;
  let handle: ReturnType<typeof createDatabase>;

  beforeAll(async () => {
    slack = await startFakeSlack({ botToken: BOT_TOKEN });
    slack.addUser({ id: 'UMARKETER', name: 'marketer', isAdmin: true });
    meta = await startFakeMetaGraph();
    meta.setPhoneNumbers([
      {
        id: LIMITED,
        display_phone_number: '+1 555-000-1111',
        verified_name: 'Acme Support',
        status: 'CONNECTED',
        quality_rating: 'GREEN',
        messaging_limit_tier: 'TIER_50',
      },
      {
        id: UNLIMITED,
        display_phone_number: '+1 555-000-3333',
        verified_name: 'Acme Promotions',
        status: 'CONNECTED',
        quality_rating: 'GREEN',
        messaging_limit_tier: 'TIER_UNLIMITED',
      },
    ]);
    // A little latency keeps sends in flight on both replicas at once.
    meta.setLatency(10);
    database = await createPostgresDatabase();
    const env = bridgeEnv(
      { slackUrl: slack.url, metaUrl: meta.url, database: database.target },
      { WHATSAPP_MAX_MPS: '40', SLACK_CHANNEL_POST_INTERVAL_MS: '2', MARKETERS: 'UMARKETER' },
    );
    a = new AppProcess(env, await freePort());
    b = new AppProcess(env, await freePort());
    await Promise.all([a.start(), b.start()]);
    handle = createDatabase(database.target);
  }, 90_000);

  afterAll(async () => {
    if (process.env.BRIDGE_TEST_LOGS) process.stderr.write(`A:\n${a?.output.join('')}\nB:\n${b?.output.join('')}\n`);
    await handle?.close();
    await a?.stop('SIGKILL');
    await b?.stop('SIGKILL');
    await slack?.close();
    await meta?.close();
    await database?.drop();
  });

  const campaign = (id: string) => handle.db.selectFrom('campaign').selectAll().where('id', '=', id).executeTakeFirst();
  const statuses = async (id: string) =>
    (
      await handle.db
        .selectFrom('campaign_recipient')
        .select('status')
        .where('campaign_id', '=', id)
        .orderBy('id')
        .execute()
    ).map((r) => r.status);
  const sentTo = (to: string) => meta.accepted().filter((body) => body.to === to).length;

  it('hands out the messaging limit once for both: 50 new customers a day, not 50 each', async () => {
    const { campaignId } = await launchCampaign({
      appUrl: a.url,
      slack,
      userId: 'UMARKETER',
      channelId: CHANNEL,
      sendingNumberId: LIMITED,
      template: 'hello_world',
      variables: { 'body.1': 'friend' },
      recipientsFile: recipientsFile(120, 800_000),
      confirm: false,
    });
    const view = [...(slack.views.values() as Iterable<{ id: string; view: { private_metadata?: string } }>)].find(
      (v) => (v.view.private_metadata ?? '').includes(campaignId),
    );
    expect(JSON.stringify(view?.view)).toContain('Send 50 now and the other 70 as the limit frees up');
    await postSlack(
      b.url,
      interactivity(
        SIGNING_SECRET,
        viewSubmissionPayload({
          userId: 'UMARKETER',
          viewId: view?.id ?? '',
          callbackId: 'wa_campaign_confirm',
          privateMetadata: view?.view.private_metadata ?? '',
          values: { cmp_limit_choice: { choice: { type: 'radio_buttons', selected_option: { value: 'split' } } } },
        }),
      ),
    );
    await waitFor('50 sent', async () => (await statuses(campaignId)).filter((s) => s === 'sent').length >= 50, 30_000);
    // Both replicas keep trying to claim; neither gets past the limit.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await statuses(campaignId)).filter((s) => s === 'sent')).toHaveLength(50);
    expect(new Set(meta.accepted().map((body) => body.to)).size).toBe(50);
    const counted = await handle.db.selectFrom('messaging_allowance_use').selectAll().execute();
    expect(counted).toHaveLength(50);
    expect((await campaign(campaignId))?.status).toBe('sending');
  }, 60_000);

  it('a campaign paused by one replica is paused for both, and after a restart, until resumed', async () => {
    const spam = digits(810_003);
    meta.failSendsTo(spam, 1, {
      status: 400,
      body: { error: { message: '(#131048) Spam rate limit hit', type: 'OAuthException', code: 131048 } },
    });
    const { campaignId } = await launchCampaign({
      appUrl: a.url,
      slack,
      userId: 'UMARKETER',
      channelId: CHANNEL,
      sendingNumberId: UNLIMITED,
      template: 'hello_world',
      variables: { 'body.1': 'friend' },
      recipientsFile: recipientsFile(200, 810_000),
    });
    await waitFor('paused', async () => (await campaign(campaignId))?.status === 'paused', 30_000);
    await waitFor('nothing in flight', async () => !(await statuses(campaignId)).includes('sending'));
    const sent = meta.accepted().length;
    // One replica restarts meanwhile: the pause is in the database, so it stays.
    await a.stop('SIGTERM');
    await a.start();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(meta.accepted().length).toBe(sent);
    expect((await campaign(campaignId))?.status).toBe('paused');
    const queued = (await statuses(campaignId)).filter((s) => s === 'queued').length;
    expect(queued).toBeGreaterThan(0);

    const ts = (await campaign(campaignId))?.slack_message_ts ?? '';
    await postSlack(
      b.url,
      interactivity(
        SIGNING_SECRET,
        blockActionsPayload({
          userId: 'UMARKETER',
          actionId: 'wa_campaign_resume',
          value: campaignId,
          message: { channelId: CHANNEL, ts },
          responseUrl: `${slack.baseUrl}response/resume`,
        }),
      ),
    );
    await waitFor('completed', async () => (await campaign(campaignId))?.status === 'completed', 30_000);
    expect(await statuses(campaignId)).toEqual(Array.from({ length: 200 }, () => 'sent'));
    for (let i = 810_000; i < 810_200; i++) expect(sentTo(digits(i)), digits(i)).toBe(1);
  }, 90_000);
});
