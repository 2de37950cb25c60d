import type { CampaignPauseNotice } from '../bridge/campaigns/campaign-pauses.js';
import { escapeSlackText } from '../shared/slack-text.js';
import { cancelButton, resumeButton } from './blocks/campaign-progress.js';
import type { DirectMessages } from './direct-messages.js';
import type { SlackGateway } from './slack-gateway.js';

/** The marketer hears of a paused campaign in their DM with the app, with Resume and Cancel there too. */
export function createCampaignPauseNotice(deps: { gateway: SlackGateway; dms: DirectMessages }): CampaignPauseNotice {
  return {
    async tellPaused(campaign, reason) {
      const where = campaign.slack_message_ts ? ` Its progress is in <#${campaign.slack_channel_id}>.` : '';
      const text =
        `:double_vertical_bar: Your campaign *${escapeSlackText(campaign.template_name)}* ` +
        `(${escapeSlackText(campaign.template_language)}) is paused: ${escapeSlackText(reason)}. ` +
        `Recipients not yet sent wait until you resume or cancel it.${where}`;
      const channel = await deps.dms.openDm(campaign.created_by);
      await deps.gateway.inChannel(channel, (client) =>
        client.chat.postMessage({
          channel,
          text,
          blocks: [
            { type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } },
            {
              type: 'actions',
              block_id: `campaign_paused:${campaign.id}`,
              elements: [resumeButton(campaign.id), cancelButton(campaign.id)],
            },
          ] as never,
        }),
      );
    },
  };
}
