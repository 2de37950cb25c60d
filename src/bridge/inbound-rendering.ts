import { escapeSlackText, isEmoji } from '../shared/slack-text.js';
import type { InboundContent, MediaKind } from '../whatsapp/whatsapp-provider.js';
import { whatsAppToSlack } from './formatting/whatsapp-to-slack.js';

export function mediaLabel(kind: MediaKind, voice: boolean): string {
  switch (kind) {
    case 'image':
      return ':frame_with_picture: Image';
    case 'video':
      return ':film_frames: Video';
    case 'audio':
      return voice ? ':studio_microphone: Voice note' : ':musical_note: Audio';
    case 'document':
      return ':page_facing_up: Document';
    case 'sticker':
      return ':label: Sticker';
  }
}

/** A short, human summary of a message, stored as its body and used in history and exports. */
export function summarizeInbound(content: InboundContent): string {
  switch (content.type) {
    case 'text':
      return content.text;
    case 'media':
      return [
        content.mediaKind === 'audio' && content.voice ? 'voice note' : content.mediaKind,
        content.filename,
        content.caption,
      ]
        .filter(Boolean)
        .join(': ');
    case 'location':
      return `location ${content.latitude},${content.longitude}${content.name ? ` ${content.name}` : ''}`;
    case 'contacts':
      return `contacts: ${content.contacts.map((c) => c.name).join(', ')}`;
    case 'reply':
      return content.text;
    case 'reaction':
      return content.emoji ? `reaction ${content.emoji}` : 'reaction removed';
    case 'unsupported':
      return `unsupported: ${content.description}`;
  }
}

export function mapLink(latitude: number, longitude: number): string {
  return `https://www.google.com/maps/search/?api=1&query=${latitude},${longitude}`;
}

/** Slack mrkdwn for an inbound message (media bytes are uploaded separately). */
export function renderInbound(
  content: InboundContent,
  context: {
    replyToLink: string | null;
    /** What the message answers (reply-context.ts), shown instead of the bare link. */
    replyTo?: string | null;
    mediaProblem: string | null;
  },
): string {
  const replyPrefix = context.replyTo
    ? `${context.replyTo}\n`
    : context.replyToLink
      ? `<${context.replyToLink}|:leftwards_arrow_with_hook: in reply to this message>\n`
      : '';
  switch (content.type) {
    case 'text':
      return replyPrefix + whatsAppToSlack(content.text);
    case 'media': {
      const name = content.filename ? ` \`${escapeSlackText(content.filename)}\`` : '';
      const caption = content.caption ? `\n${whatsAppToSlack(content.caption)}` : '';
      const problem = context.mediaProblem ? `\n:warning: ${escapeSlackText(context.mediaProblem)}` : '';
      return `${replyPrefix}${mediaLabel(content.mediaKind, content.voice)}${name}${caption}${problem}`;
    }
    case 'location': {
      const title = [content.name, content.address]
        .filter(Boolean)
        .map((part) => escapeSlackText(part ?? ''))
        .join(' — ');
      const link = `<${mapLink(content.latitude, content.longitude)}|Open map (${content.latitude}, ${content.longitude})>`;
      const extra = content.url ? `\n${escapeSlackText(content.url)}` : '';
      return `${replyPrefix}:round_pushpin: Location${title ? `: ${title}` : ''}\n${link}${extra}`;
    }
    case 'contacts': {
      const lines = content.contacts.map((contact) => {
        const phones = contact.phones
          .map((p) => `${escapeSlackText(p.phone)}${p.type ? ` (${escapeSlackText(p.type)})` : ''}`)
          .join(', ');
        return `• *${escapeSlackText(contact.name)}*${phones ? ` — ${phones}` : ''}`;
      });
      return `${replyPrefix}:bust_in_silhouette: Shared contact${content.contacts.length === 1 ? '' : 's'}:\n${lines.join('\n')}`;
    }
    case 'reply':
      return `${replyPrefix}:radio_button: Chose *${escapeSlackText(content.text)}*${content.description ? ` — ${escapeSlackText(content.description)}` : ''}`;
    case 'reaction': {
      if (!content.emoji) return `${replyPrefix}Removed a reaction`;
      const emoji = isEmoji(content.emoji) ? content.emoji : `“${escapeSlackText(content.emoji.slice(0, 40))}”`;
      return `${replyPrefix}Reacted ${emoji}${context.replyToLink ? '' : ' to a message'}`;
    }
    case 'unsupported':
      return `${replyPrefix}:warning: This message type can't be shown in Slack (${escapeSlackText(content.description)}). WhatsApp did not send its content to the bridge.`;
  }
}
