import type { CampaignSlackPort } from '../bridge/campaigns/campaign-reporter.js';
import { campaignProgressContent } from './blocks/campaign-progress.js';
import { describeSlackError } from './slack-errors.js';
import type { SlackGateway } from './slack-gateway.js';

/** Campaign progress messages; a channel the bot can't post in falls back to the creator's DM. */
export function createCampaignSlackPort(deps: { gateway: SlackGateway }): CampaignSlackPort & {
  openDm(userId: string): Promise<string>;
  uploadToDm(userId: string, file: { bytes: Buffer; filename: string; title: string }, comment: string): Promise<void>;
} {
  const { gateway } = deps;
  async function openDm(userId: string): Promise<string> {
    const result = await gateway.direct((client) => client.conversations.open({ users: userId }));
    const id = result.channel?.id;
    if (!id) throw new Error('conversations.open returned no channel');
    return id;
  }
  return {
    openDm,
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
        if (info.kind === 'platform' && ['not_in_channel', 'channel_not_found', 'is_archived'].includes(info.error)) {
          // The command was run somewhere the app can't post (a DM between people, a channel it
          // isn't in): report in a DM with the person who launched it instead.
          const dm = await openDm(model.campaign.created_by);
          return { channelId: dm, ts: await post(dm) };
        }
        throw error;
      }
    },
    async uploadToDm(userId, file, comment) {
      const channel = await openDm(userId);
      await gateway.inChannel(channel, (client) =>
        client.filesUploadV2({
          channel_id: channel,
          file: file.bytes,
          filename: file.filename,
          title: file.title,
          initial_comment: comment,
        }),
      );
    },
  };
}
