import type { MediaKind, OutboundMediaRef, TemplateParameters } from './whatsapp-provider.js';

/**
 * The parts of a message body that Meta and EngageLab share (EngageLab passes Meta's message objects
 * through); each adapter supplies how a media reference is written (Meta: id or link, EngageLab: link).
 */

export type MediaObjectOf = (ref: OutboundMediaRef) => Record<string, string>;

const CAPTIONED: readonly MediaKind[] = ['image', 'video', 'document'];

/** `{id|link, caption?, filename?}`: captions only where WhatsApp allows them, filenames on documents. */
export function mediaObject(
  kind: MediaKind,
  ref: OutboundMediaRef,
  extras: { caption?: string | undefined; filename?: string | undefined },
  mediaObjectOf: MediaObjectOf,
): Record<string, string> {
  const media: Record<string, string> = { ...mediaObjectOf(ref) };
  if (extras.caption && CAPTIONED.includes(kind)) media.caption = extras.caption;
  if (kind === 'document' && extras.filename) media.filename = extras.filename;
  return media;
}

export function templateComponents(parameters: TemplateParameters, mediaObjectOf: MediaObjectOf): unknown[] {
  const components: unknown[] = [];
  const header = parameters.header;
  if (header?.type === 'text') components.push({ type: 'header', parameters: [{ type: 'text', text: header.text }] });
  else if (header) {
    const media = mediaObject(header.type, header.media, { filename: header.filename }, mediaObjectOf);
    components.push({ type: 'header', parameters: [{ type: header.type, [header.type]: media }] });
  }
  if (parameters.body.length > 0) {
    components.push({ type: 'body', parameters: parameters.body.map((text) => ({ type: 'text', text })) });
  }
  for (const button of parameters.buttons) {
    components.push({
      type: 'button',
      sub_type: button.subType,
      index: String(button.index),
      parameters: [
        button.subType === 'quick_reply'
          ? { type: 'payload', payload: button.value }
          : { type: 'text', text: button.value },
      ],
    });
  }
  return components;
}
