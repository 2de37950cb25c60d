import type { ThreadHeaderModel } from '../../bridge/ports.js';
import { escapeSlackText } from '../../shared/slack-text.js';

export const ActionId = {
  addToMySessions: 'wa_session_add',
  openTemplatePicker: 'wa_template_open',
  openQuickReplies: 'wa_quick_reply_open',
  openHistory: 'wa_history_open',
  editNote: 'wa_note_edit',
} as const;

export function slackDate(epochMs: number, fallback: string): string {
  return `<!date^${Math.floor(epochMs / 1000)}^{date_short_pretty} {time}|${fallback}>`;
}

export function windowLine(window: ThreadHeaderModel['window']): string {
  if (window.open) {
    return `:large_green_circle: 24-hour window open until ${slackDate(window.closesAt, new Date(window.closesAt).toISOString())} — free-form replies allowed`;
  }
  return ':red_circle: 24-hour window closed — only a template can be sent until the customer writes again';
}

/** The parent message of a conversation thread: who, on which number, the note, the window, actions. */
export function threadHeaderBlocks(header: ThreadHeaderModel): { text: string; blocks: unknown[] } {
  const who = header.contactName
    ? `${escapeSlackText(header.contactName)} (${header.contactNumber ?? 'number unknown'})`
    : (header.contactNumber ?? 'Unknown contact');
  const via = header.sendingNumberName
    ? `${header.sendingNumber} (${escapeSlackText(header.sendingNumberName)})`
    : header.sendingNumber;
  const lines = [
    `*WhatsApp conversation with ${who}*`,
    `Business number: ${via}`,
    `Note: ${header.note ? escapeSlackText(header.note) : '_none_'}`,
    windowLine(header.window),
  ];
  if (header.optOut)
    lines.push(
      `:no_bell: Opted out of marketing messages since ${slackDate(header.optOut.at, new Date(header.optOut.at).toISOString())} (${header.optOut.why}) — campaigns skip this number; replies, UTILITY and AUTHENTICATION templates still go out`,
    );
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } },
    {
      type: 'actions',
      block_id: 'wa_thread_actions',
      elements: [
        {
          type: 'button',
          action_id: ActionId.addToMySessions,
          text: { type: 'plain_text', text: 'Add to My Sessions' },
          value: header.contactId,
        },
        {
          type: 'button',
          action_id: ActionId.openTemplatePicker,
          text: { type: 'plain_text', text: 'Send template' },
          value: header.contactId,
        },
        {
          type: 'button',
          action_id: ActionId.openQuickReplies,
          text: { type: 'plain_text', text: 'Quick reply' },
          value: header.contactId,
        },
        {
          type: 'button',
          action_id: ActionId.openHistory,
          text: { type: 'plain_text', text: 'History' },
          value: header.contactId,
        },
        {
          type: 'button',
          action_id: ActionId.editNote,
          text: { type: 'plain_text', text: 'Edit note' },
          value: header.contactId,
        },
      ],
    },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: header.internalNotePrefix
            ? `Reply in this thread to message the customer on WhatsApp. Start a reply with \`${header.internalNotePrefix.replace(/`/g, "'")}\` to keep it internal.`
            : 'Reply in this thread to message the customer on WhatsApp. Every reply here is sent to the customer.',
        },
      ],
    },
  ];
  if (header.previousThread) {
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: header.previousThread.link
            ? `:link: Continues <${header.previousThread.link}|an earlier thread> of this conversation.`
            : `:link: Continues an earlier thread of this conversation (in <#${header.previousThread.channelId}>).`,
        },
      ],
    });
  }
  return {
    text: `WhatsApp conversation with ${escapeSlackText(header.contactName ?? header.contactNumber ?? 'a contact')}`,
    blocks,
  };
}
