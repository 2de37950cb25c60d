import type { App } from '@slack/bolt';
import type { HeaderFile } from '../../../bridge/conversation-templates.js';
import { type RoleCheck, templateNeedsMarketer } from '../../../bridge/permissions.js';
import type { TemplateCatalog } from '../../../bridge/templates.js';
import {
  headerFileFrom,
  languageBlockId,
  parseViewState,
  TemplateFormIds,
  variableValuesFrom,
} from '../../views/template-form.js';
import { TEMPLATE_PICKER_CALLBACK, templateFormErrors } from '../../views/template-picker-view.js';
import { parseTemplatePickerMetadata } from '../actions/template-picker-actions.js';

export function registerTemplatePickerSubmission(
  app: App,
  deps: {
    catalog: TemplateCatalog;
    /** MARKETING templates (any category but UTILITY and AUTHENTICATION) need the marketer role. */
    isMarketer: RoleCheck;
    queueTemplate(request: {
      contactId: string;
      requestedBy: string;
      templateName: string;
      language: string;
      values: Record<string, string>;
      headerFile: HeaderFile | null;
      idempotencyKey: string;
    }): Promise<{ ok: true; messageId: string } | { ok: false; error: string }>;
  },
): void {
  app.view(TEMPLATE_PICKER_CALLBACK, async ({ ack, view, body }) => {
    const metadata = parseTemplatePickerMetadata(view.private_metadata);
    const state = parseViewState(view.state.values);
    const values = variableValuesFrom(state);
    const headerFile = headerFileFrom(state);
    const template =
      metadata?.templateName && metadata.language
        ? await deps.catalog.find(metadata.templateName, metadata.language)
        : undefined;
    if (!metadata || !template) {
      // The menus are input blocks: the error shows under the one still to choose.
      const errors =
        metadata?.templateName && !metadata.language
          ? { [languageBlockId(metadata.templateName)]: 'Choose the language to send this template in.' }
          : { [TemplateFormIds.templateBlock]: 'Choose an approved template.' };
      await ack({ response_action: 'errors', errors });
      return;
    }
    // The category comes from the provider's catalog, never from the request.
    if (templateNeedsMarketer(template.category) && !(await deps.isMarketer(body.user.id))) {
      // On the template menu itself, which stays open with everything typed: choose another one.
      await ack({
        response_action: 'errors',
        errors: {
          [TemplateFormIds.templateBlock]: `${template.name} is a ${template.category} template: only ${deps.isMarketer.holders} can send those. Choose a UTILITY or AUTHENTICATION template, or ask a marketer.`,
        },
      });
      return;
    }
    const errors = templateFormErrors(template, values, headerFile);
    if (Object.keys(errors).length > 0) {
      await ack({ response_action: 'errors', errors });
      return;
    }
    const result = await deps.queueTemplate({
      contactId: metadata.contactId,
      requestedBy: body.user.id,
      templateName: template.name,
      language: template.language,
      values,
      headerFile: headerFile
        ? {
            name: headerFile.name,
            mimeType: headerFile.mimetype,
            size: headerFile.size,
            urlPrivate: headerFile.url_private_download ?? headerFile.url_private,
          }
        : null,
      idempotencyKey: view.id,
    });
    if (!result.ok) {
      await ack({ response_action: 'errors', errors: { [TemplateFormIds.templateBlock]: result.error } });
      return;
    }
    await ack();
  });
}
