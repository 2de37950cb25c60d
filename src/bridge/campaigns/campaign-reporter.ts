import type { Logger } from '../../shared/logger.js';
import type { CampaignControl, CampaignControlRepository } from './campaign-pauses.js';
import { type CampaignRecord, type CampaignRepository, isApiTriggered, type StatusCounts } from './campaign-ports.js';

export type CampaignProgressModel = {
  campaign: CampaignRecord;
  counts: StatusCounts;
  failureReasons: { reason: string; count: number }[];
  /** Sends per second over the campaign so far, for the ETA. */
  ratePerSecond: number | null;
  etaSeconds: number | null;
  /** Its pause (with the reason) and messaging limit, when it has either. */
  control?: CampaignControl | null;
};

export interface CampaignSlackPort {
  /** Posts (ts null) or updates the one progress message of a campaign; returns where it is. */
  showProgress(
    channelId: string,
    ts: string | null,
    model: CampaignProgressModel,
  ): Promise<{ channelId: string; ts: string }>;
}

/**
 * Keeps one Slack message per campaign up to date: throttled while sending, and once more when the
 * campaign finishes or late delivery statuses arrive. Templates triggered through the HTTP API get
 * no message (only their totals are kept).
 */
export function createCampaignReporter(deps: {
  campaigns: CampaignRepository & Pick<CampaignControlRepository, 'control'>;
  slack: CampaignSlackPort;
  now: () => number;
  logger: Logger;
  minIntervalMs?: number;
}) {
  const minInterval = deps.minIntervalMs ?? 2_000;
  const lastShown = new Map<string, number>();
  const pending = new Map<string, NodeJS.Timeout>();
  const running = new Map<string, Promise<void>>();

  async function report(campaignId: string): Promise<void> {
    const campaign = await deps.campaigns.get(campaignId);
    if (!campaign || campaign.status === 'draft') return;
    const counts = await deps.campaigns.counts(campaignId);
    await deps.campaigns.updateTotals(campaignId, counts);
    // At OTP volume one message per API send would flood the channel and back up its Slack queue.
    if (isApiTriggered(campaign)) return;
    const done = counts.sent + counts.delivered + counts.read + counts.failed;
    const elapsed = campaign.started_at ? (deps.now() - campaign.started_at) / 1000 : 0;
    const ratePerSecond = elapsed > 1 && done > 0 ? done / elapsed : null;
    const remaining = counts.queued + counts.sending;
    const model: CampaignProgressModel = {
      campaign,
      counts,
      failureReasons: counts.failed > 0 ? await deps.campaigns.failureReasons(campaignId, 5) : [],
      ratePerSecond,
      etaSeconds: ratePerSecond && remaining > 0 ? Math.ceil(remaining / ratePerSecond) : null,
      control: current(await deps.campaigns.control(campaignId), deps.now()),
    };
    const shown = await deps.slack.showProgress(campaign.slack_channel_id, campaign.slack_message_ts, model);
    if (!campaign.slack_message_ts) await deps.campaigns.setSlackMessage(campaignId, shown.channelId, shown.ts);
    lastShown.set(campaignId, deps.now());
  }

  /** Serialised per campaign, so two updates never race to post the first message. */
  function runReport(campaignId: string): Promise<void> {
    const previous = running.get(campaignId) ?? Promise.resolve();
    const next = previous
      .then(() => report(campaignId))
      .catch((error: unknown) =>
        deps.logger.warn({ err: String(error), campaignId }, 'campaign progress update failed'),
      );
    running.set(campaignId, next);
    void next.finally(() => {
      if (running.get(campaignId) === next) running.delete(campaignId);
    });
    return next;
  }

  return {
    /** Update now (campaign started, finished, cancelled). */
    now: runReport,
    /** Update soon, at most once per interval. */
    soon(campaignId: string): void {
      if (pending.has(campaignId)) return;
      const since = deps.now() - (lastShown.get(campaignId) ?? 0);
      const timer = setTimeout(
        () => {
          pending.delete(campaignId);
          void runReport(campaignId);
        },
        Math.max(0, minInterval - since),
      );
      timer.unref();
      pending.set(campaignId, timer);
    },
    async flush(): Promise<void> {
      for (const [id, timer] of pending) {
        clearTimeout(timer);
        pending.delete(id);
        await runReport(id);
      }
      await Promise.allSettled([...running.values()]);
    },
  };
}
export type CampaignReporter = ReturnType<typeof createCampaignReporter>;

/** A wait for the messaging limit that is over is no longer shown. */
const current = (control: CampaignControl | null, now: number): CampaignControl | null =>
  control && control.waitingUntil !== null && control.waitingUntil <= now
    ? { ...control, waitingUntil: null }
    : control;
