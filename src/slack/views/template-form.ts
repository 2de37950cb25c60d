import { z } from 'zod';
import { languageName } from '../../bridge/template-languages.js';
import {
  type HeaderMediaKind,
  headerMediaKind,
  renderTemplate,
  type TemplateVariable,
  templateVariables,
} from '../../bridge/templates.js';
import { escapeSlackText } from '../../shared/slack-text.js';
import type { MessageTemplate } from '../../whatsapp/whatsapp-provider.js';

/** Block ids and action ids shared by the template picker and the campaign modal. */
export const TemplateFormIds = {
  templateBlock: 'tpl_template',
  templateAction: 'tpl_template_select',
  /** Followed by the template's name: a new template gets a fresh menu (Slack keeps a block's state across updates). */
  languageBlockPrefix: 'tpl_language:',
  languageAction: 'tpl_language_select',
  variableBlockPrefix: 'tpl_var:',
  variableAction: 'value',
  headerFileBlock: 'tpl_header_file',
  headerFileAction: 'file',
  previewBlock: 'tpl_preview',
} as const;

/** The language menu's block id for a template (block ids are at most 255 characters). */
export const languageBlockId = (templateName: string) =>
  `${TemplateFormIds.languageBlockPrefix}${templateName.slice(0, 200)}`;

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
const shorten = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

type Selection = { templateName: string | null; language: string | null };

/** A template that exists in one language only has that language chosen for the user. */
export function effectiveSelection(templates: readonly MessageTemplate[], selection: Selection): Selection {
  if (!selection.templateName || selection.language) return selection;
  const languages = templates.filter((t) => t.name === selection.templateName).map((t) => t.language);
  return languages.length === 1 ? { ...selection, language: languages[0] ?? null } : selection;
}

/** Slack's option values are at most 150 characters; Meta's template names up to 512. */
const templateOptionValue = (name: string) => name.slice(0, 150);

/** The template a menu option stands for. */
export function templateNameOf(templates: readonly MessageTemplate[], value: string | null): string | null {
  if (!value) return null;
  return templates.find((t) => templateOptionValue(t.name) === value)?.name ?? null;
}

/** One template in the searchable menu: its name, and its languages by name underneath. */
function templateOption(name: string, languages: readonly string[]) {
  return {
    text: plain(name),
    value: templateOptionValue(name),
    description: plain(shorten(languages.map(languageName).join(', '), 75)),
  };
}

/** The menu shows at most this many templates at once (Slack's limit); typing narrows them down. */
export const TEMPLATE_OPTIONS_SHOWN = 100;

const searchable = (text: string) => text.toLowerCase().replace(/[\s_-]+/g, ' ');

/**
 * The answer to the template menu's options request: the approved templates whose name contains
 * what was typed (`order update` finds `order_update`). Over 100, the first 100 come under a
 * heading that says how many matched.
 */
export function templateMenuOptions(templates: readonly MessageTemplate[], query: string) {
  const languages = new Map<string, string[]>();
  for (const t of templates) languages.set(t.name, [...(languages.get(t.name) ?? []), t.language]);
  const wanted = searchable(query.trim());
  const names = [...languages.keys()].filter((name) => searchable(name).includes(wanted)).sort();
  const options = names.slice(0, TEMPLATE_OPTIONS_SHOWN).map((name) => templateOption(name, languages.get(name) ?? []));
  if (names.length <= TEMPLATE_OPTIONS_SHOWN) return { options };
  return {
    option_groups: [{ label: plain(`First ${TEMPLATE_OPTIONS_SHOWN} of ${names.length}: type to narrow`), options }],
  };
}

/** A language as the menu shows it: `English (US)`, with `en_US` in small print. */
const languageOption = (code: string) => ({ text: plain(languageName(code)), value: code, description: plain(code) });

/** The variable's field label: `{{1}} — e.g. Ada` when the template came with an example. */
const variableLabel = (variable: TemplateVariable) =>
  variable.example ? `${variable.label} — e.g. ${shorten(variable.example, 150)}` : variable.label;

/**
 * The template, language, variables, header media and preview inputs for the chosen template. The
 * menus are input blocks (so a submission's errors show under them) that dispatch their changes, and
 * the variables dispatch as they are typed, for the preview.
 */
export function templateFormBlocks(
  templates: readonly MessageTemplate[],
  selection: Selection,
  values: Record<string, string> = {},
): unknown[] {
  const blocks: unknown[] = [];
  if (templates.length === 0) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: ':warning: No approved templates were found for this WhatsApp account.' },
    });
    return blocks;
  }
  const selectedName =
    selection.templateName && templates.some((t) => t.name === selection.templateName) ? selection.templateName : null;
  const languages = selectedName ? templates.filter((t) => t.name === selectedName).map((t) => t.language) : [];
  blocks.push({
    type: 'input',
    block_id: TemplateFormIds.templateBlock,
    dispatch_action: true,
    label: { type: 'plain_text', text: 'Template' },
    hint: { type: 'plain_text', text: 'Approved templates only. Type part of a name to search.' },
    element: {
      type: 'external_select',
      action_id: TemplateFormIds.templateAction,
      min_query_length: 0,
      placeholder: plain('Search approved templates'),
      ...(selectedName ? { initial_option: templateOption(selectedName, languages) } : {}),
    },
  });
  if (!selectedName) return blocks;

  const language =
    selection.language && languages.includes(selection.language)
      ? selection.language
      : languages.length === 1
        ? (languages[0] ?? null)
        : null;
  blocks.push({
    type: 'input',
    block_id: languageBlockId(selectedName),
    dispatch_action: true,
    label: { type: 'plain_text', text: 'Language' },
    element: {
      type: 'static_select',
      action_id: TemplateFormIds.languageAction,
      placeholder: plain('Choose a language'),
      options: languages.slice(0, 100).map(languageOption),
      ...(language ? { initial_option: languageOption(language) } : {}),
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
      dispatch_action: true,
      label: { type: 'plain_text', text: variableLabel(variable).slice(0, 2000) },
      element: {
        type: 'plain_text_input',
        action_id: TemplateFormIds.variableAction,
        max_length: 1024,
        // The preview follows what is typed (Slack sends the field after a pause in typing).
        dispatch_action_config: { trigger_actions_on: ['on_character_entered'] },
        ...(values[variable.key] ? { initial_value: values[variable.key]?.slice(0, 1024) } : {}),
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
    block_id: TemplateFormIds.previewBlock,
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
