import type { KnownBlock, ModalView } from '@slack/web-api';
import type { MessagePreview } from '../../bridge/campaigns/campaign-preview.js';
import { formatForDisplay } from '../../bridge/phone-number.js';
import { escapeSlackText } from '../../shared/slack-text.js';

export const CampaignTestIds = {
  sendTestAction: 'cmp_test_send',
  testCallback: 'wa_campaign_test',
  testResultCallback: 'wa_campaign_test_result',
  numberBlock: 'cmp_test_number',
  numberAction: 'value',
} as const;

const MEDIA_ICON: Record<string, string> = {
  IMAGE: ':frame_with_picture: Image',
  VIDEO: ':movie_camera: Video',
  DOCUMENT: ':page_facing_up: Document',
  LOCATION: ':round_pushpin: Location',
};

const quote = (text: string) =>
  text
    .split('\n')
    .map((line) => `>${line ? ` ${line}` : ''}`)
    .join('\n');

const fileName = (name: string) => `\`${escapeSlackText(name.replace(/`/g, "'")).slice(0, 100)}\``;

/** The message quoted part by part: header (media named), body, footer, buttons. Escaped throughout. */
export function previewText(preview: MessagePreview): string {
  const parts: string[] = [];
  if (preview.header?.kind === 'text') parts.push(`*${escapeSlackText(preview.header.text)}*`);
  else if (preview.header?.kind === 'media')
    parts.push(
      `${MEDIA_ICON[preview.header.format] ?? escapeSlackText(preview.header.format.toLowerCase())}: ${
        preview.header.fileName ? fileName(preview.header.fileName) : '(no file)'
      }`,
    );
  parts.push(escapeSlackText(preview.body));
  if (preview.footer) parts.push(`_${escapeSlackText(preview.footer)}_`);
  if (preview.buttons.length > 0)
    parts.push(
      preview.buttons
        .map((b) => `[${escapeSlackText(b.text)}]${b.url ? ` → ${escapeSlackText(b.url)}` : ''}`)
        .join('  '),
    );
  return quote(parts.join('\n'));
}

/** The confirmation's preview of the message and its *Send a test to me* button. */
export function campaignPreviewBlocks(input: {
  draftId: string;
  preview: MessagePreview;
  previewRecipient: string;
}): KnownBlock[] {
  const who = input.previewRecipient ? formatForDisplay(input.previewRecipient) : 'the first recipient';
  return [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Preview* — what ${escapeSlackText(who)} (the first recipient) will get:\n${previewText(input.preview)}`.slice(
          0,
          3000,
        ),
      },
    },
    {
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: CampaignTestIds.sendTestAction,
          text: { type: 'plain_text', text: 'Send a test to me' },
          value: input.draftId,
        },
      ],
    },
  ];
}

/** Asks where to send the test (the number used last time filled in). */
export function campaignTestView(input: { draftId: string; rememberedNumber: string | null }): ModalView {
  return {
    type: 'modal',
    callback_id: CampaignTestIds.testCallback,
    private_metadata: JSON.stringify({ draftId: input.draftId }),
    title: { type: 'plain_text', text: 'Send a test' },
    submit: { type: 'plain_text', text: 'Send test' },
    close: { type: 'plain_text', text: 'Back' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: "Sends this campaign's message once to the number you give, with the first recipient's variables. The campaign does not start.",
        },
      },
      {
        type: 'input',
        block_id: CampaignTestIds.numberBlock,
        label: { type: 'plain_text', text: 'Your WhatsApp number' },
        hint: { type: 'plain_text', text: 'International format with the country code, e.g. +44 7700 900123.' },
        element: {
          type: 'plain_text_input',
          action_id: CampaignTestIds.numberAction,
          max_length: 40,
          placeholder: { type: 'plain_text', text: '+44 7700 900123' },
          ...(input.rememberedNumber ? { initial_value: input.rememberedNumber } : {}),
        },
      },
    ],
  };
}

/** Where the test stands: being sent, sent, or why not. Closing it goes back to the confirmation. */
export function campaignTestResultView(text: string): ModalView {
  return {
    type: 'modal',
    callback_id: CampaignTestIds.testResultCallback,
    title: { type: 'plain_text', text: 'Send a test' },
    close: { type: 'plain_text', text: 'Back' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: 'The campaign has not started: confirm it when you are ready.' }],
      },
    ],
  };
}
