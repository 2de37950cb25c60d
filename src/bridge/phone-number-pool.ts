import { availableParallelism } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { ParsedNumber } from './phone-number.js';
import { createCachedNumberParser } from './phone-number-cache.js';

/** Validates many numbers (same results, in order, as parseInternationalNumber one by one). */
export type NumberValidator = (inputs: readonly string[]) => Promise<ParsedNumber[]>;

const CHUNK = 10_000;

/**
 * In this thread, letting the event loop run between chunks: a big file never stalls the app's
 * other work for more than a few milliseconds at a time.
 */
export const validateInThread: NumberValidator = async (inputs) => {
  const results: ParsedNumber[] = [];
  const parse = createCachedNumberParser();
  for (let i = 0; i < inputs.length; i += 1000) {
    for (const input of inputs.slice(i, i + 1000)) results.push(parse(input));
    await yieldToEventLoop();
  }
  return results;
};

/**
 * Validating a number with the full libphonenumber metadata costs ~30 µs, so a 10 MB file is
 * ~20 s of CPU: spread over worker threads (one per core, up to 4), off the event loop, for files
 * of `minBatch` (50,000) numbers or more. Workers start on first use and stop when idle. Only the
 * compiled build has a worker file to run; from TypeScript sources (tests, tsx) this validates
 * in-thread.
 */
export function createNumberValidatorPool(
  options: {
    size?: number;
    idleMs?: number;
    minBatch?: number;
    /** A worker failed and the numbers were validated in-thread instead. */
    onFallback?: (error: unknown) => void;
  } = {},
): NumberValidator {
  const workerFile = new URL('./phone-number-worker.js', import.meta.url);
  if (!import.meta.url.endsWith('.js')) return validateInThread;
  const size = options.size ?? Math.max(1, Math.min(4, availableParallelism()));
  const idleMs = options.idleMs ?? 15_000;
  const minBatch = options.minBatch ?? 50_000;
  type Pending = { resolve(results: ParsedNumber[]): void; reject(error: unknown): void };
  let workers: Worker[] = [];
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let idleTimer: NodeJS.Timeout | null = null;

  function stopWorkers(): void {
    for (const worker of workers) void worker.terminate();
    workers = [];
  }

  function start(): Worker[] {
    if (workers.length > 0) return workers;
    workers = Array.from({ length: size }, () => {
      const worker = new Worker(workerFile);
      worker.unref();
      worker.on('message', (message: { id: number; results: ParsedNumber[] }) => {
        pending.get(message.id)?.resolve(message.results);
        pending.delete(message.id);
      });
      const fail = (error: unknown) => {
        for (const waiter of pending.values()) waiter.reject(error);
        pending.clear();
        stopWorkers();
      };
      worker.on('error', fail);
      worker.on('exit', () => {
        if (pending.size > 0) fail(new Error('a phone number worker exited'));
      });
      return worker;
    });
    return workers;
  }

  return async (inputs) => {
    // A few thousand numbers take a fraction of a second: not worth starting threads (and their
    // ~30 MB each of metadata) for.
    if (inputs.length < minBatch) return validateInThread(inputs);
    if (idleTimer) clearTimeout(idleTimer);
    try {
      const pool = start();
      const chunks: Promise<ParsedNumber[]>[] = [];
      for (let i = 0, n = 0; i < inputs.length; i += CHUNK, n++) {
        const id = nextId++;
        const slice = inputs.slice(i, i + CHUNK);
        chunks.push(
          new Promise<ParsedNumber[]>((resolve, reject) => {
            pending.set(id, { resolve, reject });
            pool[n % pool.length]?.postMessage({ id, inputs: slice });
          }),
        );
      }
      return (await Promise.all(chunks)).flat();
    } catch (error) {
      // A worker that failed (out of memory, killed) must not fail the campaign: do it here.
      options.onFallback?.(error);
      return validateInThread(inputs);
    } finally {
      if (pending.size === 0) {
        idleTimer = setTimeout(stopWorkers, idleMs);
        idleTimer.unref();
      }
    }
  };
}
