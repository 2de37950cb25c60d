import type { App } from '@slack/bolt';
import { MAX_RECIPIENTS_FILE_BYTES, MAX_TYPED_RECIPIENTS } from '../../../bridge/campaigns/campaign-drafts.js';
import type { RoleCheck } from '../../../bridge/permissions.js';
import type { TemplateCatalog } from '../../../bridge/templates.js';
import { CampaignLimitIds, type LimitChoice, limitChoiceFrom } from '../../views/campaign-limit-blocks.js';
import {
  CampaignViewIds,
  campaignPreparingView,
  campaignProblemView,
  parseCampaignFormMetadata,
} from '../../views/campaign-views.js';
import {
  headerFileFrom,
  languageBlockId,
  parseViewState,
  type SlackInputFile,
  TemplateFormIds,
  variableValuesFrom,
} from '../../views/template-form.js';
import { templateFormErrors } from '../../views/template-picker-view.js';

export type CampaignPrepareRequest = {
  viewId: string;
  userId: string;
  channelId: string;
  /** The launching command's response_url, when known. */
  responseUrl?: string;
  sendingNumberId: string;
  templateName: string;
  language: string;
  values: Record<string, string>;
  headerFile: { name: string; mimeType: string; size: number; urlPrivate: string } | null;
  typedRecipients: string | null;
  recipientsFile: { name: string; mimeType: string; size: number; urlPrivate: string } | null;
  scheduledAt: number | null;
};

const toFile = (file: SlackInputFile) => ({
  name: file.name,
  mimeType: file.mimetype,
  size: file.size,
  urlPrivate: file.url_private_download ?? file.url_private,
});

/** Counts typed entries without validating them (a cheap check that fits in the 3-second ack). */
export function typedEntryCount(text: string): number {
  return text.split(/[\n,;]+/).filter((entry) => entry.trim() !== '').length;
}

/**
 * Slack refuses an `errors` answer naming a block that is not an input block of the view, so an
 * error for a field the form does not show (no sending number is connected, say, so there is no
 * menu) goes under Recipients instead. Without the view's blocks, the errors stay where they are.
 */
function placedErrors(errors: Record<string, string>, blocks: readonly unknown[] | undefined): Record<string, string> {
  const inputs = new Set(
    (blocks ?? []).flatMap((b) =>
      typeof b === 'object' && b !== null && 'type' in b && b.type === 'input' && 'block_id' in b
        ? [String(b.block_id)]
        : [],
    ),
  );
  if (inputs.size === 0) return errors;
  const placed: Record<string, string> = {};
  for (const [blockId, message] of Object.entries(errors)) {
    const target = inputs.has(blockId) ? blockId : CampaignViewIds.recipientsBlock;
    placed[target] = placed[target] ? `${placed[target]} ${message}` : message;
  }
  return placed;
}

export function registerCampaignSubmissions(
  app: App,
  deps: {
    catalog: TemplateCatalog;
    isUsableNumber(id: string): Promise<boolean>;
    mayLaunchCampaigns: RoleCheck;
    /** Stores the request durably; the heavy part (file parsing, media upload) runs after the ack. */
    queuePreparation(request: CampaignPrepareRequest): Promise<void>;
    /** `choice`: what the marketer chose when the campaign did not fit the messaging limit (null: not asked). */
    confirm(
      draftId: string,
      userId: string,
      choice: LimitChoice | null,
    ): Promise<{ ok: true } | { ok: false; error: string }>;
    now: () => number;
  },
): void {
  app.view(CampaignViewIds.formCallback, async ({ ack, view, body }) => {
    const metadata = parseCampaignFormMetadata(view.private_metadata);
    if (!metadata) {
      await ack({
        response_action: 'errors',
        errors: { [CampaignViewIds.recipientsBlock]: 'This form is out of date; run /wa send again.' },
      });
      return;
    }
    if (!(await deps.mayLaunchCampaigns(body.user.id))) {
      await ack({
        response_action: 'errors',
        errors: {
          [CampaignViewIds.recipientsBlock]: `Only ${deps.mayLaunchCampaigns.holders} can launch campaigns.`,
        },
      });
      return;
    }
    const state = parseViewState(view.state.values);
    const errors: Record<string, string> = {};
    if (!metadata.sendingNumberId || !(await deps.isUsableNumber(metadata.sendingNumberId))) {
      errors[CampaignViewIds.numberBlock] = metadata.sendingNumberId
        ? 'This number can no longer send: choose a connected one.'
        : 'Choose the number to send from.';
    }
    const template =
      metadata.templateName && metadata.language
        ? await deps.catalog.find(metadata.templateName, metadata.language)
        : undefined;
    const values = variableValuesFrom(state);
    const headerFile = headerFileFrom(state);
    if (template) Object.assign(errors, templateFormErrors(template, values, headerFile));
    else if (metadata.templateName && !metadata.language)
      errors[languageBlockId(metadata.templateName)] = 'Choose the language to send this template in.';
    else
      errors[TemplateFormIds.templateBlock] = metadata.templateName
        ? 'This template is no longer approved: choose another.'
        : 'Choose an approved template.';
    const typed = state[CampaignViewIds.recipientsBlock]?.[CampaignViewIds.recipientsAction]?.value?.trim() || null;
    const file = state[CampaignViewIds.recipientsFileBlock]?.[CampaignViewIds.recipientsFileAction]?.files?.[0] ?? null;
    if (!typed && !file)
      errors[CampaignViewIds.recipientsBlock] ??= 'Type recipient numbers or upload a recipients file.';
    if (typed && file) errors[CampaignViewIds.recipientsBlock] ??= 'Use either typed numbers or a file, not both.';
    if (typed && typedEntryCount(typed) > MAX_TYPED_RECIPIENTS) {
      errors[CampaignViewIds.recipientsBlock] =
        `At most ${MAX_TYPED_RECIPIENTS} numbers can be typed (you entered ${typedEntryCount(typed)}); upload a .txt file for more.`;
    }
    if (file) {
      const extension = file.name.toLowerCase().split('.').pop() ?? '';
      if (!['txt', 'csv'].includes(extension))
        errors[CampaignViewIds.recipientsFileBlock] = `\`${file.name}\` is not a .txt or .csv file.`;
      else if (file.size > MAX_RECIPIENTS_FILE_BYTES)
        errors[CampaignViewIds.recipientsFileBlock] = `\`${file.name}\` is larger than 10 MB.`;
    }
    const when = state[CampaignViewIds.scheduleBlock]?.[CampaignViewIds.scheduleAction] as
      | { selected_date_time?: number | null }
      | undefined;
    const scheduledAt = when?.selected_date_time ? when.selected_date_time * 1000 : null;
    if (scheduledAt !== null && scheduledAt <= deps.now())
      errors[CampaignViewIds.scheduleBlock] =
        'This time has already passed: choose a later one, or leave it empty to send right after you confirm.';
    if (Object.keys(errors).length > 0 || !template || !metadata.sendingNumberId) {
      await ack({ response_action: 'errors', errors: placedErrors(errors, view.blocks) });
      return;
    }
    await deps.queuePreparation({
      viewId: view.id,
      userId: body.user.id,
      channelId: metadata.channelId,
      ...(metadata.responseUrl ? { responseUrl: metadata.responseUrl } : {}),
      sendingNumberId: metadata.sendingNumberId,
      templateName: template.name,
      language: template.language,
      values,
      headerFile: headerFile ? toFile(headerFile) : null,
      typedRecipients: typed,
      recipientsFile: file ? toFile(file) : null,
      scheduledAt,
    });
    await ack({ response_action: 'update', view: campaignPreparingView() });
  });

  app.view(CampaignViewIds.confirmCallback, async ({ ack, view, body }) => {
    let draftId: string | undefined;
    let choiceAsked = false;
    try {
      const metadata = JSON.parse(view.private_metadata || '{}') as { draftId?: string; limitChoice?: boolean };
      draftId = metadata.draftId;
      choiceAsked = metadata.limitChoice === true;
    } catch {
      draftId = undefined;
    }
    if (!draftId) {
      await ack();
      return;
    }
    // Checked again here: the role may have been taken away since the draft was prepared.
    if (!(await deps.mayLaunchCampaigns(body.user.id))) {
      await ack({
        response_action: 'update',
        view: campaignProblemView(
          `You can no longer launch campaigns: only ${deps.mayLaunchCampaigns.holders} can. This draft was prepared while you could; it will not be sent.`,
        ),
      });
      return;
    }
    const choice = choiceAsked ? limitChoiceFrom(view.state?.values) : null;
    if (choiceAsked && !choice) {
      await ack({
        response_action: 'errors',
        errors: { [CampaignLimitIds.choiceBlock]: 'Choose whether to send what fits now or to cancel.' },
      });
      return;
    }
    const result = await deps.confirm(draftId, body.user.id, choice);
    if (!result.ok) {
      // The confirmation view has no input blocks, and Slack rejects `errors` naming a block that
      // isn't there: show the problem in the modal instead.
      await ack({ response_action: 'update', view: campaignProblemView(result.error) });
      return;
    }
    await ack();
  });
}
