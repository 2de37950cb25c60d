import type { NewJob } from '../db/stores/job-store.js';

/**
 * Group commit for webhook intake: requests that arrive while a transaction is being written are
 * stored together in the next one. Each caller still resolves only after its own jobs are
 * committed, so nothing is acknowledged before it is durable, but N concurrent webhooks cost one
 * transaction instead of N.
 */
export function createBatchedEnqueue(write: (jobs: NewJob[]) => Promise<void>, options: { maxBatch?: number } = {}) {
  const maxBatch = options.maxBatch ?? 500;
  type Waiter = { jobs: NewJob[]; resolve: () => void; reject: (error: unknown) => void };
  const pending: Waiter[] = [];
  let writing = false;

  async function flush(): Promise<void> {
    if (writing || pending.length === 0) return;
    writing = true;
    const batch: Waiter[] = [];
    let size = 0;
    while (pending.length > 0 && (batch.length === 0 || size + (pending[0]?.jobs.length ?? 0) <= maxBatch)) {
      const waiter = pending.shift() as Waiter;
      batch.push(waiter);
      size += waiter.jobs.length;
    }
    try {
      await write(batch.flatMap((w) => w.jobs));
      for (const waiter of batch) waiter.resolve();
    } catch (error) {
      for (const waiter of batch) waiter.reject(error);
    } finally {
      writing = false;
      if (pending.length > 0) void flush();
    }
  }

  return (jobs: NewJob[]): Promise<void> => {
    if (jobs.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      pending.push({ jobs, resolve, reject });
      if (!writing) setImmediate(() => void flush());
    });
  };
}
