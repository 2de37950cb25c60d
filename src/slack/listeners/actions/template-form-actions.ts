import type { App, BlockAction } from '@slack/bolt';
import { TemplateFormIds } from '../../views/template-form.js';

type ViewOfAction = NonNullable<BlockAction['view']>;

export type FormRebuilder = (args: {
  view: ViewOfAction;
  client: App['client'];
  field: 'templateName' | 'language' | 'sendingNumberId';
  value: string | null;
  userId: string;
}) => Promise<void>;

/**
 * Select changes inside modals that contain the template form. One listener per action id (Bolt
 * allows one ack), dispatching on the modal's callback id.
 */
export function registerTemplateFormActions(
  app: App,
  rebuilders: Record<string, FormRebuilder>,
  extraSelects: Record<string, 'sendingNumberId'> = {},
): void {
  const handle =
    (field: 'templateName' | 'language' | 'sendingNumberId') =>
    async ({ ack, body, client }: { ack: () => Promise<void>; body: BlockAction; client: App['client'] }) => {
      await ack();
      const view = body.view;
      const action = body.actions[0];
      if (!view || !action || action.type !== 'static_select') return;
      const rebuild = rebuilders[view.callback_id];
      if (!rebuild) return;
      await rebuild({ view, client, field, value: action.selected_option?.value ?? null, userId: body.user.id });
    };
  app.action<BlockAction>(TemplateFormIds.templateAction, handle('templateName'));
  app.action<BlockAction>(TemplateFormIds.languageAction, handle('language'));
  for (const [actionId, field] of Object.entries(extraSelects)) app.action<BlockAction>(actionId, handle(field));
}
