import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClaimedJob } from '../../src/db/stores/job-store.js';
import {
  createIngestTracker,
  INGEST_PRESSURE_IN_FLIGHT,
  INGEST_PRIORITY_CONCURRENCY,
  PRESSURE_START_SPACING_MS,
} from '../../src/jobs/ingest-priority.js';
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

  it('is under pressure while webhooks queue up, and shortly after, but not for a few at a time', () => {
    const ingest = createIngestTracker();
    for (let i = 0; i < INGEST_PRESSURE_IN_FLIGHT - 1; i++) ingest.started(1_000);
    expect(ingest.underPressure(1_000)).toBe(false);
    expect(ingest.busy(1_000)).toBe(true);
    ingest.started(1_010);
    expect(ingest.underPressure(1_010)).toBe(true);
    for (let i = 0; i < INGEST_PRESSURE_IN_FLIGHT; i++) ingest.finished(1_020);
    expect(ingest.underPressure(1_080)).toBe(true);
    expect(ingest.underPressure(1_200)).toBe(false);
  });

  describe('spacing job starts', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('starts one job per spacing interval while asked to, and all it may at once otherwise', async () => {
      vi.useFakeTimers({ now: 0 });
      let nextId = 1;
      const started: { id: number; at: number }[] = [];
      const store = {
        claim: async (options: { limit: number }) =>
          Array.from(
            { length: options.limit },
            (): ClaimedJob => ({
              id: nextId++,
              kind: 'k',
              payload: null,
              attempts: 1,
              maxAttempts: 1,
              orderingKey: null,
            }),
          ),
        complete: async () => true,
        extendLease: async () => {},
      } as unknown as Parameters<typeof createJobRunner>[0]['store'];
      let pressure = true;
      const finishers: (() => void)[] = [];
      const runner = createJobRunner({
        store,
        handlers: {
          k: (_payload, context) =>
            new Promise<void>((resolve) => {
              started.push({ id: context.jobId, at: Date.now() });
              finishers.push(resolve);
            }),
        },
        clock: { now: () => Date.now() },
        logger: createLogger('silent'),
        classifyFailure: () => ({ retry: false }),
        concurrency: 4,
        startSpacingMs: () => (pressure ? PRESSURE_START_SPACING_MS : 0),
        pollIntervalMs: 1_000,
      });
      runner.start();
      await vi.advanceTimersByTimeAsync(0);
      expect(started.map((s) => s.at)).toEqual([0]); // 4 slots free, but one start per interval
      await vi.advanceTimersByTimeAsync(PRESSURE_START_SPACING_MS * 2);
      expect(started.map((s) => s.at)).toEqual([0, PRESSURE_START_SPACING_MS, PRESSURE_START_SPACING_MS * 2]);

      pressure = false;
      for (const finish of finishers.splice(0)) finish();
      await vi.advanceTimersByTimeAsync(0);
      // No spacing any more: every free slot is filled at once.
      const now = PRESSURE_START_SPACING_MS * 2;
      expect(started.filter((s) => s.at === now)).toHaveLength(1 + 4);
      for (const finish of finishers.splice(0)) finish();
      await runner.stop();
    });
  });
});
