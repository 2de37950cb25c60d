import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { AppProcess, bridgeEnv, freePort } from '../support/app-process.js';
import { BOT_TOKEN, CHANNEL_ID, postMetaWebhook } from '../support/bridge-harness.js';
import { createSqliteDatabase, type TestDatabase } from '../support/databases.js';
import { type FakeMetaGraph, startFakeMetaGraph } from '../support/fake-meta-graph.js';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { inboundWebhook } from '../support/meta-webhooks.js';
import { waitFor } from '../support/wait-for.js';

const APP_TOKEN = 'xapp-1-A111-test-app-token';

/**
 * Socket Mode (SLACK_APP_TOKEN): Slack traffic arrives as envelopes on a WebSocket the app opens
 * via apps.connections.open; the WhatsApp webhook routes are still served on PORT.
 */
describe('Socket Mode', () => {
  let slack: FakeSlack;
  let meta: FakeMetaGraph;
  let database: TestDatabase;
  let app: AppProcess;
  let wss: WebSocketServer;
  let socket: WebSocket | null = null;
  const acks: { envelope_id: string; payload?: unknown }[] = [];

  beforeAll(async () => {
    slack = await startFakeSlack({ botToken: BOT_TOKEN, appToken: APP_TOKEN });
    meta = await startFakeMetaGraph();
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    wss.on('connection', (ws) => {
      socket = ws;
      ws.on('message', (data) => acks.push(JSON.parse(String(data)) as { envelope_id: string; payload?: unknown }));
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: 1,
          debug_info: { host: 'fake', approximate_connection_time: 18060 },
          connection_info: { app_id: 'A111' },
        }),
      );
    });
    slack.setSocketModeUrl(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/link`);
    database = createSqliteDatabase();
    app = new AppProcess(
      bridgeEnv(
        { slackUrl: slack.url, metaUrl: meta.url, database: database.target },
        { SLACK_APP_TOKEN: APP_TOKEN, SLACK_CHANNEL_POST_INTERVAL_MS: '5' },
      ),
      await freePort(),
    );
    await app.start();
  }, 60_000);

  afterAll(async () => {
    await app?.stop('SIGKILL');
    for (const client of wss?.clients ?? []) client.terminate();
    await new Promise<void>((resolve) => wss?.close(() => resolve()));
    await slack?.close();
    await meta?.close();
    await database?.drop();
    slack?.assertFollowedRules();
  });

  it('connects over the WebSocket and answers slash commands through envelope acks', async () => {
    await waitFor('socket connected', () => socket !== null, 20_000);
    socket?.send(
      JSON.stringify({
        envelope_id: 'env-1',
        type: 'slash_commands',
        accepts_response_payload: true,
        payload: {
          token: 'x',
          team_id: 'T111',
          channel_id: 'C0AGENTS',
          user_id: 'UAGENT1',
          command: '/wa',
          text: 'help',
          response_url: 'https://hooks.slack.com/commands/1',
          trigger_id: 't1',
          api_app_id: 'A111',
        },
      }),
    );
    const ack = await waitFor('envelope acknowledged', () => acks.find((a) => a.envelope_id === 'env-1'), 10_000);
    expect(JSON.stringify(ack.payload)).toContain('/wa chat');
  });

  it('acknowledges requests from another workspace and malformed ones without running anything', async () => {
    await waitFor('socket connected', () => socket !== null, 20_000);
    const callsBefore = slack.calls.length;
    const command = (envelope: string, team: string) => ({
      envelope_id: envelope,
      type: 'slash_commands',
      accepts_response_payload: true,
      payload: {
        token: 'x',
        team_id: team,
        channel_id: 'C0AGENTS',
        user_id: 'UAGENT1',
        command: '/wa',
        text: 'sessions',
        response_url: 'https://hooks.slack.com/commands/1',
        trigger_id: 't-foreign',
        api_app_id: 'A111',
      },
    });
    const event = (envelope: string, body: Record<string, unknown>) => ({
      envelope_id: envelope,
      type: 'events_api',
      accepts_response_payload: false,
      payload: {
        token: 'x',
        team_id: 'T999OTHER',
        api_app_id: 'A111',
        type: 'event_callback',
        event_id: envelope,
        ...body,
      },
    });
    const envelopes = [
      command('env-foreign-command', 'T999OTHER'),
      event('env-foreign-event', {
        event: { type: 'app_home_opened', user: 'UAGENT1', tab: 'home' },
        authorizations: [{ team_id: 'T999OTHER', user_id: 'UBOT', is_bot: true }],
      }),
      // (An envelope whose `event` is not an object at all never reaches the app: @slack/socket-mode
      // reads `payload.event.type` first and drops it.)
      event('env-odd-channel', { team_id: 'T111', event: { type: 'message', channel: null, user: 'UAGENT1' } }),
      {
        envelope_id: 'env-odd-actions',
        type: 'interactive',
        accepts_response_payload: true,
        payload: {
          type: 'block_actions',
          team: { id: 'T111' },
          user: { id: 'UAGENT1' },
          actions: [null],
          trigger_id: 't-odd',
        },
      },
    ];
    for (const envelope of envelopes) socket?.send(JSON.stringify(envelope));
    for (const envelope of envelopes) {
      const ack = await waitFor(`${envelope.envelope_id} acknowledged`, () =>
        acks.find((a) => a.envelope_id === envelope.envelope_id),
      );
      expect(JSON.stringify(ack.payload ?? {}), `${envelope.envelope_id} answered nothing`).toBe('{}');
    }
    await waitFor('the refusal logged', () =>
      app.output.join('').includes('refused a Slack request from another workspace'),
    );
    await waitFor('the malformed ones logged', () => app.output.join('').includes('refused a malformed Slack request'));
    expect(
      slack.calls.slice(callsBefore).filter((c) => c.method !== 'auth.test'),
      'nothing ran for them',
    ).toEqual([]);
  });

  it('still serves the WhatsApp webhook on PORT, posting into Slack', async () => {
    expect(
      (await postMetaWebhook(app.url, inboundWebhook({ type: 'text', text: { body: 'hello over socket mode' } })))
        .status,
    ).toBe(200);
    await waitFor('posted', () => slack.messages(CHANNEL_ID).some((m) => m.text === 'hello over socket mode'), 10_000);
  });
});
