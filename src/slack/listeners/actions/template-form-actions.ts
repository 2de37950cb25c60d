import type { App, BlockAction } from '@slack/bolt';
import type { ModalView } from '@slack/web-api';
import type { Logger } from '../../../shared/logger.js';
import type { MessageTemplate } from '../../../whatsapp/whatsapp-provider.js';
import { TemplateFormIds, templateMenuOptions, templateNameOf } from '../../views/template-form.js';

type ViewOfAction = NonNullable<BlockAction['view']>;

/** A menu the person changed; null when only typed variables changed (the preview follows them). */
export type FormChange = { field: 'templateName' | 'language' | 'sendingNumberId'; value: string | null } | null;

/** The modal built again after a change, from its metadata and its state; null leaves it as it is. */
export type FormRebuilder = (args: {
  view: ViewOfAction;
  change: FormChange;
  userId: string;
}) => Promise<ModalView | null>;

/**
 * How long the preview waits after the last typed change before it is redrawn: Slack already sends
 * a field only after a pause in typing, and this folds a burst of them into one `views.update`.
 */
export const PREVIEW_PAUSE_MS = 300;

/** Views whose update history is remembered (a few per person with a form open). */
const REMEMBERED_HASHES = 5_000;

/**
 * Updates of modals holding the template form, one at a time per view. Slack refuses an update
 * whose `hash` is not the view's latest (`hash_conflict`), which keeps an old state from
 * overwriting a newer one. An action that was sent before one of the bridge's own updates landed
 * carries the hash that update replaced; since the action is newer than what that update was built
 * from, it goes ahead on the hash the update produced.
 */
function createFormUpdates(logger: Logger, pauseMs: number) {
  const replacedBy = new Map<string, string>();
  const lanes = new Map<string, Promise<void>>();
  const waiting = new Map<string, NodeJS.Timeout>();
  const latestHash = (viewId: string, hash: string) => {
    let current = hash;
    for (let next = replacedBy.get(`${viewId} ${current}`); next; next = replacedBy.get(`${viewId} ${current}`))
      current = next;
    return current;
  };
  const remember = (viewId: string, from: string, to: string) => {
    replacedBy.set(`${viewId} ${from}`, to);
    if (replacedBy.size > REMEMBERED_HASHES) replacedBy.delete(replacedBy.keys().next().value ?? '');
  };
  type Update = { client: App['client']; viewId: string; hash: string; build: () => Promise<ModalView | null> };
  const run = ({ client, viewId, hash, build }: Update) => {
    const tail = (lanes.get(viewId) ?? Promise.resolve())
      .then(async () => {
        const view = await build();
        if (!view) return;
        const from = latestHash(viewId, hash);
        const result = await client.views.update({ view_id: viewId, hash: from, view });
        if (result.view?.hash) remember(viewId, from, result.view.hash);
      })
      .catch((error: unknown) => {
        // hash_conflict: the person changed the form again meanwhile; that change redraws it.
        logger.info({ viewId, err: error instanceof Error ? error.message : String(error) }, 'form update skipped');
      });
    lanes.set(viewId, tail);
    void tail.finally(() => {
      if (lanes.get(viewId) === tail) lanes.delete(viewId);
    });
  };
  const cancelWaiting = (viewId: string) => {
    clearTimeout(waiting.get(viewId));
    waiting.delete(viewId);
  };
  return {
    /** A menu changed: redraw now (the action's state holds everything typed so far too). */
    now(update: Update) {
      cancelWaiting(update.viewId);
      run(update);
    },
    /** A variable was typed: redraw once typing pauses, from the latest state. */
    afterPause(update: Update) {
      cancelWaiting(update.viewId);
      waiting.set(
        update.viewId,
        setTimeout(() => {
          waiting.delete(update.viewId);
          run(update);
        }, pauseMs).unref(),
      );
    },
  };
}

/**
 * Changes inside modals that contain the template form: its menus (and `extraSelects`, such as
 * the campaign's sending number), its variables as they are typed, and the template menu's search.
 * One listener per action id (Bolt allows one ack), dispatching on the modal's callback id.
 */
export function registerTemplateFormActions(
  app: App,
  deps: {
    rebuilders: Record<string, FormRebuilder>;
    extraSelects?: Record<string, 'sendingNumberId'>;
    /** The approved templates (cached): the menu's search and its choices. */
    templates(): Promise<MessageTemplate[]>;
    logger: Logger;
    pauseMs?: number;
  },
): void {
  const updates = createFormUpdates(deps.logger, deps.pauseMs ?? PREVIEW_PAUSE_MS);
  const select =
    (field: 'templateName' | 'language' | 'sendingNumberId') =>
    async ({ ack, body, client }: { ack: () => Promise<void>; body: BlockAction; client: App['client'] }) => {
      await ack();
      const view = body.view;
      const action = body.actions[0];
      const rebuild = view ? deps.rebuilders[view.callback_id] : undefined;
      if (!view || !action || !rebuild || !('selected_option' in action)) return;
      const selected = action.selected_option?.value ?? null;
      updates.now({
        client,
        viewId: view.id,
        hash: view.hash,
        build: async () => {
          const value = field === 'templateName' ? templateNameOf(await deps.templates(), selected) : selected;
          return rebuild({ view, change: { field, value }, userId: body.user.id });
        },
      });
    };
  app.action<BlockAction>(TemplateFormIds.templateAction, select('templateName'));
  app.action<BlockAction>(TemplateFormIds.languageAction, select('language'));
  for (const [actionId, field] of Object.entries(deps.extraSelects ?? {}))
    app.action<BlockAction>(actionId, select(field));

  app.action<BlockAction>(
    { block_id: new RegExp(`^${TemplateFormIds.variableBlockPrefix}`), action_id: TemplateFormIds.variableAction },
    async ({ ack, body, client }) => {
      await ack();
      const view = body.view;
      const rebuild = view ? deps.rebuilders[view.callback_id] : undefined;
      if (!view || !rebuild) return;
      updates.afterPause({
        client,
        viewId: view.id,
        hash: view.hash,
        build: () => rebuild({ view, change: null, userId: body.user.id }),
      });
    },
  );

  app.options(TemplateFormIds.templateAction, async ({ ack, body }) => {
    try {
      await ack(templateMenuOptions(await deps.templates(), body.value ?? ''));
    } catch (error) {
      deps.logger.warn({ err: String(error) }, 'loading the template menu failed');
      await ack({ options: [] });
    }
  });
}
