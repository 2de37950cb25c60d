import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/app-process.js';
import { CHANNEL_ID, postMetaWebhook } from '../support/bridge-harness.js';
import { createSqliteDatabase, type TestDatabase } from '../support/databases.js';
import type { FakeMetaGraph } from '../support/fake-meta-graph.js';
import type { FakeSlack } from '../support/fake-slack.js';
import { inboundWebhook } from '../support/meta-webhooks.js';
import { startProcessStack, stopProcessStack } from '../support/process-stack.js';
import { waitFor } from '../support/wait-for.js';

const stopper = join(resolve(import.meta.dirname, '..'), 'support/sqlite-thread-stopper.cjs');

describe('the SQLite connection thread dies under a running app', () => {
  let slack: FakeSlack;
  let meta: FakeMetaGraph;
  let database: TestDatabase;
  let app: AppProcess;

  beforeAll(async () => {
    ({ slack, meta, database, app } = await startProcessStack({
      database: createSqliteDatabase(),
      settings: { SLACK_CHANNEL_POST_INTERVAL_MS: '2' },
      nodeArgs: ['--require', stopper],
    }));
  }, 60_000);

  afterAll(() => stopProcessStack({ slack, meta, database, app }));

  const inboundPosts = (id: string) =>
    slack.messages(CHANNEL_ID).filter((m) => m.metadata?.event_payload.key === id).length;

  it('exits with a failure code, so its supervisor restarts it, and the restarted app has everything', async () => {
    const before = inboundWebhook({ type: 'text', text: { body: 'before the failure' } }, { id: 'wamid.LOST.1' });
    expect((await postMetaWebhook(app.url, before)).status).toBe(200);
    await waitFor('the first message in Slack', () => inboundPosts('wamid.LOST.1') === 1, 20_000);

    const exited = app.exited();
    app.signal('SIGUSR2'); // the SQLite thread is terminated
    expect(await exited).toBe(1);
    expect(app.output.join('')).toContain('the SQLite connection stopped');

    await app.start();
    const after = inboundWebhook({ type: 'text', text: { body: 'after the restart' } }, { id: 'wamid.LOST.2' });
    expect((await postMetaWebhook(app.url, after)).status).toBe(200);
    expect((await postMetaWebhook(app.url, before)).status).toBe(200); // Meta delivering the first again
    await waitFor('the second message in Slack', () => inboundPosts('wamid.LOST.2') === 1, 20_000);
    const threads = new Set(
      slack
        .messages(CHANNEL_ID)
        .filter((m) => m.metadata?.event_type === 'wa_inbound')
        .map((m) => m.thread_ts),
    );
    expect(threads.size).toBe(1); // the restarted app found the conversation's thread again
    expect(inboundPosts('wamid.LOST.1')).toBe(1); // stored once, posted once
  }, 90_000);
});
