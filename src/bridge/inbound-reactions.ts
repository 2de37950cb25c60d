import type { Logger } from '../shared/logger.js';
import type { InboundContent, InboundMessageEvent } from '../whatsapp/whatsapp-provider.js';
import { slackReactionForEmoji } from './formatting/slack-emoji.js';
import type { MessageRepository, ReactionRepository, SlackConversationPort } from './ports.js';

type ReactionContent = Extract<InboundContent, { type: 'reaction' }>;

/** `as_text`: Slack can't show it as a reaction (no such emoji), so the caller posts it in the thread instead. */
export type ReactionOutcome = 'shown' | 'ignored' | 'as_text';

/**
 * A customer's WhatsApp reaction appears as the bot's reaction on the Slack message it is for.
 * WhatsApp keeps one reaction per person and message: a new one replaces the old (whose Slack
 * reaction is taken away), an empty one removes it. Reactions to messages Slack never showed (a
 * campaign's, or one the bridge never sent) are left out, with a log line.
 *
 * Safe to run again (a retried job): adding is idempotent, removing what is gone is a no-op, and a
 * reaction older than the one shown is stale.
 */
export function createInboundReactions(deps: {
  messages: MessageRepository;
  reactions: ReactionRepository;
  slack: SlackConversationPort;
  now: () => number;
  logger: Logger;
}) {
  return async function showReaction(
    event: InboundMessageEvent,
    content: ReactionContent,
    contactId: string,
  ): Promise<ReactionOutcome> {
    const context = { providerMessageId: event.providerMessageId, reactedTo: content.targetProviderMessageId };
    const target = await deps.messages.byProviderId(content.targetProviderMessageId);
    if (!target || target.contact_id !== contactId || !target.slack_channel_id || !target.slack_ts) {
      deps.logger.info(
        { ...context, known: target !== undefined },
        'WhatsApp reaction to a message the bridge has not shown in Slack; ignored',
      );
      return 'ignored';
    }
    const shown = await deps.reactions.get(target.id, 'contact');
    if (shown && shown.reactedAt > event.timestamp) {
      deps.logger.info(context, 'WhatsApp reaction older than the one shown; ignored');
      return 'ignored';
    }

    const emoji = content.emoji ?? '';
    let slackName = emoji ? slackReactionForEmoji(emoji) : null;
    if (slackName) {
      const added = await deps.slack.addReaction(target.slack_channel_id, target.slack_ts, slackName);
      if (added === 'message_gone') {
        deps.logger.info(context, 'WhatsApp reaction to a message deleted in Slack; ignored');
        return 'ignored';
      }
      if (added === 'refused') slackName = null;
    }
    if (shown?.slackName && shown.slackName !== slackName)
      await deps.slack.removeReaction(target.slack_channel_id, target.slack_ts, shown.slackName, target.status);
    await deps.reactions.set(
      { messageId: target.id, side: 'contact', emoji, slackName, reactedAt: event.timestamp },
      deps.now(),
    );
    return emoji && !slackName ? 'as_text' : 'shown';
  };
}
export type ShowReaction = ReturnType<typeof createInboundReactions>;
