import { createHash, randomUUID } from 'node:crypto';
import type { ByteBudget } from '../shared/byte-budget.js';
import { errorIdNote, logErrorWithId, newErrorId } from '../shared/error-id.js';
import type { Logger } from '../shared/logger.js';
import { escapeSlackText } from '../shared/slack-text.js';
import { describeFailure, ProviderError } from '../whatsapp/provider-errors.js';
import type { OutboundMediaRef, OutboundMessage, WhatsAppProvider } from '../whatsapp/whatsapp-provider.js';
import type { ConversationThreads } from './conversation-threads.js';
import { windowState } from './conversation-window.js';
import { slackToWhatsApp } from './formatting/slack-to-whatsapp.js';
import { JobKind } from './job-kinds.js';
import { CAPTIONED_KINDS, outboundFileProblem, outboundMediaRule } from './outbound-media.js';
import {
  type ConversationRepository,
  type DeliveryLog,
  type JobQueue,
  type MessageRepository,
  type NewMessageRecord,
  type PostIntentRepository,
  type SlackContent,
  type SlackConversationPort,
  SlackFileUnavailableError,
  ThreadGoneError,
} from './ports.js';
import { postInThreadOnce } from './post-once.js';
import { providerFailureForAgent } from './provider-failure-text.js';
import type { ContactRecord, MessageRecord } from './records.js';
import { outboundConversationKey } from './webhook-intake.js';

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

/** What a refused reply's "Send again" came to. */
export type SendAgainOutcome = 'queued' | 'window_closed' | 'not_yours' | 'not_refused' | 'nothing_to_send';

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
  /** A quick reply: the job posts it in the thread (once) before sending it, so it has a message there. */
  quickReply?: { title: string };
};

type QuickReplyPayload = AgentReplyPayload & { quickReply: { title: string } };

/** Why a quick reply whose thread was deleted before it went out is shown refused in a new thread. */
const THREAD_DELETED_DETAIL =
  "The conversation's thread was deleted before this quick reply went out, so it is shown in a new thread. Check the conversation, then use Send again.";

/** A quick reply picked in Slack (not typed): its filled text (mrkdwn) and where it goes. */
export type QuickReplyRequest = {
  channelId: string;
  threadTs: string;
  userId: string;
  title: string;
  text: string;
  /** The same key twice (a submission Slack delivered again) stores and sends it once. */
  key: string;
};

/** WhatsApp's limits: a text message body, and a media caption. */
export const MAX_TEXT_CHARS = 4096;
export const MAX_CAPTION_CHARS = 1024;
/** Attempts of an agent-reply job: with backoff capped at 5 minutes, about 20 minutes of retrying. */
export const AGENT_REPLY_MAX_ATTEMPTS = 12;
const AGENT_REPLY_RETRY_MINUTES = 20;

/** A UUID-shaped id that is always the same for the same seed. */
function stableId(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The id of the n-th WhatsApp message a reply became (the first part keeps the reply's own id). */
export function partId(messageId: string, index: number): string {
  return stableId(`${messageId}:part:${index}`);
}

/** Splits text into chunks WhatsApp accepts, at paragraph, line or word boundaries when it can. */
export function splitText(text: string, max: number): string[] {
  const chunks: string[] = [];
  let rest = text.trim();
  while (rest.length > max) {
    const window = rest.slice(0, max);
    const cut = Math.max(window.lastIndexOf('\n\n'), window.lastIndexOf('\n'), window.lastIndexOf(' '));
    const at = cut > max / 2 ? cut : max;
    chunks.push(rest.slice(0, at).trimEnd());
    rest = rest.slice(at).trimStart();
  }
  if (rest) chunks.push(rest);
  return chunks;
}

/** What the first WhatsApp message of a reply will be (see planParts): its text, or its first file. */
function firstPartKind(text: string, files: readonly SlackFile[]): string {
  const first = files[0];
  if (!first) return 'text';
  const hasCaptionable = files.some((file) => CAPTIONED_KINDS.has(outboundMediaRule(file.mimeType).kind));
  const trimmed = text.trim();
  if (trimmed && !(hasCaptionable && trimmed.length <= MAX_CAPTION_CHARS)) return 'text';
  return outboundMediaRule(first.mimeType).kind;
}

/** Subtypes that are a person writing (possibly with files); everything else is never sent. */
const SENDABLE_SUBTYPES = new Set<string | null>([null, 'file_share', 'thread_broadcast']);

export function createAgentReplies(deps: {
  conversations: ConversationRepository;
  messages: MessageRepository;
  slack: SlackConversationPort;
  provider: WhatsAppProvider;
  jobs: JobQueue;
  deliveries: DeliveryLog;
  /** Quick replies are posted in their thread once, across retries and crashes. */
  intents: PostIntentRepository;
  /** A quick reply whose thread was deleted is shown in the conversation's new thread. */
  threads: Pick<ConversationThreads, 'ensureThreadWaiting'>;
  /** How a quick reply shows in its thread (Block Kit is the Slack side's); a refused one does not claim it was sent. */
  quickReplyPost(post: { text: string; title: string; agentName: string; refused: boolean }): SlackContent;
  /** Bounds the bytes of agents' files held in memory between Slack and the provider. */
  mediaBudget: ByteBudget;
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

    // Slack sometimes sends partial file objects (`file_access: check_file_info`): complete them.
    const files = await Promise.all(
      message.files.map(async (file) =>
        file.urlPrivate && file.size > 0 ? file : { ...file, ...(await slack.fileInfo(file.id)) },
      ),
    );
    const problems = files.map((file) => outboundFileProblem(file)).filter((p): p is string => p !== null);
    // A refused reply is kept (status `refused`) and shown as such in the thread by its job, which
    // also offers the agent to send it again or as a template.
    let refusal: { code: string; detail: string } | null = null;
    if (problems.length > 0) refusal = { code: 'file_refused', detail: problems.join(' ') };
    else if (!windowState(contact.last_inbound_at, deps.now()).open)
      refusal = { code: 'window_closed', detail: describeFailure('window_closed', null) };

    const now = deps.now();
    const messageId = randomUUID();
    const { created, row } = await messages.insertOnce({
      id: messageId,
      contact_id: contact.id,
      direction: 'outbound',
      kind: firstPartKind(message.text, files),
      body: message.text,
      media_json:
        files.length > 0
          ? JSON.stringify(files.map((f) => ({ name: f.name, mimeType: f.mimeType, size: f.size })))
          : null,
      provider_message_id: null,
      alternate_message_id: null,
      slack_channel_id: message.channelId,
      slack_ts: message.ts,
      status: refusal ? 'refused' : 'queued',
      error_code: refusal?.code ?? null,
      error_detail: refusal?.detail ?? null,
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
      files,
    };
    await deps.jobs.enqueue({
      kind: JobKind.agentReply,
      payload,
      // A refusal is shown at once, not behind the conversation's other replies.
      orderingKey: refusal ? null : outboundConversationKey(contact.id),
      idempotencyKey: `reply:${message.channelId}:${message.ts}`,
      maxAttempts: AGENT_REPLY_MAX_ATTEMPTS,
    });
    if (refusal) return { result: 'refused', reason: refusal.detail };
    return { result: 'queued', messageId: row.id };
  }

  /**
   * A quick reply takes a typed reply's way from here: stored and queued (the job posts it in the
   * thread first, then sends it), or, outside the window, stored as refused with its text, and the
   * job shows the refusal in the thread as for a typed reply.
   */
  async function acceptQuickReply(request: QuickReplyRequest): Promise<AgentMessageOutcome> {
    const thread = await conversations.threadByTs(request.channelId, request.threadTs);
    if (!thread) return { result: 'ignored', reason: 'not a conversation thread' };
    const contact = await conversations.getContact(thread.contact_id);
    if (!contact) return { result: 'ignored', reason: 'contact missing' };
    if (request.text.trim() === '') return { result: 'ignored', reason: 'empty' };
    const refusal = windowState(contact.last_inbound_at, deps.now()).open
      ? null
      : { code: 'window_closed', detail: describeFailure('window_closed', null) };
    const now = deps.now();
    const { created, row } = await messages.insertOnce({
      id: stableId(`quick-reply:${request.key}`),
      contact_id: contact.id,
      direction: 'outbound',
      kind: 'text',
      body: request.text,
      media_json: null,
      provider_message_id: null,
      alternate_message_id: null,
      slack_channel_id: null,
      slack_ts: null,
      status: refusal ? 'refused' : 'queued',
      error_code: refusal?.code ?? null,
      error_detail: refusal?.detail ?? null,
      provider_timestamp: null,
      source: 'agent',
      author_slack_user_id: request.userId,
      campaign_id: null,
      created_at: now,
      updated_at: now,
    });
    if (!created) return { result: 'duplicate' };
    const payload: AgentReplyPayload = {
      messageId: row.id,
      channelId: request.channelId,
      threadTs: request.threadTs,
      userId: request.userId,
      text: request.text,
      blocks: null,
      files: [],
      quickReply: { title: request.title },
    };
    await deps.jobs.enqueue({
      kind: JobKind.agentReply,
      payload,
      // A refusal is shown at once, not behind the conversation's other replies.
      orderingKey: refusal ? null : outboundConversationKey(contact.id),
      idempotencyKey: `quick-reply:${request.key}`,
      maxAttempts: AGENT_REPLY_MAX_ATTEMPTS,
    });
    if (refusal) return { result: 'refused', reason: refusal.detail };
    return { result: 'queued', messageId: row.id };
  }

  /**
   * Posts a quick reply in its thread before it is sent, or when it is refused, once (the marks go
   * on that post). Returns its row linked to the post and the thread it is in, or null when it could
   * not be posted (then it is not sent, and the agent is told).
   */
  async function postQuickReply(
    payload: QuickReplyPayload,
    row: MessageRecord,
    attempt: { isLastAttempt: boolean; movedFromDeletedThread?: boolean },
  ): Promise<{ row: MessageRecord; payload: QuickReplyPayload } | null> {
    const key = `quick-reply-post:${row.id}`;
    try {
      const content = deps.quickReplyPost({
        text: payload.text,
        title: payload.quickReply.title,
        agentName: await slack.userName(payload.userId),
        refused: row.status === 'refused',
      });
      const posted = await postInThreadOnce(
        { slack, intents: deps.intents, now: deps.now },
        {
          key,
          thread: { slack_channel_id: payload.channelId, thread_ts: payload.threadTs },
          content,
          marker: { type: 'wa_quick_reply', key: row.id },
        },
      );
      await messages.linkSlack(row.id, posted.channelId, posted.ts, deps.now());
      await deps.intents.clear([key]);
      return { row: { ...row, slack_channel_id: posted.channelId, slack_ts: posted.ts }, payload };
    } catch (error) {
      const gone = error instanceof ThreadGoneError;
      if (gone && !attempt.movedFromDeletedThread) return showInNewThread(payload, row, attempt);
      if (!gone && !attempt.isLastAttempt) throw error;
      const errorId = gone
        ? null
        : logErrorWithId(deps.logger, error, 'a quick reply could not be posted in its thread; not sent', {
            messageId: row.id,
          });
      const reason = errorId
        ? `Your quick reply could not be posted in the thread, so it was not sent. Send it again in a minute; if it fails again, give whoever runs the bridge this error id. ${errorIdNote(errorId)}`
        : 'Your quick reply was not sent: its conversation thread was deleted twice while it waited. Open the conversation again with /wa chat and pick it again.';
      // A refused one stays refused, with its text.
      if (row.status !== 'refused') await messages.recordFailure(row.id, 'not_posted', reason, deps.now());
      if (gone) await slack.postEphemeral(payload.channelId, payload.userId, { text: `:warning: ${reason}` });
      else await slack.notifyAgent(payload.channelId, payload.threadTs, payload.userId, { kind: 'not_sent', reason });
      return null;
    }
  }

  /**
   * The quick reply's thread was deleted between the pick and its post. The conversation gets a new
   * thread linked to the old one (as the customer's next message would), and the reply shows there
   * refused, with *Send again*: everyone sees it, and nothing reaches the customer unseen.
   */
  async function showInNewThread(
    payload: QuickReplyPayload,
    row: MessageRecord,
    attempt: { isLastAttempt: boolean },
  ): Promise<{ row: MessageRecord; payload: QuickReplyPayload } | null> {
    const contact = await conversations.getContact(row.contact_id);
    if (!contact) return null;
    const deleted = await conversations.threadByTs(payload.channelId, payload.threadTs);
    // Slack's message_deleted event may not have arrived (or been handled) yet.
    if (deleted?.active) await conversations.deactivateThread(deleted.id);
    const fresh = await deps.threads.ensureThreadWaiting(contact);
    let refused = row;
    if (row.status !== 'refused') {
      await messages.recordRefusal(row.id, 'thread_deleted', THREAD_DELETED_DETAIL, deps.now());
      refused = { ...row, status: 'refused', error_code: 'thread_deleted', error_detail: THREAD_DELETED_DETAIL };
    }
    deps.logger.info(
      { messageId: row.id, contactId: contact.id, threadTs: fresh.thread_ts },
      'quick reply shown refused in a new thread: its thread was deleted before it was posted',
    );
    return postQuickReply({ ...payload, channelId: fresh.slack_channel_id, threadTs: fresh.thread_ts }, refused, {
      ...attempt,
      movedFromDeletedThread: true,
    });
  }

  /**
   * The job: converts, uploads and sends, retried on outages and never sent twice. A reply with
   * text and files (or long text) goes out as several WhatsApp messages; each part is its own
   * message row, so a retry or a restart resumes at the first part not yet sent.
   */
  async function send(payload: AgentReplyPayload, attempt: { isLastAttempt: boolean }): Promise<void> {
    let main = await messages.get(payload.messageId);
    if (!main) return; // purged by retention
    const contact = await conversations.getContact(main.contact_id);
    const quickReply = payload.quickReply;
    const unposted = quickReply !== undefined && !main.slack_ts;
    if (unposted && contact && main.status === 'queued' && !windowState(contact.last_inbound_at, deps.now()).open) {
      // The window closed between the pick and this job: refused like a typed reply, and shown so.
      const detail = describeFailure('window_closed', null);
      await messages.recordRefusal(main.id, 'window_closed', detail, deps.now());
      main = { ...main, status: 'refused', error_code: 'window_closed', error_detail: detail };
    }
    if (main.status === 'refused') {
      if (!contact) return;
      // A refused quick reply is posted in the thread too, so the whole thread sees it refused.
      const shown =
        unposted && quickReply
          ? await postQuickReply({ ...payload, quickReply }, main, attempt)
          : { row: main, payload };
      if (shown) await showRefusal(shown.payload, shown.row, contact);
      return;
    }
    if (!contact?.phone_number) {
      if (main.status === 'queued')
        await fail(payload, main.id, 'no_number', 'this contact has no phone number to send to');
      return;
    }
    const to = contact.phone_number;
    if (unposted && quickReply) {
      if (main.status !== 'queued') return; // could not be posted earlier, and the agent was told
      const posted = await postQuickReply({ ...payload, quickReply }, main, attempt);
      if (!posted) return;
      if (posted.row.status === 'refused') {
        await showRefusal(posted.payload, posted.row, contact);
        return;
      }
      main = posted.row;
    }
    const plan = await planParts(payload);
    const partRows = await Promise.all(
      plan.map((_, index) => (index === 0 ? main : messages.get(partId(main.id, index)))),
    );
    const nothingSentYet = partRows.every((row) => row === undefined || row.status === 'queued');
    if (nothingSentYet) {
      const window = windowState(contact.last_inbound_at, deps.now());
      if (!window.open) {
        const detail = describeFailure('window_closed', null);
        await messages.recordRefusal(main.id, 'window_closed', detail, deps.now());
        await showRefusal(
          payload,
          { ...main, status: 'refused', error_code: 'window_closed', error_detail: detail },
          contact,
        );
        return;
      }
    }

    await markLatestRead(contact);

    let anySent = false;
    let waitingForSlot = false;
    try {
      for (const [index, part] of plan.entries()) {
        const id = index === 0 ? main.id : partId(main.id, index);
        let row = partRows[index];
        if (!row) {
          row = (await messages.insertOnce(partRecord(id, contact.id, part, payload, deps.now()))).row;
        }
        if (row.status === 'sending') {
          // Interrupted mid-send (crash): the provider may or may not have it. Don't send it twice.
          await messages.recordFailure(
            id,
            'uncertain',
            'interrupted while sending; may not have been delivered',
            deps.now(),
          );
          await slack.notifyAgent(payload.channelId, payload.threadTs, payload.userId, { kind: 'uncertain' });
          continue;
        }
        if (row.status !== 'queued') continue; // sent earlier, or failed and reported

        let outbound: OutboundMessage;
        try {
          outbound = await materialize(part, contact.sending_number_id, to);
        } catch (error) {
          if (error instanceof ProviderError && !error.retryable) {
            await reportProviderFailure(payload, id, error, contact);
            continue;
          }
          if (error instanceof SlackFileUnavailableError) {
            const name = part.type === 'file' ? `\`${part.file.name}\`` : 'the file';
            const errorId = logErrorWithId(deps.logger, error, "an agent's file could not be fetched from Slack", {
              messageId: id,
            });
            await fail(
              payload,
              id,
              'file_unavailable',
              `${name} could not be fetched from Slack (${error.message}). Share the file again; if it fails again, give whoever runs the bridge this error id. ${errorIdNote(errorId)}`,
            );
            continue;
          }
          if (attempt.isLastAttempt) {
            await giveUp(payload, id, error);
            continue;
          }
          waitingForSlot = true;
          await showPending(main);
          throw error; // Slack or the provider is unreachable: retry this part later
        }
        await messages.markSending(id, deps.now());
        try {
          const sent = await deps.provider.send(contact.sending_number_id, outbound, {
            correlationId: `${main.id}:${index}`,
          });
          await messages.recordSent(id, sent.providerMessageId, deps.now());
          anySent = true;
        } catch (error) {
          if (error instanceof ProviderError && error.retryable && !error.mayHaveBeenSent) {
            await messages.markQueued(id, deps.now());
            if (attempt.isLastAttempt) {
              await giveUp(payload, id, error);
              continue;
            }
            // Rate-limited (429) or an outage: the reply waits for a slot, and shows it.
            waitingForSlot = true;
            await showPending(main);
            throw error;
          }
          if (error instanceof ProviderError) {
            if (error.code === 'window_closed') {
              await reportProviderFailure(payload, id, error, contact);
              await failRemaining(plan.length, index, main.id, error);
              return;
            }
            await reportProviderFailure(payload, id, error, contact);
            continue;
          }
          // Not a provider answer (a bug, the database): the part may have gone out. Don't resend it.
          const errorId = logErrorWithId(deps.logger, error, 'sending a reply failed unexpectedly; not sent again', {
            messageId: id,
          });
          await messages.recordFailure(
            id,
            'uncertain',
            `may not have been delivered: the bridge hit an unexpected error ${errorIdNote(errorId)}`,
            deps.now(),
          );
          await slack.notifyAgent(payload.channelId, payload.threadTs, payload.userId, { kind: 'uncertain', errorId });
        }
      }
    } finally {
      if (!waitingForSlot) await clearPending(main);
    }
    if (anySent) await conversations.recordActivity(contact.id, { direction: 'outbound', at: deps.now() }, deps.now());
  }

  /**
   * The customer sees their latest message read and the agent typing before the reply arrives:
   * once per customer message (not per reply, nor per part), and never in the reply's way.
   */
  async function markLatestRead(contact: ContactRecord): Promise<void> {
    const latest = await messages.latestInbound(contact.id);
    if (!latest?.provider_message_id) return;
    if (!(await deps.deliveries.markFirstSeen(`read-receipt:${latest.id}`, deps.now()))) return;
    try {
      await deps.provider.markRead(contact.sending_number_id, latest.provider_message_id, { typing: true });
    } catch (error) {
      deps.logger.warn(
        { messageId: latest.id, err: error instanceof Error ? error.message : String(error) },
        "marking the customer's message read failed; the reply is sent all the same",
      );
    }
  }

  type PlannedPart = { type: 'text'; text: string } | { type: 'file'; file: SlackFile; caption: string | undefined };

  /** The WhatsApp messages a Slack reply becomes, in order; the same reply always gives the same plan. */
  async function planParts(payload: AgentReplyPayload): Promise<PlannedPart[]> {
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
    const captionTarget = payload.files.findIndex((file) => CAPTIONED_KINDS.has(outboundMediaRule(file.mimeType).kind));
    const textAsCaption = text.length > 0 && text.length <= MAX_CAPTION_CHARS && captionTarget >= 0;
    const parts: PlannedPart[] = textAsCaption
      ? []
      : splitText(text, MAX_TEXT_CHARS).map((chunk) => ({ type: 'text', text: chunk }));
    payload.files.forEach((file, index) => {
      parts.push({ type: 'file', file, caption: textAsCaption && index === captionTarget ? text : undefined });
    });
    return parts;
  }

  async function materialize(part: PlannedPart, sendingNumberId: string, to: string): Promise<OutboundMessage> {
    if (part.type === 'text') return { type: 'text', to, text: part.text, previewUrl: /https?:\/\//.test(part.text) };
    const file = part.file.urlPrivate ? part.file : { ...part.file, ...(await slack.fileInfo(part.file.id)) };
    const rule = outboundMediaRule(file.mimeType);
    const memory = deps.mediaBudget.hold();
    let media: OutboundMediaRef;
    try {
      await memory.reserve(file.size > 0 ? Math.min(file.size, rule.maxBytes) : rule.maxBytes);
      const bytes = await slack.downloadFile(file.urlPrivate, rule.maxBytes, memory);
      media = await deps.provider.uploadMedia(sendingNumberId, {
        bytes,
        mimeType: file.mimeType,
        filename: file.name,
      });
    } finally {
      memory.release();
    }
    return {
      type: 'media',
      to,
      mediaKind: rule.kind,
      media,
      ...(part.caption ? { caption: part.caption } : {}),
      ...(rule.kind === 'document' ? { filename: file.name } : {}),
    };
  }

  /** The stored row of a later part (the first part is the reply's own row, stored on accept). */
  function partRecord(
    id: string,
    contactId: string,
    part: PlannedPart,
    payload: AgentReplyPayload,
    now: number,
  ): NewMessageRecord {
    return {
      id,
      contact_id: contactId,
      direction: 'outbound',
      kind: part.type === 'text' ? 'text' : outboundMediaRule(part.file.mimeType).kind,
      body: part.type === 'text' ? part.text : (part.caption ?? part.file.name),
      media_json:
        part.type === 'file'
          ? JSON.stringify([{ name: part.file.name, mimeType: part.file.mimeType, size: part.file.size }])
          : null,
      provider_message_id: null,
      alternate_message_id: null,
      slack_channel_id: null,
      slack_ts: null,
      status: 'queued',
      error_code: null,
      error_detail: null,
      provider_timestamp: null,
      source: 'agent',
      author_slack_user_id: payload.userId,
      campaign_id: null,
      created_at: now,
      updated_at: now,
    };
  }

  /**
   * WhatsApp did not take a part: the agent gets a plain sentence chosen from the error's code, what
   * to do next and an error id; WhatsApp's own words go to the log line with that id and to the
   * history's error detail.
   */
  async function reportProviderFailure(
    payload: AgentReplyPayload,
    id: string,
    error: ProviderError,
    contact: { id: string; last_inbound_at: number | null },
  ) {
    const errorId = newErrorId();
    deps.logger.warn(
      { messageId: id, errorId, code: error.code, providerCode: error.providerCode, err: error.message },
      'WhatsApp did not take a reply',
    );
    const detail = `${describeFailure(error.code, error.providerCode ?? null)}; WhatsApp said: ${error.message} ${errorIdNote(errorId)}`;
    await messages.recordFailure(id, error.providerCode ?? error.code, detail, deps.now());
    if (error.code === 'window_closed' && !error.mayHaveBeenSent) {
      await slack.notifyAgent(payload.channelId, payload.threadTs, payload.userId, {
        kind: 'window_closed',
        contactId: contact.id,
        lastInboundAt: contact.last_inbound_at,
        errorId,
      });
      return;
    }
    const text = providerFailureForAgent(error);
    await slack.notifyAgent(payload.channelId, payload.threadTs, payload.userId, {
      kind: 'not_sent',
      reason: `${text.failed} ${text.next} ${errorIdNote(errorId)}`,
    });
  }

  async function failRemaining(total: number, failedIndex: number, mainId: string, error: ProviderError) {
    const reason = describeFailure(error.code, error.providerCode ?? null, error.message);
    for (let index = failedIndex + 1; index < total; index++) {
      const id = index === 0 ? mainId : partId(mainId, index);
      const row = await messages.get(id);
      if (row?.status === 'queued')
        await messages.recordFailure(id, error.providerCode ?? error.code, reason, deps.now());
    }
  }

  /** Out of retries: the agent is told, and nothing is sent later behind their back. */
  async function giveUp(payload: AgentReplyPayload, id: string, error: unknown) {
    const errorId = logErrorWithId(deps.logger, error, 'a reply could not be sent after retrying; given up', {
      messageId: id,
    });
    const cause =
      error instanceof ProviderError
        ? describeFailure(error.code, error.providerCode ?? null)
        : 'WhatsApp could not be reached';
    await messages.recordFailure(
      id,
      'gave_up',
      `could not be sent after retrying for a while: ${cause} ${errorIdNote(errorId)}`,
      deps.now(),
    );
    await slack.notifyAgent(payload.channelId, payload.threadTs, payload.userId, {
      kind: 'not_sent',
      reason: `Not sent: WhatsApp could not be reached after retrying for about ${AGENT_REPLY_RETRY_MINUTES} minutes. Send it again when the provider is back; if it keeps failing, give whoever runs the bridge this error id. ${errorIdNote(errorId)}`,
    });
  }

  async function fail(payload: AgentReplyPayload, id: string, code: string, reason: string) {
    await messages.recordFailure(id, code, reason, deps.now());
    await slack.notifyAgent(payload.channelId, payload.threadTs, payload.userId, {
      kind: 'not_sent',
      reason: `Not sent: ${reason}`,
    });
  }

  /**
   * A refused reply, for everyone in the thread: the refused mark on it and one line with the
   * reason; for its author, a notice offering to send the kept text again or as a template. Each
   * shown once across retries.
   */
  async function showRefusal(payload: AgentReplyPayload, row: MessageRecord, contact: ContactRecord) {
    const windowClosed = row.error_code === 'window_closed';
    if (row.slack_channel_id && row.slack_ts)
      await slack.setStatusReaction(row.slack_channel_id, row.slack_ts, 'refused', null);
    const line = windowClosed
      ? 'the 24-hour customer-service window is closed; WhatsApp allows only a template until the customer writes again.'
      : (row.error_detail ?? 'the bridge refused it.');
    const noticeKey = `refused-notice:${row.id}`;
    if (!(await deps.deliveries.has(noticeKey))) {
      await postInThreadOnce(
        { slack, intents: deps.intents, now: deps.now },
        {
          key: noticeKey,
          thread: { slack_channel_id: payload.channelId, thread_ts: payload.threadTs },
          content: { text: `:no_entry_sign: Not sent to the customer: ${escapeSlackText(line)}` },
          marker: { type: 'wa_refused', key: row.id },
        },
      );
      await deps.deliveries.markFirstSeen(noticeKey, deps.now());
      await deps.intents.clear([noticeKey]);
    }
    const toldKey = `refused-told:${row.id}`;
    if (await deps.deliveries.has(toldKey)) return;
    const hasText = (row.body ?? '').trim() !== '';
    const refused = {
      messageId: row.id,
      // Files are what a file refusal is about: only the text can be sent again.
      canSendAgain: hasText && row.media_json === null,
      canSendAsTemplate: hasText && windowClosed,
    };
    await slack.notifyAgent(
      payload.channelId,
      payload.threadTs,
      payload.userId,
      windowClosed
        ? { kind: 'window_closed', contactId: contact.id, lastInboundAt: contact.last_inbound_at, refused }
        : { kind: 'not_sent', reason: `Nothing was sent. ${row.error_detail ?? ''}`.trim(), refused },
    );
    await deps.deliveries.markFirstSeen(toldKey, deps.now());
  }

  /** The reply waits for a slot (a 429 or an outage): everyone in the thread sees it pending. */
  async function showPending(main: MessageRecord) {
    if (!main.slack_channel_id || !main.slack_ts) return;
    await deps.deliveries.markFirstSeen(`pending-mark:${main.id}`, deps.now());
    try {
      await slack.setPendingMark(main.slack_channel_id, main.slack_ts, true);
    } catch (error) {
      // Only a mark: never in the way of the retry.
      deps.logger.warn({ messageId: main.id, err: String(error) }, 'showing a reply as pending failed');
    }
  }

  async function clearPending(main: MessageRecord) {
    if (!main.slack_channel_id || !main.slack_ts) return;
    if (!(await deps.deliveries.has(`pending-mark:${main.id}`))) return;
    try {
      await slack.setPendingMark(main.slack_channel_id, main.slack_ts, false);
    } catch (error) {
      deps.logger.warn({ messageId: main.id, err: String(error) }, 'clearing the pending mark of a reply failed');
    }
  }

  /**
   * "Send again" on a refused reply: the kept text goes out as that same reply (its marks show on
   * the agent's message), once, and only when WhatsApp would take it now.
   */
  async function sendAgain(request: {
    messageId: string;
    userId: string;
    threadTs: string | null;
  }): Promise<SendAgainOutcome> {
    const row = await messages.get(request.messageId);
    if (row?.status !== 'refused' || !row.slack_channel_id || !row.slack_ts) return 'not_refused';
    if (row.author_slack_user_id !== request.userId) return 'not_yours';
    const text = row.body ?? '';
    if (text.trim() === '' || row.media_json !== null) return 'nothing_to_send';
    const contact = await conversations.getContact(row.contact_id);
    if (!contact) return 'not_refused';
    if (!windowState(contact.last_inbound_at, deps.now()).open) return 'window_closed';
    if (!(await messages.requeueRefused(row.id, deps.now()))) return 'not_refused';
    await slack.setStatusReaction(row.slack_channel_id, row.slack_ts, 'queued', 'refused');
    const active = await conversations.activeThread(contact.id);
    const threadTs =
      request.threadTs ?? (active?.slack_channel_id === row.slack_channel_id ? active.thread_ts : row.slack_ts);
    const payload: AgentReplyPayload = {
      messageId: row.id,
      channelId: row.slack_channel_id,
      threadTs,
      userId: request.userId,
      text,
      blocks: null,
      files: [],
    };
    await deps.jobs.enqueue({
      kind: JobKind.agentReply,
      payload,
      orderingKey: outboundConversationKey(contact.id),
      idempotencyKey: `send-again:${row.id}:${deps.now()}`,
      maxAttempts: AGENT_REPLY_MAX_ATTEMPTS,
    });
    return 'queued';
  }

  /** A refused reply's kept text and conversation, for "Send as template". */
  async function refusedDraft(messageId: string, userId: string): Promise<{ contactId: string; text: string } | null> {
    const row = await messages.get(messageId);
    if (row?.status !== 'refused' || row.author_slack_user_id !== userId || !row.body?.trim()) return null;
    return { contactId: row.contact_id, text: row.body };
  }

  return { accept, acceptQuickReply, send, sendAgain, refusedDraft };
}
export type AgentReplies = ReturnType<typeof createAgentReplies>;
