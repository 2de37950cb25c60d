import type { Logger } from '../shared/logger.js';
import { windowState } from './conversation-window.js';
import type { ChannelRouting, ConversationRepository, SlackConversationPort, ThreadHeaderModel } from './ports.js';
import type { ContactRecord, SlackThreadRecord } from './records.js';

export type ConversationThreads = ReturnType<typeof createConversationThreads>;

/**
 * Finds or starts the one Slack thread of a conversation. A thread whose header was deleted, or
 * that lives in a channel the sending number no longer routes to, is replaced by a new thread
 * that links back to the old one — a message is never posted to the channel root by mistake.
 */
export function createConversationThreads(deps: {
  conversations: ConversationRepository;
  slack: SlackConversationPort;
  routeChannel: ChannelRouting;
  now: () => number;
  logger: Logger;
}) {
  const { conversations, slack } = deps;

  async function headerModel(contact: ContactRecord, previous: SlackThreadRecord | null): Promise<ThreadHeaderModel> {
    const sendingNumber = await conversations.sendingNumber(contact.sending_number_id);
    return {
      contactId: contact.id,
      contactName: contact.profile_name,
      contactNumber: contact.phone_number,
      sendingNumber: sendingNumber?.phone_number ?? contact.sending_number_id,
      sendingNumberName: sendingNumber?.display_name ?? null,
      note: contact.note,
      window: windowState(contact.last_inbound_at, deps.now()),
      previousThread: previous ? { channelId: previous.slack_channel_id, threadTs: previous.thread_ts } : null,
    };
  }

  async function startThread(contact: ContactRecord, previous: SlackThreadRecord | null): Promise<SlackThreadRecord> {
    const sendingNumber = await conversations.sendingNumber(contact.sending_number_id);
    const channelId = deps.routeChannel(sendingNumber, contact.sending_number_id);
    // The marker lets a retry after a crash find the header it already posted.
    const marker = { type: 'wa_thread', key: `${contact.id}:${previous?.thread_ts ?? 'first'}` };
    const header = await headerModel(contact, previous);
    const existingTs = await slack.findMarkedPost(channelId, null, marker);
    deps.logger.debug({ contactId: contact.id, marker: marker.key, found: existingTs }, 'looked for an earlier header');
    const ts = existingTs ?? (await slack.postThreadHeader(channelId, header, marker));
    const thread = await conversations.startThread(contact.id, channelId, ts, deps.now());
    if (previous) {
      // Leave a pointer in the old thread so people reading it find the conversation.
      await slack
        .postInThread(
          previous.slack_channel_id,
          previous.thread_ts,
          {
            text: `This conversation continues in a new thread: ${(await slack.permalink(channelId, ts)) ?? channelId}`,
          },
          null,
        )
        .catch(() => {});
    }
    deps.logger.info(
      { contactId: contact.id, channelId, ts, replaced: previous !== null },
      'conversation thread started',
    );
    return thread;
  }

  return {
    headerModel,

    /** The active thread, started if missing or misrouted. */
    async ensureThread(contact: ContactRecord): Promise<SlackThreadRecord> {
      const active = await conversations.activeThread(contact.id);
      if (!active) return startThread(contact, (await conversations.latestThread(contact.id)) ?? null);
      const sendingNumber = await conversations.sendingNumber(contact.sending_number_id);
      const wanted = deps.routeChannel(sendingNumber, contact.sending_number_id);
      if (wanted !== active.slack_channel_id) return startThread(contact, active);
      return active;
    },

    /** Called when a post found the thread's parent gone: start over, linked to the old thread. */
    async replaceThread(contact: ContactRecord, gone: SlackThreadRecord): Promise<SlackThreadRecord> {
      await conversations.deactivateThread(gone.id);
      return startThread(contact, gone);
    },

    async refreshHeader(contact: ContactRecord): Promise<void> {
      const active = await conversations.activeThread(contact.id);
      if (!active) return;
      await slack.updateThreadHeader(active.slack_channel_id, active.thread_ts, await headerModel(contact, null));
    },
  };
}
