import { randomUUID } from 'node:crypto';
import type { ClaimedJob, JobStore, NewJob } from '../db/stores/job-store.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';

export type JobContext = { jobId: number; attempts: number; maxAttempts: number; isLastAttempt: boolean };
export type JobHandler = (payload: unknown, context: JobContext) => Promise<void>;

/** What to do with a job whose handler threw. */
export type FailureDecision = { retry: true; delayMs?: number } | { retry: false };

export type JobRunnerOptions = {
  store: JobStore;
  handlers: Record<string, JobHandler>;
  clock: Clock;
  logger: Logger;
  classifyFailure(error: unknown): FailureDecision;
  /** Called once when a job will not be tried again (out of attempts or not retryable). */
  onGaveUp?(job: ClaimedJob, error: unknown): Promise<void>;
  workerId?: string;
  /** Jobs run at once; a function is asked before each claim (see the app's ingest priority). */
  concurrency?: number | (() => number);
  /** Least time between two job starts, asked before each claim (0: no spacing). */
  startSpacingMs?: () => number;
  pollIntervalMs?: number;
  leaseMs?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
};

export type JobRunner = {
  readonly workerId: string;
  start(): void;
  /** Stops claiming and waits for jobs in flight (their leases are released by completion). */
  stop(): Promise<void>;
  /** Claim now instead of at the next poll (called after an enqueue in this process). */
  wake(): void;
  enqueue(job: NewJob): Promise<number | null>;
  /** Resolves when nothing is in flight and the last claim found nothing (tests, shutdown). */
  idle(): Promise<void>;
};

/** A job given up because each of its attempts ended without an outcome (see execute). */
export class JobInterruptedError extends Error {
  constructor(readonly maxAttempts: number) {
    super(
      `it was interrupted ${maxAttempts} times without finishing (the process stopped or lost its lease while running it)`,
    );
    this.name = 'JobInterruptedError';
  }
}

export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + Math.random() * (exponential / 2));
}

/**
 * Longer than 150 lines on purpose: the steps of one flow as short inner functions sharing its
 * dependencies; splitting them into modules would only pass the same dependencies around.
 */
export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const workerId = options.workerId ?? `worker-${randomUUID()}`;
  const concurrency = options.concurrency ?? 8;
  const currentConcurrency = typeof concurrency === 'function' ? concurrency : () => concurrency;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const leaseMs = options.leaseMs ?? 60_000;
  const baseBackoffMs = options.baseBackoffMs ?? 1_000;
  const maxBackoffMs = options.maxBackoffMs ?? 5 * 60_000;
  const kinds = Object.keys(options.handlers);
  const { store, clock, logger } = options;

  const inFlight = new Set<Promise<void>>();
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let claiming = false;
  let wakeRequested = false;
  let lastClaimEmpty = false;
  let lastAbandonedCheck = 0;
  let idleWaiters: (() => void)[] = [];
  let lastStartAt = Number.NEGATIVE_INFINITY;
  let spacingTimer: NodeJS.Timeout | undefined;

  const notifyIdle = () => {
    if (inFlight.size === 0 && lastClaimEmpty && !claiming) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  };

  async function giveUp(job: ClaimedJob, error: unknown, log: Logger): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    log.error({ err: message }, 'job failed permanently');
    try {
      await options.onGaveUp?.(job, error);
    } catch (reportError) {
      log.error({ err: String(reportError) }, 'reporting a failed job failed');
    }
    await store.failPermanently(job.id, workerId, message, clock.now());
  }

  async function execute(job: ClaimedJob): Promise<void> {
    const handler = options.handlers[job.kind];
    const log = logger.child({ jobId: job.id, kind: job.kind, attempt: job.attempts });
    // Every claim counts an attempt, and a failure that is caught never retries past the budget:
    // a job over it was claimed again after its runs ended without an outcome (the process died
    // while running it, or its lease ran out). Running it again could take the process down again.
    if (job.attempts > job.maxAttempts) {
      await giveUp(job, new JobInterruptedError(job.maxAttempts), log);
      return;
    }
    const renew = setInterval(
      () => {
        store.extendLease(job.id, workerId, clock.now() + leaseMs).catch(() => {});
      },
      Math.max(1_000, leaseMs / 3),
    );
    try {
      if (!handler) throw new Error(`no handler for job kind ${job.kind}`);
      await handler(job.payload, {
        jobId: job.id,
        attempts: job.attempts,
        maxAttempts: job.maxAttempts,
        isLastAttempt: job.attempts >= job.maxAttempts,
      });
      await store.complete(job.id, workerId, clock.now());
    } catch (error) {
      const decision = options.classifyFailure(error);
      const message = error instanceof Error ? error.message : String(error);
      if (decision.retry && job.attempts < job.maxAttempts) {
        const delay = decision.delayMs ?? backoffDelay(job.attempts, baseBackoffMs, maxBackoffMs);
        log.warn({ err: message, retryInMs: delay }, 'job failed, will retry');
        await store.retryLater(job.id, workerId, message, clock.now() + delay, clock.now());
      } else await giveUp(job, error, log);
    } finally {
      clearInterval(renew);
    }
  }

  async function claimAndRun(): Promise<void> {
    if (!running) return;
    if (claiming) {
      wakeRequested = true;
      return;
    }
    claiming = true;
    try {
      do {
        wakeRequested = false;
        let free = currentConcurrency() - inFlight.size;
        if (free <= 0) break;
        const spacing = options.startSpacingMs?.() ?? 0;
        if (spacing > 0) {
          const wait = lastStartAt + spacing - clock.now();
          if (wait > 0) {
            spacingTimer ??= setTimeout(() => {
              spacingTimer = undefined;
              void claimAndRun();
            }, wait);
            spacingTimer.unref();
            break;
          }
          free = 1; // one start per spacing interval
        }
        // Abandoned jobs (a dead worker's expired lease) are looked for at most once a poll
        // interval; due jobs on every claim, which runs each time a job finishes.
        const now = clock.now();
        const includeAbandoned = now - lastAbandonedCheck >= pollIntervalMs;
        if (includeAbandoned) lastAbandonedCheck = now;
        const jobs = await store.claim({ workerId, now, leaseMs, limit: free, kinds, includeAbandoned });
        lastClaimEmpty = jobs.length === 0;
        if (jobs.length > 0) lastStartAt = clock.now();
        for (const job of jobs) {
          const task = execute(job)
            .catch((error: unknown) => logger.error({ err: String(error), jobId: job.id }, 'job bookkeeping failed'))
            .finally(() => {
              inFlight.delete(task);
              // A finished job may unblock the next one with the same ordering key.
              void claimAndRun();
              notifyIdle();
            });
          inFlight.add(task);
        }
        if (jobs.length > 0) wakeRequested = true;
      } while (wakeRequested && running);
    } catch (error) {
      logger.error({ err: String(error) }, 'claiming jobs failed');
    } finally {
      claiming = false;
      notifyIdle();
    }
  }

  const schedule = () => {
    if (!running) return;
    timer = setTimeout(() => {
      void claimAndRun().finally(schedule);
    }, pollIntervalMs);
    timer.unref();
  };

  return {
    workerId,
    start() {
      if (running) return;
      running = true;
      void claimAndRun();
      schedule();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      if (spacingTimer) clearTimeout(spacingTimer);
      spacingTimer = undefined;
      while (claiming) await new Promise((r) => setTimeout(r, 10));
      await Promise.allSettled([...inFlight]);
    },
    wake() {
      void claimAndRun();
    },
    async enqueue(job) {
      const id = await store.enqueue(job, clock.now());
      void claimAndRun();
      return id;
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        lastClaimEmpty = false;
        void claimAndRun().then(notifyIdle);
      });
    },
  };
}

/**
 * Several runners over one job table, each claiming its own kinds with its own concurrency, seen
 * as one: started, woken, stopped and waited for together. Enqueueing wakes all of them.
 */
export function combineJobRunners(first: JobRunner, ...others: JobRunner[]): JobRunner {
  const all = [first, ...others];
  return {
    workerId: first.workerId,
    start() {
      for (const runner of all) runner.start();
    },
    async stop() {
      await Promise.all(all.map((runner) => runner.stop()));
    },
    wake() {
      for (const runner of all) runner.wake();
    },
    async enqueue(job) {
      const id = await first.enqueue(job);
      for (const runner of others) runner.wake();
      return id;
    },
    async idle() {
      // A job of one runner may enqueue work for another: idle means all were idle in one pass
      // after the others had finished.
      for (let pass = 0; pass < all.length + 1; pass++) await Promise.all(all.map((runner) => runner.idle()));
    },
  };
}
