import { randomUUID } from 'node:crypto';
import type { JobQueue } from '../bridge/ports.js';
import type { ClaimedJob, JobStore } from '../db/stores/job-store.js';
import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { INGEST_PRIORITY_CONCURRENCY, type IngestTracker, PRESSURE_START_SPACING_MS } from './ingest-priority.js';
import {
  combineJobRunners,
  createJobRunner,
  type FailureDecision,
  type JobHandler,
  type JobRunner,
  type JobRunnerOptions,
} from './job-runner.js';

/**
 * Work that ends in Slack (posting what came in) and work that ends at the provider (what agents
 * send) run in separate pools: a Slack rate limit that holds back posts in a channel, with their
 * jobs waiting it out, never leaves an agent's reply to a customer waiting for a free worker.
 */
export type JobPool = 'slack' | 'provider';

/** Agent replies and conversation templates sent at once (each conversation stays in order). */
const PROVIDER_BOUND_CONCURRENCY = 8;

export type JobKindRegistration = {
  pool: JobPool;
  handler: JobHandler;
  /** Called once when a job of this kind will not be tried again; tells whoever is waiting for it. */
  onGaveUp?(payload: unknown, error: unknown): Promise<void>;
};

export type JobPools = {
  /** This process's worker id: what its job and campaign leases are held under. */
  readonly workerId: string;
  /** Enqueues durably and wakes the pool that runs the kind. */
  readonly queue: JobQueue;
  /** Features register their job kinds before `start`. */
  handle(kind: string, registration: JobKindRegistration): void;
  /** Both pools seen as one (tests wait on `idle`); exists once started. */
  readonly runner: JobRunner;
  wake(pool: JobPool): void;
  start(): void;
  stop(): Promise<void>;
};

/**
 * The durable job table's two worker pools. Ingest comes first: while webhooks are arriving,
 * Slack-bound work steps aside to a couple of jobs at a time, and while they queue up (a burst)
 * it starts at most 20 jobs a second, so acknowledgements stay fast; the backlog drains right
 * after. Agents' replies have their own pool and are not held back.
 */
export function createJobPools(options: {
  store: JobStore;
  clock: Clock;
  logger: Logger;
  ingest: IngestTracker;
  classifyFailure(error: unknown): FailureDecision;
  onGaveUp(job: ClaimedJob, error: unknown): Promise<void>;
  slackBoundConcurrency: number;
  pollIntervalMs: number;
  leaseMs: number;
  backoffMs?: { base: number; max: number };
}): JobPools {
  const { clock, ingest } = options;
  const kinds = new Map<string, JobKindRegistration>();
  const handlersOf = (pool: JobPool) =>
    Object.fromEntries([...kinds].filter(([, r]) => r.pool === pool).map(([kind, r]) => [kind, r.handler]));
  let runners: { slack: JobRunner; provider: JobRunner; both: JobRunner } | undefined;
  const workerId = `worker-${randomUUID()}`;

  const build = () => {
    const common: Omit<JobRunnerOptions, 'handlers'> = {
      store: options.store,
      workerId,
      clock,
      logger: options.logger,
      classifyFailure: options.classifyFailure,
      onGaveUp: async (job, error) => {
        await options.onGaveUp(job, error);
        await kinds.get(job.kind)?.onGaveUp?.(job.payload, error);
      },
      pollIntervalMs: options.pollIntervalMs,
      ...(options.backoffMs ? { baseBackoffMs: options.backoffMs.base, maxBackoffMs: options.backoffMs.max } : {}),
      leaseMs: options.leaseMs,
    };
    const slack = createJobRunner({
      ...common,
      handlers: handlersOf('slack'),
      concurrency: () => (ingest.busy(clock.now()) ? INGEST_PRIORITY_CONCURRENCY : options.slackBoundConcurrency),
      startSpacingMs: () => (ingest.underPressure(clock.now()) ? PRESSURE_START_SPACING_MS : 0),
    });
    const provider = createJobRunner({
      ...common,
      handlers: handlersOf('provider'),
      concurrency: PROVIDER_BOUND_CONCURRENCY,
    });
    return { slack, provider, both: combineJobRunners(slack, provider) };
  };

  return {
    workerId,
    queue: {
      async enqueue(job) {
        const id = await options.store.enqueue(job, clock.now());
        // Only the pool that has work is woken: each claim walks that pool's due jobs.
        const pool = kinds.get(job.kind)?.pool;
        if (runners && pool) runners[pool].wake();
        return id !== null;
      },
    },
    handle(kind, registration) {
      if (runners) throw new Error(`job kind ${kind} registered after the job pools started`);
      kinds.set(kind, registration);
    },
    get runner() {
      runners ??= build();
      return runners.both;
    },
    wake(pool) {
      runners?.[pool].wake();
    },
    start() {
      runners ??= build();
      runners.both.start();
    },
    async stop() {
      await runners?.both.stop();
    },
  };
}
