import type { App, BlockAction } from '@slack/bolt';
import { HistoryIds, type HistoryQuery } from '../../views/history-views.js';
import { parseViewState, type SlackViewState } from '../../views/template-form.js';

type ViewState = SlackViewState;

export function queryFromState(previous: HistoryQuery, state: ViewState): HistoryQuery {
  return {
    phoneNumber: state[HistoryIds.numberBlock]?.[HistoryIds.numberAction]?.value?.trim() || null,
    sendingNumberId: sendingChoice(state[HistoryIds.sendingBlock]?.[HistoryIds.sendingAction]?.selected_option?.value),
    contactId: previous.contactId,
    from: state[HistoryIds.fromBlock]?.[HistoryIds.dateAction]?.selected_date ?? null,
    to: state[HistoryIds.toBlock]?.[HistoryIds.dateAction]?.selected_date ?? null,
    page: 0,
  };
}

/** *All sending numbers* (or nothing chosen) filters nothing. */
function sendingChoice(value: string | undefined): string | null {
  return !value || value === HistoryIds.allSendingNumbers ? null : value;
}

export function parseHistoryQuery(raw: string | undefined): HistoryQuery {
  try {
    const q = JSON.parse(raw ?? '{}') as Partial<HistoryQuery>;
    return {
      phoneNumber: q.phoneNumber ?? null,
      sendingNumberId: q.sendingNumberId ?? null,
      contactId: q.contactId ?? null,
      from: q.from ?? null,
      to: q.to ?? null,
      page: Number(q.page) || 0,
    };
  } catch {
    return { phoneNumber: null, sendingNumberId: null, contactId: null, from: null, to: null, page: 0 };
  }
}

/** Search submits, paging and export inside the history modal. */
export function registerHistoryModal(
  app: App,
  deps: {
    render(
      userId: string,
      query: HistoryQuery,
    ): Promise<
      | { ok: true; view: ReturnType<typeof import('../../views/history-views.js').historyModal> }
      | { ok: false; field: string; error: string }
    >;
    exportCsv(userId: string, query: HistoryQuery): Promise<string>;
  },
): void {
  app.view(HistoryIds.callback, async ({ ack, view, body }) => {
    const query = queryFromState(parseHistoryQuery(view.private_metadata), parseViewState(view.state.values));
    const result = await deps.render(body.user.id, query);
    if (!result.ok) {
      await ack({ response_action: 'errors', errors: { [result.field]: result.error } });
      return;
    }
    await ack({ response_action: 'update', view: result.view });
  });
  app.action<BlockAction>(new RegExp(`^${HistoryIds.page}:`), async ({ ack, body, action, client }) => {
    await ack();
    const view = body.view;
    if (!view) return;
    const page = Math.max(0, Number('value' in action ? action.value : 0) || 0);
    const result = await deps.render(body.user.id, { ...parseHistoryQuery(view.private_metadata), page });
    if (result.ok) await client.views.update({ view_id: view.id, hash: view.hash, view: result.view });
  });
  app.action<BlockAction>(HistoryIds.exportCsv, async ({ ack, body, client }) => {
    await ack();
    const view = body.view;
    if (!view) return;
    const text = await deps.exportCsv(body.user.id, parseHistoryQuery(view.private_metadata));
    await client.views.push({
      trigger_id: body.trigger_id,
      view: {
        type: 'modal',
        title: { type: 'plain_text', text: 'Export' },
        close: { type: 'plain_text', text: 'OK' },
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
      },
    });
  });
}
