import { createApiKeyAccess } from '../../bridge/api-key-access.js';
import { createCampaignDispatcher } from '../../bridge/campaigns/campaign-dispatcher.js';
import { createCampaignDrafts } from '../../bridge/campaigns/campaign-drafts.js';
import { createCampaignPauses } from '../../bridge/campaigns/campaign-pauses.js';
import { createCampaignReporter } from '../../bridge/campaigns/campaign-reporter.js';
import { type AllowanceCheck, checkAllowance, messagingTier } from '../../bridge/campaigns/messaging-limits.js';
import { createTriggeredTemplates } from '../../bridge/campaigns/triggered-templates.js';
import { JobKind } from '../../bridge/job-kinds.js';
import { isMarketingCategory, STOPPED_MARKETING_ERROR } from '../../bridge/opt-outs.js';
import { createApiKeyStore } from '../../db/stores/api-key-store.js';
import {
  type CampaignAllowance,
  type CampaignControlStore,
  createCampaignControlStore,
} from '../../db/stores/campaign-control-store.js';
import { createCampaignResultsStore } from '../../db/stores/campaign-results-store.js';
import { type CampaignStore, createCampaignStore, OPTED_OUT_AT_SEND_TIME } from '../../db/stores/campaign-store.js';
import { createSendBudgetStore } from '../../db/stores/send-budget-store.js';
import { apiRoutes } from '../../http/api-routes.js';
import { createHttpClient } from '../../shared/http-client.js';
import { createCampaignPauseNotice } from '../../slack/campaign-pause-notice.js';
import { createCampaignSlackPort } from '../../slack/campaign-slack-port.js';
import { registerCampaignActions } from '../../slack/listeners/actions/campaign-actions.js';
import { apikeySubcommand } from '../../slack/listeners/commands/apikey-subcommand.js';
import { sendSubcommand } from '../../slack/listeners/commands/send-subcommand.js';
import {
  type CampaignPrepareRequest,
  registerCampaignSubmissions,
} from '../../slack/listeners/views/campaign-submissions.js';
import { CampaignLimitIds } from '../../slack/views/campaign-limit-blocks.js';
import {
  type CampaignFormMetadata,
  CampaignViewIds,
  campaignFormView,
  parseCampaignFormMetadata,
} from '../../slack/views/campaign-views.js';
import { parseViewState, variableValuesFrom } from '../../slack/views/template-form.js';
import type { AppContext } from '../context.js';
import type { FeatureRegistry } from '../registry.js';
import type { SessionChat } from '../session-chat/index.js';
import { createCampaignReports } from './campaign-reports.js';
import { createCampaignPreparation } from './preparation.js';
import { installCampaignTestSends } from './test-sends.js';

/** Why an opted-out recipient was not sent (the report's and the CSV's words). */
const OPTED_OUT_BEFORE_SENDING = OPTED_OUT_AT_SEND_TIME;
const OPTED_OUT_BY_WHATSAPP = `WhatsApp refused it: the customer stopped marketing messages from the business (${STOPPED_MARKETING_ERROR})`;

/** A preparation that keeps failing (or keeps taking the process down) is given up after this. */
const PREPARE_ATTEMPTS = 5;

/**
 * Template campaigns: durable paced sending with live progress and a report, `/wa send` (form,
 * preparation, confirmation), and the HTTP API for triggered templates with its keys.
 */
export function installCampaigns(ctx: AppContext, registry: FeatureRegistry, chat: SessionChat) {
  const controls = createCampaignControlStore(ctx.database.db);
  const campaigns = withMessagingLimits(createCampaignStore(ctx.database.db, ctx.database.dialect), controls);
  const parts: CampaignParts = { campaigns, sending: installSending(ctx, registry, chat, campaigns, controls) };
  installCampaignForm(ctx, registry, parts, controls);
  const api = installTemplateApi(ctx, registry, parts);
  const { clock } = ctx;
  const { pauses } = parts.sending;
  return {
    authenticateApiKey: api.authenticateApiKey,
    /**
     * Pauses a running campaign and says why (its progress message, a DM to its marketer with
     * Resume and Cancel); false when it was not running. For account health: a template Meta paused.
     */
    pauseCampaign: (campaignId: string, reason: string): Promise<boolean> => pauses.pauseCampaign(campaignId, reason),
    /** pauseCampaign for every running campaign of this template (any language when null); the ids paused. */
    pauseCampaignsUsingTemplate: (templateName: string, language: string | null, reason: string): Promise<string[]> =>
      pauses.pauseCampaignsUsingTemplate(templateName, language, reason),
    /** Redraws a campaign's report soon (a customer replied to it). */
    refreshReport: (campaignId: string) => parts.sending.reporter.soon(campaignId),
    /** Recipients of the campaigns sending now, by status (for /metrics). */
    async activeCounts() {
      const active = await campaigns.active(clock.now());
      return Promise.all(active.map(async (c) => ({ campaignId: c.id, counts: await campaigns.counts(c.id) })));
    },
    retention: {
      purgeCampaignVariables: async (cutoff: number) =>
        (await campaigns.purgeRecipientVariables(cutoff)) + (await campaigns.purgeCampaignParameters(cutoff)),
      purgeApiRequests: api.purgeRequestsBefore,
      purgeDrafts: (cutoff: number) => campaigns.purgeDrafts(cutoff),
    },
  };
}
export type Campaigns = ReturnType<typeof installCampaigns>;

/** The campaign store, and each campaign's pause and messaging limit. */
type CampaignStoreWithControl = CampaignStore & Pick<CampaignControlStore, 'control'>;

/**
 * The campaign store, its recipients claimed within the messaging limit for campaigns held to one
 * (decided in the database, under the account's lock), as usual for the others.
 */
function withMessagingLimits(store: CampaignStore, controls: CampaignControlStore): CampaignStoreWithControl {
  const claimAny = store.claimRecipients.bind(store);
  // Whether a campaign is held to a limit is settled before it starts sending and never changes.
  const allowances = new Map<string, CampaignAllowance | null>();
  return Object.assign(store, {
    control: controls.control,
    async claimRecipients(
      campaignId: string,
      workerId: string,
      limit: number,
      leaseMs: number,
      now: number,
      skipOptedOutOf: string | null = null,
    ) {
      let allowance = allowances.get(campaignId);
      if (allowance === undefined) {
        allowance = await controls.allowanceOf(campaignId);
        allowances.set(campaignId, allowance);
      }
      return allowance
        ? controls.claimWithinAllowance(campaignId, workerId, limit, leaseMs, now, allowance, skipOptedOutOf)
        : claimAny(campaignId, workerId, limit, leaseMs, now, skipOptedOutOf);
    },
  });
}

/** What the form and the API build on: the campaigns, and the sending that starts them. */
type CampaignParts = { campaigns: CampaignStoreWithControl; sending: ReturnType<typeof installSending> };

/** The dispatcher that sends, the progress message that reports, the buttons on it, and pauses. */
function installSending(
  ctx: AppContext,
  registry: FeatureRegistry,
  chat: SessionChat,
  campaigns: CampaignStoreWithControl,
  controls: CampaignControlStore,
) {
  const { config, clock, logger } = ctx;
  const results = createCampaignResultsStore(ctx.database.db);
  const reporter = createCampaignReporter({
    campaigns,
    repliedCount: (id) => results.repliedCount(id),
    slack: createCampaignSlackPort({
      gateway: ctx.slack.gateway,
      dms: ctx.slack.dms,
      http: createHttpClient({ timeoutMs: 10_000, retries: 1 }),
      logger: logger.child({ component: 'campaign-progress' }),
    }),
    now: clock.now,
    logger: logger.child({ component: 'campaign-progress' }),
  });
  const dispatcher = createCampaignDispatcher({
    campaigns,
    budget: createSendBudgetStore(ctx.database.db),
    provider: ctx.provider,
    catalog: ctx.templates,
    maxPerSecond: config.maxMessagesPerSecond,
    concurrency: ctx.tuning.campaignConcurrency ?? 32,
    workerId: ctx.jobs.workerId,
    now: clock.now,
    logger: logger.child({ component: 'campaigns' }),
    onProgress: (id) => reporter.soon(id),
    onFinished: (id) => void reporter.now(id),
    leaseMs: config.workLeaseMs,
    retryBaseDelayMs: ctx.tuning.campaignRetryBaseDelayMs,
    onSpamRateLimit: async (campaign, error) => {
      await pauses.pauseCampaign(campaign.id, spamRateReason(error.providerCode));
    },
    allowance: { waitingUntil: controls.waitingUntil },
    // Opt-outs hold at send time too, checked as recipients are claimed (in the same statement).
    suppressionFor: (campaign) => (isMarketingCategory(campaign.template_category) ? ctx.optOuts.accountId : null),
    onStoppedMarketing: async (_campaign, recipient) => {
      await results.markOptedOut([recipient.id], OPTED_OUT_BY_WHATSAPP, clock.now());
      await ctx.optOuts.stoppedMarketing(recipient.phone_number, clock.now());
    },
  });
  const pauses = createCampaignPauses({
    campaigns: controls,
    notice: createCampaignPauseNotice({ gateway: ctx.slack.gateway, dms: ctx.slack.dms }),
    marketers: ctx.roles.marketers,
    showProgress: (id) => reporter.now(id),
    wake: () => dispatcher.wake(),
    now: clock.now,
    logger: logger.child({ component: 'campaign-pauses' }),
  });
  // Delivery statuses of campaign sends arrive with the conversations' own.
  chat.onDeliveryStatus(async (event) => {
    const firstError = event.errors[0];
    // 131050: the customer stopped marketing messages; counted as opted out, not as a failure.
    const stopped = event.status === 'failed' && event.errors.some((e) => e.code === STOPPED_MARKETING_ERROR);
    const campaignId = await campaigns.applyStatus(
      event.providerMessageId,
      stopped ? 'opted_out' : event.status,
      stopped
        ? { code: STOPPED_MARKETING_ERROR, detail: OPTED_OUT_BY_WHATSAPP }
        : firstError
          ? { code: firstError.code, detail: firstError.detail ?? firstError.title }
          : null,
      clock.now(),
    );
    if (campaignId) reporter.soon(campaignId);
    // The spam rate limit can also come back as a failed status rather than an answer to the send.
    if (campaignId && event.status === 'failed' && event.errors.some((e) => e.code === SPAM_RATE_CODE))
      await pauses.pauseCampaign(campaignId, spamRateReason(SPAM_RATE_CODE));
    return campaignId !== null;
  });
  const reports = createCampaignReports({
    campaigns,
    repliedNumbers: (id) => results.repliedNumbers(id),
    reporter,
    marketers: ctx.roles.marketers,
    deliverFile: ctx.deliverFile,
    now: clock.now,
  });
  registry.slackListeners((app) =>
    registerCampaignActions(app, { cancel: reports.cancel, exportCsv: reports.exportCsv, resume: pauses.resume }),
  );
  registry.lifecycle({
    start: () => dispatcher.start(),
    stop: () => dispatcher.stop(),
    drain: () => reporter.flush().catch(() => {}),
  });
  return { reporter, dispatcher, pauses, results };
}

const SPAM_RATE_CODE = '131048';

const spamRateReason = (code: string | null) =>
  `WhatsApp limited this number for sending too many messages customers did not want (spam rate limit${code ? `, ${code}` : ''}). Check the template's quality before resuming`;

/** `/wa send`: the form, its preparation as a job, and the confirmation that starts the sending. */
function installCampaignForm(
  ctx: AppContext,
  registry: FeatureRegistry,
  { campaigns, sending }: CampaignParts,
  controls: CampaignControlStore,
) {
  const { clock, logger } = ctx;
  const marketers = ctx.roles.marketers;
  const drafts = createCampaignDrafts({
    campaigns,
    catalog: ctx.templates,
    provider: ctx.provider,
    downloadSlackFile: (url, maxBytes, memory) => ctx.slack.conversations.downloadFile(url, maxBytes, memory),
    mediaBudget: ctx.media.budget,
    now: clock.now,
    logger: logger.child({ component: 'campaign-drafts' }),
    skipOptedOut: (draftId) =>
      sending.results.skipOptedOutInDraft(draftId, ctx.optOuts.accountId, OPTED_OUT_BEFORE_SENDING, clock.now()),
  });
  const limits = messagingLimitsOf(ctx, controls);
  const preparation = createCampaignPreparation({
    checkAllowance: limits.check,
    drafts,
    conversations: ctx.conversations,
    gateway: ctx.slack.gateway,
    dms: ctx.slack.dms,
    deliverFile: ctx.deliverFile,
    logger,
  });
  ctx.jobs.handle(JobKind.campaignPrepare, {
    pool: 'slack',
    handler: (payload) => preparation.prepare(payload as CampaignPrepareRequest),
    onGaveUp: (payload, error) => preparation.gaveUp(payload as CampaignPrepareRequest, error),
  });
  registry.subcommand(
    'send',
    sendSubcommand({
      client: ctx.slack.client,
      mayLaunchCampaigns: marketers,
      sendingNumbers: () => ctx.sendingNumbers.list(),
      catalog: ctx.templates,
      logger,
    }),
  );
  registry.templateForm(
    CampaignViewIds.formCallback,
    async ({ view, change }) => {
      const metadata = parseCampaignFormMetadata(view.private_metadata);
      if (!metadata) return null;
      const next: CampaignFormMetadata = change ? { ...metadata, [change.field]: change.value } : metadata;
      if (change?.field === 'templateName') next.language = null;
      const [numbers, templates] = await Promise.all([ctx.sendingNumbers.list(), ctx.templates.approved()]);
      const values = variableValuesFrom(parseViewState(view.state?.values));
      return campaignFormView({ metadata: next, numbers, templates, values });
    },
    { [CampaignViewIds.numberAction]: 'sendingNumberId' },
  );
  installCampaignTestSends(ctx, registry, campaigns);
  registry.slackListeners((app) =>
    registerCampaignSubmissions(app, {
      now: clock.now,
      catalog: ctx.templates,
      isUsableNumber: async (id) => (await ctx.conversations.sendingNumber(id))?.health === 'connected',
      mayLaunchCampaigns: marketers,
      queuePreparation: async (request) => {
        await ctx.jobs.queue.enqueue({
          kind: JobKind.campaignPrepare,
          payload: request,
          idempotencyKey: `prepare:${request.viewId}`,
          maxAttempts: PREPARE_ATTEMPTS,
        });
      },
      confirm: async (draftId, userId, choice) => {
        const draft = await campaigns.get(draftId);
        if (!draft || draft.created_by !== userId)
          return { ok: false, error: 'This campaign draft no longer exists; run /wa send again.' };
        if (choice === CampaignLimitIds.cancel)
          return { ok: false, error: 'You chose to cancel: the campaign was not started.' };
        // Held to its number's messaging limit before it can start sending (the dispatcher reads it once).
        if (draft.status === 'draft') await limits.hold(draft);
        if (await drafts.confirm(draftId)) {
          sending.dispatcher.wake();
          // The report can take a moment for a large campaign; the modal must close within 3 s.
          void sending.reporter.now(draftId);
        }
        return { ok: true };
      },
    }),
  );
}

/**
 * Each sending number's messaging limit: read from the provider at preparation (and every 10
 * minutes by the number sync), checked against the draft, and a confirmed campaign held to it.
 */
function messagingLimitsOf(ctx: AppContext, controls: CampaignControlStore) {
  const { clock, logger } = ctx;
  // The WhatsApp account (Meta: its WABA) the bridge runs: Meta shares the limit across the
  // business portfolio's numbers, so all of its numbers draw on one allowance.
  const accountKey = ctx.optOuts.accountId;
  const tierOf = async (sendingNumberId: string) => {
    const number = await ctx.conversations.sendingNumber(sendingNumberId);
    return { tier: messagingTier(number?.messaging_limit_tier), qualityRating: number?.quality_rating ?? null };
  };
  return {
    async check(draftId: string, sendingNumberId: string): Promise<AllowanceCheck> {
      try {
        const numbers = await ctx.provider.listSendingNumbers();
        await ctx.conversations.saveSendingNumbers(
          numbers.map((n) => ({ ...n, provider: ctx.provider.name })),
          clock.now(),
        );
      } catch (error) {
        // The tier last read is used instead (or unknown, which does not block).
        logger.warn({ err: String(error) }, 'refreshing the sending numbers for a campaign failed');
      }
      const { tier, qualityRating } = await tierOf(sendingNumberId);
      const now = clock.now();
      const draft = await controls.get(draftId);
      const recipients = draft?.total ?? 0;
      if (tier.kind !== 'limited')
        return checkAllowance({ tier, qualityRating, recipients, newRecipients: recipients, used: 0 });
      return checkAllowance({
        tier,
        qualityRating,
        recipients,
        newRecipients: await controls.newRecipients(draftId, accountKey, now),
        used: await controls.allowanceUsed(accountKey, now),
      });
    },
    async hold(draft: { id: string; sending_number_id: string }): Promise<void> {
      const { tier } = await tierOf(draft.sending_number_id);
      if (tier.kind === 'limited')
        await controls.setAllowance(draft.id, { accountKey, tier: tier.tier, perDay: tier.perDay }, clock.now());
    },
  };
}

/** POST /api/v1/messages and its keys (`/wa apikey`), sent through the same dispatcher. */
function installTemplateApi(ctx: AppContext, registry: FeatureRegistry, { campaigns, sending }: CampaignParts) {
  const { config, clock } = ctx;
  const apiKeys = createApiKeyStore(ctx.database.db);
  const authenticateApiKey = createApiKeyAccess({
    keys: apiKeys,
    mayHoldKeys: ctx.roles.marketers,
    ttlMs: config.apiKeyTtlMs,
    now: clock.now,
  });
  const triggered = createTriggeredTemplates({
    campaigns,
    catalog: ctx.templates,
    sendingNumbers: () => ctx.sendingNumbers.list(),
    requests: { find: (keyId, idem) => apiKeys.findRequest(keyId, idem) },
    reportChannelId: config.slack.defaultChannelId,
    now: clock.now,
    wake: () => sending.dispatcher.wake(),
    optedOut: (phoneNumber) => ctx.optOuts.state(phoneNumber),
  });
  registry.subcommand(
    'apikey',
    apikeySubcommand({
      mayManage: ctx.roles.marketers,
      create: (name, userId) => apiKeys.create(name, userId, clock.now(), clock.now() + config.apiKeyTtlMs),
      revoke: (id, userId) => apiKeys.revoke(id, userId, clock.now()),
      list: (limit) => apiKeys.list(limit),
      ttlMs: config.apiKeyTtlMs,
      now: clock.now,
    }),
  );
  registry.routes(apiRoutes({ authenticate: authenticateApiKey, templates: triggered }));
  return { authenticateApiKey, purgeRequestsBefore: (cutoff: number) => apiKeys.purgeRequestsBefore(cutoff) };
}
