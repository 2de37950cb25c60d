import { randomUUID } from 'node:crypto';
import type { Logger } from '../shared/logger.js';
import { describeFailure, ProviderError } from '../whatsapp/provider-errors.js';
import type { OutboundMessage, WhatsAppProvider } from '../whatsapp/whatsapp-provider.js';
import { windowState } from './conversation-window.js';
import { slackToWhatsApp } from './formatting/slack-to-whatsapp.js';
import { JobKind } from './job-kinds.js';
import { CAPTIONED_KINDS, outboundFileProblem, outboundMediaRule } from './outbound-media.js';
import type { ConversationRepository, JobQueue, MessageRepository, SlackConversationPort } from './ports.js';
import { conversationKey } from './webhook-intake.js';

export type SlackFile = { id: string; name: string; mimeType: string; size: number; urlPrivate: string };

/** A message posted in Slack, reduced to what decides whether and what to send. */
export type AgentMessage = {
  channelId: string;
  ts: string;
  threadTs: string | null;
  userId: string | null;
  botId: string | null;
  subtype: string | null;
  text: string;
  blocks: unknown;
  files: SlackFile[];
};

export type AgentMessageOutcome =
  | { result: 'ignored'; reason: string }
  | { result: 'refused'; reason: string }
  | { result: 'queued'; messageId: string }
  | { result: 'duplicate' };

export type AgentReplyPayload = {
  messageId: string;
  channelId: string;
  threadTs: string;
  userId: string;
  text: string;
  blocks: unknown;
  files: SlackFile[];
};

/** Subtypes that are a person writing (possibly with files); everything else is never sent. */
const SENDABLE_SUBTYPES = new Set<string | null>([null, 'file_share', 'thread_broadcast']);

export function createAgentReplies(deps: {
  conversations: ConversationRepository;
  messages: MessageRepository;
  slack: SlackConversationPort;
  provider: WhatsAppProvider;
  jobs: JobQueue;
  internalNotePrefix: string;
  signAgentName: boolean;
  now: () => number;
  logger: Logger;
}) {
  const { conversations, messages, slack } = deps;

  /**
   * Decides, while Slack waits for the ack, whether a thread message goes to WhatsApp; if so it is
   * stored and queued before the ack (Slack redelivers otherwise). Idempotent on channel + ts.
   */
  async function accept(message: AgentMessage): Promise<AgentMessageOutcome> {
    if (message.botId) return { result: 'ignored', reason: 'bot message' };
    if (!SENDABLE_SUBTYPES.has(message.subtype)) return { result: 'ignored', reason: `subtype ${message.subtype}` };
    if (!message.userId) return { result: 'ignored', reason: 'no author' };
    if (!message.threadTs || message.threadTs === message.ts)
      return { result: 'ignored', reason: 'not a thread reply' };
    const trimmed = message.text.trimStart();
    if (deps.internalNotePrefix && trimmed.toLowerCase().startsWith(deps.internalNotePrefix.toLowerCase())) {
      return { result: 'ignored', reason: 'internal note' };
    }
    const thread = await conversations.threadByTs(message.channelId, message.threadTs);
    if (!thread) return { result: 'ignored', reason: 'not a conversation thread' };
    if (await messages.bySlackTs(message.channelId, message.ts)) return { result: 'duplicate' };
    if (message.text.trim() === '' && message.files.length === 0) return { result: 'ignored', reason: 'empty' };

    const contact = await conversations.getContact(thread.contact_id);
    if (!contact) return { result: 'ignored', reason: 'contact missing' };

    const problems = message.files.map((file) => outboundFileProblem(file)).filter((p): p is string => p !== null);
    if (problems.length > 0) {
      const reason = `Nothing was sent. ${problems.join(' ')}`;
      await slack.notifyAgent(message.channelId, message.threadTs, message.userId, { kind: 'not_sent', reason });
      return { result: 'refused', reason };
    }
    const window = windowState(contact.last_inbound_at, deps.now());
    if (!window.open) {
      await slack.notifyAgent(message.channelId, message.threadTs, message.userId, {
        kind: 'window_closed',
        contactId: contact.id,
        lastInboundAt: contact.last_inbound_at,
      });
      return { result: 'refused', reason: 'window closed' };
    }

    const now = deps.now();
    const messageId = randomUUID();
    const { created, row } = await messages.insertOnce({
      id: messageId,
      contact_id: contact.id,
      direction: 'outbound',
      kind: message.files.length > 0 ? outboundMediaRule(message.files[0]?.mimeType ?? '').kind : 'text',
      body: message.text,
      media_json:
        message.files.length > 0
          ? JSON.stringify(message.files.map((f) => ({ name: f.name, mimeType: f.mimeType, size: f.size })))
          : null,
      provider_message_id: null,
      alternate_message_id: null,
      slack_channel_id: message.channelId,
      slack_ts: message.ts,
      status: 'queued',
      error_code: null,
      error_detail: null,
      provider_timestamp: null,
      source: 'agent',
      author_slack_user_id: message.userId,
      campaign_id: null,
      created_at: now,
      updated_at: now,
    });
    if (!created) return { result: 'duplicate' };
    const payload: AgentReplyPayload = {
      messageId: row.id,
      channelId: message.channelId,
      threadTs: message.threadTs,
      userId: message.userId,
      text: message.text,
      blocks: message.blocks,
      files: message.files,
    };
    await deps.jobs.enqueue({
      kind: JobKind.agentReply,
      payload,
      orderingKey: conversationKey(contact.sending_number_id, {
        phoneNumber: contact.phone_number,
        userId: contact.user_id,
        profileName: null,
      }),
      idempotencyKey: `reply:${message.channelId}:${message.ts}`,
      maxAttempts: 30,
    });
    return { result: 'queued', messageId: row.id };
  }

  /** The job: converts, uploads and sends; retried on outages, never sent twice. */
  async function send(payload: AgentReplyPayload): Promise<void> {
    const message = await messages.get(payload.messageId);
    if (message?.status !== 'queued') {
      if (message?.status === 'sending') {
        // We were interrupted mid-send (crash): the provider may or may not have it. Don't guess.
        await messages.recordFailure(
          message.id,
          'uncertain',
          'interrupted while sending; may not have been delivered',
          deps.now(),
        );
        await slack.notifyAgent(payload.channelId, payload.threadTs, payload.userId, { kind: 'uncertain' });
      }
      return;
    }
    const contact = await conversations.getContact(message.contact_id);
    if (!contact?.phone_number) {
      await fail(payload, 'no_number', 'this contact has no phone number to send to');
      return;
    }
    const window = windowState(contact.last_inbound_at, deps.now());
    if (!window.open) {
      await messages.recordFailure(message.id, 'window_closed', describeFailure('window_closed', null), deps.now());
      await slack.notifyAgent(payload.channelId, payload.threadTs, payload.userId, {
        kind: 'window_closed',
        contactId: contact.id,
        lastInboundAt: contact.last_inbound_at,
      });
      return;
    }

    let text = (
      await slackToWhatsApp(
        { text: payload.text, blocks: payload.blocks },
        {
          userName: (id) => slack.userName(id),
          channelName: (id) => slack.channelName(id),
          userGroupName: (id) => slack.userGroupName(id),
        },
      )
    ).trim();
    if (deps.signAgentName && text) text = `*${await slack.userName(payload.userId)}:* ${text}`;

    const parts: OutboundMessage[] = [];
    const to = contact.phone_number;
    let captionUsed = false;
    for (const file of payload.files) {
      const rule = outboundMediaRule(file.mimeType);
      const bytes = await slack.downloadFile(file.urlPrivate, rule.maxBytes);
      const media = await deps.provider.uploadMedia(contact.sending_number_id, {
        bytes,
        mimeType: file.mimeType,
        filename: file.name,
      });
      const caption = !captionUsed && text && CAPTIONED_KINDS.has(rule.kind) ? text : undefined;
      if (caption) captionUsed = true;
      parts.push({
        type: 'media',
        to,
        mediaKind: rule.kind,
        media,
        ...(caption ? { caption } : {}),
        ...(rule.kind === 'document' ? { filename: file.name } : {}),
      });
    }
    if (text && !captionUsed) parts.unshift({ type: 'text', to, text, previewUrl: /https?:\/\//.test(text) });

    await messages.markSending(message.id, deps.now());
    for (const [index, part] of parts.entries()) {
      try {
        const sent = await deps.provider.send(contact.sending_number_id, part, {
          correlationId: `${message.id}:${index}`,
        });
        if (index === 0) await messages.recordSent(message.id, sent.providerMessageId, deps.now());
        else await recordExtraPart(message.contact_id, part, sent.providerMessageId, payload);
      } catch (error) {
        if (index === 0 && error instanceof ProviderError && !error.mayHaveBeenSent && error.retryable) {
          await messages.markQueued(message.id, deps.now());
          throw error;
        }
        if (error instanceof ProviderError) {
          const code = error.providerCode ?? error.code;
          const reason = describeFailure(error.code, error.providerCode ?? null, error.message);
          if (index === 0) await messages.recordFailure(message.id, code, reason, deps.now());
          if (error.code === 'window_closed') {
            await slack.notifyAgent(payload.channelId, payload.threadTs, payload.userId, {
              kind: 'window_closed',
              contactId: contact.id,
              lastInboundAt: contact.last_inbound_at,
            });
          } else {
            await slack.notifyAgent(payload.channelId, payload.threadTs, payload.userId, {
              kind: 'not_sent',
              reason: `Not sent: ${reason}`,
            });
          }
          return;
        }
        if (index === 0) {
          await messages.markQueued(message.id, deps.now());
        }
        throw error;
      }
    }
    await conversations.recordActivity(contact.id, { direction: 'outbound', at: deps.now() }, deps.now());
  }

  async function recordExtraPart(
    contactId: string,
    part: OutboundMessage,
    providerMessageId: string,
    payload: AgentReplyPayload,
  ) {
    const now = deps.now();
    await messages.insertOnce({
      id: randomUUID(),
      contact_id: contactId,
      direction: 'outbound',
      kind: part.type === 'media' ? part.mediaKind : part.type,
      body: part.type === 'media' ? (part.caption ?? part.filename ?? null) : part.type === 'text' ? part.text : null,
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
  }

  async function fail(payload: AgentReplyPayload, code: string, reason: string) {
    await messages.recordFailure(payload.messageId, code, reason, deps.now());
    await slack.notifyAgent(payload.channelId, payload.threadTs, payload.userId, {
      kind: 'not_sent',
      reason: `Not sent: ${reason}`,
    });
  }

  return { accept, send };
}
export type AgentReplies = ReturnType<typeof createAgentReplies>;
