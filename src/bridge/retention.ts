import type { Logger } from '../shared/logger.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

export type RetentionStores = {
  purgeMessageContent(cutoff: number, now: number): Promise<number>;
  purgeMedia(cutoff: number): Promise<number>;
  purgeProcessedEvents(cutoff: number): Promise<number>;
  purgeFinishedJobs(cutoff: number): Promise<number>;
};

/**
 * Messages older than the retention period lose their bodies and media references; contacts,
 * notes, sessions and campaign totals stay. Bookkeeping (dedupe keys, finished jobs) goes after a week.
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
    cutoff: number;
  }> {
    const now = deps.now();
    const cutoff = now - deps.retentionDays * DAY_MS;
    const bookkeepingCutoff = now - Math.min(7, deps.retentionDays) * DAY_MS;
    const messages = await deps.stores.purgeMessageContent(cutoff, now);
    const media = await deps.stores.purgeMedia(cutoff);
    const events = await deps.stores.purgeProcessedEvents(bookkeepingCutoff);
    const jobs = await deps.stores.purgeFinishedJobs(bookkeepingCutoff);
    deps.logger.info({ messages, media, events, jobs, cutoff: new Date(cutoff).toISOString() }, 'retention purge done');
    return { messages, media, events, jobs, cutoff };
  };
}
