import type { App, BlockAction } from '@slack/bolt';
import { type AddSessionResult, MAX_SESSIONS_PER_AGENT } from '../../../db/stores/agent-session-store.js';
import { type HomeState, SessionIds, sessionNoticeModal } from '../../views/sessions-views.js';
import { actionValue } from '../action-value.js';

export type StartChatOutcome =
  | { ok: true; channelId: string; permalink: string | null; session: AddSessionResult }
  | { ok: false; error: string };

type Deps = {
  publishHome(userId: string, state?: HomeState): Promise<void>;
  removeSession(userId: string, contactId: string): Promise<void>;
  startChat(userId: string, contactId: string): Promise<StartChatOutcome>;
  openNoteModal(triggerId: string, contactId: string, origin: { fromHome: boolean }): Promise<void>;
  openHistoryFor(triggerId: string, userId: string, contactId: string): Promise<void>;
};

export function startChatText(outcome: StartChatOutcome): string {
  if (!outcome.ok) return `:warning: ${outcome.error}`;
  const where = outcome.permalink
    ? `<${outcome.permalink}|Open the conversation thread>.`
    : `The conversation is in <#${outcome.channelId}>.`;
  const session =
    outcome.session === 'limit_reached'
      ? ` :no_entry: It was *not* added to My Sessions: My Sessions holds at most ${MAX_SESSIONS_PER_AGENT} conversations; remove one first.`
      : outcome.session === 'added'
        ? ' Added to My Sessions.'
        : '';
  return `${where}${session}`;
}

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
  app.action<BlockAction>(SessionIds.remove, async ({ ack, body, action }) => {
    await ack();
    const contactId = actionValue(action);
    if (!contactId) return;
    await deps.removeSession(body.user.id, contactId);
    await deps.publishHome(body.user.id, homeStateOf(body));
  });
  app.action<BlockAction>(SessionIds.startChat, async ({ ack, body, action, respond, client, logger }) => {
    await ack();
    const contactId = actionValue(action);
    if (!contactId) return;
    if (body.container?.type === 'message') {
      const text = startChatText(await deps.startChat(body.user.id, contactId));
      await respond({ response_type: 'ephemeral', replace_original: false, text });
      return;
    }
    // App Home has no channel to answer in, so the answer is a small modal. It opens at once, while
    // the trigger is fresh (starting a thread can take longer than the trigger's 3 seconds).
    const opened = await client.views
      .open({ trigger_id: body.trigger_id, view: sessionNoticeModal('Opening the conversation…') })
      .catch((error: unknown) => {
        logger.warn(`could not open the start-chat notice: ${String(error)}`);
        return null;
      });
    const text = startChatText(await deps.startChat(body.user.id, contactId));
    const viewId = opened?.view?.id;
    if (viewId)
      await client.views
        .update({ view_id: viewId, view: sessionNoticeModal(text) })
        .catch((error: unknown) => logger.info(`start-chat notice closed before it was filled in: ${String(error)}`));
    if (body.view?.type === 'home') await deps.publishHome(body.user.id, homeStateOf(body));
  });
  app.action<BlockAction>(SessionIds.editNote, async ({ ack, body, action }) => {
    await ack();
    const contactId = actionValue(action);
    if (contactId) await deps.openNoteModal(body.trigger_id, contactId, { fromHome: body.view?.type === 'home' });
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
