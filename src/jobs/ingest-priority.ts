/** Jobs allowed at once while webhooks are arriving (instead of the usual worker concurrency). */
export const INGEST_PRIORITY_CONCURRENCY = 2;
/** After the last webhook finished, ingest counts as busy this much longer (bursts have gaps). */
const QUIET_AFTER_MS = 100;

/** Knows whether provider webhooks are arriving right now (in flight, or one just finished). */
export function createIngestTracker() {
  let inFlight = 0;
  let lastFinishedAt = Number.NEGATIVE_INFINITY;
  return {
    started(_now: number): void {
      inFlight++;
    },
    finished(now: number): void {
      inFlight = Math.max(0, inFlight - 1);
      lastFinishedAt = now;
    },
    busy(now: number): boolean {
      return inFlight > 0 || now - lastFinishedAt < QUIET_AFTER_MS;
    },
  };
}
