import type { AgentNotice, RefusedReply } from '../../bridge/ports.js';
import { errorIdNote } from '../../shared/error-id.js';
import { escapeSlackText } from '../../shared/slack-text.js';
import { ActionId, slackDate } from './thread-header.js';

/** What the agent can do with a refused reply, kept by the bridge: send it again, or as a template. */
function refusedReplyButtons(refused: RefusedReply): unknown[] {
  const buttons: unknown[] = [];
  if (refused.canSendAsTemplate)
    buttons.push({
      type: 'button',
      style: 'primary',
      action_id: ActionId.sendRefusedAsTemplate,
      text: { type: 'plain_text', text: 'Send as template' },
      value: refused.messageId,
    });
  if (refused.canSendAgain)
    buttons.push({
      type: 'button',
      action_id: ActionId.sendRefusedAgain,
      text: { type: 'plain_text', text: 'Send again' },
      value: refused.messageId,
    });
  return buttons.length > 0 ? [{ type: 'actions', elements: buttons }] : [];
}

export function agentNoticeContent(notice: AgentNotice): { text: string; blocks: unknown[] } {
  switch (notice.kind) {
    case 'window_closed': {
      const last = notice.lastInboundAt
        ? `The customer last wrote ${slackDate(notice.lastInboundAt, new Date(notice.lastInboundAt).toISOString())}.`
        : 'The customer has not written to this number yet.';
      const text = `:no_entry: Not sent: the 24-hour customer-service window is closed. ${last} WhatsApp only allows a template message until the customer writes again.${notice.errorId ? ` ${errorIdNote(notice.errorId)}` : ''}`;
      if (notice.refused) {
        const kept =
          'Your text is kept: *Send as template* puts it in a template, *Send again* sends it as it is once the customer has written again.';
        return {
          text,
          blocks: [
            { type: 'section', text: { type: 'mrkdwn', text } },
            { type: 'context', elements: [{ type: 'mrkdwn', text: kept }] },
            ...refusedReplyButtons(notice.refused),
          ],
        };
      }
      return {
        text,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text } },
          {
            type: 'actions',
            elements: [
              {
                type: 'button',
                style: 'primary',
                action_id: ActionId.openTemplatePicker,
                text: { type: 'plain_text', text: 'Send a template' },
                value: notice.contactId,
              },
            ],
          },
        ],
      };
    }
    case 'not_sent': {
      // Reasons quote file names: plain text, never markup.
      const text = `:warning: ${escapeSlackText(notice.reason)}`;
      return {
        text,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text } },
          ...(notice.refused ? refusedReplyButtons(notice.refused) : []),
        ],
      };
    }
    case 'uncertain': {
      const text = notice.errorId
        ? `:warning: The bridge hit an unexpected error while sending this reply, so it may or may not have reached the customer. It was not sent again automatically, to avoid a duplicate; check with the customer before resending, and if it happens again give whoever runs the bridge this error id. ${errorIdNote(notice.errorId)}`
        : ':warning: The bridge restarted while this reply was being sent, so it may or may not have reached the customer. It was not sent again automatically, to avoid a duplicate; check with the customer before resending.';
      return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
    }
  }
}
