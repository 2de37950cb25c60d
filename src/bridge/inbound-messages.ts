import { randomUUID } from 'node:crypto';
import type { ByteBudget } from '../shared/byte-budget.js';
import type { Logger } from '../shared/logger.js';
import { escapeSlackText } from '../shared/slack-text.js';
import { ProviderError } from '../whatsapp/provider-errors.js';
import type { InboundMessageEvent, WhatsAppProvider } from '../whatsapp/whatsapp-provider.js';
import type { ConversationThreads } from './conversation-threads.js';
import { windowState } from './conversation-window.js';
import type { ShowReaction } from './inbound-reactions.js';
import { renderInbound, summarizeInbound } from './inbound-rendering.js';
import { JobKind } from './job-kinds.js';
import {
  type ConversationRepository,
  type JobQueue,
  type MessageRepository,
  type PostIntentRepository,
  type SlackConversationPort,
  ThreadGoneError,
} from './ports.js';
import { postInThreadOnce } from './post-once.js';
import type { ContactRecord } from './records.js';
import { repliedMessageLine } from './reply-context.js';

/** WhatsApp's own ceiling for documents; larger inbound media can't exist. */
export const MAX_INBOUND_MEDIA_BYTES = 100 * 1024 * 1024;

export type InboundMessageHandler = (
  event: InboundMessageEvent,
  attempt: { attempts: number; isLastAttempt: boolean },
) => Promise<void>;

/**
 * Other features' interest in inbound messages (opt-out keywords, campaign replies). `stored` runs
 * on every attempt before anything is posted, so it must be idempotent; `posted` runs once the
 * message is in its thread, and returns true when the thread header must be redrawn.
 */
export type InboundObserver = {
  stored?(event: InboundMessageEvent, contact: ContactRecord): Promise<void>;
  posted?(
    event: InboundMessageEvent,
    contact: ContactRecord,
    thread: { slack_channel_id: string; thread_ts: string },
  ): Promise<boolean>;
};

/** Header refreshes at window close are batched into slots this long (one job per slot). */
const HEADER_REFRESH_SLOT_MS = 15 * 60_000;

/**
 * Posts one inbound WhatsApp message into its conversation thread, exactly once: the message row
 * is keyed by the provider's id, and every Slack write is announced by an intent first, so a
 * retry after a crash looks for what an earlier attempt may have posted (and only then).
 *
 * Longer than 150 lines on purpose: the steps of one flow as short inner functions sharing its
 * dependencies; splitting them into modules would only pass the same dependencies around.
 */
export function createInboundMessageHandler(deps: {
  conversations: ConversationRepository;
  messages: MessageRepository;
  threads: ConversationThreads;
  slack: SlackConversationPort;
  intents: PostIntentRepository;
  jobs: JobQueue;
  provider: WhatsAppProvider;
  mediaBudget: ByteBudget;
  /** Reactions go on the message they are for; only one Slack cannot show comes through as text. */
  showReaction: ShowReaction;
  /**
   * The team inbox, told of each customer message before the contact's activity moves to it:
   * whether to show the message in the channel too (a quiet or resolved conversation), and whom to
   * mention (the owner).
   */
  inbox: {
    customerWrote(message: { contactId: string; messageId: string; at: number }): Promise<{
      broadcast: boolean;
      mention: string | null;
    }>;
  };
  /** Read when a message comes in, so features installed later can add theirs. */
  observers?: readonly InboundObserver[];
  /** UNFURL_CUSTOMER_LINKS: Slack previews the links customers send (off by default). */
  unfurlCustomerLinks?: boolean;
  now: () => number;
  logger: Logger;
}): InboundMessageHandler {
  const { conversations, messages, slack, intents } = deps;

  return async (event, attempt) => {
    const now = deps.now();
    if (event.sendingNumberPhone)
      await conversations.rememberSendingNumber(
        { id: event.sendingNumberId, provider: deps.provider.name, phoneNumber: event.sendingNumberPhone },
        now,
      );
    let contact = await conversations.upsertContact(
      {
        sendingNumberId: event.sendingNumberId,
        phoneNumber: event.contact.phoneNumber,
        userId: event.contact.userId,
        profileName: event.contact.profileName,
      },
      now,
    );
    const content = event.content;
    const { row } = await messages.insertOnce({
      id: randomUUID(),
      contact_id: contact.id,
      direction: 'inbound',
      kind: content.type === 'media' ? content.mediaKind : content.type,
      body: summarizeInbound(content),
      media_json:
        content.type === 'media'
          ? JSON.stringify({ ...content.media, filename: content.filename, voice: content.voice })
          : null,
      provider_message_id: event.providerMessageId,
      alternate_message_id: null,
      slack_channel_id: null,
      slack_ts: null,
      status: 'received',
      error_code: null,
      error_detail: null,
      provider_timestamp: event.timestamp,
      source: 'contact',
      author_slack_user_id: null,
      campaign_id: null,
      created_at: now,
      updated_at: now,
    });
    // A message already in Slack (delivered again by the provider) changes nothing in the inbox.
    const inbox =
      row.slack_ts || content.type === 'reaction'
        ? { broadcast: false, mention: null }
        : await deps.inbox.customerWrote({ contactId: contact.id, messageId: row.id, at: event.timestamp });
    await conversations.recordActivity(contact.id, { direction: 'inbound', at: event.timestamp }, now);
    for (const observer of deps.observers ?? []) await observer.stored?.(event, contact);
    if (row.slack_ts) return; // delivered again by the provider: already in Slack
    if (content.type === 'reaction' && (await deps.showReaction(event, content, contact.id)) !== 'as_text') {
      await refreshHeader(contact);
      return;
    }

    contact = (await conversations.getContact(contact.id)) ?? contact;
    let thread = await deps.threads.ensureThread(contact);
    const marker = { type: 'wa_inbound', key: event.providerMessageId };
    const postKey = `wa_inbound:${event.providerMessageId}`;
    const fileKey = `wa_file:${event.providerMessageId}`;

    // The file's bytes count against the media memory budget from before the download until they
    // are uploaded to Slack (a transfer that does not fit waits here, its job still leased).
    const memory = content.type === 'media' ? deps.mediaBudget.hold() : null;
    let posted: { ts: string; channelId: string };
    try {
      let mediaProblem: string | null = null;
      let download: { bytes: Buffer; mimeType: string } | null = null;
      if (content.type === 'media') {
        try {
          download = await deps.provider.downloadMedia(content.media, MAX_INBOUND_MEDIA_BYTES, memory ?? undefined);
        } catch (error) {
          memory?.release();
          if (error instanceof ProviderError && error.retryable && attempt.attempts < 5) throw error;
          mediaProblem =
            error instanceof ProviderError && error.code === 'media_download_unsupported'
              ? error.message
              : `The file could not be fetched from WhatsApp (${error instanceof Error ? error.message : String(error)}).`;
          deps.logger.warn(
            { providerMessageId: event.providerMessageId, reason: mediaProblem },
            'inbound media not fetched',
          );
        }
      }

      let replyToLink: string | null = null;
      let replyTo: string | null = null;
      if (event.replyToProviderMessageId) {
        // A reply to a message the bridge never saw (older than it, or deleted) shows nothing extra.
        const original = await messages.byProviderId(event.replyToProviderMessageId);
        if (original?.slack_channel_id && original.slack_ts)
          replyToLink = await slack.permalink(original.slack_channel_id, original.slack_ts);
        if (original && content.type !== 'reaction') replyTo = repliedMessageLine(original, replyToLink);
      }
      const rendered = renderInbound(content, { replyToLink, replyTo, mediaProblem });
      // The owner is mentioned so Slack notifies them of every new customer message.
      const text = inbox.mention ? `${rendered}\n:bell: <@${inbox.mention}>` : rendered;
      const author = {
        name: escapeSlackText(
          contact.profile_name
            ? `${contact.profile_name} (${contact.phone_number ?? 'WhatsApp'})`
            : (contact.phone_number ?? 'WhatsApp contact'),
        ),
      };

      const postOnce = () =>
        postInThreadOnce(
          { slack, intents, now: deps.now },
          {
            key: postKey,
            thread,
            content: {
              text,
              author,
              broadcast: inbox.broadcast,
              ...(deps.unfurlCustomerLinks ? { unfurlLinks: true } : {}),
            },
            marker,
          },
        );
      try {
        posted = await postOnce();
      } catch (error) {
        if (!(error instanceof ThreadGoneError)) throw error;
        thread = await deps.threads.replaceThread(contact, thread);
        posted = await postOnce();
      }
      if (download && content.type === 'media') {
        await uploadOnce(fileKey, thread, {
          bytes: download.bytes,
          filename: content.filename ?? defaultFilename(content.mediaKind, download.mimeType, event.providerMessageId),
          title: content.filename,
        });
      }
    } finally {
      memory?.release();
    }
    await messages.linkSlack(row.id, posted.channelId, posted.ts, deps.now());
    await intents.clear([postKey, fileKey]);
    let redraw = false;
    for (const observer of deps.observers ?? []) redraw = (await observer.posted?.(event, contact, thread)) || redraw;
    if (redraw) await redrawHeader(contact);
    await refreshHeader(contact);
  };

  /** The header shows something new (an opt-out): redrawn whatever the window shows. */
  async function redrawHeader(contact: ContactRecord): Promise<void> {
    const refreshed = (await conversations.getContact(contact.id)) ?? contact;
    await deps.threads
      .refreshHeader(refreshed)
      .catch((error: unknown) =>
        deps.logger.warn({ err: String(error), contactId: contact.id }, 'redrawing the thread header failed'),
      );
  }

  /** The header says until when the window is open, which the customer's message just moved. */
  async function refreshHeader(contact: ContactRecord): Promise<void> {
    const refreshed = (await conversations.getContact(contact.id)) ?? contact;
    await deps.threads
      .refreshHeaderIfStale(refreshed)
      .catch((error: unknown) =>
        deps.logger.warn({ err: String(error), contactId: contact.id }, 'refreshing the thread header failed'),
      );
    await scheduleHeaderRefreshAtWindowClose(refreshed);
  }

  /** Uploads the file into the thread once: a file id recorded by an earlier attempt is checked first. */
  async function uploadOnce(
    key: string,
    thread: { slack_channel_id: string; thread_ts: string },
    file: { bytes: Buffer; filename: string; title: string | null },
  ): Promise<void> {
    const earlier = await intents.get(key);
    if (earlier?.slackFileId) {
      const state = await slack.fileShareState(earlier.slackFileId, earlier.channelId);
      if (state === 'shared') return;
      if (state === 'not_shared' && earlier.threadTs) {
        await slack.shareUploadedFile(earlier.channelId, earlier.threadTs, earlier.slackFileId, file.title);
        return;
      }
    }
    await intents.clear([key]);
    await intents.begin({ key, channelId: thread.slack_channel_id, threadTs: thread.thread_ts, now: deps.now() });
    await slack.uploadToThread(thread.slack_channel_id, thread.thread_ts, file, (fileId) =>
      intents.setFileId(key, fileId),
    );
  }

  /** The header says "open until …": make it say "closed" when that time comes. */
  async function scheduleHeaderRefreshAtWindowClose(contact: ContactRecord): Promise<void> {
    const window = windowState(contact.last_inbound_at, deps.now());
    if (!window.open) return;
    const runAt = Math.ceil((window.closesAt + 1000) / HEADER_REFRESH_SLOT_MS) * HEADER_REFRESH_SLOT_MS;
    await deps.jobs.enqueue({
      kind: JobKind.headerRefresh,
      payload: { contactId: contact.id } satisfies HeaderRefreshPayload,
      idempotencyKey: `header-refresh:${contact.id}:${runAt}`,
      runAt,
      maxAttempts: 20,
    });
  }
}

export type HeaderRefreshPayload = { contactId: string };

/** The delayed job behind scheduleHeaderRefreshAtWindowClose. */
export function createHeaderRefreshHandler(deps: {
  conversations: ConversationRepository;
  threads: ConversationThreads;
}) {
  return async (payload: HeaderRefreshPayload): Promise<void> => {
    const contact = await deps.conversations.getContact(payload.contactId);
    if (contact) await deps.threads.refreshHeaderIfStale(contact);
  };
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'audio/amr': 'amr',
  'application/pdf': 'pdf',
};

function defaultFilename(kind: string, mimeType: string, id: string): string {
  const base = mimeType.split(';')[0]?.trim() ?? '';
  const ext = EXTENSIONS[base] ?? 'bin';
  return `whatsapp-${kind}-${id.replace(/[^A-Za-z0-9]/g, '').slice(-12)}.${ext}`;
}
