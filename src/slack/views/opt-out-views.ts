import type { KnownBlock, View } from '@slack/web-api';
import { escapeSlackText } from '../../shared/slack-text.js';

export const OptOutViewIds = {
  uploadCallback: 'wa_optout_upload',
  fileBlock: 'optout_file',
  fileAction: 'file',
} as const;

/** Invalid lines listed in the modal; the full list goes to the person as a file. */
export const OPT_OUT_INVALID_SHOWN = 10;

/** `/wa optout upload`: a .txt or .csv of numbers, in the recipients file format. */
export function optOutUploadView(): View {
  return {
    type: 'modal',
    callback_id: OptOutViewIds.uploadCallback,
    title: { type: 'plain_text', text: 'Upload opt-outs' },
    submit: { type: 'plain_text', text: 'Add to the list' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: 'Every valid number in the file goes on the suppression list: campaigns and the API will not send it MARKETING templates. Service replies, UTILITY and AUTHENTICATION templates are not affected.',
        },
      },
      {
        type: 'input',
        block_id: OptOutViewIds.fileBlock,
        label: { type: 'plain_text', text: 'Numbers file' },
        hint: {
          type: 'plain_text',
          text: 'The same format as a campaign recipients file: a UTF-8 .txt (one number per line) or a .csv with a phone column, at most 10 MB.',
        },
        element: { type: 'file_input', action_id: OptOutViewIds.fileAction, filetypes: ['txt', 'csv'], max_files: 1 },
      },
    ],
  };
}

export function optOutMessageView(title: string, text: string, extra: string[] = []): View {
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } }];
  for (const more of extra) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: more.slice(0, 3000) } });
  return {
    type: 'modal',
    callback_id: OptOutViewIds.uploadCallback,
    title: { type: 'plain_text', text: title.slice(0, 24) },
    close: { type: 'plain_text', text: 'Close' },
    blocks,
  };
}

/** The outcome of an upload: what was added, and the invalid lines like a recipients file's. */
export function optOutUploadResultView(result: {
  fileName: string;
  added: number;
  already: number;
  duplicates: number;
  invalid: readonly { line: number; input: string; reason: string }[];
  invalidNote: string | null;
}): View {
  const lines = [
    `:white_check_mark: \`${escapeSlackText(result.fileName.replace(/`/g, "'"))}\`: *${result.added}* number(s) added to the suppression list${result.already > 0 ? `, *${result.already}* already on it` : ''}.`,
    `*Invalid numbers skipped:* ${result.invalid.length}${result.duplicates ? ` · *Duplicates removed:* ${result.duplicates}` : ''}`,
  ];
  const extra: string[] = [];
  if (result.invalid.length > 0) {
    const more = result.invalid.length > OPT_OUT_INVALID_SHOWN;
    const shown = result.invalid
      .slice(0, OPT_OUT_INVALID_SHOWN)
      .map(
        (i) =>
          `• line ${i.line}: \`${escapeSlackText(i.input.slice(0, 40).replace(/`/g, "'"))}\` — ${escapeSlackText(i.reason)}`,
      );
    extra.push(
      `*Invalid lines*${more ? ` (first ${OPT_OUT_INVALID_SHOWN} of ${result.invalid.length})` : ''}:\n${shown.join('\n')}`,
    );
    if (more && result.invalidNote) extra.push(result.invalidNote);
  }
  return optOutMessageView('Opt-outs uploaded', lines.join('\n'), extra);
}
