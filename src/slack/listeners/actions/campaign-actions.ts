import type { App, BlockAction } from '@slack/bolt';
import { CampaignActionId } from '../../blocks/campaign-progress.js';
import { actionValue } from '../action-value.js';

export function registerCampaignActions(
  app: App,
  deps: {
    cancel(campaignId: string, userId: string): Promise<string>;
    exportCsv(campaignId: string, userId: string): Promise<string>;
    resume(campaignId: string, userId: string): Promise<string>;
  },
): void {
  app.action<BlockAction>(CampaignActionId.cancel, async ({ ack, body, action, respond }) => {
    await ack();
    const id = actionValue(action);
    if (!id) return;
    const text = await deps.cancel(id, body.user.id);
    await respond({ response_type: 'ephemeral', replace_original: false, text });
  });
  app.action<BlockAction>(CampaignActionId.resume, async ({ ack, body, action, respond }) => {
    await ack();
    const id = actionValue(action);
    if (!id) return;
    const text = await deps.resume(id, body.user.id);
    await respond({ response_type: 'ephemeral', replace_original: false, text });
  });
  app.action<BlockAction>(CampaignActionId.downloadCsv, async ({ ack, body, action, respond }) => {
    await ack();
    const id = actionValue(action);
    if (!id) return;
    const text = await deps.exportCsv(id, body.user.id);
    await respond({ response_type: 'ephemeral', replace_original: false, text });
  });
}
