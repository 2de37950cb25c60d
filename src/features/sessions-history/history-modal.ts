import type { WebClient } from '@slack/web-api';
import type { History, HistoryFilter } from '../../bridge/history.js';
import type { RoleCheck } from '../../bridge/permissions.js';
import { parseInternationalNumber } from '../../bridge/phone-number.js';
import type { ConversationStore } from '../../db/stores/conversation-store.js';
import { describeFileDelivery, type UserFileDelivery } from '../../slack/user-file-delivery.js';
import { HistoryIds, type HistoryQuery, historyModal } from '../../slack/views/history-views.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What the modal's fields say, as a history filter, or the field that is wrong and why. */
export function historyFilterOf(
  query: HistoryQuery,
): { ok: true; filter: HistoryFilter } | { ok: false; field: string; error: string } {
  const filter: HistoryFilter = {};
  if (query.contactId) filter.contactIds = [query.contactId];
  if (query.phoneNumber) {
    const parsed = parseInternationalNumber(query.phoneNumber);
    if (!parsed.ok) return { ok: false, field: HistoryIds.numberBlock, error: parsed.reason };
    filter.phoneNumber = parsed.e164;
  }
  if (query.sendingNumberId) filter.sendingNumberId = query.sendingNumberId;
  if (query.from) filter.from = Date.parse(`${query.from}T00:00:00Z`);
  if (query.to) filter.to = Date.parse(`${query.to}T00:00:00Z`) + DAY_MS;
  if (filter.from !== undefined && filter.to !== undefined && filter.from >= filter.to) {
    return { ok: false, field: HistoryIds.toBlock, error: 'The end date must be on or after the start date.' };
  }
  return { ok: true, filter };
}

/** The history modal: opened from shortcuts, `/wa history` and App Home; searched, paged, exported. */
export function createHistoryModal(deps: {
  history: History;
  conversations: ConversationStore;
  isLead: RoleCheck;
  client: WebClient;
  deliverFile: UserFileDelivery;
}) {
  async function render(userId: string, query: HistoryQuery) {
    const checked = historyFilterOf(query);
    if (!checked.ok) return checked;
    const [results, numbers, canExport] = await Promise.all([
      deps.history.page(userId, checked.filter, query.page),
      deps.conversations.listSendingNumbers(),
      deps.isLead(userId),
    ]);
    let title = 'WhatsApp history';
    if (query.contactId) {
      const contact = await deps.conversations.getContact(query.contactId);
      if (contact?.phone_number) title = `History ${contact.phone_number}`;
    }
    return { ok: true as const, view: historyModal({ query, numbers, results, canExport, title }) };
  }

  return {
    render,
    async open(triggerId: string, userId: string, query: Partial<HistoryQuery>): Promise<void> {
      const full: HistoryQuery = {
        phoneNumber: null,
        sendingNumberId: null,
        contactId: null,
        from: null,
        to: null,
        page: 0,
        ...query,
      };
      const rendered = await render(userId, full);
      const view = rendered.ok
        ? rendered.view
        : historyModal({
            query: full,
            numbers: await deps.conversations.listSendingNumbers(),
            results: null,
            canExport: false,
          });
      await deps.client.views.open({ trigger_id: triggerId, view });
    },
    /** The export goes to the lead's DM (or, if Slack refuses it, behind a link); returns what to tell them. */
    async exportCsv(userId: string, query: HistoryQuery): Promise<string> {
      const checked = historyFilterOf(query);
      if (!checked.ok) return checked.error;
      const result = await deps.history.exportCsv(userId, checked.filter);
      if (!result.ok) return `:no_entry: ${result.error}`;
      const filename = 'whatsapp-history.csv';
      const outcome = await deps.deliverFile(
        userId,
        { bytes: result.csv, filename, title: 'WhatsApp history export', mimeType: 'text/csv' },
        `${result.rows} messages exported.`,
      );
      return describeFileDelivery(outcome, `The CSV (${result.rows} messages)`, filename);
    },
  };
}
