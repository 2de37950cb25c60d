import { describe, expect, it } from 'vitest';
import { createIngestTracker, INGEST_PRIORITY_CONCURRENCY } from '../../src/jobs/ingest-priority.js';
import { createJobRunner } from '../../src/jobs/job-runner.js';
import { createLogger } from '../../src/shared/logger.js';

describe('ingest priority', () => {
  it('counts as busy while a webhook is in flight and shortly after the last one', () => {
    const ingest = createIngestTracker();
    expect(ingest.busy(1_000)).toBe(false);
    ingest.started(1_000);
    expect(ingest.busy(5_000)).toBe(true); // however long it takes
    ingest.finished(5_000);
    expect(ingest.busy(5_050)).toBe(true);
    expect(ingest.busy(5_200)).toBe(false);
  });

  it('makes the job runner claim only as many jobs as the current concurrency allows', async () => {
    const limits: number[] = [];
    let busy = true;
    const store = {
      claim: async (options: { limit: number }) => {
        limits.push(options.limit);
        return [];
      },
    } as unknown as Parameters<typeof createJobRunner>[0]['store'];
    const runner = createJobRunner({
      store,
      handlers: { k: async () => {} },
      clock: { now: () => Date.now() },
      logger: createLogger('silent'),
      classifyFailure: () => ({ retry: false }),
      concurrency: () => (busy ? INGEST_PRIORITY_CONCURRENCY : 16),
      pollIntervalMs: 5,
    });
    runner.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    busy = false;
    await new Promise((resolve) => setTimeout(resolve, 20));
    await runner.stop();
    expect(limits[0]).toBe(INGEST_PRIORITY_CONCURRENCY);
    expect(limits.at(-1)).toBe(16);
  });
});
