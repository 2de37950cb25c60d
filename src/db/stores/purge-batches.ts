/**
 * Rows changed per statement of a retention purge: each takes a few milliseconds, even on a busy
 * host. With 1,000 a statement held SQLite's one connection long enough to push webhook acks to a
 * p99 of 88 ms during the purge (`npm run bench -- scale`).
 */
export const PURGE_BATCH = 250;
/** Pause between a purge's statements, so webhooks' commits (SQLite's one connection) go in between. */
const PURGE_PAUSE_MS = 5;

/**
 * Runs `step` (one bounded statement returning how many rows it changed) until a step changes fewer
 * than a batch, pausing in between, so a purge of months of data never holds the database for more
 * than one small statement at a time. Returns the rows changed in all.
 */
export async function inPurgeBatches(step: (limit: number) => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const changed = await step(PURGE_BATCH);
    total += changed;
    if (changed < PURGE_BATCH) return total;
    await new Promise((resolve) => setTimeout(resolve, PURGE_PAUSE_MS));
  }
}
