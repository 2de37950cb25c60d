import type { MessageTemplate, TemplateParameters } from '../whatsapp/whatsapp-provider.js';

/** Placeholders `{{1}}`, `{{2}}` (or named `{{name}}`) in order of first appearance. */
export function placeholdersIn(text: string | null): string[] {
  if (!text) return [];
  const seen: string[] = [];
  for (const match of text.matchAll(/\{\{\s*([A-Za-z0-9_]{1,40})\s*\}\}/g)) {
    const name = match[1] ?? '';
    if (!seen.includes(name)) seen.push(name);
  }
  return seen;
}

export type TemplateVariable = {
  /** Unique field key: header.1, body.2, button.0.1 */
  key: string;
  /** What the user sees: {{1}} */
  label: string;
  component: 'header' | 'body' | 'button';
  buttonIndex?: number;
  /** The value the template was approved with (Meta's example), when known. */
  example: string | null;
};

export function templateVariables(template: MessageTemplate): TemplateVariable[] {
  const variables: TemplateVariable[] = [];
  const example = (key: string) => template.examples?.[key]?.trim() || null;
  if (template.header.format === 'TEXT') {
    for (const p of placeholdersIn(template.header.text))
      variables.push({
        key: `header.${p}`,
        label: `Header {{${p}}}`,
        component: 'header',
        example: example(`header.${p}`),
      });
  }
  for (const p of placeholdersIn(template.body))
    variables.push({ key: `body.${p}`, label: `{{${p}}}`, component: 'body', example: example(`body.${p}`) });
  for (const button of template.buttons) {
    if (button.type === 'URL') {
      for (const p of placeholdersIn(button.url)) {
        variables.push({
          key: `button.${button.index}.${p}`,
          label: `Button "${button.text}" URL {{${p}}}`,
          component: 'button',
          buttonIndex: button.index,
          example: example(`button.${button.index}.${p}`),
        });
      }
    }
  }
  return variables;
}

export type HeaderMediaKind = 'image' | 'video' | 'document';

export function headerMediaKind(template: MessageTemplate): HeaderMediaKind | null {
  switch (template.header.format) {
    case 'IMAGE':
      return 'image';
    case 'VIDEO':
      return 'video';
    case 'DOCUMENT':
      return 'document';
    default:
      return null;
  }
}

/** A template text with its `{{n}}` filled from values keyed `<prefix>.<n>` (unfilled ones stay as they are). */
export const fillPlaceholders = (text: string, values: Record<string, string>, prefix: string) =>
  text.replace(/\{\{\s*([A-Za-z0-9_]{1,40})\s*\}\}/g, (whole, name: string) => values[`${prefix}.${name}`] ?? whole);

/** The message as the customer will read it (for previews and the conversation record). */
export function renderTemplate(template: MessageTemplate, values: Record<string, string>): string {
  const parts: string[] = [];
  if (template.header.format === 'TEXT' && template.header.text)
    parts.push(`*${fillPlaceholders(template.header.text, values, 'header')}*`);
  else if (template.header.format !== 'NONE') parts.push(`[${template.header.format.toLowerCase()}]`);
  parts.push(fillPlaceholders(template.body, values, 'body'));
  if (template.footer) parts.push(`_${template.footer}_`);
  const buttons = template.buttons.map((b) => `[${b.text}]`).join(' ');
  if (buttons) parts.push(buttons);
  return parts.join('\n');
}

/** Builds the provider-neutral parameters from the filled-in variables. */
export function templateParameters(
  template: MessageTemplate,
  values: Record<string, string>,
  headerMedia: TemplateParameters['header'] | undefined,
): TemplateParameters {
  const variables = templateVariables(template);
  const parameters: TemplateParameters = {
    body: variables.filter((v) => v.component === 'body').map((v) => values[v.key] ?? ''),
    buttons: [],
  };
  const headerValues = variables.filter((v) => v.component === 'header');
  if (headerValues.length > 0) parameters.header = { type: 'text', text: values[headerValues[0]?.key ?? ''] ?? '' };
  else if (headerMedia) parameters.header = headerMedia;
  for (const button of template.buttons) {
    const v = variables.find((x) => x.component === 'button' && x.buttonIndex === button.index);
    if (v) parameters.buttons.push({ index: button.index, subType: 'url', value: values[v.key] ?? '' });
  }
  return parameters;
}

/** Templates that can be sent, grouped by name with their languages. */
export function approvedTemplates(templates: readonly MessageTemplate[]): MessageTemplate[] {
  return templates.filter((t) => t.status.toUpperCase() === 'APPROVED');
}

/** Caches the provider's template list; a failed refresh keeps serving the previous list. */
export function createTemplateCatalog(deps: {
  list: () => Promise<MessageTemplate[]>;
  now: () => number;
  ttlMs?: number;
}) {
  const ttl = deps.ttlMs ?? 5 * 60 * 1000;
  let cached: { at: number; templates: MessageTemplate[] } | null = null;
  let inflight: Promise<MessageTemplate[]> | null = null;
  return {
    async all(): Promise<MessageTemplate[]> {
      if (cached && deps.now() - cached.at < ttl) return cached.templates;
      inflight ??= deps
        .list()
        .then((templates) => {
          cached = { at: deps.now(), templates };
          return templates;
        })
        .catch((error: unknown) => {
          if (cached) return cached.templates;
          throw error;
        })
        .finally(() => {
          inflight = null;
        });
      return inflight;
    },
    async approved(): Promise<MessageTemplate[]> {
      return approvedTemplates(await this.all());
    },
    async find(name: string, language: string): Promise<MessageTemplate | undefined> {
      return (await this.approved()).find((t) => t.name === name && t.language === language);
    },
    /**
     * A status the provider reported by webhook (paused, approved, …): the cached list shows it at
     * once. A template not in the list (a new one, say) makes the next read list them again.
     */
    applyStatus(change: { templateId: string | null; name: string; language: string; status: string }): void {
      if (!cached) return;
      const sameLanguage = (a: string) =>
        a.replace(/-/g, '_').toLowerCase() === change.language.replace(/-/g, '_').toLowerCase();
      let found = false;
      const templates = cached.templates.map((t) => {
        const same =
          (change.templateId !== null && t.providerTemplateId === change.templateId) ||
          (t.name === change.name && sameLanguage(t.language));
        if (!same) return t;
        found = true;
        return { ...t, status: change.status };
      });
      cached = { at: found ? cached.at : Number.NEGATIVE_INFINITY, templates };
    },
  };
}
export type TemplateCatalog = ReturnType<typeof createTemplateCatalog>;
