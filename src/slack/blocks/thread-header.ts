import type { ThreadHeaderModel } from '../../bridge/ports.js';
import { escapeSlackText } from '../../shared/slack-text.js';
import { DELIVERY_MARKS_LEGEND } from './delivery-marks.js';

export const ActionId = {
  addToMySessions: 'wa_session_add',
  openTemplatePicker: 'wa_template_open',
  openQuickReplies: 'wa_quick_reply_open',
  openHistory: 'wa_history_open',
  editNote: 'wa_note_edit',
  assignToMe: 'wa_inbox_assign_me',
  assignOther: 'wa_inbox_assign_other',
  unassign: 'wa_inbox_unassign',
  resolve: 'wa_inbox_resolve',
  reopen: 'wa_inbox_reopen',
  sendRefusedAgain: 'wa_refused_send_again',
  sendRefusedAsTemplate: 'wa_refused_as_template',
} as const;

/**
 * The value of the team-inbox buttons: the conversation and the owner the header showed when it
 * was clicked, so a change made by someone else meanwhile is not silently overwritten.
 */
export function inboxButtonValue(contactId: string, shownOwner: string | null): string {
  return `${contactId}|${shownOwner ?? ''}`;
}

export function parseInboxButtonValue(value: string): { contactId: string; shownOwner: string | null } | null {
  const match = /^([^|]{1,100})\|(U[A-Z0-9]{1,30}|W[A-Z0-9]{1,30})?$/.exec(value);
  if (!match?.[1]) return null;
  return { contactId: match[1], shownOwner: match[2] ?? null };
}

/** Who owns the conversation and where it stands (the team inbox). */
export function inboxLines(header: Pick<ThreadHeaderModel, 'owner' | 'status' | 'waitingSince'>): string {
  const owner = `Owner: ${header.owner ? `<@${header.owner}>` : '_unassigned_'}`;
  switch (header.status) {
    case 'open':
      return `${owner}\n:large_orange_circle: *Open*${
        header.waitingSince !== null
          ? `: the customer has waited for an answer since ${slackDate(header.waitingSince, new Date(header.waitingSince).toISOString())}`
          : ''
      }`;
    case 'waiting':
      return `${owner}\n:hourglass_flowing_sand: *Waiting on the customer*: an agent answered last`;
    case 'resolved':
      return `${owner}\n:white_check_mark: *Resolved*: a new customer message reopens it`;
  }
}

function inboxActions(header: ThreadHeaderModel): unknown {
  const value = inboxButtonValue(header.contactId, header.owner);
  const button = (action_id: string, text: string, style?: 'primary') => ({
    type: 'button',
    action_id,
    text: { type: 'plain_text', text },
    value,
    ...(style ? { style } : {}),
  });
  return {
    type: 'actions',
    block_id: 'wa_inbox_actions',
    elements: [
      button(ActionId.assignToMe, 'Assign to me'),
      button(ActionId.assignOther, 'Assign…'),
      ...(header.owner ? [button(ActionId.unassign, 'Unassign')] : []),
      header.status === 'resolved' ? button(ActionId.reopen, 'Reopen') : button(ActionId.resolve, 'Resolve', 'primary'),
    ],
  };
}

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
    inboxLines(header),
  ];
  if (header.optOut)
    lines.push(
      `:no_bell: Opted out of marketing messages since ${slackDate(header.optOut.at, new Date(header.optOut.at).toISOString())} (${header.optOut.why}) — campaigns skip this number; replies, UTILITY and AUTHENTICATION templates still go out`,
    );
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } },
    inboxActions(header),
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
        { type: 'mrkdwn', text: DELIVERY_MARKS_LEGEND },
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
