import { mediaObject, templateComponents } from '../message-objects.js';
import type { OutboundMediaRef, OutboundMessage, OutboundReaction } from '../whatsapp-provider.js';

/** Graph API request bodies, exactly as Meta's OpenAPI schema (`Message`) describes them. */

const metaMediaObject = (ref: OutboundMediaRef): Record<string, string> =>
  ref.kind === 'id' ? { id: ref.id } : { link: ref.url };

/** Meta wants the number without "+". */
export const metaRecipient = (e164: string) => e164.replace(/^\+/, '');

export function buildMetaMessageBody(message: OutboundMessage): Record<string, unknown> {
  const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to: metaRecipient(message.to) };
  switch (message.type) {
    case 'text':
      return { ...base, type: 'text', text: { body: message.text, preview_url: message.previewUrl ?? false } };
    case 'media': {
      const media = mediaObject(message.mediaKind, message.media, message, metaMediaObject);
      return { ...base, type: message.mediaKind, [message.mediaKind]: media };
    }
    case 'template': {
      const components = templateComponents(message.template.parameters, metaMediaObject);
      return {
        ...base,
        type: 'template',
        template: {
          name: message.template.name,
          language: { policy: 'deterministic', code: message.template.language },
          ...(components.length > 0 ? { components } : {}),
        },
      };
    }
  }
}

/** `type: reaction` (`ReactionMessage` in the spec); an empty emoji removes the reaction. */
export function buildMetaReactionBody(reaction: OutboundReaction): Record<string, unknown> {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: metaRecipient(reaction.to),
    type: 'reaction',
    reaction: { message_id: reaction.messageId, emoji: reaction.emoji },
  };
}

/**
 * Read receipt, with the typing indicator when asked: one request to the same `/messages` endpoint
 * (`MarkMessageRequestPayload`, and the spec's example "Send typing indicator and read receipt").
 */
export function buildMetaMarkReadBody(messageId: string, options: { typing: boolean }): Record<string, unknown> {
  return {
    messaging_product: 'whatsapp',
    status: 'read',
    message_id: messageId,
    ...(options.typing ? { typing_indicator: { type: 'text' } } : {}),
  };
}

/**
 * multipart/form-data for the media upload (built by hand: one file part plus plain fields), as
 * parts sent one after the other: the file's bytes are never copied into a second buffer.
 */
export function multipartBody(
  fields: Record<string, string>,
  file: { name: string; filename: string; mimeType: string; bytes: Buffer },
): { body: Buffer[]; length: number; contentType: string } {
  const boundary = `----bridge${Date.now().toString(16)}${Math.random().toString(16).slice(2)}`;
  const safe = (value: string) => value.replace(/["\r\n]/g, '_');
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${safe(name)}"\r\n\r\n${value}\r\n`),
    );
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${safe(file.name)}"; filename="${safe(file.filename)}"\r\nContent-Type: ${file.mimeType}\r\n\r\n`,
    ),
    file.bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return {
    body: parts,
    length: parts.reduce((sum, part) => sum + part.length, 0),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}
