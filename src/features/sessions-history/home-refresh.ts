import type { QueueChange } from '../../db/stores/inbox-queue-store.js';
import type { Logger } from '../../shared/logger.js';

export type HomeRefreshTiming = {
  /** How often the database is asked what changed (every replica asks; each refreshes its own viewers). */
  pollMs: number;
  /** A Home is republished for changes to the user's own conversations at most this often. */
  ownMinIntervalMs: number;
  /** …and for changes that are not the user's own (the team's, the unowned) at most this often. */
  minIntervalMs: number;
  /** How far before the last look each look reaches for server-stamped changes (clocks of replicas differ). */
  skewMs: number;
  /** …and for openings, which are stamped with the customer message's time and may arrive later. */
  lookbackMs: number;
  /** A Home opened longer ago than this is no longer refreshed in the background (opening it again publishes it). */
  viewerTtlMs: number;
};

export const DEFAULT_HOME_REFRESH: HomeRefreshTiming = {
  pollMs: 3_000,
  ownMinIntervalMs: 10_000,
  minIntervalMs: 60_000,
  skewMs: 10_000,
  lookbackMs: 2 * 60_000,
  viewerTtlMs: 4 * 60 * 60_000,
};

type Viewer = { openedAt: number; lead: boolean; lastPublishedAt: number };

/**
 * Keeps open App Homes current as the queues change, at a bounded cost.
 *
 * Slack says when someone opens their Home (app_home_opened, which publishes it fresh) but not
 * when they leave it, so a Home opened in the last `viewerTtlMs` counts as watched. Every
 * `pollMs` the database is asked what changed (it holds every replica's changes), and:
 * - a change to a conversation someone owns republishes that owner's Home at the next look (at
 *   most once per `ownMinIntervalMs`);
 * - a change anyone may care about (an unowned conversation, an ownership change) and every change
 *   for leads (the team's queue) marks the watched Homes stale; each is republished at most once
 *   per `minIntervalMs`, so a stream of customer messages costs each watcher one publish a minute,
 *   not one per message.
 */
export function createHomeRefresher(deps: {
  changesSince: (since: { stamped: number; messages: number }) => Promise<QueueChange[]>;
  publish: (userId: string) => Promise<void>;
  now: () => number;
  logger: Logger;
  timing: HomeRefreshTiming;
}) {
  const { timing } = deps;
  const viewers = new Map<string, Viewer>();
  const seen = new Map<string, number>();
  const soon = new Set<string>();
  const stale = new Set<string>();
  let lastLook = deps.now();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;

  function note(change: QueueChange) {
    for (const [userId, viewer] of viewers) {
      if (change.ownerUserId === userId) soon.add(userId);
      else if (viewer.lead || change.anyoneMayCare) stale.add(userId);
    }
  }

  async function look(): Promise<void> {
    const now = deps.now();
    for (const [userId, viewer] of viewers) if (now - viewer.openedAt > timing.viewerTtlMs) viewers.delete(userId);
    const keep = 2 * Math.max(timing.lookbackMs, timing.skewMs);
    for (const [key, at] of seen) if (now - at > keep) seen.delete(key);
    if (viewers.size > 0) {
      const from = Math.min(lastLook, now);
      const changes = await deps.changesSince({ stamped: from - timing.skewMs, messages: from - timing.lookbackMs });
      for (const change of changes) {
        if (seen.has(change.key)) continue;
        seen.set(change.key, now);
        note(change);
      }
    }
    lastLook = now;
    const due = new Set<string>();
    for (const [lane, interval] of [
      [soon, timing.ownMinIntervalMs],
      [stale, timing.minIntervalMs],
    ] as const) {
      for (const userId of lane) {
        const viewer = viewers.get(userId);
        if (!viewer) lane.delete(userId);
        else if (now - viewer.lastPublishedAt >= interval) due.add(userId);
      }
    }
    for (const userId of due) {
      soon.delete(userId);
      stale.delete(userId);
      if (!viewers.has(userId)) continue;
      await deps
        .publish(userId)
        .catch((error: unknown) => deps.logger.warn({ err: String(error), userId }, 'refreshing an App Home failed'));
    }
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      running = look()
        .catch((error: unknown) => deps.logger.warn({ err: String(error) }, 'looking for queue changes failed'))
        .finally(() => {
          running = null;
          schedule();
        });
    }, timing.pollMs);
    timer.unref();
  }

  return {
    /** The user opened their Home (it is being published fresh). */
    opened(userId: string) {
      const viewer = viewers.get(userId);
      viewers.set(userId, {
        openedAt: deps.now(),
        lead: viewer?.lead ?? false,
        lastPublishedAt: viewer?.lastPublishedAt ?? 0,
      });
    },
    /** A Home went out (opened, clicked, or refreshed here). */
    published(userId: string, lead: boolean) {
      const viewer = viewers.get(userId);
      if (!viewer) return;
      viewer.lead = lead;
      // The marks stay: this publish may have read the queues before the change it would clear.
      viewer.lastPublishedAt = deps.now();
    },
    start() {
      stopped = false;
      lastLook = deps.now();
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
