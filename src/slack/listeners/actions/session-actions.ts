import type { App, BlockAction } from '@slack/bolt';
import type { HomeState } from '../../views/sessions-views.js';
import { SessionIds } from '../../views/sessions-views.js';
import { actionValue } from '../action-value.js';

type Deps = {
  publishHome(userId: string, state?: HomeState): Promise<void>;
  removeSession(userId: string, contactId: string): Promise<void>;
  startChat(userId: string, contactId: string): Promise<string>;
  openNoteModal(triggerId: string, contactId: string): Promise<void>;
  openHistoryFor(triggerId: string, userId: string, contactId: string): Promise<void>;
};

const homeStateOf = (body: BlockAction): HomeState => {
  try {
    const state = JSON.parse(body.view?.private_metadata ?? '{}') as Partial<HomeState>;
    return { query: state.query ?? '', sendingNumberId: state.sendingNumberId ?? null, page: state.page ?? 0 };
  } catch {
    return { query: '', sendingNumberId: null, page: 0 };
  }
};

/** My Sessions / All Sessions actions (App Home and thread headers). */
export function registerSessionActions(app: App, deps: Deps): void {
  const reply = async (
    body: BlockAction,
    respond: (m: { response_type: 'ephemeral'; replace_original: false; text: string }) => Promise<unknown>,
    text: string,
  ) => {
    if (body.container?.type === 'message')
      await respond({ response_type: 'ephemeral', replace_original: false, text });
  };
  app.action<BlockAction>(SessionIds.remove, async ({ ack, body, action }) => {
    await ack();
    const contactId = actionValue(action);
    if (!contactId) return;
    await deps.removeSession(body.user.id, contactId);
    await deps.publishHome(body.user.id, homeStateOf(body));
  });
  app.action<BlockAction>(SessionIds.startChat, async ({ ack, body, action, respond }) => {
    await ack();
    const contactId = actionValue(action);
    if (!contactId) return;
    const text = await deps.startChat(body.user.id, contactId);
    if (body.view?.type === 'home') await deps.publishHome(body.user.id, homeStateOf(body));
    await reply(body, respond, text);
  });
  app.action<BlockAction>(SessionIds.editNote, async ({ ack, body, action }) => {
    await ack();
    const contactId = actionValue(action);
    if (contactId) await deps.openNoteModal(body.trigger_id, contactId);
  });
  app.action<BlockAction>(SessionIds.openHistory, async ({ ack, body, action }) => {
    await ack();
    const contactId = actionValue(action);
    if (contactId) await deps.openHistoryFor(body.trigger_id, body.user.id, contactId);
  });
  app.action<BlockAction>(SessionIds.homeSearchAction, async ({ ack, body, action }) => {
    await ack();
    const query = 'value' in action && typeof action.value === 'string' ? action.value.slice(0, 100) : '';
    await deps.publishHome(body.user.id, { ...homeStateOf(body), query, page: 0 });
  });
  app.action<BlockAction>(SessionIds.homeNumberFilter, async ({ ack, body, action }) => {
    await ack();
    const value = action.type === 'static_select' ? (action.selected_option?.value ?? '*') : '*';
    await deps.publishHome(body.user.id, {
      ...homeStateOf(body),
      sendingNumberId: value === '*' ? null : value,
      page: 0,
    });
  });
  app.action<BlockAction>(new RegExp(`^${SessionIds.homePage}:`), async ({ ack, body, action }) => {
    await ack();
    try {
      const state = JSON.parse(actionValue(action) ?? '{}') as HomeState;
      await deps.publishHome(body.user.id, {
        query: String(state.query ?? '').slice(0, 100),
        sendingNumberId: state.sendingNumberId ?? null,
        page: Math.max(0, Math.min(10_000, Number(state.page) || 0)),
      });
    } catch {
      await deps.publishHome(body.user.id);
    }
  });
}
