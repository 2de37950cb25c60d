import cron from 'node-cron';
import { createRetention } from '../../bridge/retention.js';
import type { Campaigns } from '../campaigns/index.js';
import type { AppContext } from '../context.js';
import type { FeatureRegistry } from '../registry.js';
import type { SessionChat } from '../session-chat/index.js';

/**
 * Retention: message content, media and campaign variables older than RETENTION_DAYS, and
 * bookkeeping after a week, purged on RETENTION_CRON (see src/bridge/retention.ts for what goes).
 */
export function installRetention(
  ctx: AppContext,
  registry: FeatureRegistry,
  features: { chat: SessionChat; campaigns: Campaigns },
) {
  const { clock, logger } = ctx;
  const purge = createRetention({
    stores: {
      purgeMessageContent: (cutoff, now) => ctx.messages.purgeContentBefore(cutoff, now),
      purgeMedia: (cutoff) => ctx.media.blobs.purgeOlderThan(cutoff),
      purgeFinishedJobs: (cutoff) => ctx.jobStore.purgeFinished(cutoff),
      ...features.chat.retention,
      ...features.campaigns.retention,
    },
    retentionDays: ctx.config.retentionDays,
    now: clock.now,
    logger: logger.child({ component: 'retention' }),
  });
  let task: { stop(): unknown } | undefined;
  registry.lifecycle({
    start() {
      task = cron.schedule(ctx.config.retentionCron, () => {
        purge().catch((error: unknown) => logger.error({ err: String(error) }, 'retention purge failed'));
      });
    },
    async stop() {
      await task?.stop();
    },
  });
  return { purge };
}
