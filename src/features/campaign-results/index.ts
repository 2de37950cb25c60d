import { postInThreadOnce } from '../../bridge/post-once.js';
import { createCampaignResultsStore } from '../../db/stores/campaign-results-store.js';
import { escapeSlackText } from '../../shared/slack-text.js';
import { CAMPAIGNS_LISTED, campaignListContent } from '../../slack/blocks/campaign-list.js';
import type { AppContext } from '../context.js';
import type { FeatureRegistry } from '../registry.js';
import type { SessionChat } from '../session-chat/index.js';

/**
 * What campaigns achieved beyond sending: customers who wrote back within 72 hours of their campaign
 * message are counted once per campaign (the report shows them), and the reply's thread is told
 * once which campaign it answers; `/wa campaigns` lists the recent campaigns with their figures.
 */
export function installCampaignResults(
  ctx: AppContext,
  registry: FeatureRegistry,
  deps: { chat: SessionChat; refreshReport(campaignId: string): void },
) {
  const { chat } = deps;
  const { clock, logger } = ctx;
  const results = createCampaignResultsStore(ctx.database.db);
  const { marketers, leads } = ctx.roles;

  // What `stored` found, for `posted` of the same message (a retry in another process asks again).
  const found = new Map<string, Awaited<ReturnType<typeof results.recordReply>>>();
  chat.onInbound({
    // Recorded on every attempt (once per campaign and conversation), before anything is posted.
    stored: async (event, contact) => {
      if (event.content.type === 'reaction') return;
      if (found.size > 10_000) found.clear();
      found.set(event.providerMessageId, await results.recordReply(contact.id, event.timestamp));
    },
    posted: async (event, contact, thread) => {
      if (event.content.type === 'reaction') return false;
      const reply = found.has(event.providerMessageId)
        ? found.get(event.providerMessageId)
        : await results.recordReply(contact.id, event.timestamp);
      found.delete(event.providerMessageId);
      if (!reply || reply.contextPosted) return false;
      deps.refreshReport(reply.campaignId);
      const sent = `<!date^${Math.floor(reply.sentAt / 1000)}^{date_short_pretty} {time}|${new Date(reply.sentAt).toISOString()}>`;
      await postInThreadOnce(
        { slack: ctx.slack.conversations, intents: ctx.postIntents, now: clock.now },
        {
          key: `wa_campaign_reply:${reply.campaignId}:${contact.id}`,
          thread,
          marker: { type: 'wa_campaign_reply', key: `${reply.campaignId}:${contact.id}` },
          content: {
            text: `:mega: This customer is answering the campaign *${escapeSlackText(reply.templateName)}* sent ${sent} by <@${reply.createdBy}>.`,
          },
        },
      );
      await results.markContextPosted(reply.campaignId, contact.id);
      await ctx.postIntents.clear([`wa_campaign_reply:${reply.campaignId}:${contact.id}`]);
      logger.debug({ campaignId: reply.campaignId }, 'a campaign reply was given its context');
      return false;
    },
  });

  registry.subcommand('campaigns', async ({ userId }) => {
    if (!(await marketers(userId)) && !(await leads(userId)))
      return `:no_entry: Only ${marketers.holders}, and ${leads.holders} (LEADS) can see campaign results.`;
    return campaignListContent(await results.recent(CAMPAIGNS_LISTED));
  });
}
