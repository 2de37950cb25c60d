import { type Config, secretsOf } from './config.js';
import type { DatabaseHandle } from './db/create-db.js';
import { migrateToLatest } from './db/migrate.js';
import { installAccountHealth } from './features/account-health/index.js';
import { installCampaignResults } from './features/campaign-results/index.js';
import { installCampaigns } from './features/campaigns/index.js';
import { createAppContext, type Tuning } from './features/context.js';
import { installOperations } from './features/operations/index.js';
import { installOptOuts } from './features/opt-outs/index.js';
import { installQuickReplies } from './features/quick-replies/index.js';
import { createFeatureRegistry } from './features/registry.js';
import { installRetention } from './features/retention/index.js';
import { installSessionChat } from './features/session-chat/index.js';
import { installSessionsHistory } from './features/sessions-history/index.js';
import { installTeamInbox } from './features/team-inbox/index.js';
import { createWebServer } from './http/web-server.js';
import type { JobRunner } from './jobs/job-runner.js';
import { type Clock, systemClock } from './shared/clock.js';
import { createLogger, type Logger } from './shared/logger.js';
import { createBoltApp } from './slack/bolt-app.js';
import { registerTemplateFormActions } from './slack/listeners/actions/template-form-actions.js';
import { registerListeners } from './slack/listeners/register-listeners.js';
import type { WhatsAppProvider } from './whatsapp/whatsapp-provider.js';

export { classifyJobFailure } from './features/context.js';
export { SLACK_EVENTS_PATH } from './slack/bolt-app.js';
export { secretsOf };

export type BridgeAppOptions = Tuning & {
  config: Config;
  logger?: Logger;
  clock?: Clock;
  /** Replaces the configured provider (sandbox, tests). */
  provider?: WhatsAppProvider;
  /**
   * The database can no longer be used at all (SQLite's connection thread stopped). The process
   * entry point exits, so that its supervisor starts it again; everything acknowledged is stored.
   */
  onFatal?: (error: Error) => void;
};

export type BridgeApp = {
  /** Runs the retention purge now (it also runs on RETENTION_CRON). */
  purgeRetention(): Promise<{ messages: number; media: number; events: number; jobs: number; cutoff: number }>;
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
  readonly runner: JobRunner;
  readonly database: DatabaseHandle;
  readonly logger: Logger;
};

/**
 * The composition root: the shared context, then each feature installing its own stores, jobs,
 * Slack listeners and routes (src/features/), then the entry points (HTTP server, Bolt) wired to
 * what the features registered.
 */
export function createBridgeApp(options: BridgeAppOptions): BridgeApp {
  const { config, provider, onFatal, logger: givenLogger, clock: givenClock, ...tuning } = options;
  const clock = givenClock ?? systemClock;
  const logger = givenLogger ?? createLogger(config.logLevel, { secrets: secretsOf(config) });
  const ctx = createAppContext({
    config,
    clock,
    logger,
    tuning,
    ...(provider ? { provider } : {}),
    ...(onFatal ? { onFatal } : {}),
  });

  const registry = createFeatureRegistry();
  const sessions = installSessionsHistory(ctx, registry);
  const inbox = installTeamInbox(ctx, registry, sessions);
  const chat = installSessionChat(ctx, registry, { addSession: sessions.addSession, inbox });
  installQuickReplies(ctx, registry, chat);
  const campaigns = installCampaigns(ctx, registry, chat);
  installOptOuts(ctx, registry, chat);
  installCampaignResults(ctx, registry, { chat, refreshReport: campaigns.refreshReport });
  const retention = installRetention(ctx, registry, { chat, campaigns });
  installAccountHealth(ctx, { pauseCampaign: campaigns.pauseCampaign });
  installOperations(ctx, registry, { campaigns });

  const web = createWebServer({ logger });
  const bolt = createBoltApp({ config, logger, client: ctx.slack.client, express: web.express });
  const { registered } = registry;
  registerListeners(bolt.app, {
    subcommands: registered.subcommands,
    logger: logger.child({ component: 'slack' }),
    internalNotePrefix: config.chat.internalNotePrefix,
    register: [
      ...registered.slackListeners,
      (app) =>
        registerTemplateFormActions(app, {
          rebuilders: registered.templateForms,
          extraSelects: registered.templateFormSelects,
          templates: () => ctx.templates.approved(),
          logger: logger.child({ component: 'slack' }),
        }),
    ],
  });
  web.mount(registered.routes);
  let stopNumberSync: (() => void) | undefined;

  return {
    purgeRetention: retention.purge,
    get runner() {
      return ctx.jobs.runner;
    },
    database: ctx.database,
    logger,
    async start() {
      await migrateToLatest(ctx.database.db);
      if (ctx.database.dialect === 'sqlite') {
        // SQLite means one process: leases left by a crashed run belong to nobody.
        const released = await ctx.jobStore.releaseAllLeases(clock.now());
        if (released > 0) logger.info({ released }, 'resumed jobs interrupted by the last shutdown');
      }
      for (const lifecycle of registered.lifecycles) await lifecycle.prepare?.();
      const port = await web.listen(config.port, registered.providerWebhook);
      await bolt.start();
      ctx.jobs.start();
      for (const lifecycle of registered.lifecycles) lifecycle.start?.();
      stopNumberSync = ctx.sendingNumbers.keepInSync();
      logger.info(
        { port, database: ctx.database.dialect, provider: ctx.provider.name, socketMode: bolt.socketMode },
        'bridge started',
      );
      logger.info({ marketers: ctx.roles.marketers.holders, leads: ctx.roles.leads.holders }, 'roles');
      return { port };
    },
    async stop() {
      stopNumberSync?.();
      await web.stop();
      await bolt.stop();
      for (const lifecycle of registered.lifecycles) await lifecycle.stop?.();
      await ctx.jobs.stop();
      for (const lifecycle of registered.lifecycles) await lifecycle.drain?.();
      await ctx.database.close();
      logger.info('bridge stopped');
    },
  };
}
