import { randomUUID } from 'node:crypto';
import type { Logger } from '../shared/logger.js';
import { describeFailure, ProviderError } from '../whatsapp/provider-errors.js';
import type { WhatsAppProvider } from '../whatsapp/whatsapp-provider.js';
import { windowState } from './conversation-window.js';
import { emojiForSlackReaction } from './formatting/slack-emoji.js';
import { JobKind } from './job-kinds.js';
import type {
  AgentNotice,
  ConversationRepository,
  DeliveryLog,
  JobQueue,
  MessageRepository,
  ReactionRepository,
  SlackConversationPort,
} from './ports.js';
import type { MessageRecord } from './records.js';

/** A person's reaction added to or removed from a Slack message, as the Events API reports it. */
export type AgentReaction = {
  channelId: string;
  ts: string;
  userId: string;
  /** Slack's name for it, skin tone included (`+1::skin-tone-2`). */
  name: string;
  added: boolean;
  /** Slack's event_ts: the same event delivered again carries the same one. */
  eventTs: string;
};

export type AgentReactionOutcome =
  | { result: 'ignored'; reason: string }
  | { result: 'refused'; reason: string }
  | { result: 'queued' }
  | { result: 'duplicate' };

export type AgentReactionPayload = {
  /** The stored row of the WhatsApp reaction, once sent. */
  reactionId: string;
  /** The customer's message reacted to. */
  messageId: string;
  channelId: string;
  threadTs: string;
  userId: string;
  slackName: string;
  /** "" takes the business's reaction away. */
  emoji: string;
};

/** As agent replies: with backoff capped at 5 minutes, about 20 minutes of retrying. */
const AGENT_REACTION_MAX_ATTEMPTS = 12;

/** Reactions keep their order among themselves, but never wait behind a reply's slow upload. */
const reactionsKey = (contactId: string) => `reactions:${contactId}`;

/**
 * An agent's Slack reaction on a customer's message in a conversation thread goes to WhatsApp as
 * the business's reaction to that message. WhatsApp keeps one reaction per side and message, so a
 * reaction replaces the one sent before, and removing a reaction takes it away on WhatsApp only when
 * it is the one WhatsApp shows.
 *
 * Longer than 150 lines on purpose: the steps of one flow as short inner functions sharing its
 * dependencies; splitting them into modules would only pass the same dependencies around.
 */
export function createAgentReactions(deps: {
  conversations: ConversationRepository;
  messages: MessageRepository;
  reactions: ReactionRepository;
  slack: SlackConversationPort;
  provider: WhatsAppProvider;
  jobs: JobQueue;
  deliveries: DeliveryLog;
  now: () => number;
  logger: Logger;
}) {
  const { conversations, messages, slack } = deps;

  /** Decides while Slack waits for the ack; what goes to WhatsApp is queued before it. */
  async function accept(reaction: AgentReaction): Promise<AgentReactionOutcome> {
    const target = await messages.bySlackTs(reaction.channelId, reaction.ts);
    if (target?.source !== 'contact' || target.direction !== 'inbound')
      return { result: 'ignored', reason: 'not a customer message' };
    // A reaction only Slack could not show (posted as text) is not a message WhatsApp can react to.
    if (target.kind === 'reaction' || !target.provider_message_id)
      return { result: 'ignored', reason: 'not a message WhatsApp can react to' };
    const emoji = emojiForSlackReaction(reaction.name);
    if (!emoji) {
      if (!reaction.added) return { result: 'ignored', reason: 'custom emoji removed' };
      const reason = `:${reaction.name}: is a custom emoji of this workspace. WhatsApp only has standard emoji, so the customer did not get this reaction.`;
      await tellOnce(`reaction-refused:${reaction.channelId}:${reaction.eventTs}:${reaction.userId}`, target, {
        userId: reaction.userId,
        notice: { kind: 'not_sent', reason },
      });
      return { result: 'refused', reason: 'custom emoji' };
    }
    const payload: AgentReactionPayload = {
      reactionId: randomUUID(),
      messageId: target.id,
      channelId: reaction.channelId,
      threadTs: await threadOf(target),
      userId: reaction.userId,
      slackName: reaction.name,
      emoji: reaction.added ? emoji : '',
    };
    const queued = await deps.jobs.enqueue({
      kind: JobKind.agentReaction,
      payload,
      orderingKey: reactionsKey(target.contact_id),
      idempotencyKey: `reaction:${reaction.added ? 'added' : 'removed'}:${reaction.channelId}:${reaction.ts}:${reaction.userId}:${reaction.name}:${reaction.eventTs}`,
      maxAttempts: AGENT_REACTION_MAX_ATTEMPTS,
    });
    return queued ? { result: 'queued' } : { result: 'duplicate' };
  }

  /** The job: sends the reaction (or its removal). Sending one twice is harmless, so retries are plain. */
  async function send(payload: AgentReactionPayload, attempt: { isLastAttempt: boolean }): Promise<void> {
    const target = await messages.get(payload.messageId);
    const contact = target ? await conversations.getContact(target.contact_id) : undefined;
    if (!target?.provider_message_id || !contact?.phone_number) return;
    const shown = await deps.reactions.get(target.id, 'business');
    const removing = payload.emoji === '';
    if (removing && (shown?.slackName !== payload.slackName || !shown.emoji)) {
      deps.logger.debug({ messageId: target.id }, 'removed reaction is not the one WhatsApp shows; nothing to send');
      return;
    }
    const tell = (notice: AgentNotice) =>
      slack.notifyAgent(payload.channelId, payload.threadTs, payload.userId, notice);
    if (!windowState(contact.last_inbound_at, deps.now()).open) {
      await tell({ kind: 'window_closed', contactId: contact.id, lastInboundAt: contact.last_inbound_at });
      return;
    }
    let providerMessageId: string;
    try {
      providerMessageId = (
        await deps.provider.sendReaction(contact.sending_number_id, {
          to: contact.phone_number,
          messageId: target.provider_message_id,
          emoji: payload.emoji,
        })
      ).providerMessageId;
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      if (error.retryable && !attempt.isLastAttempt) throw error;
      if (error.code === 'unsupported') {
        const reason = `${error.message} You won't be told again in this conversation.`;
        await tellOnce(`reactions-unsupported:${contact.id}:${payload.userId}`, target, {
          userId: payload.userId,
          threadTs: payload.threadTs,
          notice: { kind: 'not_sent', reason },
        });
        return;
      }
      const reason = describeFailure(error.code, error.providerCode, error.message);
      await tell({ kind: 'not_sent', reason: `Your reaction was not sent to WhatsApp: ${reason}` });
      return;
    }
    const now = deps.now();
    // Kept like any message the customer got (history, and its delivery statuses find their message).
    await messages.insertOnce({
      id: payload.reactionId,
      contact_id: contact.id,
      direction: 'outbound',
      kind: 'reaction',
      body: removing ? 'reaction removed' : `reaction ${payload.emoji}`,
      media_json: null,
      provider_message_id: providerMessageId,
      alternate_message_id: null,
      slack_channel_id: null,
      slack_ts: null,
      status: 'sent',
      error_code: null,
      error_detail: null,
      provider_timestamp: null,
      source: 'agent',
      author_slack_user_id: payload.userId,
      campaign_id: null,
      created_at: now,
      updated_at: now,
    });
    await deps.reactions.set(
      { messageId: target.id, side: 'business', emoji: payload.emoji, slackName: payload.slackName, reactedAt: now },
      now,
    );
  }

  /** The thread a customer's message is in, for notices (it may be an earlier one of the contact). */
  async function threadOf(target: MessageRecord): Promise<string> {
    const active = await conversations.activeThread(target.contact_id);
    return active?.slack_channel_id === target.slack_channel_id ? active.thread_ts : (target.slack_ts ?? '');
  }

  async function tellOnce(
    key: string,
    target: MessageRecord,
    told: { userId: string; threadTs?: string; notice: AgentNotice },
  ): Promise<void> {
    if (!target.slack_channel_id || (await deps.deliveries.has(key))) return;
    await slack.notifyAgent(
      target.slack_channel_id,
      told.threadTs ?? (await threadOf(target)),
      told.userId,
      told.notice,
    );
    await deps.deliveries.markFirstSeen(key, deps.now());
  }

  return { accept, send };
}
export type AgentReactions = ReturnType<typeof createAgentReactions>;
