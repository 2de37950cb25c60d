import type { WebClient } from '@slack/web-api';
import type { History, HistoryFilter } from '../../bridge/history.js';
import type { RoleCheck } from '../../bridge/permissions.js';
import { parseInternationalNumber } from '../../bridge/phone-number.js';
import type { ConversationStore } from '../../db/stores/conversation-store.js';
import { createSpoolFile } from '../../shared/spool-file.js';
import { startOfDay, type TimeZone, UTC_ZONE } from '../../shared/zoned-time.js';
import { describeFileDelivery, type UserFileDelivery } from '../../slack/user-file-delivery.js';
import { HistoryIds, type HistoryQuery, historyModal } from '../../slack/views/history-views.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** How long a search waits for message links before showing the entries without the missing ones. */
const PERMALINK_WAIT_MS = 1_000;

/**
 * What the modal's fields say, as a history filter, or the field that is wrong and why. The dates
 * are whole days in the viewer's time zone, both ends included.
 */
export function historyFilterOf(
  query: HistoryQuery,
  zone: TimeZone = UTC_ZONE,
): { ok: true; filter: HistoryFilter } | { ok: false; field: string; error: string } {
  const filter: HistoryFilter = {};
  if (query.contactId) filter.contactIds = [query.contactId];
  if (query.phoneNumber) {
    const parsed = parseInternationalNumber(query.phoneNumber);
    if (!parsed.ok) return { ok: false, field: HistoryIds.numberBlock, error: parsed.reason };
    filter.phoneNumber = parsed.e164;
  }
  if (query.sendingNumberId) filter.sendingNumberId = query.sendingNumberId;
  if (query.from) filter.from = startOfDay(query.from, zone);
  // The next day's start (not +24 h: a day with a daylight-saving change is 23 or 25 hours long).
  if (query.to)
    filter.to = startOfDay(new Date(Date.parse(`${query.to}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10), zone);
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
  timeZoneOf(userId: string): Promise<TimeZone>;
  /** A message's link in Slack (chat.getPermalink, cached), null when Slack will not say. */
  permalink(channelId: string, ts: string): Promise<string | null>;
}) {
  // A search answers inside Slack's 3-second acknowledgement: the viewer's zone is awaited first
  // only when dates need it, and links Slack is slow to give are left out (they are cached for the
  // next page once they come).
  async function render(userId: string, query: HistoryQuery) {
    const zoneLookup = deps.timeZoneOf(userId);
    const checked = historyFilterOf(query, query.from || query.to ? await zoneLookup : UTC_ZONE);
    if (!checked.ok) return checked;
    const [results, numbers, canExport, zone] = await Promise.all([
      deps.history.page(userId, checked.filter, query.page),
      deps.conversations.listSendingNumbers(),
      deps.isLead(userId),
      zoneLookup,
    ]);
    const links = new Map<string, string>();
    const lookups = Promise.all(
      results.entries.map(async (entry) => {
        if (!entry.slack_channel_id || !entry.slack_ts) return;
        const link = await deps.permalink(entry.slack_channel_id, entry.slack_ts);
        if (link) links.set(entry.id, link);
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      lookups,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, PERMALINK_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    let title = 'WhatsApp history';
    if (query.contactId) {
      const contact = await deps.conversations.getContact(query.contactId);
      if (contact?.phone_number) title = `History ${contact.phone_number}`;
    }
    return {
      ok: true as const,
      view: historyModal({ query, numbers, results, canExport, title, zone, links }),
    };
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
      const checked = historyFilterOf(query, await deps.timeZoneOf(userId));
      if (!checked.ok) return checked.error;
      const filename = 'whatsapp-history.csv';
      // Written to a file and streamed to Slack from it: a year of history is never in memory whole.
      const spool = await createSpoolFile(filename);
      try {
        const result = await deps.history.exportCsv(userId, checked.filter, spool);
        await spool.close();
        if (!result.ok) return `:no_entry: ${result.error}`;
        const outcome = await deps.deliverFile(
          userId,
          { path: spool.path, length: spool.length, filename, title: 'WhatsApp history export', mimeType: 'text/csv' },
          `${result.rows} messages exported.`,
        );
        return describeFileDelivery(outcome, `The CSV (${result.rows} messages)`, filename);
      } finally {
        await spool.remove();
      }
    },
  };
}
