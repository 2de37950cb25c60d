import type { MediaKind } from '../whatsapp/whatsapp-provider.js';

const MB = 1024 * 1024;

export type OutboundMediaRule = { kind: MediaKind; maxBytes: number; label: string };

/** WhatsApp's rules for media a business sends: which type a file goes out as, and its size cap. */
export function outboundMediaRule(mimeType: string): OutboundMediaRule {
  const type = mimeType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'image/jpeg' || type === 'image/png')
    return { kind: 'image', maxBytes: 5 * MB, label: 'images (JPEG/PNG)' };
  if (type === 'video/mp4' || type === 'video/3gpp')
    return { kind: 'video', maxBytes: 16 * MB, label: 'videos (MP4/3GP)' };
  if (['audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg', 'audio/x-m4a', 'audio/mp3'].includes(type)) {
    return { kind: 'audio', maxBytes: 16 * MB, label: 'audio' };
  }
  return { kind: 'document', maxBytes: 100 * MB, label: 'documents' };
}

export const CAPTIONED_KINDS: ReadonlySet<MediaKind> = new Set(['image', 'video', 'document']);

export function formatBytes(bytes: number): string {
  if (bytes >= MB) return `${(bytes / MB).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

/** Why a file can't be sent, or null when it can. */
export function outboundFileProblem(file: { name: string; mimeType: string; size: number }): string | null {
  const rule = outboundMediaRule(file.mimeType);
  if (file.size > rule.maxBytes) {
    return `\`${file.name}\` is ${formatBytes(file.size)}; WhatsApp accepts ${rule.label} up to ${formatBytes(rule.maxBytes)}.`;
  }
  if (file.size === 0) return `\`${file.name}\` is empty.`;
  return null;
}
