import { createHash } from 'node:crypto';
import type { ByteBudget } from '../shared/byte-budget.js';
import type { Logger } from '../shared/logger.js';
import { escapeSlackText } from '../shared/slack-text.js';
import { describeFailure, ProviderError } from '../whatsapp/provider-errors.js';
import type { TemplateParameters, WhatsAppProvider } from '../whatsapp/whatsapp-provider.js';
import type { ConversationThreads } from './conversation-threads.js';
import { JobKind } from './job-kinds.js';
import { outboundMediaRule } from './outbound-media.js';
import {
  type ConversationRepository,
  type JobQueue,
  type MessageRepository,
  type PostIntentRepository,
  type SlackConversationPort,
  SlackFileUnavailableError,
} from './ports.js';
import { postInThreadOnce } from './post-once.js';
import type { ContactRecord } from './records.js';
import { headerMediaKind, renderTemplate, type TemplateCatalog, templateParameters } from './templates.js';
import { outboundConversationKey } from './webhook-intake.js';

export type HeaderFile = { name: string; mimeType: string; size: number; urlPrivate: string };

export type TemplateSendPayload = {
  messageId: string;
  contactId: string;
  requestedBy: string;
  templateName: string;
  language: string;
  values: Record<string, string>;
  headerFile: HeaderFile | null;
};

/** A UUID-shaped id derived from a key, so the same request always names the same row. */
function stableId(key: string): string {
  const hex = createHash('sha256').update(key).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A template sent into one conversation (from the thread, or when the window is closed).
 *
 * Longer than 150 lines on purpose: the steps of one flow as short inner functions sharing its
 * dependencies; splitting them into modules would only pass the same dependencies around.
 */
export function createConversationTemplates(deps: {
  conversations: ConversationRepository;
  messages: MessageRepository;
  threads: ConversationThreads;
  slack: SlackConversationPort;
  provider: WhatsAppProvider;
  catalog: TemplateCatalog;
  jobs: JobQueue;
  intents: PostIntentRepository;
  /** Bounds the bytes of header files held in memory between Slack and the provider. */
  mediaBudget: ByteBudget;
  now: () => number;
  logger: Logger;
}) {
  const { conversations, messages, slack } = deps;

  async function queue(request: {
    contactId: string;
    requestedBy: string;
    templateName: string;
    language: string;
    values: Record<string, string>;
    headerFile: HeaderFile | null;
    /** Makes a double-submitted modal queue once. */
    idempotencyKey: string;
  }): Promise<{ ok: true; messageId: string } | { ok: false; error: string }> {
    const template = await deps.catalog.find(request.templateName, request.language);
    if (!template)
      return {
        ok: false,
        error: `Template ${request.templateName} (${request.language}) is not approved or no longer exists.`,
      };
    const contact = await conversations.getContact(request.contactId);
    if (!contact?.phone_number) return { ok: false, error: 'This contact has no phone number to send to.' };
    const now = deps.now();
    // Derived from the idempotency key: a double-submitted modal (or a retry after a crash between
    // the two writes below) stores and queues the same message, once.
    const messageId = stableId(`template:${request.idempotencyKey}`);
    await messages.insertOnce({
      id: messageId,
      contact_id: contact.id,
      direction: 'outbound',
      kind: 'template',
      body: renderTemplate(template, request.values),
      media_json: JSON.stringify({ template: template.name, language: template.language }),
      provider_message_id: null,
      alternate_message_id: null,
      slack_channel_id: null,
      slack_ts: null,
      status: 'queued',
      error_code: null,
      error_detail: null,
      provider_timestamp: null,
      source: 'agent',
      author_slack_user_id: request.requestedBy,
      campaign_id: null,
      created_at: now,
      updated_at: now,
    });
    const payload: TemplateSendPayload = { ...request, messageId };
    await deps.jobs.enqueue({
      kind: JobKind.templateSend,
      payload,
      orderingKey: outboundConversationKey(contact.id),
      idempotencyKey: `template:${request.idempotencyKey}`,
      maxAttempts: 30,
    });
    return { ok: true, messageId };
  }

  async function send(payload: TemplateSendPayload, attempt: { isLastAttempt: boolean }): Promise<void> {
    const message = await messages.get(payload.messageId);
    if (!message) return; // purged by retention, or never stored: nothing to send
    const contact = await conversations.getContact(payload.contactId);
    if (!contact?.phone_number) return;
    const reachable = { ...contact, phone_number: contact.phone_number };
    if (message.slack_ts) return; // sent (or refused) and shown in the thread: done

    if (message.status === 'sending') {
      // Interrupted mid-send (crash): the provider may or may not have it. Don't send twice.
      await messages.recordFailure(
        message.id,
        'uncertain',
        'the bridge restarted while sending it; it may or may not have reached the customer and was not sent again',
        deps.now(),
      );
    } else if (message.status === 'queued') {
      await sendQueued(message.id, reachable, payload, attempt.isLastAttempt);
    }
    await showInThread(message.id, contact, payload);
  }

  async function sendQueued(
    messageId: string,
    contact: ContactRecord & { phone_number: string },
    payload: TemplateSendPayload,
    isLastAttempt: boolean,
  ) {
    const template = await deps.catalog.find(payload.templateName, payload.language);
    if (!template) {
      await messages.recordFailure(messageId, 'template_missing', 'the template is no longer approved', deps.now());
      return;
    }
    let headerMedia: TemplateParameters['header'] | undefined;
    const mediaKind = headerMediaKind(template);
    if (mediaKind && payload.headerFile) {
      const file = payload.headerFile;
      const rule = outboundMediaRule(file.mimeType);
      const memory = deps.mediaBudget.hold();
      try {
        await memory.reserve(file.size > 0 ? Math.min(file.size, rule.maxBytes) : rule.maxBytes);
        let bytes: Buffer;
        try {
          bytes = await slack.downloadFile(file.urlPrivate, rule.maxBytes, memory);
        } catch (error) {
          if (!(error instanceof SlackFileUnavailableError) && !isLastAttempt) throw error;
          const reason = `the header file \`${file.name}\` could not be fetched from Slack: ${error instanceof Error ? error.message : String(error)}`;
          await messages.recordFailure(messageId, 'file_unavailable', reason, deps.now());
          return;
        }
        const media = await deps.provider.uploadMedia(contact.sending_number_id, {
          bytes,
          mimeType: file.mimeType,
          filename: file.name,
        });
        headerMedia = {
          type: mediaKind,
          media,
          ...(mediaKind === 'document' ? { filename: file.name } : {}),
        };
      } finally {
        memory.release();
      }
    }

    await messages.markSending(messageId, deps.now());
    try {
      const result = await deps.provider.send(
        contact.sending_number_id,
        {
          type: 'template',
          to: contact.phone_number,
          template: {
            name: template.name,
            language: template.language,
            parameters: templateParameters(template, payload.values, headerMedia),
          },
        },
        { correlationId: messageId },
      );
      await messages.recordSent(messageId, result.providerMessageId, deps.now());
      await conversations.recordActivity(contact.id, { direction: 'outbound', at: deps.now() }, deps.now());
    } catch (error) {
      if (error instanceof ProviderError && error.retryable && !error.mayHaveBeenSent) {
        await messages.markQueued(messageId, deps.now());
        throw error;
      }
      const reason =
        error instanceof ProviderError
          ? describeFailure(error.code, error.providerCode ?? null, error.message)
          : String(error);
      await messages.recordFailure(
        messageId,
        error instanceof ProviderError ? (error.providerCode ?? error.code) : 'error',
        reason,
        deps.now(),
      );
    }
  }

  /** Posts what became of the template into the conversation thread, once. */
  async function showInThread(messageId: string, contact: ContactRecord, payload: TemplateSendPayload) {
    const message = await messages.get(messageId);
    if (!message || message.slack_ts) return;
    const thread = await deps.threads.ensureThread(contact);
    const quoted = (message.body ?? '')
      .split('\n')
      .map((line) => `>${escapeSlackText(line)}`)
      .join('\n');
    const template = `*${escapeSlackText(payload.templateName)}* (${escapeSlackText(payload.language)})`;
    const text =
      message.status === 'failed'
        ? `:x: Template ${template} was not sent: ${escapeSlackText(message.error_detail ?? 'unknown error')}`
        : `:outbox_tray: Template ${template} sent by <@${payload.requestedBy}>:\n${quoted}`;
    const key = `wa_template:${message.id}`;
    const posted = await postInThreadOnce(
      { slack, intents: deps.intents, now: deps.now },
      { key, thread, content: { text }, marker: { type: 'wa_template', key: message.id } },
    );
    await messages.linkSlack(message.id, posted.channelId, posted.ts, deps.now());
    await deps.intents.clear([key]);
  }

  return { queue, send };
}
export type ConversationTemplates = ReturnType<typeof createConversationTemplates>;
