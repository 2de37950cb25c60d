import type { App, GlobalShortcut, MessageShortcut } from '@slack/bolt';

export const HistoryShortcut = { global: 'wa_history', thread: 'wa_history_thread' } as const;

/** "WhatsApp history": global (search any number) and on a conversation thread's message. */
export function registerHistoryShortcuts(
  app: App,
  deps: {
    openHistory(triggerId: string, userId: string, query: { contactId: string | null }): Promise<void>;
    contactOfThread(channelId: string, threadTs: string): Promise<string | null>;
    tellUser(channelId: string, userId: string, text: string): Promise<void>;
  },
): void {
  app.shortcut<GlobalShortcut>(HistoryShortcut.global, async ({ ack, shortcut }) => {
    await ack();
    await deps.openHistory(shortcut.trigger_id, shortcut.user.id, { contactId: null });
  });
  app.shortcut<MessageShortcut>(HistoryShortcut.thread, async ({ ack, shortcut }) => {
    await ack();
    const message = shortcut.message as { ts: string; thread_ts?: string };
    const contactId = await deps.contactOfThread(shortcut.channel.id, message.thread_ts ?? message.ts);
    if (!contactId) {
      await deps.tellUser(
        shortcut.channel.id,
        shortcut.user.id,
        'That message is not part of a WhatsApp conversation thread. Use the global "WhatsApp history" shortcut to search by number.',
      );
      return;
    }
    await deps.openHistory(shortcut.trigger_id, shortcut.user.id, { contactId });
  });
}
