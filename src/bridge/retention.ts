import type { Logger } from '../shared/logger.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

export type RetentionStores = {
  purgeMessageContent(cutoff: number, now: number): Promise<number>;
  purgeMedia(cutoff: number): Promise<number>;
  purgeProcessedEvents(cutoff: number): Promise<number>;
  purgeFinishedJobs(cutoff: number): Promise<number>;
  /**
   * Variables (names, codes: message content) of campaigns finished before cutoff: per recipient
   * and campaign-level (an API send's are campaign-level), with the header media reference.
   */
  purgeCampaignVariables(cutoff: number): Promise<number>;
  /** API idempotency keys (client-chosen text, often naming an order or a person). */
  purgeApiRequests(cutoff: number): Promise<number>;
  /** Campaigns never confirmed (a closed or abandoned confirmation), with their recipients. */
  purgeDrafts(cutoff: number): Promise<number>;
};

/** A confirmation left open longer than this is abandoned; its draft and recipients go. */
const DRAFT_LIFETIME_MS = DAY_MS;

/**
 * Messages older than the retention period lose their bodies and media references, and finished
 * campaigns their variables; contacts, notes, sessions and campaign totals stay. Bookkeeping
 * (dedupe keys, finished jobs with their payloads, API idempotency keys) goes after a week, or
 * after the retention period if that is shorter; unconfirmed campaign drafts after a day.
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
    apiRequests: number;
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
    const apiRequests = await deps.stores.purgeApiRequests(bookkeepingCutoff);
    const drafts = await deps.stores.purgeDrafts(now - DRAFT_LIFETIME_MS);
    deps.logger.info(
      { messages, media, events, jobs, campaignVariables, apiRequests, drafts, cutoff: new Date(cutoff).toISOString() },
      'retention purge done',
    );
    return { messages, media, events, jobs, campaignVariables, apiRequests, drafts, cutoff };
  };
}
