import { setTimeout as delay } from 'node:timers/promises';
import { createGroupCommit } from '../../shared/group-commit.js';
import type { Logger } from '../../shared/logger.js';
import { timeOrderedId } from '../../shared/time-ordered-id.js';
import { describeFailure, ProviderError } from '../../whatsapp/provider-errors.js';
import type {
  MessageTemplate,
  OutboundMessage,
  TemplateParameters,
  WhatsAppProvider,
} from '../../whatsapp/whatsapp-provider.js';
import { renderTemplate, type TemplateCatalog, templateParameters } from '../templates.js';
import {
  type CampaignConversationEntry,
  type CampaignParameters,
  type CampaignRecipientRecord,
  type CampaignRecord,
  type CampaignRepository,
  isApiTriggered,
  SCHEDULE_LOOKAHEAD_MS,
  SEND_LATENESS_MS,
  SEND_PACE,
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
  maxPerSecond: number;
  /** Sends in flight at once (started, not yet recorded), per process: also the bound on duplicates after a crash. */
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

/** A claimed recipient, ready to go out at the next slot of its sending number. */
type Waiting = {
  campaign: CampaignRecord;
  recipient: CampaignRecipientRecord;
  message: OutboundMessage;
  conversation: Omit<CampaignConversationEntry, 'messageId' | 'providerMessageId'>;
};

/** One sending number in this process: its reserved slots, and the recipients waiting for them. */
type Lane = {
  nextSlotAt: number;
  remaining: number;
  spacingMs: number;
  /** Where the shared schedule continues after what this process reserved. */
  scheduleFreeAt: number;
  backlog: Waiting[];
  /** Given a slot, not started yet. */
  scheduled: number;
  pausedUntil: number;
  /** Retryable failures in a row, for the pause. */
  failureStreak: number;
};

/** How long a campaign waits before asking again for a template list the provider could not give. */
const CATALOG_RETRY_MS = 5_000;

type SentRecipient = { recipientId: number; providerMessageId: string; conversation: CampaignConversationEntry };

/**
 * Sends campaign recipients at most `maxPerSecond` per sending number with bounded concurrency.
 * Send slots come from a schedule shared through the database (see SEND_PACE), so replicas add up
 * to the limit, never beyond it. Each recipient is claimed under a lease (renewed while it is
 * held), sent at its slot (or given a later one when it missed it) and recorded right after, so a
 * restart resumes where it stopped.
 */
export function createCampaignDispatcher(options: CampaignDispatcherOptions) {
  const { campaigns, budget, provider, logger } = options;
  const leaseMs = options.leaseMs ?? 60_000;
  const idleDelayMs = options.idleDelayMs ?? 200;
  const maxAttempts = options.maxAttempts ?? MAX_SEND_ATTEMPTS;
  const retryBaseDelayMs = options.retryBaseDelayMs ?? RETRY_BASE_DELAY_MS;
  // Slots are reserved about 25 slots ahead (10–50 ms), and recipients claimed for as many: enough
  // that a late wake-up of the loop doesn't leave a gap in the schedule, few enough to hold little.
  const spacingMs = 1000 / (options.maxPerSecond * SEND_PACE);
  const lookaheadMs = Math.min(50, Math.max(SCHEDULE_LOOKAHEAD_MS, 25 * spacingMs));
  const backlogTarget = Math.ceil(lookaheadMs / spacingMs) + 1;
  let running = false;
  let loop: Promise<void> | null = null;
  const tasks = new Set<Promise<void>>();
  let wakeUp: (() => void) | null = null;
  const lanes = new Map<string, Lane>();
  let activeCache: { at: number; campaigns: CampaignRecord[] } | null = null;
  /** Ids of the campaigns last seen sending (kept when the cache is dropped); null before the first look. */
  let activeIds: Set<string> | null = null;
  /** Campaigns with nothing to claim right now (the rest is in flight or backing off), until then. */
  const quietUntil = new Map<string, number>();
  const started = new Set<string>();
  const parametersOf = new Map<string, CampaignParameters>();
  /** Recipients this worker has claimed and not yet settled: their leases are renewed until then. */
  const held = new Set<number>();
  let sending = 0;
  const capacityWaiters: (() => void)[] = [];
  let leaseRenewal: NodeJS.Timeout | null = null;

  // A send can outlast the lease (HTTP timeout × retries): renewing keeps a live worker's send from
  // being reclaimed and sent again, while a dead worker's leases still run out and get taken over.
  async function renewLeases(): Promise<void> {
    if (held.size === 0) return;
    await campaigns.renewLeases(options.workerId, [...held], options.now() + leaseMs);
  }

  // Sends that finish close together are recorded together, with their conversation messages, in
  // one transaction. A send counts as in flight until its record is written, so sends not yet
  // recorded never exceed the concurrency (the duplicate bound after a crash).
  const recorder = createGroupCommit<SentRecipient>(
    async (batch) => {
      const now = options.now();
      try {
        await campaigns.recordSentWithConversations(batch, now);
        return;
      } catch (error) {
        logger.warn({ err: String(error) }, 'recording campaign messages in their conversations failed');
      }
      // The conversation record is secondary: make sure at least the sends are recorded.
      for (let attempt = 1; ; attempt++) {
        try {
          await campaigns.recordSentMany(batch, now);
          return;
        } catch (error) {
          if (attempt >= 3) throw error;
          await delay(100 * attempt);
        }
      }
    },
    { lingerMs: 4 },
  );

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(
        () => {
          wakeUp = null;
          resolve();
        },
        Math.max(0, ms),
      );
      wakeUp = () => {
        clearTimeout(timer);
        wakeUp = null;
        resolve();
      };
    });

  function laneOf(sendingNumberId: string): Lane {
    let lane = lanes.get(sendingNumberId);
    if (!lane) {
      lane = {
        nextSlotAt: 0,
        remaining: 0,
        spacingMs: 0,
        scheduleFreeAt: 0,
        backlog: [],
        scheduled: 0,
        pausedUntil: 0,
        failureStreak: 0,
      };
      lanes.set(sendingNumberId, lane);
    }
    return lane;
  }

  function parameters(campaign: CampaignRecord): CampaignParameters {
    let parsed = parametersOf.get(campaign.id);
    if (!parsed) {
      try {
        parsed = JSON.parse(campaign.parameters_json) as CampaignParameters;
      } catch {
        parsed = { values: {}, headerMedia: null };
      }
      parametersOf.set(campaign.id, parsed);
    }
    return parsed;
  }

  /** Lets a recipient go: settled (sent, failed, requeued) or handed back. */
  function settle(waiting: { campaign: CampaignRecord; recipient: CampaignRecipientRecord }): void {
    held.delete(waiting.recipient.id);
    // Its campaign may be done now, or have a retry due: look again.
    quietUntil.delete(waiting.campaign.id);
    options.onProgress(waiting.campaign.id);
    wakeUp?.();
  }

  function track(task: Promise<void>): void {
    tasks.add(task);
    void task.finally(() => tasks.delete(task));
  }

  function release(waiting: Waiting): void {
    track(
      campaigns
        .release(waiting.recipient.id, options.now())
        .catch((error: unknown) => logger.warn({ err: String(error) }, 'giving a campaign recipient back failed'))
        .finally(() => settle(waiting)),
    );
  }

  /** The message of a claimed recipient, built before its slot so the send starts right on time. */
  async function prepare(
    campaign: CampaignRecord,
    recipient: CampaignRecipientRecord,
    template: MessageTemplate | undefined,
  ): Promise<Waiting | null> {
    if (!template) {
      await campaigns.recordFailed(
        recipient.id,
        'template_missing',
        'the template is no longer approved',
        options.now(),
      );
      return null;
    }
    const shared = parameters(campaign);
    const values = {
      ...shared.values,
      ...(recipient.parameters_json ? (JSON.parse(recipient.parameters_json) as Record<string, string>) : {}),
    };
    const header: TemplateParameters['header'] | undefined = shared.headerMedia
      ? {
          type: shared.headerMedia.type,
          media: shared.headerMedia.mediaRef,
          ...(shared.headerMedia.filename ? { filename: shared.headerMedia.filename } : {}),
        }
      : undefined;
    const api = isApiTriggered(campaign);
    return {
      campaign,
      recipient,
      message: {
        type: 'template',
        to: recipient.phone_number,
        template: {
          name: template.name,
          language: template.language,
          parameters: templateParameters(template, values, header),
        },
      },
      conversation: {
        sendingNumberId: campaign.sending_number_id,
        phoneNumber: recipient.phone_number,
        body: renderTemplate(template, values),
        mediaJson: JSON.stringify({ template: campaign.template_name, language: campaign.template_language }),
        source: api ? 'api' : 'campaign',
        authorSlackUserId: api ? null : campaign.created_by,
        campaignId: campaign.id,
      },
    };
  }

  /** Resolves when a send finishes, or at `deadline`. */
  function sendCapacity(deadline: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, deadline - options.now()));
      function done() {
        clearTimeout(timer);
        const index = capacityWaiters.indexOf(done);
        if (index >= 0) capacityWaiters.splice(index, 1);
        resolve();
      }
      capacityWaiters.push(done);
    });
  }

  /** At its slot: sent (and recorded), or handed back for a later slot. */
  function launch(lane: Lane, waiting: Waiting, slot: number): void {
    lane.scheduled++;
    const task = (async () => {
      const wait = slot - options.now();
      if (wait > 0) await delay(wait);
      lane.scheduled--;
      if (!running || (activeIds !== null && !activeIds.has(waiting.campaign.id))) {
        // Stopping, or its campaign was cancelled meanwhile: not sent.
        release(waiting);
        return;
      }
      // All sends in flight: wait for one to finish, but only while this slot is still usable.
      if (sending >= options.concurrency) await sendCapacity(slot + SEND_LATENESS_MS);
      if (options.now() > slot + SEND_LATENESS_MS || sending >= options.concurrency) {
        // Started this late it could bunch up with later slots above the limit: it takes a later one.
        lane.backlog.unshift(waiting);
        wakeUp?.();
        return;
      }
      sending++;
      try {
        await sendAndRecord(lane, waiting);
      } finally {
        sending--;
        capacityWaiters.shift()?.();
        settle(waiting);
      }
    })().catch((error: unknown) =>
      logger.error({ err: String(error), campaignId: waiting.campaign.id }, 'campaign send bookkeeping failed'),
    );
    track(task);
  }

  async function sendAndRecord(lane: Lane, waiting: Waiting): Promise<void> {
    const { campaign, recipient } = waiting;
    let providerMessageId: string;
    try {
      const result = await provider.send(campaign.sending_number_id, waiting.message, {
        correlationId: `campaign:${campaign.id}:${recipient.id}`,
        singleAttempt: true,
      });
      providerMessageId = result.providerMessageId;
    } catch (error) {
      await settleFailedSend(lane, campaign, recipient, error);
      return;
    }
    lane.failureStreak = 0;
    // Sent: from here on nothing may put the recipient back in the queue (it would be sent twice).
    await recorder.add({
      recipientId: recipient.id,
      providerMessageId,
      conversation: { ...waiting.conversation, messageId: timeOrderedId(options.now()), providerMessageId },
    });
  }

  /**
   * A send that failed: retried later with exponential backoff (at least the provider's
   * Retry-After) while it certainly wasn't sent and may work later, up to `maxAttempts`; failed
   * with a readable reason otherwise. Retryable failures also pause the sending number.
   */
  async function settleFailedSend(
    lane: Lane,
    campaign: CampaignRecord,
    recipient: CampaignRecipientRecord,
    error: unknown,
  ): Promise<void> {
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
    lane.failureStreak++;
    const pause = retryDelayMs(lane.failureStreak, retryAfterMs, { baseMs: retryBaseDelayMs });
    lane.pausedUntil = Math.max(lane.pausedUntil, now + pause);
    if (recipient.attempts >= maxAttempts) {
      await campaigns.recordFailed(recipient.id, sendErrorCode(error), exhaustedReason(error, recipient.attempts), now);
      return;
    }
    const wait = retryDelayMs(recipient.attempts, retryAfterMs, { baseMs: retryBaseDelayMs });
    await campaigns.requeue(recipient.id, now + wait, now);
  }

  /** Nothing claimable: finish the campaign when nothing is left, else look again a little later. */
  async function finishIfDone(campaign: CampaignRecord): Promise<void> {
    const counts = await campaigns.counts(campaign.id);
    if (counts.queued === 0 && counts.sending === 0) {
      await campaigns.updateTotals(campaign.id, counts);
      if (await campaigns.finish(campaign.id, 'completed', options.now())) options.onFinished(campaign.id);
      parametersOf.delete(campaign.id);
      started.delete(campaign.id);
      activeCache = null;
      return;
    }
    quietUntil.set(campaign.id, options.now() + idleDelayMs);
  }

  /** Claims recipients for this number's backlog from its campaigns, oldest campaign first. */
  async function refillBacklog(lane: Lane, laneCampaigns: CampaignRecord[]): Promise<void> {
    let room = 2 * backlogTarget - lane.backlog.length - lane.scheduled;
    for (const campaign of laneCampaigns) {
      if (room <= 0) return;
      if ((quietUntil.get(campaign.id) ?? 0) > options.now()) continue;
      // Looked up before claiming: while the provider cannot list templates the campaign waits,
      // instead of failing its recipients as if the template had been withdrawn.
      let template: MessageTemplate | undefined;
      try {
        template = await options.catalog.find(campaign.template_name, campaign.template_language);
      } catch (error) {
        logger.warn(
          { err: String(error), campaignId: campaign.id },
          'the template list is unavailable; the campaign waits for it',
        );
        quietUntil.set(campaign.id, options.now() + CATALOG_RETRY_MS);
        continue;
      }
      const claimed = await campaigns.claimRecipients(campaign.id, options.workerId, room, leaseMs, options.now());
      if (claimed.length === 0) {
        await finishIfDone(campaign);
        continue;
      }
      for (const recipient of claimed) held.add(recipient.id);
      if (!started.has(campaign.id)) {
        await campaigns.markStarted(campaign.id, options.now());
        started.add(campaign.id);
      }
      room -= claimed.length;
      for (const recipient of claimed) {
        const waiting = await prepare(campaign, recipient, template).catch(async (error: unknown) => {
          logger.error({ err: String(error), campaignId: campaign.id }, 'preparing a campaign message failed');
          await campaigns.recordFailed(
            recipient.id,
            'invalid_message',
            `the message could not be built: ${error instanceof Error ? error.message : String(error)}`,
            options.now(),
          );
          return null;
        });
        if (waiting) lane.backlog.push(waiting);
        else settle({ campaign, recipient });
      }
    }
  }

  /** One pass over the sending numbers with active campaigns; returns when it wants to run again. */
  async function tick(): Promise<number> {
    const now = options.now();
    if (!activeCache || now - activeCache.at > 250) {
      const active = await campaigns.active(now);
      activeCache = { at: now, campaigns: active };
      activeIds = new Set(active.map((c) => c.id));
    }
    const ids = activeIds ?? new Set<string>();
    const byNumber = new Map<string, CampaignRecord[]>();
    for (const campaign of activeCache.campaigns)
      byNumber.set(campaign.sending_number_id, [...(byNumber.get(campaign.sending_number_id) ?? []), campaign]);
    for (const [number, lane] of lanes) if (!byNumber.has(number) && lane.backlog.length > 0) byNumber.set(number, []);

    let runAgainAt = now + idleDelayMs;
    for (const [number, laneCampaigns] of byNumber) {
      const lane = laneOf(number);
      // Recipients of campaigns cancelled meanwhile are given back (and end cancelled).
      if (lane.backlog.some((w) => !ids.has(w.campaign.id))) {
        for (const waiting of lane.backlog.filter((w) => !ids.has(w.campaign.id))) release(waiting);
        lane.backlog = lane.backlog.filter((w) => ids.has(w.campaign.id));
      }
      const at = options.now();
      if (lane.pausedUntil > at) {
        runAgainAt = Math.min(runAgainAt, lane.pausedUntil);
        continue;
      }
      if (lane.backlog.length + lane.scheduled < backlogTarget) await refillBacklog(lane, laneCampaigns);
      if (lane.backlog.length === 0) continue;

      // Slots that can no longer be started in time are given up.
      const t = options.now();
      if (lane.remaining > 0 && lane.nextSlotAt + SEND_LATENESS_MS < t) {
        const missed = Math.min(lane.remaining, Math.ceil((t - SEND_LATENESS_MS - lane.nextSlotAt) / lane.spacingMs));
        lane.remaining -= missed;
        lane.nextSlotAt += missed * lane.spacingMs;
      }
      if (lane.remaining === 0) {
        // Reserve more of the shared schedule only when what this process holds runs short.
        const refillAt = lane.scheduleFreeAt - lookaheadMs / 2;
        if (refillAt > t) {
          runAgainAt = Math.min(runAgainAt, refillAt);
          continue;
        }
        const grant = await budget.take(number, lane.backlog.length, options.maxPerSecond, t, lookaheadMs);
        lane.scheduleFreeAt = grant.nextFreeAt;
        if (grant.granted === 0) {
          runAgainAt = Math.min(runAgainAt, grant.nextFreeAt - lookaheadMs / 2);
          continue;
        }
        lane.nextSlotAt = grant.firstSlotAt;
        lane.remaining = grant.granted;
        lane.spacingMs = grant.spacingMs;
      }
      while (lane.remaining > 0) {
        const waiting = lane.backlog.shift();
        if (!waiting) break;
        launch(lane, waiting, lane.nextSlotAt);
        lane.nextSlotAt += lane.spacingMs;
        lane.remaining--;
      }
      runAgainAt = Math.min(runAgainAt, lane.remaining > 0 ? lane.nextSlotAt : lane.scheduleFreeAt - lookaheadMs / 2);
    }
    return runAgainAt;
  }

  async function run(): Promise<void> {
    while (running) {
      let runAgainAt = options.now() + idleDelayMs;
      try {
        runAgainAt = await tick();
      } catch (error) {
        logger.error({ err: String(error) }, 'campaign dispatcher tick failed');
      }
      if (!running) break;
      // At least 1 ms, so nothing can spin; a settled or handed-back recipient wakes it early.
      await sleep(Math.max(1, Math.min(idleDelayMs, runAgainAt - options.now())));
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
      quietUntil.clear();
      wakeUp?.();
    },
    async stop() {
      running = false;
      wakeUp?.();
      await loop;
      // Recipients claimed but not started go back to the queue at once, not after their lease.
      for (const lane of lanes.values()) {
        for (const waiting of lane.backlog) release(waiting);
        lane.backlog = [];
      }
      while (tasks.size > 0) await Promise.allSettled([...tasks]);
      await recorder.idle();
      if (leaseRenewal) clearInterval(leaseRenewal);
      leaseRenewal = null;
    },
    get inFlight() {
      return held.size;
    },
  };
}
export type CampaignDispatcher = ReturnType<typeof createCampaignDispatcher>;
