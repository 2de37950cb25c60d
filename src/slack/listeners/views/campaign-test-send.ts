import type { App, BlockAction } from '@slack/bolt';
import { z } from 'zod';
import type { RoleCheck } from '../../../bridge/permissions.js';
import { formatForDisplay, parseInternationalNumber } from '../../../bridge/phone-number.js';
import { CampaignTestIds, campaignTestResultView, campaignTestView } from '../../views/campaign-test-views.js';
import { actionValue } from '../action-value.js';

/** A test of a draft campaign, stored before Slack gets its answer and sent by a job. */
export type CampaignTestRequest = { draftId: string; userId: string; phoneNumber: string; viewId: string };

const metadataSchema = z.object({ draftId: z.string().min(1) });

/**
 * *Send a test to me* on the campaign confirmation: a modal on top of it asks for the number (the
 * one used last time filled in), refuses an invalid one on its field, and sends the campaign's
 * message to it once without starting the campaign. Closing it returns to the confirmation.
 */
export function registerCampaignTestSend(
  app: App,
  deps: {
    mayLaunchCampaigns: RoleCheck;
    /** Whether the draft exists, is still a draft and is this person's. */
    isOwnDraft(draftId: string, userId: string): Promise<boolean>;
    remembered(userId: string): Promise<string | null>;
    /** Remembers the number for the person and stores the test send (sent after the ack). */
    queueTest(request: CampaignTestRequest): Promise<void>;
  },
): void {
  app.action<BlockAction>(CampaignTestIds.sendTestAction, async ({ ack, body, client, action }) => {
    await ack();
    const draftId = actionValue(action);
    if (!draftId) return;
    const userId = body.user.id;
    const view = !(await deps.mayLaunchCampaigns(userId))
      ? campaignTestResultView(`:warning: Only ${deps.mayLaunchCampaigns.holders} can send campaign tests.`)
      : !(await deps.isOwnDraft(draftId, userId))
        ? campaignTestResultView(':warning: This campaign draft no longer exists; run `/wa send` again.')
        : campaignTestView({ draftId, rememberedNumber: await deps.remembered(userId) });
    await client.views.push({ trigger_id: body.trigger_id, view });
  });

  app.view(CampaignTestIds.testCallback, async ({ ack, view, body }) => {
    const fieldError = (message: string) =>
      ack({ response_action: 'errors', errors: { [CampaignTestIds.numberBlock]: message } });
    let draftId: string;
    try {
      draftId = metadataSchema.parse(JSON.parse(view.private_metadata || '{}')).draftId;
    } catch {
      await fieldError('This form is out of date; run /wa send again.');
      return;
    }
    const userId = body.user.id;
    if (!(await deps.mayLaunchCampaigns(userId))) {
      await fieldError(`Only ${deps.mayLaunchCampaigns.holders} can send campaign tests.`);
      return;
    }
    const typed = view.state.values[CampaignTestIds.numberBlock]?.[CampaignTestIds.numberAction]?.value ?? '';
    const number = parseInternationalNumber(typed);
    if (!number.ok) {
      await fieldError(`Not a number a test can go to: ${number.reason}.`);
      return;
    }
    if (!(await deps.isOwnDraft(draftId, userId))) {
      await fieldError('This campaign draft no longer exists (confirmed, cancelled or expired); run /wa send again.');
      return;
    }
    try {
      await deps.queueTest({ draftId, userId, phoneNumber: number.e164, viewId: view.id });
    } catch {
      await fieldError('The test could not be stored just now; try again in a moment.');
      return;
    }
    await ack({
      response_action: 'update',
      view: campaignTestResultView(`:hourglass_flowing_sand: Sending a test to ${formatForDisplay(number.e164)}…`),
    });
  });
}
