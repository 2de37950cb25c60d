import { once } from 'node:events';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// Runs in its own thread with its own connection to the same file.
const CHECKPOINTER = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} };
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/**
 * WAL checkpoints (copying the log back into the database file, with an fsync) otherwise run
 * inside whichever commit crosses the threshold, blocking the event loop for tens of
 * milliseconds at a time: long enough to make paced campaign sends miss their slots. Here they run
 * in a worker thread on a timer (PASSIVE: they never block writers); the app's own connection
 * turns automatic checkpoints off.
 */
export function startBackgroundCheckpoints(
  path: string,
  options: { intervalMs?: number; onFailure?: () => void } = {},
): { stop(): Promise<void> } {
  const intervalMs = options.intervalMs ?? 250;
  let stopping = false;
  const worker = new Worker(CHECKPOINTER, {
    eval: true,
    workerData: { path, driver: createRequire(import.meta.url).resolve('better-sqlite3'), intervalMs },
  });
  worker.unref();
  // A failing checkpointer must neither crash the app nor let the log grow without bound: the
  // caller turns SQLite's own checkpoints back on.
  const failed = () => {
    if (!stopping) options.onFailure?.();
  };
  worker.on('error', failed);
  worker.on('exit', failed);
  return {
    async stop() {
      stopping = true;
      const exited = once(worker, 'exit');
      worker.postMessage('stop');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      await worker.terminate();
    },
  };
}
