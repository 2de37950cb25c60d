import { createAccountHealth } from '../../bridge/account-health.js';
import { JobKind } from '../../bridge/job-kinds.js';
import { createAccountHealthStore } from '../../db/stores/account-health-store.js';
import type { AccountHealthEvent } from '../../whatsapp/whatsapp-provider.js';
import type { AppContext } from '../context.js';

/**
 * Account health in Slack: the provider's webhooks about number quality, template status and the
 * account's standing (stored as jobs by the webhook intake like messages) update the sending
 * numbers and the template list the pickers read, pause the campaigns of a template Meta stopped,
 * and are told in plain words in the ops channel (SLACK_ALERTS_CHANNEL_ID).
 */
export function installAccountHealth(
  ctx: AppContext,
  deps: {
    /** Pauses a campaign and says why on its progress message; false when it was not running. */
    pauseCampaign(campaignId: string, reason: string): Promise<boolean>;
  },
): void {
  const { clock, config } = ctx;
  const logger = ctx.logger.child({ component: 'account-health' });
  const store = createAccountHealthStore(ctx.database.db);
  const channel = config.slack.alertsChannelId;
  const health = createAccountHealth({
    numbers: {
      // Lists them from the provider when none are known yet (a webhook right after the first start).
      all: () => ctx.sendingNumbers.list(),
      update: (id, update) => store.updateNumberHealth(id, update, clock.now()),
    },
    templates: { applyStatus: (change) => ctx.templates.applyStatus(change) },
    campaigns: {
      async pauseUsingTemplate(template, reason) {
        const paused: string[] = [];
        for (const campaign of await store.activeWithTemplate(template))
          if (await deps.pauseCampaign(campaign.id, reason)) paused.push(campaign.id);
        if (paused.length > 0) logger.info({ campaigns: paused, reason }, 'campaigns paused: their template stopped');
        return paused;
      },
    },
    alert: async (text) => {
      await ctx.slack.gateway.inChannel(channel, (client) =>
        client.chat.postMessage({ channel, text, unfurl_links: false, unfurl_media: false }),
      );
    },
    accountId: config.whatsapp.provider === 'meta' ? config.whatsapp.meta.wabaId || null : null,
    logger,
  });
  ctx.jobs.handle(JobKind.accountHealth, {
    pool: 'slack',
    handler: (payload) => health.handle(payload as AccountHealthEvent),
    onGaveUp: async (payload, error) => {
      const event = payload as AccountHealthEvent;
      logger.error(
        { eventId: event.eventId, type: event.change.type, channel, err: String(error) },
        'an account health alert could not be posted (is the bot a member of SLACK_ALERTS_CHANNEL_ID?)',
      );
    },
  });
}
