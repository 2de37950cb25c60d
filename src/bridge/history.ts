import { csvLine } from '../shared/csv.js';
import type { ConversationStatus, MessageRecord } from './records.js';

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
  /** The conversation's owner and status now (the team inbox). */
  owner_user_id: string | null;
  conversation_status: ConversationStatus;
  /** The current conversation's opening and first agent answer after it. */
  opened_at: number | null;
  first_response_at: number | null;
};

/** Seconds from the conversation's opening to its first agent answer ('' while unanswered). */
function firstResponseSeconds(entry: HistoryEntry): string {
  if (entry.opened_at === null || entry.first_response_at === null) return '';
  return String(Math.max(0, Math.round((entry.first_response_at - entry.opened_at) / 1000)));
}

export interface HistoryRepository {
  /** Newest first; with `takenPartBy`, only conversations that user took part in (see createHistory). */
  history(
    filter: HistoryFilter & {
      takenPartBy?: string;
      limit: number;
      offset: number;
      /** Only rows after this one in the history's order (newest first, then by id). */
      after?: { created_at: number; id: string };
    },
  ): Promise<HistoryEntry[]>;
  /** Whether the filter matches messages in conversations this user did not take part in. */
  historyHiddenFrom(filter: HistoryFilter, slackUserId: string): Promise<boolean>;
}

export const HISTORY_PAGE_SIZE = 20;
/** Rows per page of an export: what it holds at a time (in the SQLite thread too), whatever its length. */
export const HISTORY_EXPORT_PAGE = 1000;

/**
 * History for team leads: messages both ways with delivery status. Anyone who is not a lead
 * sees only the conversations they took part in: those where they sent a message as the agent (a
 * reply in the thread, a template from it) that went to WhatsApp, not one refused or never sent. Keeping the number in My Sessions (anyone can, with
 * `/wa chat`), setting its note or launching a campaign that reached it does not count.
 */
export function createHistory(deps: {
  repository: HistoryRepository;
  isLead(userId: string): Promise<boolean>;
  /** Who the leads are, for the refusal message. */
  leads?: string;
}) {
  return {
    async page(
      userId: string,
      filter: HistoryFilter,
      page: number,
    ): Promise<{ entries: HistoryEntry[]; hasMore: boolean; restricted: boolean }> {
      const lead = await deps.isLead(userId);
      // The restriction is part of the query, so pages are full and "more" means more visible.
      const rows = await deps.repository.history({
        ...filter,
        ...(lead ? {} : { takenPartBy: userId }),
        limit: HISTORY_PAGE_SIZE + 1,
        offset: page * HISTORY_PAGE_SIZE,
      });
      return {
        entries: rows.slice(0, HISTORY_PAGE_SIZE),
        hasMore: rows.length > HISTORY_PAGE_SIZE,
        restricted: !lead && (await deps.repository.historyHiddenFrom(filter, userId)),
      };
    },
    /**
     * Writes the CSV to `out` page by page (keyset, so the thousandth page costs what the first
     * does), each page's lines turned into bytes at once and handed over before the next page is
     * read: the export holds one page, however long the range.
     */
    async exportCsv(
      userId: string,
      filter: HistoryFilter,
      out: { write(chunk: Buffer): Promise<void> },
    ): Promise<{ ok: true; rows: number } | { ok: false; error: string }> {
      if (!(await deps.isLead(userId)))
        return { ok: false, error: `Only ${deps.leads ?? 'the people listed in LEADS'} can export history.` };
      await out.write(
        Buffer.from(
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
            'owner',
            'conversation_status',
            'first_response_seconds',
          ]),
        ),
      );
      let after: { created_at: number; id: string } | undefined;
      let count = 0;
      for (;;) {
        const rows = await deps.repository.history({
          ...filter,
          limit: HISTORY_EXPORT_PAGE,
          offset: 0,
          ...(after ? { after } : {}),
        });
        let page = '';
        for (const r of rows) {
          page += csvLine([
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
            r.owner_user_id,
            r.conversation_status,
            firstResponseSeconds(r),
          ]);
        }
        await out.write(Buffer.from(page));
        count += rows.length;
        const last = rows.at(-1);
        if (!last || rows.length < HISTORY_EXPORT_PAGE) break;
        after = { created_at: last.created_at, id: last.id };
      }
      return { ok: true, rows: count };
    },
  };
}
export type History = ReturnType<typeof createHistory>;
