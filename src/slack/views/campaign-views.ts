import type { KnownBlock, ModalView } from '@slack/web-api';
import { z } from 'zod';
import type { DraftSummary } from '../../bridge/campaigns/campaign-drafts.js';
import type { SendingNumberRecord } from '../../bridge/records.js';
import { languageName } from '../../bridge/template-languages.js';
import { escapeSlackText } from '../../shared/slack-text.js';
import type { MessageTemplate } from '../../whatsapp/whatsapp-provider.js';
import { sendingNumberLimitLine, sendingNumberOptionText } from './campaign-limit-blocks.js';
import { campaignPreviewBlocks } from './campaign-test-views.js';
import { effectiveSelection, templateFormBlocks } from './template-form.js';

export const CampaignViewIds = {
  formCallback: 'wa_campaign_form',
  confirmCallback: 'wa_campaign_confirm',
  numberBlock: 'cmp_number',
  numberAction: 'cmp_number_select',
  recipientsBlock: 'cmp_recipients',
  recipientsAction: 'value',
  recipientsFileBlock: 'cmp_recipients_file',
  recipientsFileAction: 'file',
  scheduleBlock: 'cmp_schedule',
  scheduleAction: 'when',
} as const;

const campaignFormMetadataSchema = z.object({
  channelId: z.string(),
  /** The launching command's response_url (see WaSubcommandHandler). */
  responseUrl: z.string().optional(),
  sendingNumberId: z.string().nullable().catch(null),
  templateName: z.string().nullable().catch(null),
  language: z.string().nullable().catch(null),
});
export type CampaignFormMetadata = z.infer<typeof campaignFormMetadataSchema>;

/** The form's private_metadata, or null when it is not the form's (an old or tampered view). */
export function parseCampaignFormMetadata(raw: string | undefined): CampaignFormMetadata | null {
  try {
    const parsed = campaignFormMetadataSchema.safeParse(JSON.parse(raw || '{}'));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

const plain = (text: string) => ({ type: 'plain_text' as const, text: text.slice(0, 75), emoji: true });

export function campaignFormView(input: {
  metadata: CampaignFormMetadata;
  numbers: readonly SendingNumberRecord[];
  templates: readonly MessageTemplate[];
  values?: Record<string, string>;
}): ModalView {
  const metadata = { ...input.metadata, ...effectiveSelection(input.templates, input.metadata) };
  const usable = input.numbers.filter((n) => n.health === 'connected');
  const unavailable = input.numbers.filter((n) => n.health !== 'connected');
  const selected = usable.find((n) => n.id === input.metadata.sendingNumberId);
  const blocks: unknown[] = [];
  if (usable.length === 0) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: ':warning: No sending number is connected and healthy right now, so nothing can be sent.',
      },
    });
  } else {
    blocks.push({
      type: 'input',
      block_id: CampaignViewIds.numberBlock,
      dispatch_action: true,
      label: { type: 'plain_text', text: 'Sending number' },
      element: {
        type: 'static_select',
        action_id: CampaignViewIds.numberAction,
        placeholder: plain('Choose a sending number'),
        options: usable.slice(0, 100).map((n) => ({ text: plain(sendingNumberOptionText(n)), value: n.id })),
        ...(selected ? { initial_option: { text: plain(sendingNumberOptionText(selected)), value: selected.id } } : {}),
      },
    });
    if (selected)
      blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: sendingNumberLimitLine(selected) }] });
  }
  if (unavailable.length > 0) {
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `Unavailable: ${unavailable.map((n) => `${n.phone_number} (${escapeSlackText(n.health_reason ?? 'not connected')})`).join(', ')}`.slice(
            0,
            3000,
          ),
        },
      ],
    });
  }
  blocks.push({ type: 'divider' });
  blocks.push(
    ...templateFormBlocks(
      input.templates,
      { templateName: metadata.templateName, language: metadata.language },
      input.values ?? {},
    ),
  );
  blocks.push(
    { type: 'divider' },
    {
      type: 'input',
      block_id: CampaignViewIds.recipientsBlock,
      optional: true,
      label: { type: 'plain_text', text: 'Recipients' },
      hint: {
        type: 'plain_text',
        text: 'Up to 50 numbers in international format (+44 7700 900123), one per line or comma-separated. For more, upload a file below.',
      },
      element: {
        type: 'plain_text_input',
        action_id: CampaignViewIds.recipientsAction,
        multiline: true,
        max_length: 3000,
      },
    },
    {
      type: 'input',
      block_id: CampaignViewIds.recipientsFileBlock,
      optional: true,
      label: { type: 'plain_text', text: 'Recipients file' },
      hint: {
        type: 'plain_text',
        text: 'A UTF-8 .txt file (one number per line, at most 10 MB), or a .csv with a phone column and one column per variable: 1, 2… for the body, header.1 for a text header, button.0.1 for a URL button.',
      },
      element: {
        type: 'file_input',
        action_id: CampaignViewIds.recipientsFileAction,
        filetypes: ['txt', 'csv'],
        max_files: 1,
      },
    },
    {
      type: 'input',
      block_id: CampaignViewIds.scheduleBlock,
      optional: true,
      label: { type: 'plain_text', text: 'Send later (optional)' },
      element: { type: 'datetimepicker', action_id: CampaignViewIds.scheduleAction },
    },
  );
  return {
    type: 'modal',
    callback_id: CampaignViewIds.formCallback,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: 'WhatsApp campaign' },
    submit: { type: 'plain_text', text: 'Review' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: blocks as KnownBlock[],
  };
}

export function campaignPreparingView(): ModalView {
  return {
    type: 'modal',
    callback_id: CampaignViewIds.confirmCallback,
    title: { type: 'plain_text', text: 'WhatsApp campaign' },
    close: { type: 'plain_text', text: 'Close' },
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: ':hourglass_flowing_sand: Checking the recipients and preparing the campaign…' },
      },
    ],
  };
}

export function campaignProblemView(problem: string): ModalView {
  return {
    type: 'modal',
    callback_id: CampaignViewIds.confirmCallback,
    title: { type: 'plain_text', text: 'WhatsApp campaign' },
    close: { type: 'plain_text', text: 'Close' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `:warning: ${escapeSlackText(problem)}`.slice(0, 3000) } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: 'Nothing was sent. Run `/wa send` again after fixing it.' }],
      },
    ],
  };
}

/** `English (US) (en_US)`; a code without a known name as it is. */
const languageLabel = (code: string) => (languageName(code) === code ? code : `${languageName(code)} (${code})`);

/** Invalid recipient lines listed in the confirmation; the full list goes to the marketer as a file. */
export const INVALID_LINES_SHOWN = 10;

/** `invalidLinesNote`: where the full list of invalid lines went (when there are more than are shown). */
export function campaignConfirmView(
  summary: DraftSummary,
  sendingNumber: string,
  invalidLinesNote: string | null = null,
): ModalView {
  const lines = [
    `*Recipients:* ${summary.recipients}`,
    `*Invalid numbers skipped:* ${summary.invalid.length}${summary.duplicates ? ` · *Duplicates removed:* ${summary.duplicates}` : ''}`,
    ...(summary.optedOut > 0 ? [`*Opted out (not sent, on the suppression list):* ${summary.optedOut}`] : []),
    `*Sending number:* ${sendingNumber}`,
    `*Template:* ${escapeSlackText(summary.templateName)}`,
    `*Language:* ${escapeSlackText(languageLabel(summary.language))}`,
    `*Category:* ${escapeSlackText(summary.category)}`,
  ];
  if (summary.perRecipientVariables) lines.push('Variables come from the CSV file, per recipient.');
  if (summary.ignoredColumns.length > 0) {
    const names = summary.ignoredColumns
      .slice(0, 10)
      .map((name) => `\`${escapeSlackText(name.slice(0, 40).replace(/`/g, "'"))}\``)
      .join(', ');
    const more = summary.ignoredColumns.length > 10 ? ` and ${summary.ignoredColumns.length - 10} more` : '';
    lines.push(`*Columns ignored* (not variables of this template): ${names}${more}`);
  }
  if (summary.scheduledAt)
    lines.push(
      `*Scheduled for:* <!date^${Math.floor(summary.scheduledAt / 1000)}^{date_short_pretty} {time}|${new Date(summary.scheduledAt).toISOString()}>`,
    );
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } }];
  if (summary.invalid.length > 0) {
    const shown = summary.invalid
      .slice(0, INVALID_LINES_SHOWN)
      .map(
        (i) =>
          `• line ${i.line}: \`${escapeSlackText(i.input.slice(0, 40).replace(/`/g, "'"))}\` — ${escapeSlackText(i.reason)}`,
      );
    const more = summary.invalid.length > INVALID_LINES_SHOWN;
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Invalid lines*${more ? ` (first ${INVALID_LINES_SHOWN} of ${summary.invalid.length})` : ''}:\n${shown.join('\n')}`.slice(
          0,
          3000,
        ),
      },
    });
    if (more && invalidLinesNote)
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: invalidLinesNote.slice(0, 3000) } });
  }
  blocks.push(...campaignPreviewBlocks(summary));
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: 'Nothing has been sent yet. Confirm to start.' }],
  });
  return {
    type: 'modal',
    callback_id: CampaignViewIds.confirmCallback,
    private_metadata: JSON.stringify({ draftId: summary.draftId }),
    title: { type: 'plain_text', text: 'Confirm campaign' },
    submit: {
      type: 'plain_text',
      text: summary.scheduledAt ? 'Schedule' : `Send to ${summary.recipients - summary.optedOut}`.slice(0, 24),
    },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: blocks as KnownBlock[],
  };
}
