import type { MessageTemplate } from '../../whatsapp/whatsapp-provider.js';
import { fillPlaceholders } from '../templates.js';

/** A campaign's message as its first recipient will see it, part by part (for the confirmation). */
export type MessagePreview = {
  /** A text header filled in, or a media header's kind with the file's name. */
  header: { kind: 'text'; text: string } | { kind: 'media'; format: string; fileName: string | null } | null;
  body: string;
  footer: string | null;
  buttons: { type: string; text: string; url: string | null }[];
};

/** Values: the form's, overridden by the recipient's own (a CSV's columns). */
export function previewMessage(
  template: MessageTemplate,
  values: Record<string, string>,
  headerFileName: string | null,
): MessagePreview {
  const header: MessagePreview['header'] =
    template.header.format === 'NONE'
      ? null
      : template.header.format === 'TEXT'
        ? { kind: 'text', text: fillPlaceholders(template.header.text ?? '', values, 'header') }
        : { kind: 'media', format: template.header.format, fileName: headerFileName };
  return {
    header,
    body: fillPlaceholders(template.body, values, 'body'),
    footer: template.footer,
    buttons: template.buttons.map((b) => ({
      type: b.type,
      text: b.text,
      url: b.url ? fillPlaceholders(b.url, values, `button.${b.index}`) : null,
    })),
  };
}

/** The variables a recipient's message is built with: the campaign's, then the recipient's own. */
export function recipientValues(
  shared: Record<string, string>,
  recipientParametersJson: string | null,
): Record<string, string> {
  if (!recipientParametersJson) return shared;
  try {
    return { ...shared, ...(JSON.parse(recipientParametersJson) as Record<string, string>) };
  } catch {
    return shared;
  }
}
