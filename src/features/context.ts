import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { LogLevel } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import {
  type ConversationThreads,
  createConversationThreads,
  ThreadStartBusyError,
} from '../bridge/conversation-threads.js';
import { createOptOuts, describeOptOut, type OptOuts } from '../bridge/opt-outs.js';
import { createRoleCheck, type RoleCheck } from '../bridge/permissions.js';
import type { ChannelRouting, SlackConversationPort } from '../bridge/ports.js';
import type { SendingNumberRecord } from '../bridge/records.js';
import { createTemplateCatalog, type TemplateCatalog } from '../bridge/templates.js';
import type { Config } from '../config.js';
import { createDatabase, type DatabaseHandle } from '../db/create-db.js';
import { type ConversationStore, createConversationStore } from '../db/stores/conversation-store.js';
import { createJobStore, type JobStore } from '../db/stores/job-store.js';
import { createMediaBlobStore, type MediaBlobStore } from '../db/stores/media-blob-store.js';
import { createMessageStore, type MessageStore } from '../db/stores/message-store.js';
import { createOptOutStore } from '../db/stores/opt-out-store.js';
import { createSlackPostIntentStore, type SlackPostIntentStore } from '../db/stores/slack-post-intent-store.js';
import { createIngestTracker, type IngestTracker } from '../jobs/ingest-priority.js';
import { createJobPools, type JobPools } from '../jobs/job-pools.js';
import type { FailureDecision } from '../jobs/job-runner.js';
import { type ByteBudget, createByteBudget } from '../shared/byte-budget.js';
import type { Clock } from '../shared/clock.js';
import { createHttpClient } from '../shared/http-client.js';
import type { Logger } from '../shared/logger.js';
import { createMetrics, type Metrics } from '../shared/metrics.js';
import { createDirectMessages, type DirectMessages } from '../slack/direct-messages.js';
import { createSlackConversationPort } from '../slack/slack-conversation-port.js';
import { createSlackDirectory } from '../slack/slack-directory.js';
import { describeSlackError, isTransientSlackError } from '../slack/slack-errors.js';
import { slackFileUrls } from '../slack/slack-file-hosts.js';
import { createSlackGateway, type SlackGateway } from '../slack/slack-gateway.js';
import { createUserFileDelivery, type UserFileDelivery } from '../slack/user-file-delivery.js';
import { createProvider } from '../whatsapp/create-provider.js';
import { createMediaLinkSigner, type MediaLinkSigner } from '../whatsapp/media-links.js';
import { ProviderError } from '../whatsapp/provider-errors.js';
import type { WhatsAppProvider } from '../whatsapp/whatsapp-provider.js';
import type { HomeRefreshTiming } from './sessions-history/home-refresh.js';

/** How long Slack's answer about a user or user group counts for role checks. */
const ROLE_CACHE_MS = 60_000;
/** How often the provider is asked for the sending numbers and their health. */
const NUMBER_SYNC_INTERVAL_MS = 10 * 60_000;

/** Knobs tests and benchmarks turn; production uses the defaults. */
export type Tuning = {
  workerConcurrency?: number;
  campaignConcurrency?: number;
  /** First retry delay of a campaign recipient after a retryable failure. */
  campaignRetryBaseDelayMs?: number;
  /** Pace of posts per Slack channel (Slack allows about one per second). */
  slackPerChannelIntervalMs?: number;
  pollIntervalMs?: number;
  /** Backoff between job attempts (defaults: 1 s doubling up to 5 min). */
  jobBackoffMs?: { base: number; max: number };
  /** App Home's background refresh (defaults: src/features/sessions-history/home-refresh.ts). */
  homeRefresh?: Partial<HomeRefreshTiming>;
};

/**
 * What every feature shares: configuration, clock and logs, the database and its job pools, the
 * WhatsApp provider, Slack (client, paced gateway, conversation port, DMs), roles, the template
 * catalog, media and file delivery, and the conversations every feature is about (contacts and
 * sending numbers, their messages, and each conversation's Slack thread). Each feature builds its
 * own stores, services, jobs and listeners on top (src/features/*).
 */
export type AppContext = {
  config: Config;
  clock: Clock;
  logger: Logger;
  tuning: Tuning;
  database: DatabaseHandle;
  metrics: Metrics;
  jobs: JobPools;
  jobStore: JobStore;
  ingest: IngestTracker;
  /** The configured provider with its sends counted in the metrics. */
  provider: WhatsAppProvider;
  /** The provider as built, before metering (the sandbox's own hooks live on it). */
  rawProvider: WhatsAppProvider;
  slack: { client: WebClient; gateway: SlackGateway; conversations: SlackConversationPort; dms: DirectMessages };
  roles: { marketers: RoleCheck; leads: RoleCheck };
  templates: TemplateCatalog;
  /** Contacts, sending numbers and their threads: the store every feature reads. */
  conversations: ConversationStore;
  messages: MessageStore;
  /** Slack posts announced before they are made (each posted once). */
  postIntents: SlackPostIntentStore;
  /** Each conversation's Slack thread: started, headed, replaced when gone. */
  threads: ConversationThreads;
  sendingNumbers: {
    /** The numbers known; asks the provider when none are yet. */
    list(): Promise<SendingNumberRecord[]>;
    /** Lists the provider's numbers now and every 10 minutes; returns how to stop. */
    keepInSync(): () => void;
  };
  media: { blobs: MediaBlobStore; links: MediaLinkSigner; budget: ByteBudget };
  deliverFile: UserFileDelivery;
  /** The marketing suppression list of the WhatsApp account (the header shows a customer's opt-out). */
  optOuts: OptOuts;
};

/**
 * The WhatsApp account whose suppression list applies. Opting out is from the business, so the
 * list belongs to the provider account all sending numbers hang off, not to one number: Meta's
 * WhatsApp Business Account (META_WABA_ID; every number the bridge lists comes from it), the one
 * EngageLab account the API keys open, the sandbox.
 */
export function whatsappAccountId(config: Config): string {
  if (config.whatsapp.provider === 'meta') return `meta:${config.whatsapp.meta.wabaId}`;
  return config.whatsapp.provider;
}

/** Retry what may succeed later (outages, rate limits); give up on what never will. */
export function classifyJobFailure(error: unknown): FailureDecision {
  if (error instanceof ProviderError) {
    return error.retryable
      ? { retry: true, ...(error.retryAfterMs ? { delayMs: error.retryAfterMs } : {}) }
      : { retry: false };
  }
  // Another worker is posting this conversation's thread header: look again in a moment.
  if (error instanceof ThreadStartBusyError) return { retry: true, delayMs: 1_000 + Math.round(Math.random() * 1_000) };
  if (isTransientSlackError(error)) return { retry: true };
  // Anything else (a missing scope, the bot not in the channel, a bug) may be fixed by the
  // operator: keep retrying with backoff; the job's attempt budget bounds it.
  return { retry: true };
}

function meteredProvider(provider: WhatsAppProvider, metrics: Metrics): WhatsAppProvider {
  return {
    ...provider,
    name: provider.name,
    async send(from, message, sendOptions) {
      try {
        const result = await provider.send(from, message, sendOptions);
        metrics.sends.inc({ result: 'accepted' });
        return result;
      } catch (error) {
        metrics.sends.inc({ result: 'failed' });
        metrics.providerErrors.inc({
          code: error instanceof ProviderError ? (error.providerCode ?? error.code) : 'unexpected',
        });
        throw error;
      }
    },
  };
}

export function createAppContext(input: {
  config: Config;
  clock: Clock;
  logger: Logger;
  tuning: Tuning;
  provider?: WhatsAppProvider;
  onFatal?: (error: Error) => void;
}): AppContext {
  const { config, clock, logger, tuning } = input;
  const database = createDatabase(config.database, {
    backgroundCheckpoints: true,
    synchronous: config.sqliteSynchronous,
    onFailure: (error) => {
      logger.fatal({ err: error.message }, 'the SQLite connection stopped: nothing can be stored until a restart');
      input.onFatal?.(error);
    },
  });
  const metrics = createMetrics();
  const mediaBlobs = createMediaBlobStore(database.db, clock.now);
  const mediaLinks = createMediaLinkSigner({
    publicUrl: config.publicUrl ?? `http://localhost:${config.port}`,
    // A dedicated key derived from the signing secret: links stay valid across restarts and replicas.
    secret: createHmac('sha256', config.slack.signingSecret).update('media-links').digest('hex'),
    now: clock.now,
  });
  const rawProvider =
    input.provider ??
    createProvider({
      config,
      http: createHttpClient({ timeoutMs: 15_000, retries: 2 }),
      mediaStore: mediaBlobs,
      mediaLinks,
      now: clock.now,
    });
  const provider = meteredProvider(rawProvider, metrics);
  const slack = connectSlack(config, clock, logger, metrics, tuning);
  const conversations = createConversationStore(database.db);
  const postIntents = createSlackPostIntentStore(database.db);
  const optOuts = createOptOuts({
    repository: createOptOutStore(database.db),
    accountId: whatsappAccountId(config),
    settings: config.optOuts,
    now: clock.now,
    logger: logger.child({ component: 'opt-outs' }),
  });
  const routeChannel: ChannelRouting = (sendingNumber) =>
    (sendingNumber && config.slack.channelBySendingNumber[sendingNumber.phone_number]) || config.slack.defaultChannelId;
  return {
    config,
    clock,
    logger,
    tuning,
    database,
    metrics,
    ...createWork(database, config, clock, logger, metrics, tuning),
    provider,
    rawProvider,
    slack: slack.parts,
    roles: slack.roles,
    templates: createTemplateCatalog({ list: () => provider.listTemplates(), now: clock.now }),
    conversations,
    messages: createMessageStore(database.db),
    postIntents,
    threads: createConversationThreads({
      conversations,
      intents: postIntents,
      slack: slack.parts.conversations,
      internalNotePrefix: config.chat.internalNotePrefix,
      optOutOf: async (contact) => {
        const entry = contact.phone_number ? await optOuts.state(contact.phone_number) : null;
        return entry ? { at: entry.at, why: describeOptOut(entry) } : null;
      },
      routeChannel,
      now: clock.now,
      logger: logger.child({ component: 'threads' }),
    }),
    sendingNumbers: sendingNumbersOf(provider, conversations, clock, logger),
    media: { blobs: mediaBlobs, links: mediaLinks, budget: createByteBudget(config.mediaMemoryBudgetBytes) },
    deliverFile: createUserFileDelivery({
      uploadToDm: (userId, file, comment) => slack.parts.dms.upload(userId, file, comment),
      // Only when Slack refused the DM: a file on disk is read into memory to be kept.
      keepForDownload: async (file, expiresAt) =>
        mediaBlobs.save(
          {
            bytes: 'bytes' in file ? file.bytes : await readFile(file.path),
            mimeType: file.mimeType,
            filename: file.filename,
          },
          expiresAt,
        ),
      downloadLink: config.publicUrl ? (id, ttlMs) => mediaLinks.linkFor(id, ttlMs) : null,
      now: clock.now,
      logger: logger.child({ component: 'file-delivery' }),
    }),
    optOuts,
  };
}

/** The Slack client for background calls, its paced gateway, and what is built on them. */
function connectSlack(config: Config, clock: Clock, logger: Logger, metrics: Metrics, tuning: Tuning) {
  // Background Slack calls: 429s surface at once so the gateway can pause the channel in order.
  const client = new WebClient(config.slack.botToken, {
    slackApiUrl: config.slack.apiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: 15_000,
    logLevel: LogLevel.ERROR,
  });
  const gateway = createSlackGateway({
    client,
    logger: logger.child({ component: 'slack-gateway' }),
    onRateLimited: () => metrics.slackRateLimited.inc(),
    perChannelIntervalMs: tuning.slackPerChannelIntervalMs ?? config.slack.channelPostIntervalMs,
  });
  // Roles are checked at every step that acts; Slack's answers are kept a minute.
  const directory = createSlackDirectory({ client, ttlMs: ROLE_CACHE_MS, now: clock.now });
  const roleLookupFailed = (userId: string, error: unknown) =>
    logger.warn({ userId, err: String(error) }, 'could not check a role with Slack; refused');
  const fileHttp = createHttpClient({ timeoutMs: 120_000, retries: 2 });
  const fileUrls = slackFileUrls(config.slack.apiUrl);
  return {
    parts: {
      client,
      gateway,
      dms: createDirectMessages(gateway, { http: fileHttp, fileUrls }),
      conversations: createSlackConversationPort({
        gateway,
        http: fileHttp,
        botToken: config.slack.botToken,
        fileUrls,
        now: clock.now,
      }),
    },
    roles: {
      marketers: createRoleCheck('MARKETERS', config.marketers, directory, roleLookupFailed),
      leads: createRoleCheck('LEADS', config.leads, directory, roleLookupFailed),
    },
  };
}

/** The durable job table and its two worker pools (features register their job kinds). */
function createWork(
  database: DatabaseHandle,
  config: Config,
  clock: Clock,
  logger: Logger,
  metrics: Metrics,
  tuning: Tuning,
) {
  const jobStore = createJobStore(database.db, database.dialect);
  const ingest = createIngestTracker();
  const jobs = createJobPools({
    store: jobStore,
    clock,
    logger: logger.child({ component: 'jobs' }),
    ingest,
    classifyFailure: (error) => {
      const slackError = describeSlackError(error);
      if (slackError.kind !== 'other')
        metrics.slackErrors.inc({ kind: slackError.kind === 'platform' ? slackError.error : slackError.kind });
      return classifyJobFailure(error);
    },
    onGaveUp: async (job) => {
      metrics.jobsFailed.inc({ kind: job.kind });
    },
    slackBoundConcurrency: tuning.workerConcurrency ?? 16,
    pollIntervalMs: tuning.pollIntervalMs ?? 250,
    leaseMs: config.workLeaseMs,
    ...(tuning.jobBackoffMs ? { backoffMs: tuning.jobBackoffMs } : {}),
  });
  return { jobStore, ingest, jobs };
}

/** The provider's sending numbers as last listed (with their health), kept in the database. */
function sendingNumbersOf(
  provider: WhatsAppProvider,
  conversations: ConversationStore,
  clock: Clock,
  logger: Logger,
): AppContext['sendingNumbers'] {
  const sync = async () => {
    const numbers = await provider.listSendingNumbers();
    await conversations.saveSendingNumbers(
      numbers.map((n) => ({ ...n, provider: provider.name })),
      clock.now(),
    );
  };
  return {
    async list() {
      const known = await conversations.listSendingNumbers();
      if (known.length > 0) return known;
      await sync();
      return conversations.listSendingNumbers();
    },
    keepInSync() {
      const syncLogged = (when: string) =>
        sync().catch((error: unknown) => logger.warn({ err: String(error) }, `listing sending numbers failed${when}`));
      void syncLogged('; will retry');
      const timer = setInterval(() => void syncLogged(''), NUMBER_SYNC_INTERVAL_MS);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
