import type { App, BlockAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { TemplateCatalog } from '../../../bridge/templates.js';
import { errorIdNote, logErrorWithId } from '../../../shared/error-id.js';
import type { Logger } from '../../../shared/logger.js';
import { ActionId } from '../../blocks/thread-header.js';
import { parseViewState, variableValuesFrom } from '../../views/template-form.js';
import { loadingView, type TemplatePickerMetadata, templatePickerView } from '../../views/template-picker-view.js';
import type { FormRebuilder } from './template-form-actions.js';

export type TemplatePickerDeps = {
  catalog: TemplateCatalog;
  contactLabel(contactId: string): Promise<string | null>;
  /** A refused reply's kept text, for "Send as template" (null: not refused, or not this person's). */
  refusedDraft(messageId: string, userId: string): Promise<{ contactId: string; text: string } | null>;
  logger: Logger;
};

const parseMetadata = (raw: string | undefined): TemplatePickerMetadata | null => {
  try {
    const value = JSON.parse(raw ?? '') as Partial<TemplatePickerMetadata>;
    return typeof value.contactId === 'string'
      ? {
          contactId: value.contactId,
          templateName: value.templateName ?? null,
          language: value.language ?? null,
          ...(typeof value.draft === 'string' ? { draft: value.draft } : {}),
        }
      : null;
  } catch {
    return null;
  }
};

/**
 * The "Send template" buttons (thread header, window-closed notice) open the picker at once with a
 * loading view — the trigger expires in 3 s — then fill it from the (cached) template list.
 */
export function registerTemplatePickerActions(app: App, deps: TemplatePickerDeps): void {
  app.action<BlockAction>(ActionId.openTemplatePicker, async ({ ack, body, client, action }) => {
    await ack();
    const contactId = 'value' in action && typeof action.value === 'string' ? action.value : null;
    if (!contactId) return;
    await openPicker(body.trigger_id, client, { contactId, templateName: null, language: null });
  });

  // A refused reply's "Send as template": the picker with the kept text in the template's first body variable.
  app.action<BlockAction>(ActionId.sendRefusedAsTemplate, async ({ ack, body, client, action, respond }) => {
    await ack();
    const messageId = 'value' in action && typeof action.value === 'string' ? action.value : null;
    if (!messageId) return;
    const draft = await deps.refusedDraft(messageId, body.user.id);
    if (!draft) {
      await respond({
        response_type: 'ephemeral',
        replace_original: false,
        text: 'This reply is no longer waiting to be sent (it was sent, or removed), or it is not yours.',
      });
      return;
    }
    await openPicker(body.trigger_id, client, {
      contactId: draft.contactId,
      templateName: null,
      language: null,
      draft: templateDraft(draft.text),
    });
  });

  async function openPicker(triggerId: string, client: WebClient, metadata: TemplatePickerMetadata) {
    const { contactId } = metadata;
    const opened = await client.views.open({
      trigger_id: triggerId,
      view: loadingView('Send a template', 'Loading approved templates…'),
    });
    const viewId = opened.view?.id;
    if (!viewId) return;
    try {
      const [templates, label] = await Promise.all([deps.catalog.approved(), deps.contactLabel(contactId)]);
      if (!label) {
        await client.views.update({
          view_id: viewId,
          view: loadingView('Send a template', ':warning: This conversation no longer exists.'),
        });
        return;
      }
      await client.views.update({
        view_id: viewId,
        view: templatePickerView({
          metadata,
          contactLabel: label,
          templates,
        }),
      });
    } catch (error) {
      const errorId = logErrorWithId(deps.logger, error, 'loading templates failed');
      await client.views.update({
        view_id: viewId,
        view: loadingView(
          'Send a template',
          `:warning: The template list could not be loaded from WhatsApp right now. Close this and try again in a minute. ${errorIdNote(errorId)}`,
        ),
      });
    }
  }
}

/**
 * A reply's text as a template variable: WhatsApp allows no new lines, tabs or runs of spaces there,
 * and the draft travels in the view's private_metadata (3,000 characters at most).
 */
function templateDraft(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 1000);
}

/** Rebuilds the picker after a template or language choice, or for its preview. */
export function templatePickerRebuilder(deps: TemplatePickerDeps): FormRebuilder {
  return async ({ view, change }) => {
    const metadata = parseMetadata(view.private_metadata);
    if (!metadata) return null;
    const next: TemplatePickerMetadata =
      change && change.field !== 'sendingNumberId' ? { ...metadata, [change.field]: change.value } : metadata;
    if (change?.field === 'templateName') next.language = null;
    const [templates, label] = await Promise.all([deps.catalog.approved(), deps.contactLabel(metadata.contactId)]);
    return templatePickerView({
      metadata: next,
      contactLabel: label ?? 'unknown',
      templates,
      values: variableValuesFrom(parseViewState(view.state?.values)),
    });
  };
}

export { parseMetadata as parseTemplatePickerMetadata };
