import type { App, BlockAction } from '@slack/bolt';
import type { ClickedHeader, InboxAnswer } from '../../../bridge/team-inbox.js';
import { ActionId, parseInboxButtonValue } from '../../blocks/thread-header.js';
import { actionValue } from '../action-value.js';

type Clicked = {
  contactId: string;
  shownOwner: string | null;
  userId: string;
  clicked: ClickedHeader | null;
  teamId: string | null;
};

/** The header's team-inbox buttons: Assign to me, Assign… (leads), Unassign, Resolve, Reopen. */
export function registerTeamInboxActions(
  app: App,
  deps: {
    assignToMe(click: Clicked): Promise<InboxAnswer>;
    /** Opens the Assign… modal, or says why not. */
    openAssign(click: Clicked, triggerId: string): Promise<InboxAnswer | null>;
    unassign(click: Clicked): Promise<InboxAnswer>;
    setStatus(click: Clicked, status: 'resolved' | 'open'): Promise<InboxAnswer>;
  },
): void {
  /** The click, read from the payload; null for a button value this app never made. */
  const read = (body: BlockAction, action: BlockAction['actions'][number]): Clicked | null => {
    const parsed = parseInboxButtonValue(actionValue(action) ?? '');
    if (!parsed) return null;
    const channelId = body.channel?.id ?? body.container?.channel_id;
    const ts = (body.message as { ts?: unknown } | undefined)?.ts ?? body.container?.message_ts;
    return {
      ...parsed,
      userId: body.user.id,
      clicked: typeof channelId === 'string' && typeof ts === 'string' ? { channelId, ts } : null,
      teamId: body.team?.id ?? null,
    };
  };

  const on = (actionId: string, run: (click: Clicked, body: BlockAction) => Promise<InboxAnswer | null>) =>
    app.action<BlockAction>(actionId, async ({ ack, body, action, respond }) => {
      await ack();
      const click = read(body, action);
      const answer = click ? await run(click, body) : { ok: false, text: 'That button is not one this app made.' };
      if (answer) await respond({ response_type: 'ephemeral', replace_original: false, text: answer.text });
    });

  on(ActionId.assignToMe, (click) => deps.assignToMe(click));
  on(ActionId.assignOther, (click, body) => deps.openAssign(click, body.trigger_id));
  on(ActionId.unassign, (click) => deps.unassign(click));
  on(ActionId.resolve, (click) => deps.setStatus(click, 'resolved'));
  on(ActionId.reopen, (click) => deps.setStatus(click, 'open'));
}
