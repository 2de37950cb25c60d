/** Jobs allowed at once while webhooks are arriving (instead of the usual worker concurrency). */
export const INGEST_PRIORITY_CONCURRENCY = 2;
/** After the last webhook finished, ingest counts as busy this much longer (bursts have gaps). */
const QUIET_AFTER_MS = 100;
/**
 * This many webhooks handled at once means they are queuing: the provider sends faster than
 * the bridge answers. A webhook acknowledged late is delivered again (and Meta disables a
 * webhook that keeps timing out), while Slack takes about one post a second per channel anyway,
 * so under pressure the acknowledgements come first.
 */
export const INGEST_PRESSURE_IN_FLIGHT = 8;
/** Under pressure, Slack-bound jobs start at most this often: 20 a second. */
export const PRESSURE_START_SPACING_MS = 50;

/** Knows whether provider webhooks are arriving right now (in flight, or one just finished). */
export function createIngestTracker() {
  let inFlight = 0;
  let lastFinishedAt = Number.NEGATIVE_INFINITY;
  let lastPressureAt = Number.NEGATIVE_INFINITY;
  return {
    started(now: number): void {
      inFlight++;
      if (inFlight >= INGEST_PRESSURE_IN_FLIGHT) lastPressureAt = now;
    },
    finished(now: number): void {
      if (inFlight >= INGEST_PRESSURE_IN_FLIGHT) lastPressureAt = now;
      inFlight = Math.max(0, inFlight - 1);
      lastFinishedAt = now;
    },
    busy(now: number): boolean {
      return inFlight > 0 || now - lastFinishedAt < QUIET_AFTER_MS;
    },
    /** Webhooks are queuing now, or were a moment ago. */
    underPressure(now: number): boolean {
      return inFlight >= INGEST_PRESSURE_IN_FLIGHT || now - lastPressureAt < QUIET_AFTER_MS;
    },
  };
}
export type IngestTracker = ReturnType<typeof createIngestTracker>;
