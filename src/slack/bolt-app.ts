import { App, ExpressReceiver, SocketModeReceiver } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Express } from 'express';
import type { Config } from '../config.js';
import { slackReplayGuard } from '../http/slack-replay-guard.js';
import type { Logger } from '../shared/logger.js';
import { guardAcknowledgements } from './ack-guard.js';
import { boltLoggerFrom } from './bolt-logger.js';
import { acknowledgeRefusals, answerRefusals } from './request-guard.js';
import { createSingleWorkspaceAuthorize } from './single-workspace-authorize.js';

export const SLACK_EVENTS_PATH = '/slack/events';
const SLACK_BODY_LIMIT = '1mb';

/**
 * Bolt for one workspace: over HTTP (signed requests on /slack/events, mounted on the bridge's
 * express app) or, with SLACK_APP_TOKEN, over Socket Mode.
 */
export function createBoltApp(deps: { config: Config; logger: Logger; client: WebClient; express: Express }) {
  const { config } = deps;
  const boltLogger = boltLoggerFrom(deps.logger);
  const appToken = config.slack.appToken;
  deps.express.post(SLACK_EVENTS_PATH, slackReplayGuard());
  const receiver =
    appToken !== undefined
      ? new SocketModeReceiver({
          appToken,
          logger: boltLogger,
          installerOptions: { clientOptions: { slackApiUrl: config.slack.apiUrl } },
          processEventErrorHandler: acknowledgeRefusals,
        })
      : new ExpressReceiver({
          signingSecret: config.slack.signingSecret,
          endpoints: SLACK_EVENTS_PATH,
          app: deps.express,
          logger: boltLogger,
          bodyLimit: SLACK_BODY_LIMIT,
          // Acknowledge only after the listener ran: an agent reply is stored before Slack stops retrying.
          processBeforeResponse: true,
          // Malformed requests and other workspaces' get their 4xx instead of Bolt's 500 / 401.
          processEventErrorHandler: answerRefusals,
        });
  const app = new App({
    // Bolt's own single-token authorization calls auth.test on every incoming request when token
    // verification is deferred; this asks once, and again only after a failure. It also refuses
    // requests from any workspace but the installed one.
    authorize: createSingleWorkspaceAuthorize(
      deps.client,
      config.slack.botToken,
      deps.logger.child({ component: 'slack' }),
    ),
    receiver,
    ...(appToken !== undefined ? { socketMode: true, appToken } : {}),
    clientOptions: { slackApiUrl: config.slack.apiUrl },
    logger: boltLogger,
  });
  guardAcknowledgements(app, deps.logger.child({ component: 'slack' }));
  const socketMode = appToken !== undefined;
  return {
    app,
    socketMode,
    async start(): Promise<void> {
      if (socketMode) await app.start();
    },
    async stop(): Promise<void> {
      if (socketMode) await app.stop().catch(() => {});
    },
  };
}
