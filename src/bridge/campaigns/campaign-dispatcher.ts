import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../shared/logger.js';
import type { ProviderError } from '../../whatsapp/provider-errors.js';
import type { WhatsAppProvider } from '../../whatsapp/whatsapp-provider.js';
import type { TemplateCatalog } from '../templates.js';
import { type CampaignBacklog, type ClaimedRecipient, createCampaignBacklog } from './campaign-backlog.js';
import { createRecipientLeases } from './campaign-leases.js';
import type { PreparedRecipient } from './campaign-messages.js';
import {
  type CampaignRecord,
  type CampaignRepository,
  SCHEDULE_LOOKAHEAD_MS,
  SEND_LATENESS_MS,
  SEND_PACE,
  type SendBudget,
} from './campaign-ports.js';
import { MAX_SEND_ATTEMPTS, RETRY_BASE_DELAY_MS } from './campaign-retry.js';
import { type CampaignSender, createCampaignSender, type SendingNumberPause } from './campaign-sender.js';
import type { MessagingAllowance } from './messaging-limits.js';

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
  /** A send refused for the number's spam rate (131048): pauses the campaign (see createCampaignSender). */
  onSpamRateLimit?(campaign: CampaignRecord, error: ProviderError): Promise<void>;
  /** Campaigns held to a messaging limit (see campaign-backlog). */
  allowance?: MessagingAllowance;
};

/** One sending number in this process: its reserved slots, and the recipients waiting for them. */
type Lane = SendingNumberPause & {
  nextSlotAt: number;
  remaining: number;
  spacingMs: number;
  /** Where the shared schedule continues after what this process reserved. */
  scheduleFreeAt: number;
  backlog: PreparedRecipient[];
  /** Given a slot, not started yet. */
  scheduled: number;
};

/** How this process takes slots from the shared schedule of each sending number. */
type Schedule = {
  budget: SendBudget;
  maxPerSecond: number;
  lookaheadMs: number;
  /** Recipients a lane wants claimed (or scheduled) before it claims more. */
  backlogTarget: number;
};

/**
 * Sends campaign recipients at most `maxPerSecond` per sending number with bounded concurrency.
 * Send slots come from a schedule shared through the database (see SEND_PACE), so replicas add up
 * to the limit, never beyond it. Each recipient is claimed under a lease (renewed while it is
 * held), sent at its slot (or given a later one when it missed it) and recorded right after, so a
 * restart resumes where it stopped.
 */
export function createCampaignDispatcher(options: CampaignDispatcherOptions) {
  const settings = withDefaults(options);
  const { campaigns, now, logger, idleDelayMs } = settings;
  let running = false;
  let loop: Promise<void> | null = null;
  const tasks = new Set<Promise<void>>();
  const alarm = createWakeableSleep();
  let activeCache: { at: number; campaigns: CampaignRecord[] } | null = null;
  /** Ids of the campaigns last seen sending (kept when the cache is dropped); null before the first look. */
  let activeIds: Set<string> | null = null;
  const leases = createRecipientLeases(settings);
  const sender = createCampaignSender(settings);
  const backlog = createCampaignBacklog({
    ...settings,
    leases,
    settle,
    release,
    onActiveChanged: dropActiveCache,
    onWaiting: options.onProgress,
  });
  const lanes = createSendingLanes({
    ...settings,
    schedule: scheduleFor(settings.budget, settings.maxPerSecond),
    backlog,
    sender,
    maySend: (campaignId) => running && (activeIds === null || activeIds.has(campaignId)),
    release,
    settle,
    track,
    wake: alarm.wake,
  });

  function dropActiveCache(): void {
    activeCache = null;
  }

  /** Lets a recipient go: settled (sent, failed, requeued) or handed back. */
  function settle(claimed: ClaimedRecipient): void {
    leases.letGo(claimed.recipient.id);
    // Its campaign may be done now, or have a retry due: look again.
    backlog.lookAgain(claimed.campaign.id);
    options.onProgress(claimed.campaign.id);
    alarm.wake();
  }

  function track(task: Promise<void>): void {
    tasks.add(task);
    void task.finally(() => tasks.delete(task));
  }

  function release(claimed: ClaimedRecipient): void {
    track(
      campaigns
        .release(claimed.recipient.id, now())
        .catch((error: unknown) => logger.warn({ err: String(error) }, 'giving a campaign recipient back failed'))
        .finally(() => settle(claimed)),
    );
  }

  /** One pass over the sending numbers with active campaigns; returns when it wants to run again. */
  async function tick(): Promise<number> {
    const at = now();
    if (!activeCache || at - activeCache.at > 250) {
      const active = await campaigns.active(at);
      activeCache = { at, campaigns: active };
      activeIds = new Set(active.map((c) => c.id));
    }
    const ids = activeIds ?? new Set<string>();
    let runAgainAt = at + idleDelayMs;
    for (const [number, laneCampaigns] of campaignsByNumber(activeCache.campaigns, lanes.numbersWithBacklog()))
      runAgainAt = Math.min(runAgainAt, await lanes.visit(number, laneCampaigns, ids));
    return runAgainAt;
  }

  async function run(): Promise<void> {
    while (running) {
      let runAgainAt = now() + idleDelayMs;
      try {
        runAgainAt = await tick();
      } catch (error) {
        logger.error({ err: String(error) }, 'campaign dispatcher tick failed');
      }
      if (!running) break;
      // At least 1 ms, so nothing can spin; a settled or handed-back recipient wakes it early.
      await alarm.sleep(Math.max(1, Math.min(idleDelayMs, runAgainAt - now())));
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
      leases.startRenewing();
    },
    wake() {
      dropActiveCache();
      backlog.lookAgainAtAll();
      alarm.wake();
    },
    async stop() {
      running = false;
      alarm.wake();
      await loop;
      // Recipients claimed but not started go back to the queue at once, not after their lease.
      lanes.releaseBacklogs();
      while (tasks.size > 0) await Promise.allSettled([...tasks]);
      await sender.idle();
      leases.stopRenewing();
    },
    get inFlight() {
      return leases.count;
    },
  };
}
export type CampaignDispatcher = ReturnType<typeof createCampaignDispatcher>;

/** The options, with the defaults of those left out. */
function withDefaults(options: CampaignDispatcherOptions) {
  return {
    ...options,
    leaseMs: options.leaseMs ?? 60_000,
    idleDelayMs: options.idleDelayMs ?? 200,
    maxAttempts: options.maxAttempts ?? MAX_SEND_ATTEMPTS,
    retryBaseDelayMs: options.retryBaseDelayMs ?? RETRY_BASE_DELAY_MS,
  };
}

type SendingLanesDeps = {
  schedule: Schedule;
  concurrency: number;
  now: () => number;
  logger: Logger;
  backlog: CampaignBacklog;
  sender: CampaignSender;
  /** False when a recipient due at its slot must not go out: stopping, or its campaign no longer sending. */
  maySend(campaignId: string): boolean;
  /** Hands a recipient back to the queue without trying it. */
  release(claimed: ClaimedRecipient): void;
  /** Lets a recipient go once its send is settled. */
  settle(claimed: ClaimedRecipient): void;
  track(task: Promise<void>): void;
  wake(): void;
};

/**
 * This process's lane of each sending number: slots reserved from the number's shared schedule,
 * and the recipients of its backlog launched at them, with at most `concurrency` sends in flight.
 */
function createSendingLanes(deps: SendingLanesDeps) {
  const { schedule, now } = deps;
  const lanes = new Map<string, Lane>();
  const gate = createSendGate(deps.concurrency, now);

  /**
   * A sending number's turn: its backlog refilled, slots reserved for it, and its recipients
   * launched at them. Returns when it wants to run again (Infinity: no sooner than usual).
   */
  async function visit(number: string, laneCampaigns: CampaignRecord[], activeIds: Set<string>): Promise<number> {
    const lane = laneOf(number);
    // Recipients of campaigns cancelled meanwhile are given back (and end cancelled).
    if (lane.backlog.some((p) => !activeIds.has(p.campaign.id))) {
      for (const prepared of lane.backlog.filter((p) => !activeIds.has(p.campaign.id))) deps.release(prepared);
      lane.backlog = lane.backlog.filter((p) => activeIds.has(p.campaign.id));
    }
    if (lane.pausedUntil > now()) return lane.pausedUntil;
    const waiting = lane.backlog.length + lane.scheduled;
    if (waiting < schedule.backlogTarget)
      await deps.backlog.refill(lane, laneCampaigns, 2 * schedule.backlogTarget - waiting);
    if (lane.backlog.length === 0) return Number.POSITIVE_INFINITY;

    const at = now();
    giveUpMissedSlots(lane, at);
    if (lane.remaining === 0) {
      const retryAt = await reserveSlots(lane, number, at, schedule);
      if (retryAt !== null) return retryAt;
    }
    while (lane.remaining > 0) {
      const prepared = lane.backlog.shift();
      if (!prepared) break;
      launch(lane, prepared, lane.nextSlotAt);
      lane.nextSlotAt += lane.spacingMs;
      lane.remaining--;
    }
    return lane.remaining > 0 ? lane.nextSlotAt : lane.scheduleFreeAt - schedule.lookaheadMs / 2;
  }

  function laneOf(sendingNumberId: string): Lane {
    let lane = lanes.get(sendingNumberId);
    if (!lane) {
      lane = newLane();
      lanes.set(sendingNumberId, lane);
    }
    return lane;
  }

  /** At its slot: sent (and recorded), or handed back for a later slot. */
  function launch(lane: Lane, prepared: PreparedRecipient, slot: number): void {
    lane.scheduled++;
    const task = sendAtSlot(lane, prepared, slot).catch((error: unknown) =>
      deps.logger.error({ err: String(error), campaignId: prepared.campaign.id }, 'campaign send bookkeeping failed'),
    );
    deps.track(task);
  }

  async function sendAtSlot(lane: Lane, prepared: PreparedRecipient, slot: number): Promise<void> {
    const wait = slot - now();
    if (wait > 0) await delay(wait);
    lane.scheduled--;
    if (!deps.maySend(prepared.campaign.id)) {
      // Stopping, or its campaign was cancelled meanwhile: not sent.
      deps.release(prepared);
      return;
    }
    // All sends in flight: wait for one to finish, but only while this slot is still usable.
    if (gate.full) await gate.untilRoomOr(slot + SEND_LATENESS_MS);
    if (now() > slot + SEND_LATENESS_MS || gate.full) {
      // Started this late it could bunch up with later slots above the limit: it takes a later one.
      lane.backlog.unshift(prepared);
      deps.wake();
      return;
    }
    gate.enter();
    try {
      await deps.sender.sendAndRecord(lane, prepared);
    } finally {
      gate.leave();
      deps.settle(prepared);
    }
  }

  return {
    visit,
    /** Sending numbers with recipients waiting in this process, in the order their lanes were made. */
    numbersWithBacklog(): string[] {
      return [...lanes].filter(([, lane]) => lane.backlog.length > 0).map(([number]) => number);
    },
    /** Hands every recipient still waiting for a slot back to the queue. */
    releaseBacklogs(): void {
      for (const lane of lanes.values()) {
        for (const prepared of lane.backlog) deps.release(prepared);
        lane.backlog = [];
      }
    },
  };
}

function scheduleFor(budget: SendBudget, maxPerSecond: number): Schedule {
  // Slots are reserved about 25 slots ahead (10–50 ms), and recipients claimed for as many: enough
  // that a late wake-up of the loop doesn't leave a gap in the schedule, few enough to hold little.
  const spacingMs = 1000 / (maxPerSecond * SEND_PACE);
  const lookaheadMs = Math.min(50, Math.max(SCHEDULE_LOOKAHEAD_MS, 25 * spacingMs));
  return { budget, maxPerSecond, lookaheadMs, backlogTarget: Math.ceil(lookaheadMs / spacingMs) + 1 };
}

function newLane(): Lane {
  return {
    nextSlotAt: 0,
    remaining: 0,
    spacingMs: 0,
    scheduleFreeAt: 0,
    backlog: [],
    scheduled: 0,
    pausedUntil: 0,
    failureStreak: 0,
  };
}

/** Active campaigns by sending number, with the numbers that have a backlog but no active campaign left. */
function campaignsByNumber(active: CampaignRecord[], numbersWithBacklog: string[]): Map<string, CampaignRecord[]> {
  const byNumber = new Map<string, CampaignRecord[]>();
  for (const campaign of active)
    byNumber.set(campaign.sending_number_id, [...(byNumber.get(campaign.sending_number_id) ?? []), campaign]);
  for (const number of numbersWithBacklog) if (!byNumber.has(number)) byNumber.set(number, []);
  return byNumber;
}

/** Slots that can no longer be started in time are given up. */
function giveUpMissedSlots(lane: Lane, now: number): void {
  if (lane.remaining > 0 && lane.nextSlotAt + SEND_LATENESS_MS < now) {
    const missed = Math.min(lane.remaining, Math.ceil((now - SEND_LATENESS_MS - lane.nextSlotAt) / lane.spacingMs));
    lane.remaining -= missed;
    lane.nextSlotAt += missed * lane.spacingMs;
  }
}

/** Takes slots for the lane's backlog from the shared schedule: null once it holds some, else when to try again. */
async function reserveSlots(lane: Lane, sendingNumberId: string, now: number, schedule: Schedule) {
  // Reserve more of the shared schedule only when what this process holds runs short.
  const refillAt = lane.scheduleFreeAt - schedule.lookaheadMs / 2;
  if (refillAt > now) return refillAt;
  const grant = await schedule.budget.take(
    sendingNumberId,
    lane.backlog.length,
    schedule.maxPerSecond,
    now,
    schedule.lookaheadMs,
  );
  lane.scheduleFreeAt = grant.nextFreeAt;
  if (grant.granted === 0) return grant.nextFreeAt - schedule.lookaheadMs / 2;
  lane.nextSlotAt = grant.firstSlotAt;
  lane.remaining = grant.granted;
  lane.spacingMs = grant.spacingMs;
  return null;
}

/** At most `concurrency` sends in flight; a send that finishes lets the longest waiting one in. */
function createSendGate(concurrency: number, now: () => number) {
  let sending = 0;
  const waiters: (() => void)[] = [];
  return {
    get full(): boolean {
      return sending >= concurrency;
    },
    /** Resolves when a send finishes, or at `deadline`. */
    untilRoomOr(deadline: number): Promise<void> {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(0, deadline - now()));
        function done() {
          clearTimeout(timer);
          const index = waiters.indexOf(done);
          if (index >= 0) waiters.splice(index, 1);
          resolve();
        }
        waiters.push(done);
      });
    },
    enter(): void {
      sending++;
    },
    leave(): void {
      sending--;
      waiters.shift()?.();
    },
  };
}

/** A sleep that `wake` ends early; waking while nothing sleeps does nothing. */
function createWakeableSleep() {
  let wakeUp: (() => void) | null = null;
  return {
    sleep: (ms: number) =>
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
      }),
    wake(): void {
      wakeUp?.();
    },
  };
}
