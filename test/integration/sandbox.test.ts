import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, bridgeEnv, freePort } from '../support/app-process.js';
import { BOT_TOKEN, CHANNEL_ID, SIGNING_SECRET } from '../support/bridge-harness.js';
import { createSqliteDatabase, type TestDatabase } from '../support/databases.js';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { eventCallback, postSlack } from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');

describe('sandbox provider and npm run simulate', () => {
  let slack: FakeSlack;
  let database: TestDatabase;
  let app: AppProcess;
  beforeAll(async () => {
    slack = await startFakeSlack({ botToken: BOT_TOKEN });
    database = createSqliteDatabase();
    app = new AppProcess(
      bridgeEnv(
        { slackUrl: slack.url, database: database.target },
        { WHATSAPP_PROVIDER: 'sandbox', SLACK_CHANNEL_POST_INTERVAL_MS: '5' },
      ),
      await freePort(),
    );
    await app.start();
  }, 60_000);
  afterAll(async () => {
    await app?.stop('SIGKILL');
    await slack?.close();
    await database?.drop();
    slack?.assertFollowedRules();
  });

  const simulate = (...args: string[]) =>
    run(
      process.execPath,
      [join(repo, 'dist/src/tools/simulate.js'), ...args, '--url', `${app.url}/webhooks/whatsapp`],
      {
        cwd: mkdtempSync(join(tmpdir(), 'simulate-')),
        env: { PATH: process.env.PATH ?? '', SLACK_SIGNING_SECRET: SIGNING_SECRET },
      },
    );

  it('needs nothing but Slack settings, and simulated customers chat through signed webhooks', async () => {
    const { stdout } = await simulate('+44 7911 123456', 'Hi from the sandbox', '--name', 'Sandra');
    expect(stdout).toMatch(/^200 /);
    const post = await waitFor('simulated message in Slack', () =>
      slack.messages(CHANNEL_ID).find((m) => m.text === 'Hi from the sandbox'),
    );
    expect(post.username).toBe('Sandra (+447911123456)');

    const image = join(mkdtempSync(join(tmpdir(), 'img-')), 'pic.png');
    writeFileSync(image, Buffer.from('89504e470d0a1a0a', 'hex'));
    await simulate('+44 7911 123456', 'look at this', '--image', image);
    await waitFor('image uploaded to the thread', () => slack.completed.find((c) => c.thread_ts === post.thread_ts));

    // A reply from Slack "goes out" and comes back sent → delivered → read.
    await postSlack(
      app.url,
      eventCallback(SIGNING_SECRET, {
        type: 'message',
        channel: CHANNEL_ID,
        user: 'UAGENT1',
        text: 'Hello Sandra!',
        ts: '1800000001.000001',
        thread_ts: post.thread_ts,
      }),
    );
    await waitFor(
      'read receipt',
      () =>
        slack
          .callsTo('reactions.add')
          .some((c) => c.body.timestamp === '1800000001.000001' && c.body.name === 'blue_book'),
      15_000,
    );
  }, 60_000);

  it('refuses webhooks not signed with the sandbox secret', async () => {
    const response = await fetch(`${app.url}/webhooks/whatsapp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
      body: '{}',
    });
    expect(response.status).toBe(403);
  });
});
