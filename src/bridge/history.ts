import { csvLine } from '../shared/csv.js';
import type { MessageRecord } from './records.js';

export type HistoryFilter = {
  phoneNumber?: string;
  sendingNumberId?: string;
  contactIds?: string[];
  from?: number;
  to?: number;
};

export type HistoryEntry = MessageRecord & {
  contact_phone: string | null;
  sending_number_id: string;
  profile_name: string | null;
};

export interface HistoryRepository {
  history(filter: HistoryFilter & { limit: number; offset: number }): Promise<HistoryEntry[]>;
  participated(slackUserId: string, contactId: string): Promise<boolean>;
}

export const HISTORY_PAGE_SIZE = 20;

/**
 * History for team leads: messages both ways with delivery status. When LEADS is set, others only
 * see conversations they took part in (wrote in, or keep in My Sessions).
 */
export function createHistory(deps: { repository: HistoryRepository; isLead(userId: string): Promise<boolean> }) {
  async function visible(userId: string, entries: HistoryEntry[]): Promise<HistoryEntry[]> {
    if (await deps.isLead(userId)) return entries;
    const allowed = new Map<string, boolean>();
    const result: HistoryEntry[] = [];
    for (const entry of entries) {
      let ok = allowed.get(entry.contact_id);
      if (ok === undefined) {
        ok = await deps.repository.participated(userId, entry.contact_id);
        allowed.set(entry.contact_id, ok);
      }
      if (ok) result.push(entry);
    }
    return result;
  }

  return {
    async page(
      userId: string,
      filter: HistoryFilter,
      page: number,
    ): Promise<{ entries: HistoryEntry[]; hasMore: boolean; restricted: boolean }> {
      const lead = await deps.isLead(userId);
      const rows = await deps.repository.history({
        ...filter,
        limit: HISTORY_PAGE_SIZE + 1,
        offset: page * HISTORY_PAGE_SIZE,
      });
      const entries = lead ? rows : await visible(userId, rows);
      return {
        entries: entries.slice(0, HISTORY_PAGE_SIZE),
        hasMore: rows.length > HISTORY_PAGE_SIZE,
        restricted: !lead && entries.length < rows.length,
      };
    },
    async exportCsv(
      userId: string,
      filter: HistoryFilter,
    ): Promise<{ ok: true; csv: Buffer; rows: number } | { ok: false; error: string }> {
      if (!(await deps.isLead(userId)))
        return { ok: false, error: 'Only the people listed in LEADS can export history.' };
      const lines = [
        csvLine([
          'time',
          'direction',
          'contact',
          'name',
          'sending_number',
          'type',
          'text',
          'status',
          'error',
          'source',
          'agent',
        ]),
      ];
      let offset = 0;
      let count = 0;
      for (;;) {
        const rows = await deps.repository.history({ ...filter, limit: 1000, offset });
        for (const r of rows) {
          lines.push(
            csvLine([
              new Date(r.created_at).toISOString(),
              r.direction,
              r.contact_phone,
              r.profile_name,
              r.sending_number_id,
              r.kind,
              r.body ?? (r.created_at ? '(purged)' : ''),
              r.status,
              r.error_detail,
              r.source,
              r.author_slack_user_id,
            ]),
          );
        }
        count += rows.length;
        if (rows.length < 1000) break;
        offset += 1000;
      }
      return { ok: true, csv: Buffer.from(lines.join('')), rows: count };
    },
  };
}
export type History = ReturnType<typeof createHistory>;
