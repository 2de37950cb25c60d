import type { App, MessageShortcut } from '@slack/bolt';
import type { InboxAnswer } from '../../../bridge/team-inbox.js';

export const RESOLVE_SHORTCUT = 'wa_resolve';

/** "Resolve conversation" on any message of a conversation thread. */
export function registerResolveShortcut(
  app: App,
  deps: { resolve(channelId: string, threadTs: string, userId: string): Promise<InboxAnswer | null> },
): void {
  app.shortcut<MessageShortcut>(RESOLVE_SHORTCUT, async ({ ack, shortcut, respond }) => {
    await ack();
    const message = shortcut.message as { ts?: unknown; thread_ts?: unknown };
    const threadTs = typeof message.thread_ts === 'string' ? message.thread_ts : message.ts;
    const answer =
      typeof threadTs === 'string' ? await deps.resolve(shortcut.channel.id, threadTs, shortcut.user.id) : null;
    await respond({
      response_type: 'ephemeral',
      text: answer?.text ?? 'That message is not part of a WhatsApp conversation thread: there is nothing to resolve.',
    });
  });
}
