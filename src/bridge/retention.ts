import type { Logger } from '../shared/logger.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

export type RetentionStores = {
  purgeMessageContent(cutoff: number, now: number): Promise<number>;
  purgeMedia(cutoff: number): Promise<number>;
  purgeProcessedEvents(cutoff: number): Promise<number>;
  purgeFinishedJobs(cutoff: number): Promise<number>;
  /** Per-recipient variables (names, codes: message content) of campaigns finished before cutoff. */
  purgeCampaignVariables(cutoff: number): Promise<number>;
  /** Campaigns never confirmed (a closed or abandoned confirmation), with their recipients. */
  purgeDrafts(cutoff: number): Promise<number>;
};

/** A confirmation left open longer than this is abandoned; its draft and recipients go. */
const DRAFT_LIFETIME_MS = DAY_MS;

/**
 * Messages older than the retention period lose their bodies and media references, and finished
 * campaigns their per-recipient variables; contacts, notes, sessions and campaign totals stay.
 * Bookkeeping (dedupe keys, finished jobs) goes after a week, unconfirmed campaign drafts after a day.
 */
export function createRetention(deps: {
  stores: RetentionStores;
  retentionDays: number;
  now: () => number;
  logger: Logger;
}) {
  return async function purge(): Promise<{
    messages: number;
    media: number;
    events: number;
    jobs: number;
    campaignVariables: number;
    drafts: number;
    cutoff: number;
  }> {
    const now = deps.now();
    const cutoff = now - deps.retentionDays * DAY_MS;
    const bookkeepingCutoff = now - Math.min(7, deps.retentionDays) * DAY_MS;
    const messages = await deps.stores.purgeMessageContent(cutoff, now);
    const media = await deps.stores.purgeMedia(cutoff);
    const events = await deps.stores.purgeProcessedEvents(bookkeepingCutoff);
    const jobs = await deps.stores.purgeFinishedJobs(bookkeepingCutoff);
    const campaignVariables = await deps.stores.purgeCampaignVariables(cutoff);
    const drafts = await deps.stores.purgeDrafts(now - DRAFT_LIFETIME_MS);
    deps.logger.info(
      { messages, media, events, jobs, campaignVariables, drafts, cutoff: new Date(cutoff).toISOString() },
      'retention purge done',
    );
    return { messages, media, events, jobs, campaignVariables, drafts, cutoff };
  };
}
