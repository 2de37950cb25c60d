import type { App, BlockAction } from '@slack/bolt';
import type { ModalView } from '@slack/web-api';
import { escapeSlackText } from '../../../shared/slack-text.js';
import { ActionId } from '../../blocks/thread-header.js';
import {
  type EditMetadata,
  listMetadata,
  type PickerMetadata,
  pickerMetadata,
  QuickReplyIds,
  quickReplyMessageView,
  readMetadata,
} from '../../views/quick-reply-views.js';
import { parseViewState } from '../../views/template-form.js';
import { actionValue } from '../action-value.js';

export type QuickReplyActionDeps = {
  mayManage(userId: string): Promise<boolean>;
  refusal(): string;
  listView(page: number, notice?: string): Promise<ModalView>;
  /** null when the reply is gone. */
  editView(id: string | null, metadata: EditMetadata): Promise<ModalView | null>;
  remove(userId: string, id: string): Promise<{ ok: true; title: string | null } | { ok: false; refused: string }>;
  pickerView(metadata: PickerMetadata, userId: string, selectedId: string | null): Promise<ModalView>;
};

type ViewOfAction = NonNullable<BlockAction['view']>;

const selectedOption = (action: BlockAction['actions'][number]) =>
  action.type === 'static_select' ? (action.selected_option?.value ?? null) : null;

/** The reply chosen in the picker, as its state says (the select keeps it across updates). */
export function pickedReplyId(view: { state?: { values?: unknown } } | undefined): string | null {
  const state = parseViewState(view?.state?.values);
  return state[QuickReplyIds.pickBlock]?.[QuickReplyIds.pickAction]?.selected_option?.value ?? null;
}

/**
 * The list's buttons (Add, Edit, Delete, pages), the thread header's *Quick reply*, and the
 * picker's select and search, each answered by updating the modal it came from.
 */
export function registerQuickReplyActions(app: App, deps: QuickReplyActionDeps): void {
  const listPage = (view: ViewOfAction) => readMetadata(listMetadata, view.private_metadata)?.page ?? 0;

  const openEditor = async (body: BlockAction, client: App['client'], id: string | null) => {
    const view = body.view;
    if (!view) return;
    const page = listPage(view);
    if (!(await deps.mayManage(body.user.id))) {
      await client.views.update({ view_id: view.id, view: await deps.listView(page, deps.refusal()) });
      return;
    }
    const editor = await deps.editView(id, { id, listViewId: view.id, page });
    if (!editor) {
      await client.views.update({
        view_id: view.id,
        view: await deps.listView(page, 'That quick reply was deleted meanwhile.'),
      });
      return;
    }
    await client.views.push({ trigger_id: body.trigger_id, view: editor });
  };

  app.action<BlockAction>(QuickReplyIds.add, async ({ ack, body, client }) => {
    await ack();
    await openEditor(body, client, null);
  });

  app.action<BlockAction>(QuickReplyIds.edit, async ({ ack, body, action, client }) => {
    await ack();
    const id = actionValue(action);
    if (id) await openEditor(body, client, id);
  });

  app.action<BlockAction>(QuickReplyIds.remove, async ({ ack, body, action, client }) => {
    await ack();
    const id = actionValue(action);
    if (!id || !body.view) return;
    const result = await deps.remove(body.user.id, id);
    const notice = !result.ok
      ? result.refused
      : result.title === null
        ? 'That quick reply was already deleted.'
        : `:wastebasket: Deleted "${escapeSlackText(result.title)}".`;
    await client.views.update({ view_id: body.view.id, view: await deps.listView(listPage(body.view), notice) });
  });

  app.action<BlockAction>(new RegExp(`^${QuickReplyIds.page}:`), async ({ ack, body, action, client }) => {
    await ack();
    const page = Number(actionValue(action));
    if (!body.view || !Number.isInteger(page) || page < 0) return;
    await client.views.update({ view_id: body.view.id, view: await deps.listView(page) });
  });

  app.action<BlockAction>(ActionId.openQuickReplies, async ({ ack, body, client }) => {
    await ack();
    const channelId = body.channel?.id ?? body.container?.channel_id;
    const message = body.message as { ts?: string; thread_ts?: string } | undefined;
    const threadTs = message?.thread_ts ?? message?.ts;
    if (typeof channelId !== 'string' || typeof threadTs !== 'string') return;
    const metadata = pickerMetadata.safeParse({ channelId, threadTs, search: '' });
    await client.views.open({
      trigger_id: body.trigger_id,
      view: metadata.success
        ? await deps.pickerView(metadata.data, body.user.id, null)
        : quickReplyMessageView('Quick reply', ':warning: This is not a conversation thread.'),
    });
  });

  const updatePicker = async (
    body: BlockAction,
    client: App['client'],
    change: (metadata: PickerMetadata) => PickerMetadata,
    selectedId: string | null,
  ) => {
    const view = body.view;
    const metadata = readMetadata(pickerMetadata, view?.private_metadata);
    if (!view || !metadata) return;
    await client.views.update({
      view_id: view.id,
      hash: view.hash,
      view: await deps.pickerView(change(metadata), body.user.id, selectedId),
    });
  };

  app.action<BlockAction>(QuickReplyIds.pickAction, async ({ ack, body, action, client }) => {
    await ack();
    await updatePicker(body, client, (metadata) => metadata, selectedOption(action));
  });

  app.action<BlockAction>(QuickReplyIds.searchAction, async ({ ack, body, action, client }) => {
    await ack();
    const search = (actionValue(action) ?? '').trim().slice(0, 200);
    await updatePicker(body, client, (metadata) => ({ ...metadata, search }), pickedReplyId(body.view));
  });
}
