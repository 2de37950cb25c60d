import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from 'kysely';
import type { ConversationEventKind } from '../../bridge/records.js';
import type { Database } from '../database.js';

/** One conversation in a queue, with its thread (null: none posted yet). */
export type QueueRow = {
  id: string;
  sending_number_id: string;
  phone_number: string | null;
  profile_name: string | null;
  owner_user_id: string | null;
  status: string;
  waiting_since: number | null;
  last_message_at: number | null;
  status_changed_at: number | null;
  slack_channel_id: string | null;
  thread_ts: string | null;
};

/** `atLeast`: there are more than `total` (a count that stopped at the store's cap). */
export type QueuePage = { rows: QueueRow[]; total: number; atLeast: boolean };

/**
 * *Unassigned* and *Mine* are counted up to this many: a year of conversations nobody resolved would
 * otherwise make every App Home publish count all of them (issue #18: the Home's cost must not grow
 * with history). *Waiting on us* is always counted in full: nobody waiting may go unseen.
 */
export const QUEUE_COUNT_CAP = 1000;

/** Whose queue: an agent sees what they can act on (theirs and nobody's), a lead the whole team's. */
export type QueueScope = { userId: string; team: boolean };

export type InboxPeriodStats = {
  opened: number;
  reopened: number;
  resolved: number;
  firstResponses: number;
  /** Nearest-rank percentiles of first-response times in the period (null: none answered). */
  firstResponseP50Ms: number | null;
  firstResponseP90Ms: number | null;
};

/** A conversation whose place in the queues changed: whose Homes it touches. */
export type QueueChange = { key: string; contactId: string; ownerUserId: string | null; anyoneMayCare: boolean };

export type OwnerLoad = { ownerUserId: string; waiting: number };

const QUEUE_COLUMNS = [
  'id',
  'sending_number_id',
  'phone_number',
  'profile_name',
  'owner_user_id',
  'status',
  'waiting_since',
  'last_message_at',
  'status_changed_at',
] as const;

type ContactExpressions = ExpressionBuilder<Database, 'contact'>;

/** The nearest-rank percentile's rank (1-based) among n values: the smallest with at least p% at or below it. */
export function nearestRankIndex(n: number, p: number): number {
  return Math.max(1, Math.ceil((p * n) / 100)); // p·n first: (p / 100)·n can land just above a whole number
}

/**
 * The App Home queues (issue #16 item 4) and the leads' figures, read from the inbox columns of
 * `contact` and from `conversation_event` (migrations/2026_12_04_1500_team_inbox.ts).
 *
 * Every list reads one index and stops at its page: *Waiting on us* walks contact(status,
 * waiting_since) backwards from the newest need; *Mine* reads contact(owner_user_id); the figures
 * read conversation_event(kind, at) over a time range. Counts read the same index ranges.
 *
 * Longer than 150 lines on purpose: a store is one closure of short queries sharing its connection
 * (and compiled statements); each method is the unit to read.
 */
export function createInboxQueueStore(db: Kysely<Database>, options: { countCap?: number } = {}) {
  const countCap = options.countCap ?? QUEUE_COUNT_CAP;
  /** The customer wrote last and no agent has answered since. */
  const waitingOnUs = (eb: ContactExpressions, scope: QueueScope): Expression<SqlBool> => {
    const waiting = eb.and([eb('status', '=', 'open'), eb('waiting_since', 'is not', null)]);
    if (scope.team) return waiting;
    return eb.and([waiting, eb.or([eb('owner_user_id', '=', scope.userId), eb('owner_user_id', 'is', null)])]);
  };

  /** Not resolved and not waiting on us: an agent answered last (or nobody has written yet). */
  const answered = (eb: ContactExpressions): Expression<SqlBool> =>
    eb.or([eb('status', '=', 'waiting'), eb.and([eb('status', '=', 'open'), eb('waiting_since', 'is', null)])]);

  /** The active thread of each listed conversation (one indexed lookup for the page). */
  async function withThreads(rows: Omit<QueueRow, 'slack_channel_id' | 'thread_ts'>[]): Promise<QueueRow[]> {
    if (rows.length === 0) return [];
    const threads = await db
      .selectFrom('slack_thread')
      .select(['contact_id', 'slack_channel_id', 'thread_ts'])
      .where(
        'contact_id',
        'in',
        rows.map((r) => r.id),
      )
      .where('active', '=', 1)
      .execute();
    const byContact = new Map(threads.map((t) => [t.contact_id, t]));
    return rows.map((row) => {
      const thread = byContact.get(row.id);
      return { ...row, slack_channel_id: thread?.slack_channel_id ?? null, thread_ts: thread?.thread_ts ?? null };
    });
  }

  /** How many match, reading at most `countCap + 1` index entries. */
  const cappedCount = async (where: (eb: ContactExpressions) => Expression<SqlBool>) => {
    const row = await db
      .selectFrom((qb) =>
        qb
          .selectFrom('contact')
          .select(sql<number>`1`.as('one'))
          .where(where)
          .limit(countCap + 1)
          .as('capped'),
      )
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    const n = Number(row.n);
    return n > countCap ? { total: countCap, atLeast: true } : { total: n, atLeast: false };
  };

  /** A page of conversations where an agent answered last, the most recently changed first. */
  const answeredPage = async (where: (eb: ContactExpressions) => Expression<SqlBool>, limit: number) => {
    const [rows, counted] = await Promise.all([
      db
        .selectFrom('contact')
        .select(QUEUE_COLUMNS)
        .where(where)
        .orderBy(sql`coalesce(status_changed_at, last_message_at, created_at)`, 'desc')
        .orderBy('id')
        .limit(limit)
        .execute(),
      cappedCount(where),
    ]);
    return { rows: await withThreads(rows), ...counted };
  };

  return {
    /** *Waiting on us*, the newest need first, with how many there are and since when the oldest waits. */
    async waitingOnUs(scope: QueueScope, limit: number): Promise<QueuePage & { oldestSince: number | null }> {
      const [rows, summary] = await Promise.all([
        db
          .selectFrom('contact')
          .select(QUEUE_COLUMNS)
          .where((eb) => waitingOnUs(eb, scope))
          .orderBy('waiting_since', 'desc')
          .orderBy('id')
          .limit(limit)
          .execute(),
        db
          .selectFrom('contact')
          .select((eb) => [eb.fn.countAll<number | string>().as('n'), eb.fn.min('waiting_since').as('oldest')])
          .where((eb) => waitingOnUs(eb, scope))
          .executeTakeFirstOrThrow(),
      ]);
      return {
        rows: await withThreads(rows),
        total: Number(summary.n),
        atLeast: false,
        oldestSince: summary.oldest === null ? null : Number(summary.oldest),
      };
    },

    /** *Unassigned*: nobody owns it, nobody waits on us (those are under *Waiting on us*); newest first. */
    async unassigned(limit: number): Promise<QueuePage> {
      return answeredPage((eb) => eb.and([answered(eb), eb('owner_user_id', 'is', null)]), limit);
    },

    /** *Mine*: the user's conversations that wait on the customer (theirs waiting on us are listed above). */
    async mine(userId: string, limit: number): Promise<QueuePage> {
      return answeredPage((eb) => eb.and([eb('owner_user_id', '=', userId), answered(eb)]), limit);
    },

    /** How many customers wait on each owner (and on nobody), most first: the team's queue for leads. */
    async waitingByOwner(limit: number): Promise<{ owners: OwnerLoad[]; unowned: number }> {
      // Grouped by an expression, not the column: grouping by the column lets SQLite walk all of
      // contact(owner_user_id), resolved history included, instead of the waiting range alone.
      const rows = await db
        .selectFrom('contact')
        .select((eb) => [
          eb.fn.coalesce('owner_user_id', sql<string>`''`).as('owner'),
          eb.fn.countAll<number | string>().as('n'),
        ])
        .where('status', '=', 'open')
        .where('waiting_since', 'is not', null)
        .groupBy(sql`coalesce(owner_user_id, '')`)
        .execute();
      const owners = rows
        .filter((r) => r.owner !== '')
        .map((r) => ({ ownerUserId: r.owner, waiting: Number(r.n) }))
        .sort((a, b) => b.waiting - a.waiting || a.ownerUserId.localeCompare(b.ownerUserId))
        .slice(0, limit);
      return { owners, unowned: Number(rows.find((r) => r.owner === '')?.n ?? 0) };
    },

    /**
     * What moved in the queues: status changes (contact(status_changed_at), see
     * migrations/2026_12_04_1600_queue_changes.ts) and ownership changes and resolves
     * (conversation_event(kind, at)) after `since.stamped`, all stamped with a server's clock; and
     * conversations opened or reopened by a customer after `since.messages`, which are stamped with
     * the message's own time and so may arrive late. Each change has a key, so a caller reading
     * overlapping windows can tell the ones it has seen.
     */
    async changesSince(since: { stamped: number; messages: number }): Promise<QueueChange[]> {
      const events = (kinds: ConversationEventKind[], after: number) =>
        db
          .selectFrom('conversation_event')
          .select(['id', 'contact_id', 'kind', 'owner_user_id'])
          .where('kind', 'in', kinds)
          .where('at', '>', after)
          .execute();
      const [statuses, changes, openings] = await Promise.all([
        db
          .selectFrom('contact')
          .select(['id', 'owner_user_id', 'status_changed_at'])
          .where('status_changed_at', '>', since.stamped)
          .execute(),
        events(['assigned', 'unassigned', 'resolved'], since.stamped),
        events(['opened', 'reopened'], since.messages),
      ]);
      const eventRows = [...changes, ...openings];
      return [
        ...statuses.map((c) => ({
          key: `status:${c.id}:${c.status_changed_at}`,
          contactId: c.id,
          ownerUserId: c.owner_user_id,
          anyoneMayCare: c.owner_user_id === null,
        })),
        ...eventRows.map((e) => ({
          key: `event:${e.id}`,
          contactId: e.contact_id,
          ownerUserId: e.owner_user_id,
          // An owner change moves it in or out of Unassigned (and out of the previous owner's Mine).
          anyoneMayCare: e.owner_user_id === null || e.kind === 'assigned' || e.kind === 'unassigned',
        })),
      ];
    },

    /**
     * Conversations opened, reopened and resolved, and first-response times, since each start
     * (e.g. today's midnight and seven days ago), all from conversation_event(kind, at).
     */
    async periodStats(starts: readonly number[], until: number): Promise<InboxPeriodStats[]> {
      const earliest = Math.min(...starts);
      const counted = await db
        .selectFrom('conversation_event')
        .select((eb) => [
          'kind',
          ...starts.map((start, i) =>
            eb.fn.sum<number | string>(eb.case().when('at', '>=', start).then(1).else(0).end()).as(`since_${i}`),
          ),
        ])
        .where('kind', 'in', ['opened', 'reopened', 'resolved', 'first_response'])
        .where('at', '>=', earliest)
        .where('at', '<=', until)
        .groupBy('kind')
        .execute();
      const countOf = (kind: string, i: number) => {
        const row = counted.find((r) => r.kind === kind) as Record<string, unknown> | undefined;
        return Number(row?.[`since_${i}`] ?? 0);
      };
      // The percentiles are picked in the database (the k-th smallest time), so a busy week's
      // thousands of response times are not carried over to be sorted here.
      const nth = async (start: number, rank: number): Promise<number | null> => {
        const row = await db
          .selectFrom('conversation_event')
          .select('response_ms')
          .where('kind', '=', 'first_response')
          .where('at', '>=', start)
          .where('at', '<=', until)
          .where('response_ms', 'is not', null)
          .orderBy('response_ms')
          .limit(1)
          .offset(rank - 1)
          .executeTakeFirst();
        return row?.response_ms === undefined || row.response_ms === null ? null : Number(row.response_ms);
      };
      return Promise.all(
        starts.map(async (start, i) => {
          const answered = countOf('first_response', i);
          const [p50, p90] =
            answered === 0
              ? [null, null]
              : await Promise.all([
                  nth(start, nearestRankIndex(answered, 50)),
                  nth(start, nearestRankIndex(answered, 90)),
                ]);
          return {
            opened: countOf('opened', i),
            reopened: countOf('reopened', i),
            resolved: countOf('resolved', i),
            firstResponses: answered,
            firstResponseP50Ms: p50,
            firstResponseP90Ms: p90,
          };
        }),
      );
    },
  };
}
export type InboxQueueStore = ReturnType<typeof createInboxQueueStore>;
