import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { type BridgeApp, createBridgeApp, secretsOf } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { HomeRefreshTiming } from '../../src/features/sessions-history/home-refresh.js';
import { createLogger } from '../../src/shared/logger.js';
import { createSqliteDatabase, type TestDatabase } from './databases.js';
import { startFakeEngageLab } from './fake-engagelab.js';
import { startFakeMetaGraph } from './fake-meta-graph.js';
import { startFakeSlack } from './fake-slack.js';
import { readManifest, type SlackAppManifest } from './fake-slack-rules.js';

export const SIGNING_SECRET = 'test-signing-secret-0123456789';
export const BOT_TOKEN = 'xoxb-test-bot-token-0123456789';
export const META_APP_SECRET = 'meta-app-secret-0123456789';
export const META_VERIFY_TOKEN = 'meta-verify-token-0123456789';
export const META_ACCESS_TOKEN = 'EAAGtestaccesstoken0123456789';
export const ENGAGELAB_DEV_KEY = 'engagelab-dev-key-0123';
export const ENGAGELAB_DEV_SECRET = 'engagelab-dev-secret-0123';
export const ENGAGELAB_CALLBACK_TOKEN = 'engagelab-callback-token-0123456789';
export const CHANNEL_ID = 'C0CONVERSATIONS';
export const WABA_ID = '102290129340398';
/**
 * The marketer and the lead the suites act as: MARKETERS and LEADS name them unless a test's env
 * says otherwise (`''` restores the unset default, workspace admins and owners only). Both exist in
 * the fake Slack as plain active members, so the lists are what grants them their roles.
 */
export const MARKETER = 'UMARKETER';
export const LEAD = 'ULEAD';

export type Harness = {
  url: string;
  app: BridgeApp;
  config: Config;
  slack: Awaited<ReturnType<typeof startFakeSlack>>;
  meta: Awaited<ReturnType<typeof startFakeMetaGraph>> | null;
  engagelab: Awaited<ReturnType<typeof startFakeEngageLab>> | null;
  logs: string[];
  /** Waits until every queued job has run. */
  settle(): Promise<void>;
  stop(): Promise<void>;
};

export function signMetaBody(body: string, secret = META_APP_SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export async function postMetaWebhook(
  url: string,
  payload: unknown,
  options: { secret?: string; signature?: string | null } = {},
) {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const signature = options.signature === undefined ? signMetaBody(body, options.secret) : options.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  const response = await fetch(`${url}/webhooks/whatsapp`, { method: 'POST', headers, body });
  return { status: response.status, text: await response.text() };
}

export async function startHarness(
  options: {
    provider?: 'meta' | 'engagelab';
    database?: TestDatabase;
    env?: Record<string, string>;
    slackPerChannelIntervalMs?: number;
    /** A controllable clock (retention, 24-hour window). */
    now?: () => number;
    /** Shorter backoff between job retries, for tests that exhaust them. */
    jobBackoffMs?: { base: number; max: number };
    /** What the fake Graph API lists as the account's phone numbers (before the app starts). */
    metaPhoneNumbers?: unknown[];
    /** Campaign retry backoff base (production: 1 s). */
    campaignRetryBaseDelayMs?: number;
    /** Changes the installed app's manifest as the fake Slack sees it (default: manifest.yml as is). */
    slackManifest?: (manifest: SlackAppManifest) => void;
    /**
     * Calls Slack refuses for breaking its rules (a missing scope, a DM with the Messages tab off,
     * blocks over Block Kit's limits) fail the test when the harness stops, unless a test expects them.
     */
    expectSlackRuleViolations?: boolean;
    /** Slack's per-channel posting limit, enforced by the fake (see startFakeSlack). */
    slackChannelPostRate?: { perSecond: number; burst: number };
    /** App Home's background refresh timing (production: src/features/sessions-history/home-refresh.ts). */
    homeRefresh?: Partial<HomeRefreshTiming>;
  } = {},
): Promise<Harness> {
  const provider = options.provider ?? 'meta';
  const database = options.database ?? createSqliteDatabase();
  const manifest = readManifest();
  options.slackManifest?.(manifest);
  const slack = await startFakeSlack({
    botToken: BOT_TOKEN,
    manifest,
    ...(options.slackChannelPostRate ? { channelPostRate: options.slackChannelPostRate } : {}),
  });
  slack.addUser({ id: MARKETER, name: 'marketer' });
  slack.addUser({ id: LEAD, name: 'lead' });
  const meta = provider === 'meta' ? await startFakeMetaGraph() : null;
  if (meta && options.metaPhoneNumbers) meta.setPhoneNumbers(options.metaPhoneNumbers);
  const engagelab =
    provider === 'engagelab'
      ? await startFakeEngageLab({ devKey: ENGAGELAB_DEV_KEY, devSecret: ENGAGELAB_DEV_SECRET })
      : null;
  const env: Record<string, string> = {
    PORT: '0',
    DATABASE_URL: database.target.kind === 'sqlite' ? `sqlite:${database.target.path}` : database.target.url,
    LOG_LEVEL: 'info',
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.url,
    SLACK_CHANNEL_ID: CHANNEL_ID,
    WHATSAPP_PROVIDER: provider,
    MARKETERS: MARKETER,
    LEADS: LEAD,
    ...(meta
      ? { META_ACCESS_TOKEN, META_APP_SECRET, META_VERIFY_TOKEN, META_WABA_ID: WABA_ID, META_GRAPH_URL: meta.url }
      : {
          ENGAGELAB_DEV_KEY,
          ENGAGELAB_DEV_SECRET,
          ENGAGELAB_API_URL: engagelab?.url ?? '',
          ENGAGELAB_SENDING_NUMBERS: '+15550001111',
          ENGAGELAB_CALLBACK_TOKEN,
          PUBLIC_URL: 'http://127.0.0.1:1',
        }),
    ...options.env,
  };
  const config = loadConfig(env);
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString());
      if (process.env.BRIDGE_TEST_LOGS) process.stderr.write(chunk);
      callback();
    },
  });
  // The production logger, secrets masking included, at debug level so log-grep tests see everything.
  const logger = createLogger('debug', { destination, secrets: secretsOf(config) });
  const app = createBridgeApp({
    config,
    logger,
    pollIntervalMs: 20,
    slackPerChannelIntervalMs: options.slackPerChannelIntervalMs ?? 5,
    ...(options.now ? { clock: { now: options.now } } : {}),
    ...(options.jobBackoffMs ? { jobBackoffMs: options.jobBackoffMs } : {}),
    ...(options.homeRefresh ? { homeRefresh: options.homeRefresh } : {}),
    ...(options.campaignRetryBaseDelayMs !== undefined
      ? { campaignRetryBaseDelayMs: options.campaignRetryBaseDelayMs }
      : {}),
  });
  const { port } = await app.start();
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    config,
    slack,
    meta,
    engagelab,
    logs,
    async settle() {
      await app.runner.idle();
    },
    async stop() {
      await app.stop();
      await slack.close();
      await meta?.close();
      await engagelab?.close();
      if (!options.database) await database.drop();
      if (!options.expectSlackRuleViolations) slack.assertFollowedRules();
    },
  };
}
