import { randomUUID } from 'node:crypto';
import type { Logger } from '../shared/logger.js';
import { ProviderError } from '../whatsapp/provider-errors.js';
import type { InboundMessageEvent, WhatsAppProvider } from '../whatsapp/whatsapp-provider.js';
import type { ConversationThreads } from './conversation-threads.js';
import { windowState } from './conversation-window.js';
import { renderInbound, summarizeInbound } from './inbound-rendering.js';
import {
  type ConversationRepository,
  type MessageRepository,
  type SlackConversationPort,
  ThreadGoneError,
} from './ports.js';

/** WhatsApp's own ceiling for documents; larger inbound media can't exist. */
export const MAX_INBOUND_MEDIA_BYTES = 100 * 1024 * 1024;

export type InboundMessageHandler = (event: InboundMessageEvent, attempt: { attempts: number }) => Promise<void>;

/**
 * Posts one inbound WhatsApp message into its conversation thread, exactly once: the message row
 * is keyed by the provider's id, and the Slack post carries a marker a retry looks for first.
 */
export function createInboundMessageHandler(deps: {
  conversations: ConversationRepository;
  messages: MessageRepository;
  threads: ConversationThreads;
  slack: SlackConversationPort;
  provider: WhatsAppProvider;
  now: () => number;
  logger: Logger;
}): InboundMessageHandler {
  const { conversations, messages, slack } = deps;

  return async (event, attempt) => {
    const now = deps.now();
    let contact = await conversations.upsertContact(
      {
        sendingNumberId: event.sendingNumberId,
        phoneNumber: event.contact.phoneNumber,
        userId: event.contact.userId,
        profileName: event.contact.profileName,
      },
      now,
    );
    const windowWasOpen = windowState(contact.last_inbound_at, now).open;
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
    await conversations.recordActivity(contact.id, { direction: 'inbound', at: event.timestamp }, now);
    if (row.slack_ts) return; // delivered again by the provider: already in Slack

    contact = (await conversations.getContact(contact.id)) ?? contact;
    let thread = await deps.threads.ensureThread(contact);
    const marker = { type: 'wa_inbound', key: event.providerMessageId };

    let mediaProblem: string | null = null;
    let download: { bytes: Buffer; mimeType: string } | null = null;
    if (content.type === 'media') {
      try {
        download = await deps.provider.downloadMedia(content.media, MAX_INBOUND_MEDIA_BYTES);
      } catch (error) {
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
    if (event.replyToProviderMessageId) {
      const original = await messages.byProviderId(event.replyToProviderMessageId);
      if (original?.slack_channel_id && original.slack_ts)
        replyToLink = await slack.permalink(original.slack_channel_id, original.slack_ts);
    }
    const text = renderInbound(content, { replyToLink, mediaProblem });

    const postOnce = async (): Promise<string> => {
      const earlier =
        attempt.attempts > 1 ? await slack.findMarkedPost(thread.slack_channel_id, thread.thread_ts, marker) : null;
      const author = {
        name: contact.profile_name
          ? `${contact.profile_name} (${contact.phone_number ?? 'WhatsApp'})`
          : (contact.phone_number ?? 'WhatsApp contact'),
      };
      return earlier ?? (await slack.postInThread(thread.slack_channel_id, thread.thread_ts, { text, author }, marker));
    };
    let ts: string;
    try {
      ts = await postOnce();
    } catch (error) {
      if (!(error instanceof ThreadGoneError)) throw error;
      thread = await deps.threads.replaceThread(contact, thread);
      ts = await postOnce();
    }
    if (download && content.type === 'media') {
      // Uploaded before the message is marked as posted: a crash in between may upload the file
      // twice, but never loses it.
      await slack.uploadToThread(
        thread.slack_channel_id,
        thread.thread_ts,
        {
          bytes: download.bytes,
          filename: content.filename ?? defaultFilename(content.mediaKind, download.mimeType, event.providerMessageId),
          title: content.filename,
        },
        '',
      );
    }
    await messages.linkSlack(row.id, thread.slack_channel_id, ts, deps.now());
    if (!windowWasOpen) await deps.threads.refreshHeader(contact).catch(() => {});
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
