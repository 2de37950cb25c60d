import { randomUUID } from 'node:crypto';
import type { Logger } from '../../shared/logger.js';
import { describeFailure, ProviderError } from '../../whatsapp/provider-errors.js';
import type { WhatsAppProvider } from '../../whatsapp/whatsapp-provider.js';
import type { ConversationRepository, MessageRepository } from '../ports.js';
import { renderTemplate, type TemplateCatalog, templateParameters } from '../templates.js';
import {
  BUDGET_BUCKET_MS,
  type CampaignParameters,
  type CampaignRecipientRecord,
  type CampaignRecord,
  type CampaignRepository,
  isApiTriggered,
  type SendBudget,
} from './campaign-ports.js';
import {
  exhaustedReason,
  isRetryableSendError,
  MAX_SEND_ATTEMPTS,
  RETRY_BASE_DELAY_MS,
  retryDelayMs,
  sendErrorCode,
} from './campaign-retry.js';

export type CampaignDispatcherOptions = {
  campaigns: CampaignRepository;
  budget: SendBudget;
  provider: WhatsAppProvider;
  catalog: TemplateCatalog;
  conversations: ConversationRepository;
  messages: MessageRepository;
  maxPerSecond: number;
  /** Sends in flight at once, per process; also the bound on duplicates after a crash. */
  concurrency: number;
  workerId: string;
  now: () => number;
  logger: Logger;
  onProgress(campaignId: string): void;
  onFinished(campaignId: string): void;
  leaseMs?: number;
  idleDelayMs?: number;
  /** Tries per recipient before it is failed (MAX_SEND_ATTEMPTS). */
  maxAttempts?: number;
  /** First retry delay; it doubles per failure (RETRY_BASE_DELAY_MS). */
  retryBaseDelayMs?: number;
};

/**
 * Sends campaign recipients at most `maxPerSecond` per sending number (budget shared through the
 * database, so replicas add up to the limit), with bounded concurrency. Each recipient is claimed
 * under a lease before its send and recorded right after, so a restart resumes where it stopped.
 */
/** Milliseconds between sends from one process: 2 % under the limit to absorb timer and network jitter. */
const spacingFor = (maxPerSecond: number) => 1000 / (maxPerSecond * 0.98);

export function createCampaignDispatcher(options: CampaignDispatcherOptions) {
  const { campaigns, budget, provider, logger } = options;
  const leaseMs = options.leaseMs ?? 60_000;
  const idleDelayMs = options.idleDelayMs ?? 200;
  const maxAttempts = options.maxAttempts ?? MAX_SEND_ATTEMPTS;
  const retryBaseDelayMs = options.retryBaseDelayMs ?? RETRY_BASE_DELAY_MS;
  /** Retryable failures in a row per sending number, for its pause. */
  const failureStreak = new Map<string, number>();
  let inFlight = 0;
  let running = false;
  let loop: Promise<void> | null = null;
  const pausedUntil = new Map<string, number>();
  const inflightSends = new Set<Promise<void>>();
  let wakeUp: (() => void) | null = null;
  const conversationWrites: Promise<void> = Promise.resolve();
  const nextSendAt = new Map<string, number>();
  /** Sends granted by the shared budget but not used yet, per sending number, until their window ends. */
  const tokens = new Map<string, { count: number; windowEndsAt: number }>();
  let activeCache: { at: number; campaigns: CampaignRecord[] } | null = null;
  /** Recipients this worker has claimed and not yet settled: their leases are renewed until then. */
  const held = new Set<number>();
  let leaseRenewal: NodeJS.Timeout | null = null;

  // A send can outlast the lease (HTTP timeout × retries): renewing keeps a live worker's send from
  // being reclaimed and sent again, while a dead worker's leases still run out and get taken over.
  async function renewLeases(): Promise<void> {
    if (held.size === 0) return;
    await campaigns.renewLeases(options.workerId, [...held], options.now() + leaseMs);
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        wakeUp = null;
        resolve();
      }, ms);
      wakeUp = () => {
        clearTimeout(timer);
        wakeUp = null;
        resolve();
      };
    });

  async function sendOne(
    campaign: CampaignRecord,
    parameters: CampaignParameters,
    recipient: CampaignRecipientRecord,
  ): Promise<void> {
    const template = await options.catalog.find(campaign.template_name, campaign.template_language);
    if (!template) {
      await campaigns.recordFailed(
        recipient.id,
        'template_missing',
        'the template is no longer approved',
        options.now(),
      );
      return;
    }
    const values = {
      ...parameters.values,
      ...(recipient.parameters_json ? (JSON.parse(recipient.parameters_json) as Record<string, string>) : {}),
    };
    const header = parameters.headerMedia
      ? {
          type: parameters.headerMedia.type,
          media: parameters.headerMedia.mediaRef,
          ...(parameters.headerMedia.filename ? { filename: parameters.headerMedia.filename } : {}),
        }
      : undefined;
    // Even spacing: a slice of budget is spent as a steady stream, not a burst at the top of the
    // window, so the rate also holds over any sliding second as the provider measures it.
    const slot = Math.max(options.now(), nextSendAt.get(campaign.sending_number_id) ?? 0);
    // 2 % headroom absorbs timer and network jitter, so the provider never sees a burst above the limit.
    nextSendAt.set(campaign.sending_number_id, slot + spacingFor(options.maxPerSecond));
    if (slot > options.now()) await new Promise((resolve) => setTimeout(resolve, slot - options.now()));
    let providerMessageId: string;
    try {
      const result = await provider.send(
        campaign.sending_number_id,
        {
          type: 'template',
          to: recipient.phone_number,
          template: {
            name: template.name,
            language: template.language,
            parameters: templateParameters(template, values, header),
          },
        },
        { correlationId: `campaign:${campaign.id}:${recipient.id}` },
      );
      providerMessageId = result.providerMessageId;
    } catch (error) {
      await settleFailedSend(campaign, recipient, error);
      return;
    }
    failureStreak.delete(campaign.sending_number_id);
    // Sent: from here on nothing may put the recipient back in the queue (it would be sent twice).
    await campaigns.recordSent(recipient.id, providerMessageId, options.now());
    await recordInConversation(campaign, recipient, providerMessageId, renderTemplate(template, values)).catch(
      (error: unknown) =>
        logger.warn(
          { err: String(error), campaignId: campaign.id },
          'recording the campaign message in its conversation failed',
        ),
    );
  }

  /**
   * A send that failed: retried later with exponential backoff (at least the provider's
   * Retry-After) while it certainly wasn't sent and may work later, up to `maxAttempts`; failed
   * with a readable reason otherwise. Retryable failures also pause the sending number.
   */
  async function settleFailedSend(campaign: CampaignRecord, recipient: CampaignRecipientRecord, error: unknown) {
    const now = options.now();
    if (!(error instanceof ProviderError))
      logger.warn({ err: String(error), campaignId: campaign.id }, 'campaign send failed unexpectedly');
    if (error instanceof ProviderError && !isRetryableSendError(error)) {
      const detail = error.mayHaveBeenSent
        ? 'the provider did not answer in time; the message may have been delivered, so it was not sent again'
        : describeFailure(error.code, error.providerCode ?? null, error.message);
      await campaigns.recordFailed(recipient.id, sendErrorCode(error), detail, now);
      return;
    }
    const retryAfterMs = error instanceof ProviderError ? error.retryAfterMs : null;
    const number = campaign.sending_number_id;
    const streak = (failureStreak.get(number) ?? 0) + 1;
    failureStreak.set(number, streak);
    const pause = retryDelayMs(streak, retryAfterMs, { baseMs: retryBaseDelayMs });
    pausedUntil.set(number, Math.max(pausedUntil.get(number) ?? 0, now + pause));
    if (recipient.attempts >= maxAttempts) {
      await campaigns.recordFailed(recipient.id, sendErrorCode(error), exhaustedReason(error, recipient.attempts), now);
      return;
    }
    const delay = retryDelayMs(recipient.attempts, retryAfterMs, { baseMs: retryBaseDelayMs });
    await campaigns.requeue(recipient.id, now + delay, now);
  }

  /** The recipient's conversation gets the template, so a reply lands with context; no thread yet. */
  async function recordInConversation(
    campaign: CampaignRecord,
    recipient: CampaignRecipientRecord,
    providerMessageId: string,
    body: string,
  ) {
    const now = options.now();
    const contact = await options.conversations.upsertContact(
      { sendingNumberId: campaign.sending_number_id, phoneNumber: recipient.phone_number, userId: null },
      now,
    );
    await options.messages.insertOnce({
      id: randomUUID(),
      contact_id: contact.id,
      direction: 'outbound',
      kind: 'template',
      body,
      media_json: JSON.stringify({ template: campaign.template_name, language: campaign.template_language }),
      provider_message_id: providerMessageId,
      alternate_message_id: null,
      slack_channel_id: null,
      slack_ts: null,
      status: 'sent',
      error_code: null,
      error_detail: null,
      provider_timestamp: null,
      source: isApiTriggered(campaign) ? 'api' : 'campaign',
      author_slack_user_id: isApiTriggered(campaign) ? null : campaign.created_by,
      campaign_id: campaign.id,
      created_at: now,
      updated_at: now,
    });
    await options.conversations.recordActivity(contact.id, { direction: 'outbound', at: now }, now);
  }

  async function tick(): Promise<boolean> {
    const now = options.now();
    if (!activeCache || now - activeCache.at > 250) activeCache = { at: now, campaigns: await campaigns.active(now) };
    const active = activeCache.campaigns;
    let didWork = false;
    for (const campaign of active) {
      const free = options.concurrency - inFlight;
      if (free <= 0) break;
      const paused = pausedUntil.get(campaign.sending_number_id) ?? 0;
      if (paused > options.now()) continue;
      // Budget is accounted when granted, so only take what this process can actually send before
      // the budget's current bucket ends; otherwise sends would spill into later buckets and two
      // replicas together could exceed the limit in some second.
      const spacing = spacingFor(options.maxPerSecond);
      const paceFrom = Math.max(options.now(), nextSendAt.get(campaign.sending_number_id) ?? 0);
      let pool = tokens.get(campaign.sending_number_id);
      if (!pool || pool.windowEndsAt <= options.now() || pool.count === 0) {
        const bucketEnd = Math.floor(options.now() / BUDGET_BUCKET_MS) * BUDGET_BUCKET_MS + BUDGET_BUCKET_MS;
        const room = Math.floor((bucketEnd - paceFrom) / spacing);
        if (room <= 0) continue;
        // Take a slice of the budget at once (fewer round trips); what is left unused when the
        // bucket ends is simply forfeited, so the limit can never be exceeded.
        const wanted = Math.min(room, Math.max(free, Math.ceil(options.maxPerSecond / 20)));
        const taken = await budget.take(campaign.sending_number_id, wanted, options.maxPerSecond, options.now());
        pool = { count: taken.granted, windowEndsAt: taken.windowEndsAt };
        tokens.set(campaign.sending_number_id, pool);
      }
      const granted = Math.min(free, pool.count);
      if (granted === 0) continue;
      const recipients = await campaigns.claimRecipients(
        campaign.id,
        options.workerId,
        granted,
        leaseMs,
        options.now(),
      );
      pool.count -= recipients.length;
      if (recipients.length < granted) {
        // Budget taken but not used is simply lost for this second: never more than the limit.
        if (recipients.length === 0) {
          const counts = await campaigns.counts(campaign.id);
          if (counts.queued === 0 && counts.sending === 0) {
            await conversationWrites;
            await campaigns.updateTotals(campaign.id, counts);
            if (await campaigns.finish(campaign.id, 'completed', options.now())) options.onFinished(campaign.id);
            activeCache = null;
          }
          continue;
        }
      }
      await campaigns.markStarted(campaign.id, options.now());
      didWork = true;
      let parameters: CampaignParameters;
      try {
        parameters = JSON.parse(campaign.parameters_json) as CampaignParameters;
      } catch {
        parameters = { values: {}, headerMedia: null };
      }
      for (const recipient of recipients) {
        inFlight++;
        held.add(recipient.id);
        const task = sendOne(campaign, parameters, recipient)
          .catch((error: unknown) =>
            logger.error({ err: String(error), campaignId: campaign.id }, 'campaign send bookkeeping failed'),
          )
          .finally(() => {
            held.delete(recipient.id);
            inFlight--;
            inflightSends.delete(task);
            options.onProgress(campaign.id);
            wakeUp?.();
          });
        inflightSends.add(task);
      }
    }
    return didWork;
  }

  async function run(): Promise<void> {
    while (running) {
      let didWork = false;
      try {
        didWork = await tick();
      } catch (error) {
        logger.error({ err: String(error) }, 'campaign dispatcher tick failed');
      }
      if (!running) break;
      if (inFlight >= options.concurrency) await sleep(idleDelayMs);
      else if (!didWork) {
        const now = options.now();
        await sleep(Math.min(idleDelayMs, 1000 - (now % 1000) + 1));
      }
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
      leaseRenewal = setInterval(
        () => {
          renewLeases().catch((error: unknown) =>
            logger.warn({ err: String(error) }, 'renewing campaign recipient leases failed'),
          );
        },
        Math.max(500, leaseMs / 3),
      );
      leaseRenewal.unref();
    },
    wake() {
      activeCache = null;
      wakeUp?.();
    },
    async stop() {
      running = false;
      wakeUp?.();
      await loop;
      await Promise.allSettled([...inflightSends]);
      await conversationWrites;
      if (leaseRenewal) clearInterval(leaseRenewal);
      leaseRenewal = null;
    },
    get inFlight() {
      return inFlight;
    },
  };
}
export type CampaignDispatcher = ReturnType<typeof createCampaignDispatcher>;
