import { getHeapStatistics } from 'node:v8';
import { createBridgeApp } from './app.js';
import { ConfigError, loadConfig, readEnvironment } from './config.js';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(readEnvironment(process.env, '.env'));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  // Without its database the process can do nothing useful: it stops with a failure code, and its
  // supervisor (systemd, Docker's restart policy, Kubernetes) starts it again.
  const app = createBridgeApp({ config, onFatal: () => shutdown('database lost', 1) });
  let stopping = false;
  const shutdown = (reason: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    // Also the code of a natural exit: with the database gone, stopping may end with nothing left to wait for.
    process.exitCode = exitCode;
    app.logger.info({ reason }, 'shutting down');
    app
      .stop()
      .then(() => process.exit(exitCode))
      .catch((error: unknown) => {
        app.logger.error({ err: String(error) }, 'shutdown failed');
        process.exit(1);
      });
    setTimeout(() => process.exit(1), 30_000).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('unhandledRejection', (reason) => {
    app.logger.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled rejection');
  });

  await app.start();
  // With a heap limit of 2 GB or more V8 lets the heap grow to four times what is live before it
  // collects, less below: a campaign peaked at 250 MB RSS without the flag and 191 MB with it
  // (docs/operations.md, "Memory").
  const heapLimitMb = Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
  if (heapLimitMb >= 2048) {
    app.logger.warn(
      { heapLimitMb },
      'node was started without --max-old-space-size: start it as `npm start` does (--max-old-space-size=512)',
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
