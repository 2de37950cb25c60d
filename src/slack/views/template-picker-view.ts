import type { KnownBlock, ModalView } from '@slack/web-api';
import { headerMediaKind, templateVariables } from '../../bridge/templates.js';
import { escapeSlackText } from '../../shared/slack-text.js';
import type { MessageTemplate } from '../../whatsapp/whatsapp-provider.js';
import {
  effectiveSelection,
  HEADER_FILE_TYPES,
  type SlackInputFile,
  TemplateFormIds,
  templateFormBlocks,
} from './template-form.js';

export const TEMPLATE_PICKER_CALLBACK = 'wa_template_picker';

export type TemplatePickerMetadata = {
  contactId: string;
  templateName: string | null;
  language: string | null;
  /** A refused reply's text ("Send as template"): it fills the template's first body variable. */
  draft?: string;
};

export function loadingView(title: string, text: string): ModalView {
  return {
    type: 'modal' as const,
    title: { type: 'plain_text' as const, text: title.slice(0, 24) },
    close: { type: 'plain_text' as const, text: 'Close' },
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
  };
}

export function templatePickerView(input: {
  metadata: TemplatePickerMetadata;
  contactLabel: string;
  templates: readonly MessageTemplate[];
  values?: Record<string, string>;
}): ModalView {
  const metadata = { ...input.metadata, ...effectiveSelection(input.templates, input.metadata) };
  const values = { ...(input.values ?? {}) };
  const chosen = input.templates.find((t) => t.name === metadata.templateName && t.language === metadata.language);
  const firstBody = chosen ? templateVariables(chosen).find((v) => v.component === 'body') : undefined;
  if (metadata.draft && firstBody && !values[firstBody.key]) values[firstBody.key] = metadata.draft;
  return {
    type: 'modal' as const,
    callback_id: TEMPLATE_PICKER_CALLBACK,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text' as const, text: 'Send a template' },
    submit: { type: 'plain_text' as const, text: 'Send' },
    close: { type: 'plain_text' as const, text: 'Cancel' },
    blocks: [
      { type: 'context', elements: [{ type: 'mrkdwn', text: `To: *${escapeSlackText(input.contactLabel)}*` }] },
      ...(metadata.draft
        ? [
            {
              type: 'context',
              elements: [
                {
                  type: 'mrkdwn',
                  text: `Your reply that was not sent: “${escapeSlackText(metadata.draft.slice(0, 300))}” — it fills the template's first variable; change it as you like.`,
                },
              ],
            },
          ]
        : []),
      ...templateFormBlocks(
        input.templates,
        { templateName: metadata.templateName, language: metadata.language },
        values,
      ),
    ] as KnownBlock[],
  };
}

/** Field errors for `response_action: errors`, keyed by block id; empty when the form is complete. */
export function templateFormErrors(
  template: MessageTemplate,
  values: Record<string, string>,
  headerFile: SlackInputFile | null,
): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const variable of templateVariables(template)) {
    const value = values[variable.key]?.trim() ?? '';
    if (!value) errors[`${TemplateFormIds.variableBlockPrefix}${variable.key}`] = `Fill in ${variable.label}.`;
    else if (/[\n\t]|\s{5,}/.test(value) && variable.component === 'body') {
      errors[`${TemplateFormIds.variableBlockPrefix}${variable.key}`] =
        'WhatsApp does not allow new lines, tabs or more than 4 spaces in a row in a variable.';
    }
  }
  const kind = headerMediaKind(template);
  if (kind) {
    const rule = HEADER_FILE_TYPES[kind];
    if (!headerFile) errors[TemplateFormIds.headerFileBlock] = `This template needs a header ${kind} (${rule.hint}).`;
    else {
      const extension = headerFile.name.split('.').pop()?.toLowerCase() ?? '';
      if (!rule.filetypes.includes(extension))
        errors[TemplateFormIds.headerFileBlock] = `\`${headerFile.name}\` is not ${rule.hint}.`;
      else if (headerFile.size > rule.maxBytes)
        errors[TemplateFormIds.headerFileBlock] = `\`${headerFile.name}\` is too large: ${rule.hint}.`;
    }
  }
  return errors;
}
