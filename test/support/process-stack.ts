import { AppProcess, bridgeEnv, freePort } from './app-process.js';
import { BOT_TOKEN } from './bridge-harness.js';
import type { TestDatabase } from './databases.js';
import { type FakeMetaGraph, startFakeMetaGraph } from './fake-meta-graph.js';
import { type FakeSlack, startFakeSlack } from './fake-slack.js';

/** The bridge as a real OS process on a test database, wired to a fake Slack and a fake Graph API. */
export type ProcessStack = { slack: FakeSlack; meta: FakeMetaGraph; database: TestDatabase; app: AppProcess };

/** Starts the fakes and the app (answering /healthz); what started is stopped again if the app cannot start. */
export async function startProcessStack(options: {
  database: TestDatabase;
  settings?: Record<string, string>;
  nodeArgs?: readonly string[];
}): Promise<ProcessStack> {
  const { database } = options;
  const slack = await startFakeSlack({ botToken: BOT_TOKEN });
  const meta = await startFakeMetaGraph();
  const app = new AppProcess(
    bridgeEnv({ slackUrl: slack.url, metaUrl: meta.url, database: database.target }, options.settings),
    await freePort(),
    options.nodeArgs,
  );
  try {
    await app.start();
  } catch (error) {
    await stopProcessStack({ slack, meta, database, app });
    throw error;
  }
  return { slack, meta, database, app };
}

/** Kills the app and closes the fakes, dropping the database; BRIDGE_TEST_LOGS=1 prints the app's output. */
export async function stopProcessStack(stack: Partial<ProcessStack>): Promise<void> {
  if (process.env.BRIDGE_TEST_LOGS) process.stderr.write(stack.app?.output.join('') ?? '');
  await stack.app?.stop('SIGKILL');
  await stack.slack?.close();
  await stack.meta?.close();
  await stack.database?.drop();
  stack.slack?.assertFollowedRules();
}
