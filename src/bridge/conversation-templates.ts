import { randomUUID } from 'node:crypto';
import type { Logger } from '../shared/logger.js';
import { describeFailure, ProviderError } from '../whatsapp/provider-errors.js';
import type { TemplateParameters, WhatsAppProvider } from '../whatsapp/whatsapp-provider.js';
import type { ConversationThreads } from './conversation-threads.js';
import { JobKind } from './job-kinds.js';
import { outboundMediaRule } from './outbound-media.js';
import type { ConversationRepository, JobQueue, MessageRepository, SlackConversationPort } from './ports.js';
import { headerMediaKind, renderTemplate, type TemplateCatalog, templateParameters } from './templates.js';
import { conversationKey } from './webhook-intake.js';

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

/** A template sent into one conversation (from the thread, or when the window is closed). */
export function createConversationTemplates(deps: {
  conversations: ConversationRepository;
  messages: MessageRepository;
  threads: ConversationThreads;
  slack: SlackConversationPort;
  provider: WhatsAppProvider;
  catalog: TemplateCatalog;
  jobs: JobQueue;
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
    const messageId = randomUUID();
    const payload: TemplateSendPayload = { ...request, messageId };
    const queued = await deps.jobs.enqueue({
      kind: JobKind.templateSend,
      payload,
      orderingKey: conversationKey(contact.sending_number_id, {
        phoneNumber: contact.phone_number,
        userId: contact.user_id,
        profileName: null,
      }),
      idempotencyKey: `template:${request.idempotencyKey}`,
      maxAttempts: 30,
    });
    if (!queued) return { ok: true, messageId };
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
    return { ok: true, messageId };
  }

  async function send(payload: TemplateSendPayload): Promise<void> {
    const message = await messages.get(payload.messageId);
    if (!message) throw new Error('template message not stored yet');
    const contact = await conversations.getContact(payload.contactId);
    if (!contact?.phone_number) return;
    const thread = await deps.threads.ensureThread(contact);

    if (message.status === 'sending') {
      await messages.recordFailure(
        message.id,
        'uncertain',
        'interrupted while sending; may not have been delivered',
        deps.now(),
      );
      await slack.postInThread(
        thread.slack_channel_id,
        thread.thread_ts,
        {
          text: `:warning: The bridge restarted while sending template *${payload.templateName}*; it may or may not have reached the customer and was not sent again.`,
        },
        { type: 'wa_template_uncertain', key: message.id },
      );
      return;
    }
    if (message.status !== 'queued') return;

    const template = await deps.catalog.find(payload.templateName, payload.language);
    if (!template) {
      await messages.recordFailure(message.id, 'template_missing', 'template is no longer approved', deps.now());
      await slack.postInThread(
        thread.slack_channel_id,
        thread.thread_ts,
        {
          text: `:x: Template *${payload.templateName}* (${payload.language}) was not sent: it is no longer approved.`,
        },
        { type: 'wa_failed', key: message.id },
      );
      return;
    }
    let headerMedia: TemplateParameters['header'] | undefined;
    const mediaKind = headerMediaKind(template);
    if (mediaKind && payload.headerFile) {
      const rule = outboundMediaRule(payload.headerFile.mimeType);
      const bytes = await slack.downloadFile(payload.headerFile.urlPrivate, rule.maxBytes);
      const media = await deps.provider.uploadMedia(contact.sending_number_id, {
        bytes,
        mimeType: payload.headerFile.mimeType,
        filename: payload.headerFile.name,
      });
      headerMedia = {
        type: mediaKind,
        media,
        ...(mediaKind === 'document' ? { filename: payload.headerFile.name } : {}),
      };
    }

    await messages.markSending(message.id, deps.now());
    let providerMessageId: string;
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
        { correlationId: message.id },
      );
      providerMessageId = result.providerMessageId;
    } catch (error) {
      if (error instanceof ProviderError && error.retryable && !error.mayHaveBeenSent) {
        await messages.markQueued(message.id, deps.now());
        throw error;
      }
      const reason =
        error instanceof ProviderError
          ? describeFailure(error.code, error.providerCode ?? null, error.message)
          : String(error);
      await messages.recordFailure(
        message.id,
        error instanceof ProviderError ? (error.providerCode ?? error.code) : 'error',
        reason,
        deps.now(),
      );
      await slack.postInThread(
        thread.slack_channel_id,
        thread.thread_ts,
        { text: `:x: Template *${template.name}* was not sent: ${reason}` },
        { type: 'wa_failed', key: message.id },
      );
      return;
    }
    await messages.recordSent(message.id, providerMessageId, deps.now());
    await conversations.recordActivity(contact.id, { direction: 'outbound', at: deps.now() }, deps.now());
    const marker = { type: 'wa_template', key: message.id };
    const quoted = (message.body ?? '')
      .split('\n')
      .map((line) => `>${line}`)
      .join('\n');
    const ts =
      (await slack.findMarkedPost(thread.slack_channel_id, thread.thread_ts, marker)) ??
      (await slack.postInThread(
        thread.slack_channel_id,
        thread.thread_ts,
        {
          text: `:outbox_tray: Template *${template.name}* (${template.language}) sent by <@${payload.requestedBy}>:\n${quoted}`,
        },
        marker,
      ));
    await messages.linkSlack(message.id, thread.slack_channel_id, ts, deps.now());
  }

  return { queue, send };
}
export type ConversationTemplates = ReturnType<typeof createConversationTemplates>;
