import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, ExpressReceiver, LogLevel, SocketModeReceiver } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import express, { type NextFunction, type Request, type Response } from 'express';
import cron from 'node-cron';
import { type AgentReplyPayload, createAgentReplies } from './bridge/agent-replies.js';
import { createApiKeyAccess } from './bridge/api-key-access.js';
import { createCampaignDispatcher } from './bridge/campaigns/campaign-dispatcher.js';
import { createCampaignDrafts } from './bridge/campaigns/campaign-drafts.js';
import { createCampaignReporter } from './bridge/campaigns/campaign-reporter.js';
import { createTriggeredTemplates } from './bridge/campaigns/triggered-templates.js';
import { createConversationTemplates, type TemplateSendPayload } from './bridge/conversation-templates.js';
import { createConversationThreads, ThreadStartBusyError } from './bridge/conversation-threads.js';
import { createDeliveryStatusHandler } from './bridge/delivery-statuses.js';
import { createHistory, type HistoryFilter } from './bridge/history.js';
import {
  createHeaderRefreshHandler,
  createInboundMessageHandler,
  type HeaderRefreshPayload,
} from './bridge/inbound-messages.js';
import { JobKind } from './bridge/job-kinds.js';
import { validateNote } from './bridge/notes.js';
import { createOpenConversation } from './bridge/open-conversation.js';
import { createRoleCheck } from './bridge/permissions.js';
import { parseInternationalNumber } from './bridge/phone-number.js';
import type { ChannelRouting, JobQueue } from './bridge/ports.js';
import { createRetention } from './bridge/retention.js';
import { createTemplateCatalog } from './bridge/templates.js';
import { jobsForWebhookEvents } from './bridge/webhook-intake.js';
import { type Config, databasePassword } from './config.js';
import { createDatabase, type DatabaseHandle } from './db/create-db.js';
import { isMigrated, migrateToLatest } from './db/migrate.js';
import { createAgentSessionStore } from './db/stores/agent-session-store.js';
import { createApiKeyStore } from './db/stores/api-key-store.js';
import { createCampaignStore } from './db/stores/campaign-store.js';
import { createConversationStore } from './db/stores/conversation-store.js';
import { createJobStore, type NewJob } from './db/stores/job-store.js';
import { createMediaBlobStore } from './db/stores/media-blob-store.js';
import { createMessageStore } from './db/stores/message-store.js';
import { createProcessedEventStore } from './db/stores/processed-event-store.js';
import { createSendBudgetStore } from './db/stores/send-budget-store.js';
import { createSlackPostIntentStore } from './db/stores/slack-post-intent-store.js';
import { apiRoutes } from './http/api-routes.js';
import { healthRoute } from './http/health-route.js';
import { mediaRoute } from './http/media-route.js';
import { metricsRoute, safeEqual } from './http/metrics-route.js';
import { slackReplayGuard } from './http/slack-replay-guard.js';
import { closeConnectionIfBodyUnread } from './http/unread-body.js';
import { createWhatsAppWebhookHandler, isWhatsAppWebhookRequest } from './http/whatsapp-webhook-routes.js';
import { createIngestTracker, INGEST_PRIORITY_CONCURRENCY, PRESSURE_START_SPACING_MS } from './jobs/ingest-priority.js';
import {
  combineJobRunners,
  createJobRunner,
  type FailureDecision,
  type JobHandler,
  JobInterruptedError,
  type JobRunner,
  type JobRunnerOptions,
} from './jobs/job-runner.js';
import { createByteBudget } from './shared/byte-budget.js';
import { type Clock, systemClock } from './shared/clock.js';
import { csvLine } from './shared/csv.js';
import { createGroupCommit } from './shared/group-commit.js';
import { createHttpClient } from './shared/http-client.js';
import { createLatestWins } from './shared/latest-wins.js';
import { createLogger, type Logger } from './shared/logger.js';
import { createMetrics, type Metrics } from './shared/metrics.js';
import { guardAcknowledgements } from './slack/ack-guard.js';
import { boltLoggerFrom } from './slack/bolt-logger.js';
import { createCampaignSlackPort } from './slack/campaign-slack-port.js';
import { registerCampaignActions } from './slack/listeners/actions/campaign-actions.js';
import { registerSessionActions } from './slack/listeners/actions/session-actions.js';
import { registerTemplateFormActions } from './slack/listeners/actions/template-form-actions.js';
import {
  registerTemplatePickerActions,
  templatePickerRebuilder,
} from './slack/listeners/actions/template-picker-actions.js';
import { registerThreadHeaderActions } from './slack/listeners/actions/thread-header-actions.js';
import { apikeySubcommand } from './slack/listeners/commands/apikey-subcommand.js';
import { chatSubcommand } from './slack/listeners/commands/chat-subcommand.js';
import { sendSubcommand } from './slack/listeners/commands/send-subcommand.js';
import {
  historySubcommand,
  noteSubcommand,
  sessionsSubcommand,
} from './slack/listeners/commands/sessions-subcommands.js';
import { registerAppHomeEvents } from './slack/listeners/events/app-home-events.js';
import { registerMessageEvents } from './slack/listeners/events/message-events.js';
import { registerListeners } from './slack/listeners/register-listeners.js';
import { registerHistoryShortcuts } from './slack/listeners/shortcuts/history-shortcuts.js';
import {
  type CampaignPrepareRequest,
  registerCampaignSubmissions,
} from './slack/listeners/views/campaign-submissions.js';
import { registerHistoryModal } from './slack/listeners/views/history-submission.js';
import { registerNoteSubmission } from './slack/listeners/views/note-submission.js';
import { registerTemplatePickerSubmission } from './slack/listeners/views/template-picker-submission.js';
import { acknowledgeRefusals, answerRefusals } from './slack/request-guard.js';
import { createSingleWorkspaceAuthorize } from './slack/single-workspace-authorize.js';
import { createSlackConversationPort } from './slack/slack-conversation-port.js';
import { createSlackDirectory } from './slack/slack-directory.js';
import { describeSlackError, isTransientSlackError } from './slack/slack-errors.js';
import { slackFileUrls } from './slack/slack-file-hosts.js';
import { createSlackGateway, type SlackGateway } from './slack/slack-gateway.js';
import { createUserFileDelivery, describeFileDelivery } from './slack/user-file-delivery.js';
import {
  type CampaignFormMetadata,
  CampaignViewIds,
  campaignConfirmView,
  campaignFormView,
  campaignProblemView,
  INVALID_LINES_SHOWN,
} from './slack/views/campaign-views.js';
import { HistoryIds, type HistoryQuery, historyModal } from './slack/views/history-views.js';
import { type HomeState, homeView, noteModal, sessionsListMessage } from './slack/views/sessions-views.js';
import { parseViewState, variableValuesFrom } from './slack/views/template-form.js';
import { TEMPLATE_PICKER_CALLBACK } from './slack/views/template-picker-view.js';
import { createProvider } from './whatsapp/create-provider.js';
import { createMediaLinkSigner } from './whatsapp/media-links.js';
import { ProviderError } from './whatsapp/provider-errors.js';
import type { SandboxProvider } from './whatsapp/sandbox/sandbox-provider.js';
import type { InboundMessageEvent, StatusEvent, WhatsAppProvider } from './whatsapp/whatsapp-provider.js';

export const SLACK_EVENTS_PATH = '/slack/events';
const SLACK_BODY_LIMIT = '1mb';
/** How long Slack's answer about a user or user group counts for role checks. */
const ROLE_CACHE_MS = 60_000;
/** Agent replies and conversation templates sent at once (each conversation stays in order). */
const PROVIDER_BOUND_CONCURRENCY = 8;

export type BridgeAppOptions = {
  config: Config;
  logger?: Logger;
  clock?: Clock;
  /** Replaces the configured provider (sandbox, tests). */
  provider?: WhatsAppProvider;
  workerConcurrency?: number;
  campaignConcurrency?: number;
  /** First retry delay of a campaign recipient after a retryable failure; tests shorten it. */
  campaignRetryBaseDelayMs?: number;
  /** Pace of posts per Slack channel (Slack allows about one per second); tests shorten it. */
  slackPerChannelIntervalMs?: number;
  pollIntervalMs?: number;
  /** Backoff between job attempts (defaults: 1 s doubling up to 5 min); tests shorten it. */
  jobBackoffMs?: { base: number; max: number };
  /**
   * The database can no longer be used at all (SQLite's connection thread stopped). The process
   * entry point exits, so that its supervisor starts it again; everything acknowledged is stored.
   */
  onFatal?: (error: Error) => void;
};

export type BridgeApp = {
  /** Runs the retention purge now (it also runs on RETENTION_CRON). */
  purgeRetention(): Promise<{ messages: number; media: number; events: number; jobs: number; cutoff: number }>;
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
  readonly runner: JobRunner;
  readonly database: DatabaseHandle;
  readonly logger: Logger;
};

export function secretsOf(config: Config): string[] {
  const secrets = [config.slack.botToken, config.slack.signingSecret, config.slack.appToken ?? ''];
  secrets.push(config.metricsToken ?? '', databasePassword(config.database));
  if (config.whatsapp.provider === 'meta') {
    const m = config.whatsapp.meta;
    secrets.push(m.accessToken, m.appSecret, m.verifyToken);
  } else if (config.whatsapp.provider === 'engagelab') {
    const e = config.whatsapp.engagelab;
    secrets.push(e.devKey, e.devSecret, e.callbackToken);
  } else if (config.whatsapp.sandbox.webhookSecret) {
    secrets.push(config.whatsapp.sandbox.webhookSecret);
  }
  return secrets.filter((s) => s.length > 0);
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

export function createBridgeApp(options: BridgeAppOptions): BridgeApp {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel, { secrets: secretsOf(config) });
  const database = createDatabase(config.database, {
    backgroundCheckpoints: true,
    synchronous: config.sqliteSynchronous,
    onFailure: (error) => {
      logger.fatal({ err: error.message }, 'the SQLite connection stopped: nothing can be stored until a restart');
      options.onFatal?.(error);
    },
  });
  const { db } = database;
  const jobs = createJobStore(db, database.dialect);
  const mediaBlobs = createMediaBlobStore(db, clock.now);
  const mediaLinks = createMediaLinkSigner({
    publicUrl: config.publicUrl ?? `http://localhost:${config.port}`,
    // A dedicated key derived from the signing secret: links stay valid across restarts and replicas.
    secret: createHmac('sha256', config.slack.signingSecret).update('media-links').digest('hex'),
    now: clock.now,
  });
  const metrics: Metrics = createMetrics();
  // Every media transfer (provider → Slack, Slack → provider, campaign header files) holds its
  // file's size of this budget from download to upload; the rest wait their turn.
  const mediaBudget = createByteBudget(config.mediaMemoryBudgetBytes);
  const rawProvider =
    options.provider ??
    createProvider({
      config,
      http: createHttpClient({ timeoutMs: 15_000, retries: 2 }),
      mediaStore: mediaBlobs,
      mediaLinks,
      now: clock.now,
    });
  const provider: WhatsAppProvider = {
    ...rawProvider,
    name: rawProvider.name,
    async send(from, message, sendOptions) {
      try {
        const result = await rawProvider.send(from, message, sendOptions);
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

  // Background Slack calls: 429s surface at once so the gateway can pause the channel in order.
  const slackClient = new WebClient(config.slack.botToken, {
    slackApiUrl: config.slack.apiUrl,
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
    timeout: 15_000,
    logLevel: LogLevel.ERROR,
  });
  const gateway: SlackGateway = createSlackGateway({
    client: slackClient,
    logger: logger.child({ component: 'slack-gateway' }),
    onRateLimited: () => metrics.slackRateLimited.inc(),
    perChannelIntervalMs: options.slackPerChannelIntervalMs ?? config.slack.channelPostIntervalMs,
  });

  const conversations = createConversationStore(db);
  const messages = createMessageStore(db);
  const sessions = createAgentSessionStore(db, database.dialect);
  const processedEvents = createProcessedEventStore(db);
  const intents = createSlackPostIntentStore(db);
  const slack = createSlackConversationPort({
    gateway,
    http: createHttpClient({ timeoutMs: 120_000, retries: 2 }),
    botToken: config.slack.botToken,
    fileUrls: slackFileUrls(config.slack.apiUrl),
    now: clock.now,
  });
  const routeChannel: ChannelRouting = (sendingNumber) =>
    (sendingNumber && config.slack.channelBySendingNumber[sendingNumber.phone_number]) || config.slack.defaultChannelId;
  const threads = createConversationThreads({
    conversations,
    intents,
    slack,
    internalNotePrefix: config.chat.internalNotePrefix,
    routeChannel,
    now: clock.now,
    logger: logger.child({ component: 'threads' }),
  });
  const catalog = createTemplateCatalog({ list: () => provider.listTemplates(), now: clock.now });

  /** Wakes the runner that handles this kind of job (set once the runners exist). */
  let wakeRunnerFor: ((kind: string) => void) | undefined;
  let dispatcherRef: { wake(): void } | undefined;
  const jobQueue: JobQueue = {
    async enqueue(job) {
      const id = await jobs.enqueue(job, clock.now());
      wakeRunnerFor?.(job.kind);
      return id !== null;
    },
  };
  const agentReplies = createAgentReplies({
    conversations,
    messages,
    slack,
    provider,
    jobs: jobQueue,
    deliveries: processedEvents,
    mediaBudget,
    internalNotePrefix: config.chat.internalNotePrefix,
    signAgentName: config.chat.signAgentName,
    now: clock.now,
    logger: logger.child({ component: 'agent-replies' }),
  });
  const conversationTemplates = createConversationTemplates({
    conversations,
    messages,
    threads,
    slack,
    provider,
    catalog,
    jobs: jobQueue,
    intents,
    mediaBudget,
    now: clock.now,
    logger: logger.child({ component: 'templates' }),
  });
  const handleInbound = createInboundMessageHandler({
    conversations,
    messages,
    threads,
    slack,
    intents,
    jobs: jobQueue,
    provider,
    mediaBudget,
    now: clock.now,
    logger: logger.child({ component: 'inbound' }),
  });
  const refreshHeaderAtWindowClose = createHeaderRefreshHandler({ conversations, threads });
  const campaigns = createCampaignStore(db, database.dialect);
  const sendBudget = createSendBudgetStore(db);
  const apiKeys = createApiKeyStore(db);
  const campaignSlack = createCampaignSlackPort({
    gateway,
    http: createHttpClient({ timeoutMs: 10_000, retries: 1 }),
    logger: logger.child({ component: 'campaign-progress' }),
  });
  const deliverFileToUser = createUserFileDelivery({
    uploadToDm: (userId, file, comment) => campaignSlack.uploadToDm(userId, file, comment),
    keepForDownload: (file, expiresAt) =>
      mediaBlobs.save({ bytes: file.bytes, mimeType: file.mimeType, filename: file.filename }, expiresAt),
    downloadLink: config.publicUrl ? (id, ttlMs) => mediaLinks.linkFor(id, ttlMs) : null,
    now: clock.now,
    logger: logger.child({ component: 'file-delivery' }),
  });
  const reporter = createCampaignReporter({
    campaigns,
    slack: campaignSlack,
    now: clock.now,
    logger: logger.child({ component: 'campaign-progress' }),
  });
  // Roles are checked at every step that acts; Slack's answers are kept a minute.
  const directory = createSlackDirectory({ client: slackClient, ttlMs: ROLE_CACHE_MS, now: clock.now });
  const roleLookupFailed = (userId: string, error: unknown) =>
    logger.warn({ userId, err: String(error) }, 'could not check a role with Slack; refused');
  const mayLaunchCampaigns = createRoleCheck('MARKETERS', config.marketers, directory, roleLookupFailed);
  const isLead = createRoleCheck('LEADS', config.leads, directory, roleLookupFailed);
  const authenticateApiKey = createApiKeyAccess({
    keys: apiKeys,
    mayHoldKeys: mayLaunchCampaigns,
    ttlMs: config.apiKeyTtlMs,
    now: clock.now,
  });
  const drafts = createCampaignDrafts({
    campaigns,
    catalog,
    provider,
    downloadSlackFile: (url, maxBytes, memory) => slack.downloadFile(url, maxBytes, memory),
    mediaBudget,
    now: clock.now,
    logger: logger.child({ component: 'campaign-drafts' }),
  });
  const handleStatus = createDeliveryStatusHandler({
    messages,
    conversations,
    slack,
    intents,
    deliveries: processedEvents,
    now: clock.now,
    logger: logger.child({ component: 'statuses' }),
    otherListeners: [
      async (event) => {
        const firstError = event.errors[0];
        const campaignId = await campaigns.applyStatus(
          event.providerMessageId,
          event.status,
          firstError ? { code: firstError.code, detail: firstError.detail ?? firstError.title } : null,
          clock.now(),
        );
        if (campaignId) reporter.soon(campaignId);
        return campaignId !== null;
      },
    ],
  });
  const sendingNumbers = async () => {
    const known = await conversations.listSendingNumbers();
    if (known.length > 0) return known;
    await syncSendingNumbers();
    return conversations.listSendingNumbers();
  };
  const triggered = createTriggeredTemplates({
    campaigns,
    catalog,
    sendingNumbers,
    requests: {
      find: (keyId, idem) => apiKeys.findRequest(keyId, idem),
    },
    reportChannelId: config.slack.defaultChannelId,
    now: clock.now,
    wake: () => dispatcherRef?.wake(),
  });
  const openConversation = createOpenConversation({
    conversations,
    threads,
    sendingNumbers,
    addSession: (userId, contactId) => sessions.add(userId, contactId, clock.now()),
    now: clock.now,
  });

  async function syncSendingNumbers(): Promise<void> {
    const numbers = await provider.listSendingNumbers();
    await conversations.saveSendingNumbers(
      numbers.map((n) => ({
        id: n.id,
        provider: provider.name,
        phoneNumber: n.phoneNumber,
        displayName: n.displayName,
        health: n.health,
        healthReason: n.healthReason,
        qualityRating: n.qualityRating,
      })),
      clock.now(),
    );
  }

  // Work that ends in Slack (posting what came in) and work that ends at the provider (what agents
  // send) run in separate pools: a Slack rate limit that holds back posts in a channel, with their
  // jobs waiting it out, never leaves an agent's reply to a customer waiting for a free worker.
  const slackBoundHandlers: Record<string, JobHandler> = {
    [JobKind.inboundMessage]: (payload, context) => handleInbound(payload as InboundMessageEvent, context),
    [JobKind.deliveryStatus]: (payload, context) => handleStatus(payload as StatusEvent, context),
    [JobKind.headerRefresh]: (payload) => refreshHeaderAtWindowClose(payload as HeaderRefreshPayload),
    [JobKind.campaignPrepare]: (payload) => prepareCampaign(payload as CampaignPrepareRequest),
  };
  const providerBoundHandlers: Record<string, JobHandler> = {
    [JobKind.agentReply]: (payload, context) => agentReplies.send(payload as AgentReplyPayload, context),
    [JobKind.templateSend]: (payload, context) => conversationTemplates.send(payload as TemplateSendPayload, context),
  };

  const showCampaignView = (request: CampaignPrepareRequest, view: ReturnType<typeof campaignProblemView>) =>
    gateway
      .direct((client) => client.views.update({ view_id: request.viewId, view }))
      .catch((error: unknown) => {
        logger.info({ err: String(error) }, 'campaign modal no longer open');
        return null;
      });

  /** The preparation will not be tried again: the modal (if still open) and a DM say so. */
  async function reportPreparationGaveUp(request: CampaignPrepareRequest, error: unknown): Promise<void> {
    const problem =
      error instanceof JobInterruptedError
        ? `The recipients file could not be processed: reading it was interrupted ${error.maxAttempts} times (the app stopped while preparing the campaign). Check the file, or split it, and run \`/wa send\` again.`
        : `The campaign could not be prepared: ${error instanceof Error ? error.message : String(error)}`;
    await showCampaignView(request, campaignProblemView(problem));
    const channel = await campaignSlack.openDm(request.userId);
    await gateway.inChannel(channel, (client) =>
      client.chat.postMessage({ channel, text: `:warning: ${problem} Nothing was sent.` }),
    );
  }

  async function prepareCampaign(request: CampaignPrepareRequest): Promise<void> {
    const showView = (view: ReturnType<typeof campaignProblemView>) => showCampaignView(request, view);
    let result: Awaited<ReturnType<typeof drafts.prepare>>;
    try {
      result = await drafts.prepare({
        createdBy: request.userId,
        channelId: request.channelId,
        slackResponseUrl: request.responseUrl ?? null,
        sendingNumberId: request.sendingNumberId,
        templateName: request.templateName,
        language: request.language,
        values: request.values,
        headerFile: request.headerFile,
        typedRecipients: request.typedRecipients,
        recipientsFile: request.recipientsFile,
        scheduledAt: request.scheduledAt,
      });
    } catch (error) {
      if (error instanceof ProviderError && error.retryable) throw error;
      result = {
        ok: false,
        field: 'file',
        error: `The campaign could not be prepared: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    if (!result.ok) {
      await showView(campaignProblemView(result.error));
      return;
    }
    const number = await conversations.sendingNumber(request.sendingNumberId);
    let invalidLinesNote: string | null = null;
    if (result.summary.invalid.length > INVALID_LINES_SHOWN) {
      const lines = result.summary.invalid.map((i) => csvLine([i.line, i.input, i.reason])).join('');
      const filename = 'invalid-recipients.csv';
      const outcome = await deliverFileToUser(
        request.userId,
        {
          bytes: Buffer.from(`line,input,reason\r\n${lines}`),
          filename,
          title: 'Invalid recipient lines',
          mimeType: 'text/csv',
        },
        `${result.summary.invalid.length} recipient lines were invalid and will be skipped.`,
      );
      invalidLinesNote = describeFileDelivery(outcome, 'The full list', filename);
    }
    await showView(
      campaignConfirmView(result.summary, number?.phone_number ?? request.sendingNumberId, invalidLinesNote),
    );
  }

  async function exportCampaignCsv(campaignId: string, userId: string): Promise<string> {
    if (!(await mayLaunchCampaigns(userId)))
      return `:no_entry: Only ${mayLaunchCampaigns.holders} can export campaign reports.`;
    const campaign = await campaigns.get(campaignId);
    if (!campaign) return 'That campaign no longer exists.';
    const chunks: string[] = [
      csvLine(['phone_number', 'status', 'provider_message_id', 'error_code', 'error_detail', 'attempts']),
    ];
    let after = 0;
    for (;;) {
      const page = await campaigns.recipients(campaignId, after, 5000);
      if (page.length === 0) break;
      for (const r of page)
        chunks.push(
          csvLine([r.phone_number, r.status, r.provider_message_id, r.error_code, r.error_detail, r.attempts]),
        );
      after = page[page.length - 1]?.id ?? after;
    }
    const filename = `campaign-${campaign.template_name}-${campaignId.slice(0, 8)}.csv`;
    const outcome = await deliverFileToUser(
      userId,
      {
        bytes: Buffer.from(chunks.join('')),
        filename,
        title: `Campaign ${campaign.template_name} — per-recipient status`,
        mimeType: 'text/csv',
      },
      'Per-recipient status of your campaign.',
    );
    return describeFileDelivery(outcome, 'The per-recipient CSV', filename);
  }
  // Ingest first: while webhooks are arriving, background work (mostly posting to Slack, which
  // Slack paces at about one message per second per channel anyway) steps aside to a couple of
  // jobs at a time, and while they queue up (a burst) it starts at most 20 jobs a second, so
  // acknowledgements stay fast; the backlog drains right after. Agents' replies are not held back.
  const workerConcurrency = options.workerConcurrency ?? 16;
  const ingest = createIngestTracker();
  const workerId = `worker-${randomUUID()}`;
  const runnerOptions: Omit<JobRunnerOptions, 'handlers'> = {
    store: jobs,
    workerId,
    clock,
    logger: logger.child({ component: 'jobs' }),
    classifyFailure: (error) => {
      const slackError = describeSlackError(error);
      if (slackError.kind !== 'other')
        metrics.slackErrors.inc({ kind: slackError.kind === 'platform' ? slackError.error : slackError.kind });
      return classifyJobFailure(error);
    },
    onGaveUp: async (job, error) => {
      metrics.jobsFailed.inc({ kind: job.kind });
      if (job.kind === JobKind.inboundMessage) {
        // Never silent: the message stays in the history, marked as not shown in Slack.
        const event = job.payload as InboundMessageEvent;
        const row = await messages.byProviderId(event.providerMessageId);
        const reason = `could not be posted to Slack: ${error instanceof Error ? error.message : String(error)}`;
        if (row && !row.slack_ts) await messages.recordFailure(row.id, 'not_posted', reason, clock.now());
        logger.error(
          { providerMessageId: event.providerMessageId, reason },
          'an inbound WhatsApp message could not be posted to Slack; it is kept in the history',
        );
      }
      if (job.kind === JobKind.campaignPrepare)
        await reportPreparationGaveUp(job.payload as CampaignPrepareRequest, error);
    },
    pollIntervalMs: options.pollIntervalMs ?? 250,
    ...(options.jobBackoffMs
      ? { baseBackoffMs: options.jobBackoffMs.base, maxBackoffMs: options.jobBackoffMs.max }
      : {}),
    leaseMs: config.workLeaseMs,
  };
  const slackBoundRunner = createJobRunner({
    ...runnerOptions,
    handlers: slackBoundHandlers,
    concurrency: () => (ingest.busy(clock.now()) ? INGEST_PRIORITY_CONCURRENCY : workerConcurrency),
    startSpacingMs: () => (ingest.underPressure(clock.now()) ? PRESSURE_START_SPACING_MS : 0),
  });
  const providerBoundRunner = createJobRunner({
    ...runnerOptions,
    handlers: providerBoundHandlers,
    concurrency: PROVIDER_BOUND_CONCURRENCY,
  });
  const runner = combineJobRunners(slackBoundRunner, providerBoundRunner);
  // Only the runner that has work is woken: each claim walks that runner's due jobs.
  wakeRunnerFor = (kind) => (kind in providerBoundHandlers ? providerBoundRunner : slackBoundRunner).wake();
  const dispatcher = createCampaignDispatcher({
    campaigns,
    budget: sendBudget,
    provider,
    catalog,
    maxPerSecond: config.maxMessagesPerSecond,
    concurrency: options.campaignConcurrency ?? 32,
    workerId: runner.workerId,
    now: clock.now,
    logger: logger.child({ component: 'campaigns' }),
    onProgress: (id) => reporter.soon(id),
    onFinished: (id) => void reporter.now(id),
    leaseMs: config.workLeaseMs,
    retryBaseDelayMs: options.campaignRetryBaseDelayMs,
  });
  dispatcherRef = dispatcher;

  // Webhooks that arrive while a transaction is being written share the next one; each is
  // acknowledged only once its own jobs are committed. A transaction holds at most 500 jobs, so
  // a few webhooks carrying many events do not hold SQLite's single writer for long.
  const webhookIntake = createGroupCommit<NewJob[]>((lists) => jobs.enqueueAll(lists.flat(), clock.now()), {
    maxBatch: 500,
    sizeOf: (list) => list.length,
  });
  const enqueueWebhookJobs = (list: NewJob[]) => (list.length === 0 ? Promise.resolve() : webhookIntake.add(list));
  // The sandbox's simulated delivery statuses take the same durable path as real webhooks.
  if ('connect' in rawProvider && typeof rawProvider.connect === 'function') {
    (rawProvider as SandboxProvider).connect(async (events) => {
      await enqueueWebhookJobs(jobsForWebhookEvents(events));
      slackBoundRunner.wake();
    });
  }
  const expressApp = express();
  expressApp.disable('x-powered-by');
  let accepting = true;
  expressApp.use((_req: Request, res: Response, next: NextFunction) => {
    if (!accepting) {
      res.setHeader('connection', 'close');
      res.status(503).json({ error: 'shutting down' });
      return;
    }
    next();
  });

  expressApp.post(SLACK_EVENTS_PATH, slackReplayGuard());
  const boltLogger = boltLoggerFrom(logger);
  const socketMode = config.slack.appToken !== undefined;
  const receiver =
    config.slack.appToken !== undefined
      ? new SocketModeReceiver({
          appToken: config.slack.appToken,
          logger: boltLogger,
          installerOptions: { clientOptions: { slackApiUrl: config.slack.apiUrl } },
          processEventErrorHandler: acknowledgeRefusals,
        })
      : new ExpressReceiver({
          signingSecret: config.slack.signingSecret,
          endpoints: SLACK_EVENTS_PATH,
          app: expressApp,
          logger: boltLogger,
          bodyLimit: SLACK_BODY_LIMIT,
          // Acknowledge only after the listener ran: an agent reply is stored before Slack stops retrying.
          processBeforeResponse: true,
          // Malformed requests and other workspaces' get their 4xx instead of Bolt's 500 / 401.
          processEventErrorHandler: answerRefusals,
        });
  const bolt = new App({
    // Bolt's own single-token authorization calls auth.test on every incoming request when token
    // verification is deferred; this asks once, and again only after a failure. It also refuses
    // requests from any workspace but the installed one.
    authorize: createSingleWorkspaceAuthorize(slackClient, config.slack.botToken, logger.child({ component: 'slack' })),
    receiver,
    ...(socketMode ? { socketMode: true, appToken: config.slack.appToken } : {}),
    clientOptions: { slackApiUrl: config.slack.apiUrl },
    logger: boltLogger,
  });
  guardAcknowledgements(bolt, logger.child({ component: 'slack' }));

  // ---- Sessions, notes, history, retention -------------------------------------------------
  const history = createHistory({ repository: messages, isLead, leads: isLead.holders });
  const homeStates = new Map<string, HomeState>();
  // Publishes for one user run one at a time, the last one with the latest state and data.
  const republishHome = createLatestWins(renderAndPublishHome);
  async function publishHome(userId: string, state?: HomeState): Promise<void> {
    if (state) homeStates.set(userId, state);
    await republishHome(userId);
  }
  async function renderAndPublishHome(userId: string): Promise<void> {
    const current = homeStates.get(userId) ?? { query: '', sendingNumberId: null, page: 0 };
    homeStates.set(userId, current);
    const [mine, all, numbers] = await Promise.all([
      sessions.list(userId),
      conversations.searchContacts({
        query: current.query,
        sendingNumberId: current.sendingNumberId ?? undefined,
        limit: 15,
        offset: current.page * 15,
      }),
      conversations.listSendingNumbers(),
    ]);
    await gateway.direct((client) =>
      client.views.publish({
        user_id: userId,
        view: homeView({ mine, all, numbers, state: current, now: clock.now() }),
      }),
    );
  }
  async function saveNote(contactId: string, text: string): Promise<{ ok: true } | { ok: false; error: string }> {
    const checked = validateNote(text);
    if (!checked.ok) return checked;
    const contact = await conversations.getContact(contactId);
    if (!contact) return { ok: false, error: 'This conversation no longer exists.' };
    await conversations.setNote(contactId, checked.note, clock.now());
    const updated = await conversations.getContact(contactId);
    if (updated)
      await threads
        .refreshHeader(updated)
        .catch((error: unknown) => logger.warn({ err: String(error) }, 'refreshing the thread header failed'));
    return { ok: true };
  }
  function toFilter(
    query: HistoryQuery,
  ): { ok: true; filter: HistoryFilter } | { ok: false; field: string; error: string } {
    const filter: HistoryFilter = {};
    if (query.contactId) filter.contactIds = [query.contactId];
    if (query.phoneNumber) {
      const parsed = parseInternationalNumber(query.phoneNumber);
      if (!parsed.ok) return { ok: false, field: HistoryIds.numberBlock, error: parsed.reason };
      filter.phoneNumber = parsed.e164;
    }
    if (query.sendingNumberId) filter.sendingNumberId = query.sendingNumberId;
    if (query.from) filter.from = Date.parse(`${query.from}T00:00:00Z`);
    if (query.to) filter.to = Date.parse(`${query.to}T00:00:00Z`) + 24 * 60 * 60 * 1000;
    if (filter.from !== undefined && filter.to !== undefined && filter.from >= filter.to) {
      return { ok: false, field: HistoryIds.toBlock, error: 'The end date must be on or after the start date.' };
    }
    return { ok: true, filter };
  }
  async function renderHistory(userId: string, query: HistoryQuery) {
    const checked = toFilter(query);
    if (!checked.ok) return checked;
    const [results, numbers, canExport] = await Promise.all([
      history.page(userId, checked.filter, query.page),
      conversations.listSendingNumbers(),
      isLead(userId),
    ]);
    let title = 'WhatsApp history';
    if (query.contactId) {
      const contact = await conversations.getContact(query.contactId);
      if (contact?.phone_number) title = `History ${contact.phone_number}`;
    }
    return { ok: true as const, view: historyModal({ query, numbers, results, canExport, title }) };
  }
  async function openHistory(triggerId: string, userId: string, query: Partial<HistoryQuery>): Promise<void> {
    const full: HistoryQuery = {
      phoneNumber: null,
      sendingNumberId: null,
      contactId: null,
      from: null,
      to: null,
      page: 0,
      ...query,
    };
    const rendered = await renderHistory(userId, full);
    const view = rendered.ok
      ? rendered.view
      : historyModal({
          query: full,
          numbers: await conversations.listSendingNumbers(),
          results: null,
          canExport: false,
        });
    await slackClient.views.open({ trigger_id: triggerId, view });
  }
  const purgeRetention = createRetention({
    stores: {
      purgeMessageContent: (cutoff, now) => messages.purgeContentBefore(cutoff, now),
      purgeMedia: (cutoff) => mediaBlobs.purgeOlderThan(cutoff),
      // Post intents are removed when their post is recorded; old ones are left by given-up jobs.
      purgeProcessedEvents: async (cutoff) =>
        (await processedEvents.purgeOlderThan(cutoff)) + (await intents.purgeOlderThan(cutoff)),
      purgeFinishedJobs: (cutoff) => jobs.purgeFinished(cutoff),
      purgeCampaignVariables: async (cutoff) =>
        (await campaigns.purgeRecipientVariables(cutoff)) + (await campaigns.purgeCampaignParameters(cutoff)),
      purgeApiRequests: (cutoff) => apiKeys.purgeRequestsBefore(cutoff),
      purgeDrafts: (cutoff) => campaigns.purgeDrafts(cutoff),
    },
    retentionDays: config.retentionDays,
    now: clock.now,
    logger: logger.child({ component: 'retention' }),
  });

  const contactLabel = async (contactId: string) => {
    const contact = await conversations.getContact(contactId);
    if (!contact) return null;
    return contact.profile_name
      ? `${contact.profile_name} (${contact.phone_number ?? ''})`
      : (contact.phone_number ?? contact.id);
  };
  registerListeners(bolt, {
    subcommands: new Map([
      ['chat', chatSubcommand({ openConversation, permalink: (c, ts) => slack.permalink(c, ts) })],
      ['send', sendSubcommand({ client: slackClient, mayLaunchCampaigns, sendingNumbers, catalog, logger })],
      [
        'sessions',
        sessionsSubcommand({
          list: async (userId) =>
            sessionsListMessage(await sessions.list(userId), clock.now(), await conversations.listSendingNumbers()),
        }),
      ],
      [
        'note',
        noteSubcommand({
          contactsOf: (e164) => conversations.contactsByPhone(e164),
          saveNote: (contactId, note) => saveNote(contactId, note),
        }),
      ],
      [
        'history',
        historySubcommand({
          open: async (triggerId, userId, number) => {
            await openHistory(triggerId, userId, { phoneNumber: number });
            return undefined;
          },
        }),
      ],
      [
        'apikey',
        apikeySubcommand({
          mayManage: mayLaunchCampaigns,
          create: (name, userId) => apiKeys.create(name, userId, clock.now(), clock.now() + config.apiKeyTtlMs),
          revoke: (id, userId) => apiKeys.revoke(id, userId, clock.now()),
          list: (limit) => apiKeys.list(limit),
          ttlMs: config.apiKeyTtlMs,
          now: clock.now,
        }),
      ],
    ]),
    register: [
      (app) =>
        registerMessageEvents(app, {
          acceptAgentMessage: (message) => agentReplies.accept(message),
          headerDeleted: async (channelId, ts) => {
            const thread = await conversations.threadByTs(channelId, ts);
            if (thread) await conversations.deactivateThread(thread.id);
          },
          logger: logger.child({ component: 'slack-events' }),
        }),
      (app) =>
        registerThreadHeaderActions(app, {
          addSession: (userId, contactId) => sessions.add(userId, contactId, clock.now()),
        }),
      (app) => registerTemplatePickerActions(app, { catalog, contactLabel, logger }),
      (app) => registerAppHomeEvents(app, { publishHome: (userId) => publishHome(userId) }),
      (app) =>
        registerSessionActions(app, {
          publishHome,
          removeSession: async (userId, contactId) => {
            await sessions.remove(userId, contactId);
          },
          startChat: async (userId, contactId) => {
            const contact = await conversations.getContact(contactId);
            if (!contact) return { ok: false, error: 'That conversation no longer exists.' };
            const thread = await threads.ensureThreadWaiting(contact);
            const session = await sessions.add(userId, contactId, clock.now());
            const permalink = await slack.permalink(thread.slack_channel_id, thread.thread_ts);
            return { ok: true, channelId: thread.slack_channel_id, permalink, session };
          },
          openNoteModal: async (triggerId, contactId, origin) => {
            const contact = await conversations.getContact(contactId);
            if (contact) await slackClient.views.open({ trigger_id: triggerId, view: noteModal(contact, origin) });
          },
          openHistoryFor: (triggerId, userId, contactId) => openHistory(triggerId, userId, { contactId }),
        }),
      (app) =>
        registerNoteSubmission(app, {
          saveNote: (_userId, contactId, text) => saveNote(contactId, text),
          publishHome: (userId) => publishHome(userId),
        }),
      (app) =>
        registerHistoryShortcuts(app, {
          openHistory: (triggerId, userId, query) => openHistory(triggerId, userId, query),
          contactOfThread: async (channelId, threadTs) =>
            (await conversations.threadByTs(channelId, threadTs))?.contact_id ?? null,
          tellUser: async (channelId, userId, text) => {
            await gateway
              .direct((client) => client.chat.postEphemeral({ channel: channelId, user: userId, text }))
              .catch(() => {});
          },
        }),
      (app) =>
        registerHistoryModal(app, {
          render: renderHistory,
          exportCsv: async (userId, query) => {
            const checked = toFilter(query);
            if (!checked.ok) return checked.error;
            const result = await history.exportCsv(userId, checked.filter);
            if (!result.ok) return `:no_entry: ${result.error}`;
            const filename = 'whatsapp-history.csv';
            const outcome = await deliverFileToUser(
              userId,
              { bytes: result.csv, filename, title: 'WhatsApp history export', mimeType: 'text/csv' },
              `${result.rows} messages exported.`,
            );
            return describeFileDelivery(outcome, `The CSV (${result.rows} messages)`, filename);
          },
        }),
      (app) =>
        registerTemplatePickerSubmission(app, {
          catalog,
          isMarketer: mayLaunchCampaigns,
          queueTemplate: (request) => conversationTemplates.queue(request),
        }),
      (app) =>
        registerTemplateFormActions(
          app,
          {
            [TEMPLATE_PICKER_CALLBACK]: templatePickerRebuilder({ catalog, contactLabel, logger }),
            [CampaignViewIds.formCallback]: async ({ view, client, field, value }) => {
              const metadata = JSON.parse(view.private_metadata || '{}') as CampaignFormMetadata;
              const next: CampaignFormMetadata = { ...metadata, [field]: value };
              if (field === 'templateName') next.language = null;
              const [numbers, templates] = await Promise.all([sendingNumbers(), catalog.approved()]);
              await client.views.update({
                view_id: view.id,
                hash: view.hash,
                view: campaignFormView({
                  metadata: next,
                  numbers,
                  templates,
                  values: variableValuesFrom(parseViewState(view.state?.values)),
                }),
              });
            },
          },
          { [CampaignViewIds.numberAction]: 'sendingNumberId' },
        ),
      (app) =>
        registerCampaignSubmissions(app, {
          catalog,
          isUsableNumber: async (id) => (await conversations.sendingNumber(id))?.health === 'connected',
          mayLaunchCampaigns,
          queuePreparation: async (request) => {
            await jobQueue.enqueue({
              kind: JobKind.campaignPrepare,
              payload: request,
              idempotencyKey: `prepare:${request.viewId}`,
              maxAttempts: 5,
            });
          },
          confirm: async (draftId, userId) => {
            const draft = await campaigns.get(draftId);
            if (!draft || draft.created_by !== userId)
              return { ok: false, error: 'This campaign draft no longer exists; run /wa send again.' };
            if (await drafts.confirm(draftId)) {
              dispatcher.wake();
              // The report can take a moment for a large campaign; the modal must close within 3 s.
              void reporter.now(draftId);
            }
            return { ok: true };
          },
        }),
      (app) =>
        registerCampaignActions(app, {
          cancel: async (campaignId, userId) => {
            if (!(await mayLaunchCampaigns(userId)))
              return `:no_entry: Only ${mayLaunchCampaigns.holders} can cancel campaigns.`;
            if (!(await campaigns.get(campaignId))) return 'That campaign no longer exists.';
            const cancelled = await campaigns.cancel(campaignId, clock.now());
            await reporter.now(campaignId);
            return cancelled
              ? 'Campaign cancelled: recipients not yet sent will not receive it.'
              : 'This campaign has already finished.';
          },
          exportCsv: exportCampaignCsv,
        }),
    ],
  });

  const handleWhatsAppWebhook = createWhatsAppWebhookHandler({
    provider,
    logger: logger.child({ component: 'webhook' }),
    accepting: () => accepting,
    accept: async (events) => {
      for (const event of events) if (event.kind === 'status') metrics.statuses.inc({ status: event.status });
      await enqueueWebhookJobs(jobsForWebhookEvents(events));
      slackBoundRunner.wake();
    },
    onStarted: () => ingest.started(clock.now()),
    onFinished: () => ingest.finished(clock.now()),
    onResult: (outcome, durationMs) => {
      metrics.webhooks.inc({ outcome });
      if (outcome === 'accepted') metrics.webhookAckSeconds.observe(durationMs / 1000);
    },
  });
  expressApp.use(apiRoutes({ authenticate: authenticateApiKey, templates: triggered }));
  expressApp.use(
    metricsRoute({
      registry: metrics.registry,
      authorize: async (token) => {
        if (config.metricsToken !== undefined && safeEqual(token, config.metricsToken)) return { ok: true };
        const access = await authenticateApiKey(token);
        if (access.ok) return { ok: true };
        return access.status === 403 ? { ok: false, status: 403, error: access.error } : { ok: false, status: 401 };
      },
      refresh: async () => {
        metrics.queueDepth.reset();
        metrics.queueOldestSeconds.reset();
        for (const depth of await jobs.depths()) {
          metrics.queueDepth.set({ kind: depth.kind }, depth.pending);
          if (depth.oldestRunAt !== null)
            metrics.queueOldestSeconds.set({ kind: depth.kind }, Math.max(0, (clock.now() - depth.oldestRunAt) / 1000));
        }
        metrics.campaignRecipients.reset();
        for (const campaign of await campaigns.active(clock.now())) {
          const counts = await campaigns.counts(campaign.id);
          for (const [status, count] of Object.entries(counts))
            metrics.campaignRecipients.set({ campaign: campaign.id, status }, count);
        }
      },
    }),
  );
  expressApp.use(mediaRoute({ links: mediaLinks, load: (id) => mediaBlobs.load(id) }));
  expressApp.use(
    healthRoute(async () => {
      await database.ping();
      return isMigrated(db);
    }),
  );
  expressApp.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });
  // Body-parser errors (too large, malformed) are the client's fault: 4xx, never a 5xx or a crash.
  expressApp.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof error === 'object' && error !== null && 'status' in error ? Number(error.status) : 500;
    if (status >= 400 && status < 500) {
      res.status(status).json({ error: status === 413 ? 'request body too large' : 'bad request' });
      return;
    }
    logger.error({ err: error instanceof Error ? error.message : String(error) }, 'request failed');
    res.status(500).json({ error: 'internal error' });
  });

  let server: Server | undefined;
  let numberSync: NodeJS.Timeout | undefined;
  let retentionTask: { stop(): unknown } | undefined;

  return {
    purgeRetention,
    runner,
    database,
    logger,
    async start() {
      await migrateToLatest(db);
      if (database.dialect === 'sqlite') {
        // SQLite means one process: leases left by a crashed run belong to nobody.
        const released = await jobs.releaseAllLeases(clock.now());
        await intents.releaseAllLeases();
        if (released > 0) logger.info({ released }, 'resumed jobs interrupted by the last shutdown');
      }
      // Provider webhooks take the plain node:http path (see whatsapp-webhook-routes.ts); the rest is express.
      const httpServer = createServer((req, res) => {
        closeConnectionIfBodyUnread(req, res);
        if (isWhatsAppWebhookRequest(req)) handleWhatsAppWebhook(req, res);
        else expressApp(req, res);
      });
      server = httpServer;
      httpServer.headersTimeout = 20_000;
      httpServer.requestTimeout = 30_000;
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, () => resolve());
      });
      if (socketMode) await bolt.start();
      runner.start();
      dispatcher.start();
      syncSendingNumbers().catch((error: unknown) =>
        logger.warn({ err: String(error) }, 'listing sending numbers failed; will retry'),
      );
      numberSync = setInterval(() => {
        syncSendingNumbers().catch((error: unknown) =>
          logger.warn({ err: String(error) }, 'listing sending numbers failed'),
        );
      }, 10 * 60_000);
      numberSync.unref();
      retentionTask = cron.schedule(config.retentionCron, () => {
        purgeRetention().catch((error: unknown) => logger.error({ err: String(error) }, 'retention purge failed'));
      });
      const port = (httpServer.address() as AddressInfo).port;
      logger.info({ port, database: database.dialect, provider: provider.name, socketMode }, 'bridge started');
      logger.info({ marketers: mayLaunchCampaigns.holders, leads: isLead.holders }, 'roles');
      return { port };
    },
    async stop() {
      accepting = false;
      if (numberSync) clearInterval(numberSync);
      await retentionTask?.stop();
      const httpServer = server;
      if (httpServer) {
        await new Promise<void>((resolve) => {
          httpServer.close(() => resolve());
          httpServer.closeIdleConnections();
          setTimeout(() => httpServer.closeAllConnections(), 5_000).unref();
        });
      }
      if (socketMode) await bolt.stop().catch(() => {});
      await dispatcher.stop();
      await runner.stop();
      await reporter.flush().catch(() => {});
      await database.close();
      logger.info('bridge stopped');
    },
  };
}
