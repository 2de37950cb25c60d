import { z } from 'zod';
import { type HeaderMediaKind, headerMediaKind, renderTemplate, templateVariables } from '../../bridge/templates.js';
import { escapeSlackText } from '../../shared/slack-text.js';
import type { MessageTemplate } from '../../whatsapp/whatsapp-provider.js';

/** Block ids and action ids shared by the template picker and the campaign modal. */
export const TemplateFormIds = {
  templateBlock: 'tpl_template',
  templateAction: 'tpl_template_select',
  languageBlock: 'tpl_language',
  languageAction: 'tpl_language_select',
  variableBlockPrefix: 'tpl_var:',
  variableAction: 'value',
  headerFileBlock: 'tpl_header_file',
  headerFileAction: 'file',
} as const;

export const HEADER_FILE_TYPES: Record<HeaderMediaKind, { filetypes: string[]; maxBytes: number; hint: string }> = {
  image: { filetypes: ['jpg', 'jpeg', 'png'], maxBytes: 5 * 1024 * 1024, hint: 'JPEG or PNG, at most 5 MB' },
  video: { filetypes: ['mp4', '3gp'], maxBytes: 16 * 1024 * 1024, hint: 'MP4 or 3GP, at most 16 MB' },
  // file_input itself caps uploads at 10 MB; WhatsApp allows documents up to 100 MB.
  document: {
    filetypes: ['pdf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'txt', 'csv'],
    maxBytes: 100 * 1024 * 1024,
    hint: 'a document (PDF, Office, text)',
  },
};

const plain = (text: string) => ({ type: 'plain_text' as const, text: text.slice(0, 75), emoji: true });

type Selection = { templateName: string | null; language: string | null };

/** A template that exists in one language only has that language chosen for the user. */
export function effectiveSelection(templates: readonly MessageTemplate[], selection: Selection): Selection {
  if (!selection.templateName || selection.language) return selection;
  const languages = templates.filter((t) => t.name === selection.templateName).map((t) => t.language);
  return languages.length === 1 ? { ...selection, language: languages[0] ?? null } : selection;
}

/** The template, language, variables, header media and preview inputs for the chosen template. */
export function templateFormBlocks(
  templates: readonly MessageTemplate[],
  selection: Selection,
  values: Record<string, string> = {},
): unknown[] {
  const names = [...new Set(templates.map((t) => t.name))].sort();
  const blocks: unknown[] = [];
  if (names.length === 0) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: ':warning: No approved templates were found for this WhatsApp account.' },
    });
    return blocks;
  }
  const selectedName = selection.templateName && names.includes(selection.templateName) ? selection.templateName : null;
  blocks.push({
    type: 'section',
    block_id: TemplateFormIds.templateBlock,
    text: { type: 'mrkdwn', text: '*Template*' },
    accessory: {
      type: 'static_select',
      action_id: TemplateFormIds.templateAction,
      placeholder: plain('Choose an approved template'),
      options: names.slice(0, 100).map((name) => ({ text: plain(name), value: name.slice(0, 75) })),
      ...(selectedName ? { initial_option: { text: plain(selectedName), value: selectedName.slice(0, 75) } } : {}),
    },
  });
  if (!selectedName) return blocks;

  const languages = templates.filter((t) => t.name === selectedName).map((t) => t.language);
  const language =
    selection.language && languages.includes(selection.language)
      ? selection.language
      : languages.length === 1
        ? (languages[0] ?? null)
        : null;
  blocks.push({
    type: 'section',
    block_id: TemplateFormIds.languageBlock,
    text: { type: 'mrkdwn', text: '*Language*' },
    accessory: {
      type: 'static_select',
      action_id: TemplateFormIds.languageAction,
      placeholder: plain('Choose a language'),
      options: languages.map((code) => ({ text: plain(code), value: code })),
      ...(language ? { initial_option: { text: plain(language), value: language } } : {}),
    },
  });
  const template = templates.find((t) => t.name === selectedName && t.language === language);
  if (!template) return blocks;

  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `Category: *${escapeSlackText(template.category)}*` }],
  });
  for (const variable of templateVariables(template)) {
    blocks.push({
      type: 'input',
      block_id: `${TemplateFormIds.variableBlockPrefix}${variable.key}`,
      label: { type: 'plain_text', text: variable.label.slice(0, 2000) },
      element: {
        type: 'plain_text_input',
        action_id: TemplateFormIds.variableAction,
        max_length: 1024,
        ...(values[variable.key] ? { initial_value: values[variable.key] } : {}),
      },
    });
  }
  const mediaKind = headerMediaKind(template);
  if (mediaKind) {
    const rule = HEADER_FILE_TYPES[mediaKind];
    blocks.push({
      type: 'input',
      block_id: TemplateFormIds.headerFileBlock,
      label: { type: 'plain_text', text: `Header ${mediaKind}` },
      hint: { type: 'plain_text', text: rule.hint },
      element: {
        type: 'file_input',
        action_id: TemplateFormIds.headerFileAction,
        filetypes: rule.filetypes,
        max_files: 1,
      },
    });
  }
  const preview = renderTemplate(template, values);
  blocks.push({
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: `*Preview*\n${preview
        .split('\n')
        .map((l) => `>${escapeSlackText(l)}`)
        .join('\n')}`.slice(0, 3000),
    },
  });
  return blocks;
}

const inputFileSchema = z.object({
  id: z.string(),
  name: z.string().max(1000),
  mimetype: z.string().catch('application/octet-stream'),
  size: z.number().catch(0),
  url_private: z.string(),
  url_private_download: z.string().optional().catch(undefined),
});
export type SlackInputFile = z.infer<typeof inputFileSchema>;

const elementStateSchema = z
  .object({
    value: z.string().nullish().catch(null),
    selected_option: z.object({ value: z.string() }).nullish().catch(null),
    files: z.array(inputFileSchema).optional().catch(undefined),
    selected_date: z.string().nullish().catch(null),
    selected_date_time: z.number().nullish().catch(null),
  })
  .catch({});

/**
 * Modal state as Slack sends it (`view.state.values`), validated: anything of the wrong shape is
 * dropped, so a hostile or stale submission reads as "field left empty", never as a crash.
 */
export const viewStateSchema = z.record(z.string(), z.record(z.string(), elementStateSchema).catch({})).catch({});
export type SlackViewState = z.infer<typeof viewStateSchema>;

export function parseViewState(raw: unknown): SlackViewState {
  return viewStateSchema.parse(raw ?? {});
}

export function selectionFrom(state: SlackViewState | undefined): Selection {
  return {
    templateName:
      state?.[TemplateFormIds.templateBlock]?.[TemplateFormIds.templateAction]?.selected_option?.value ?? null,
    language: state?.[TemplateFormIds.languageBlock]?.[TemplateFormIds.languageAction]?.selected_option?.value ?? null,
  };
}

export function variableValuesFrom(state: SlackViewState | undefined): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [blockId, actions] of Object.entries(state ?? {})) {
    if (!blockId.startsWith(TemplateFormIds.variableBlockPrefix)) continue;
    const value = actions[TemplateFormIds.variableAction]?.value;
    if (typeof value === 'string') values[blockId.slice(TemplateFormIds.variableBlockPrefix.length)] = value;
  }
  return values;
}

export function headerFileFrom(state: SlackViewState | undefined): SlackInputFile | null {
  return state?.[TemplateFormIds.headerFileBlock]?.[TemplateFormIds.headerFileAction]?.files?.[0] ?? null;
}
