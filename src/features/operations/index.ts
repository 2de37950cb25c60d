import type { ApiKeyAccess } from '../../bridge/api-key-access.js';
import { isMigrated } from '../../db/migrate.js';
import { healthRoute } from '../../http/health-route.js';
import { mediaRoute } from '../../http/media-route.js';
import { metricsRoute, safeEqual } from '../../http/metrics-route.js';
import type { Campaigns } from '../campaigns/index.js';
import type { AppContext } from '../context.js';
import type { FeatureRegistry } from '../registry.js';

/** What an operator and the providers reach besides Slack: /healthz, /metrics and signed /media links. */
export function installOperations(ctx: AppContext, registry: FeatureRegistry, features: { campaigns: Campaigns }) {
  const { config, clock, metrics } = ctx;
  registry.routes(
    metricsRoute({
      registry: metrics.registry,
      authorize: async (token) => {
        if (config.metricsToken !== undefined && safeEqual(token, config.metricsToken)) return { ok: true };
        const access: ApiKeyAccess = await features.campaigns.authenticateApiKey(token);
        if (access.ok) return { ok: true };
        return access.status === 403 ? { ok: false, status: 403, error: access.error } : { ok: false, status: 401 };
      },
      refresh: async () => {
        metrics.queueDepth.reset();
        metrics.queueOldestSeconds.reset();
        for (const depth of await ctx.jobStore.depths()) {
          metrics.queueDepth.set({ kind: depth.kind }, depth.pending);
          if (depth.oldestRunAt !== null)
            metrics.queueOldestSeconds.set({ kind: depth.kind }, Math.max(0, (clock.now() - depth.oldestRunAt) / 1000));
        }
        metrics.campaignRecipients.reset();
        for (const { campaignId, counts } of await features.campaigns.activeCounts())
          for (const [status, count] of Object.entries(counts))
            metrics.campaignRecipients.set({ campaign: campaignId, status }, count);
      },
    }),
  );
  registry.routes(mediaRoute({ links: ctx.media.links, load: (id) => ctx.media.blobs.load(id) }));
  registry.routes(
    healthRoute(async () => {
      await ctx.database.ping();
      return isMigrated(ctx.database.db);
    }),
  );
}
