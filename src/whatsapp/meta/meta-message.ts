import { z } from 'zod';
import type { InboundContent, InboundMediaRef, MediaKind } from '../whatsapp-provider.js';

/**
 * Meta's inbound message object (also what EngageLab passes through). Parsed leniently: unknown
 * fields are ignored and an unknown `type` becomes an "unsupported" placeholder, never an error.
 */

const mediaSchema = z.object({
  id: z.string(),
  mime_type: z.string().optional(),
  sha256: z.string().optional(),
  caption: z.string().optional(),
  filename: z.string().optional(),
  voice: z.boolean().optional(),
  url: z.string().optional(),
  animated: z.boolean().optional(),
});

const contactCardSchema = z.object({
  name: z
    .object({
      formatted_name: z.string().optional(),
      first_name: z.string().optional(),
      last_name: z.string().optional(),
    })
    .partial()
    .optional(),
  phones: z
    .array(z.object({ phone: z.string().optional(), wa_id: z.string().optional(), type: z.string().optional() }))
    .optional(),
});

export const metaInboundMessageSchema = z.object({
  id: z.string().min(1),
  from: z.string().optional(),
  from_user_id: z.string().optional(),
  timestamp: z.union([z.string(), z.number()]),
  type: z.string(),
  context: z.object({ id: z.string().optional(), from: z.string().optional() }).optional(),
  text: z.object({ body: z.string() }).optional(),
  image: mediaSchema.optional(),
  video: mediaSchema.optional(),
  audio: mediaSchema.optional(),
  document: mediaSchema.optional(),
  sticker: mediaSchema.optional(),
  location: z
    .object({
      latitude: z.coerce.number(),
      longitude: z.coerce.number(),
      name: z.string().optional(),
      address: z.string().optional(),
      url: z.string().optional(),
    })
    .optional(),
  contacts: z.array(contactCardSchema).optional(),
  interactive: z
    .object({
      type: z.string(),
      button_reply: z.object({ id: z.string(), title: z.string() }).optional(),
      list_reply: z.object({ id: z.string(), title: z.string(), description: z.string().optional() }).optional(),
    })
    .optional(),
  button: z.object({ text: z.string(), payload: z.string().optional() }).optional(),
  reaction: z.object({ message_id: z.string(), emoji: z.string().optional() }).optional(),
  system: z.object({ body: z.string().optional() }).optional(),
  errors: z
    .array(z.object({ code: z.number().optional(), title: z.string().optional(), message: z.string().optional() }))
    .optional(),
});
export type MetaInboundMessage = z.infer<typeof metaInboundMessageSchema>;

const MEDIA_KINDS: readonly MediaKind[] = ['image', 'video', 'audio', 'document', 'sticker'];

export function e164(waId: string | undefined | null): string | null {
  if (!waId) return null;
  const digits = waId.replace(/[^\d]/g, '');
  return digits ? `+${digits}` : null;
}

export function toInboundContent(message: MetaInboundMessage): InboundContent {
  if (message.type === 'text' && message.text) return { type: 'text', text: message.text.body };
  if ((MEDIA_KINDS as readonly string[]).includes(message.type)) {
    const kind = message.type as MediaKind;
    const media = message[kind];
    if (media) {
      const ref: InboundMediaRef = {
        id: media.id,
        mimeType: media.mime_type ?? null,
        sha256: media.sha256 ?? null,
        url: media.url ?? null,
      };
      return {
        type: 'media',
        mediaKind: kind,
        media: ref,
        caption: media.caption ?? null,
        filename: media.filename ?? null,
        voice: kind === 'audio' && media.voice === true,
      };
    }
  }
  if (message.type === 'location' && message.location) {
    const l = message.location;
    return {
      type: 'location',
      latitude: l.latitude,
      longitude: l.longitude,
      name: l.name ?? null,
      address: l.address ?? null,
      url: l.url ?? null,
    };
  }
  if (message.type === 'contacts' && message.contacts) {
    return {
      type: 'contacts',
      contacts: message.contacts.map((card) => ({
        name:
          card.name?.formatted_name?.trim() ||
          [card.name?.first_name, card.name?.last_name].filter(Boolean).join(' ').trim() ||
          'Contact',
        phones: (card.phones ?? []).map((p) => ({
          phone: p.phone ?? p.wa_id ?? '',
          waId: p.wa_id ?? null,
          type: p.type ?? null,
        })),
      })),
    };
  }
  if (message.type === 'interactive' && message.interactive) {
    const reply = message.interactive.button_reply ?? message.interactive.list_reply;
    if (reply) {
      return {
        type: 'reply',
        text: reply.title,
        payload: reply.id,
        description: message.interactive.list_reply?.description ?? null,
      };
    }
  }
  if (message.type === 'button' && message.button)
    return { type: 'reply', text: message.button.text, payload: message.button.payload ?? null, description: null };
  if (message.type === 'reaction' && message.reaction) {
    return {
      type: 'reaction',
      emoji: message.reaction.emoji || null,
      targetProviderMessageId: message.reaction.message_id,
    };
  }
  const error = message.errors?.[0];
  const description =
    message.type === 'unsupported' || message.type === 'unknown'
      ? (error?.message ?? error?.title ?? 'a message type WhatsApp does not deliver to businesses')
      : message.type === 'system' || message.type === 'unreadable'
        ? (message.system?.body ?? 'system message')
        : `type "${message.type.slice(0, 40)}"`;
  return { type: 'unsupported', description };
}
