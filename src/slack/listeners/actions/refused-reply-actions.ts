import type { App, BlockAction } from '@slack/bolt';
import type { SendAgainOutcome } from '../../../bridge/agent-replies.js';
import { ActionId } from '../../blocks/thread-header.js';

export type RefusedReplyDeps = {
  sendAgain(request: { messageId: string; userId: string; threadTs: string | null }): Promise<SendAgainOutcome>;
};

const ANSWERS: Record<Exclude<SendAgainOutcome, 'queued'>, string> = {
  window_closed:
    ':no_entry: Still not sent: the 24-hour window is still closed. Use *Send as template*, or *Send again* once the customer has written.',
  not_yours: 'Only the agent who wrote this reply can send it again.',
  not_refused: 'This reply is no longer waiting to be sent again (it was sent, or removed).',
  nothing_to_send: 'There is no text to send again: share the file again in the thread.',
};

/** "Send again" on the notice of a refused reply (the reply keeps its place and its marks). */
export function registerRefusedReplyActions(app: App, deps: RefusedReplyDeps): void {
  app.action<BlockAction>(ActionId.sendRefusedAgain, async ({ ack, body, action, respond }) => {
    await ack();
    const messageId = 'value' in action && typeof action.value === 'string' ? action.value : null;
    if (!messageId) return;
    const container = body.container as { thread_ts?: unknown } | undefined;
    const outcome = await deps.sendAgain({
      messageId,
      userId: body.user.id,
      threadTs: typeof container?.thread_ts === 'string' ? container.thread_ts : null,
    });
    const text =
      outcome === 'queued' ? ':outbox_tray: Sending your reply again; its marks show on it.' : ANSWERS[outcome];
    await respond({ response_type: 'ephemeral', replace_original: outcome === 'queued', text });
  });
}
