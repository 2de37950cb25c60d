import type { CampaignRecord } from '../bridge/campaigns/campaign-ports.js';
import type { CampaignSlackPort } from '../bridge/campaigns/campaign-reporter.js';
import type { HttpClient } from '../shared/http-client.js';
import type { Logger } from '../shared/logger.js';
import { escapeSlackText } from '../shared/slack-text.js';
import { campaignProgressContent } from './blocks/campaign-progress.js';
import type { DirectMessages } from './direct-messages.js';
import { describeSlackError } from './slack-errors.js';
import type { SlackGateway } from './slack-gateway.js';
import { dmRefusalReason } from './user-file-delivery.js';

const UNPOSTABLE_CHANNEL = ['not_in_channel', 'channel_not_found', 'is_archived'];

/**
 * Campaign progress messages; a channel the bot can't post in falls back to the creator's DM, and
 * when Slack refuses that too, the creator is told once where they launched it (the command's
 * response_url), so a campaign never runs unseen.
 */
export function createCampaignSlackPort(deps: {
  gateway: SlackGateway;
  dms: DirectMessages;
  http: HttpClient;
  logger: Logger;
}): CampaignSlackPort {
  const { gateway } = deps;
  const toldWhereLaunched = new Set<string>();

  async function tellWhereLaunched(campaign: CampaignRecord, channelError: unknown, dmError: unknown): Promise<void> {
    const url = campaign.slack_response_url;
    if (!url || toldWhereLaunched.has(campaign.id)) return;
    toldWhereLaunched.add(campaign.id);
    const channel = describeSlackError(channelError);
    const why = channel.kind === 'platform' ? ` (\`${channel.error}\`)` : '';
    const text =
      `:warning: Your campaign *${escapeSlackText(campaign.template_name)}* is running, but its progress can't be shown: ` +
      `the app can't post in <#${campaign.slack_channel_id}>${why}, and your DM with the app failed too: ${dmRefusalReason(dmError)}. ` +
      'Invite the app to a channel and launch from there to follow progress; the campaign itself is not affected.';
    try {
      const response = await deps.http.request({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
      });
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    } catch (error) {
      deps.logger.warn(
        { campaignId: campaign.id, err: String(error) },
        'telling the marketer about unshown progress failed',
      );
    }
  }
  return {
    async showProgress(channelId, ts, model) {
      const content = campaignProgressContent(model);
      if (ts) {
        await gateway.inChannel(channelId, (client) =>
          client.chat.update({ channel: channelId, ts, text: content.text, blocks: content.blocks as never }),
        );
        return { channelId, ts };
      }
      const post = async (channel: string) => {
        const result = await gateway.inChannel(channel, (client) =>
          client.chat.postMessage({ channel, text: content.text, blocks: content.blocks as never }),
        );
        if (!result.ts) throw new Error('chat.postMessage returned no ts');
        return result.ts;
      };
      try {
        return { channelId, ts: await post(channelId) };
      } catch (error) {
        const info = describeSlackError(error);
        if (info.kind !== 'platform' || !UNPOSTABLE_CHANNEL.includes(info.error)) throw error;
        // The command was run somewhere the app can't post (a DM between people, a channel it
        // isn't in): report in a DM with the person who launched it instead.
        try {
          const dm = await deps.dms.openDm(model.campaign.created_by);
          return { channelId: dm, ts: await post(dm) };
        } catch (dmError) {
          await tellWhereLaunched(model.campaign, error, dmError);
          throw dmError;
        }
      }
    },
  };
}
