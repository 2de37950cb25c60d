import { type ExpressionBuilder, type Kysely, PostgresAdapter, sql } from 'kysely';
import type { Database, MessageRow, MessageStatus, NewMessage } from '../database.js';
import { inPurgeBatches } from './purge-batches.js';

/** Rank of each status; a status update never moves a message backwards. */
export const STATUS_RANK: Record<MessageStatus, number> = {
  received: 0,
  queued: 0,
  sending: 1,
  sent: 2,
  delivered: 3,
  read: 4,
  failed: 5,
  refused: 5,
};

/** A message whose content retention has not purged yet (the condition of `message_content_created`). */
const hasContent = (eb: ExpressionBuilder<Database, 'message'>) =>
  eb.or([eb('body', 'is not', null), eb('media_json', 'is not', null)]);

export type HistoryRowsFilter = {
  contactIds?: string[];
  sendingNumberId?: string;
  phoneNumber?: string;
  from?: number;
  to?: number;
};

/**
 * Longer than 150 lines on purpose: a store is one closure of short queries sharing its connection
 * (and compiled statements); each method is the unit to read.
 */
export function createMessageStore(db: Kysely<Database>) {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  /**
   * Conversations (contact ids) in which this Slack user sent a message as an agent: one WhatsApp
   * took (it has WhatsApp's id). A reply the bridge refused, or one that never went out (queued,
   * failed before WhatsApp took it), is not taking part.
   */
  const tookPartIn = (slackUserId: string) =>
    db
      .selectFrom('message as own')
      .select('own.contact_id')
      .where('own.author_slack_user_id', '=', slackUserId)
      .where('own.source', '=', 'agent')
      .where('own.provider_message_id', 'is not', null);

  function historyRows(filter: HistoryRowsFilter) {
    let query = db.selectFrom('message').innerJoin('contact', 'contact.id', 'message.contact_id');
    if (filter.contactIds)
      query = query.where('message.contact_id', 'in', filter.contactIds.length ? filter.contactIds : ['']);
    if (filter.sendingNumberId) {
      // Alone, as `… || ''`: SQLite (no statistics) would otherwise start from the number's contacts
      // (half of all) and sort all their messages, where walking messages newest first finds a page at once.
      const selective = filter.phoneNumber !== undefined || filter.contactIds !== undefined;
      query = selective
        ? query.where('contact.sending_number_id', '=', filter.sendingNumberId)
        : query.where(sql<string>`${sql.ref('contact.sending_number_id')} || ''`, '=', filter.sendingNumberId);
    }
    if (filter.phoneNumber) query = query.where('contact.phone_number', '=', filter.phoneNumber);
    if (filter.from !== undefined) query = query.where('message.created_at', '>=', filter.from);
    if (filter.to !== undefined) query = query.where('message.created_at', '<', filter.to);
    return query;
  }

  return {
    /** Inserts unless a message with the same provider id exists; returns the stored row either way. */
    async insertOnce(message: NewMessage): Promise<{ row: MessageRow; created: boolean }> {
      const result = await db
        .insertInto('message')
        .values(message)
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      const created = Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
      const row = message.provider_message_id
        ? await db
            .selectFrom('message')
            .selectAll()
            .where('provider_message_id', '=', message.provider_message_id)
            .executeTakeFirst()
        : message.slack_channel_id && message.slack_ts
          ? await db
              .selectFrom('message')
              .selectAll()
              .where('slack_channel_id', '=', message.slack_channel_id)
              .where('slack_ts', '=', message.slack_ts)
              .executeTakeFirst()
          : await db.selectFrom('message').selectAll().where('id', '=', message.id).executeTakeFirst();
      if (!row) throw new Error('message vanished right after insert');
      return { row, created };
    },

    async get(id: string): Promise<MessageRow | undefined> {
      return db.selectFrom('message').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async byProviderId(providerMessageId: string): Promise<MessageRow | undefined> {
      return db
        .selectFrom('message')
        .selectAll()
        .where((eb) =>
          eb.or([
            eb('provider_message_id', '=', providerMessageId),
            eb('alternate_message_id', '=', providerMessageId),
          ]),
        )
        .executeTakeFirst();
    },

    async bySlackTs(channelId: string, ts: string): Promise<MessageRow | undefined> {
      return db
        .selectFrom('message')
        .selectAll()
        .where('slack_channel_id', '=', channelId)
        .where('slack_ts', '=', ts)
        .executeTakeFirst();
    },

    async latestInbound(contactId: string): Promise<MessageRow | undefined> {
      return db
        .selectFrom('message')
        .selectAll()
        .where('contact_id', '=', contactId)
        .where('direction', '=', 'inbound')
        .where('kind', '!=', 'reaction')
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
    },

    async linkSlack(id: string, channelId: string, ts: string, now: number): Promise<void> {
      await db
        .updateTable('message')
        .set({ slack_channel_id: channelId, slack_ts: ts, updated_at: now })
        .where('id', '=', id)
        .execute();
    },

    async markSending(id: string, now: number): Promise<void> {
      await db.updateTable('message').set({ status: 'sending', updated_at: now }).where('id', '=', id).execute();
    },

    async markQueued(id: string, now: number): Promise<void> {
      await db
        .updateTable('message')
        .set({ status: 'queued', updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'sending')
        .execute();
    },

    async recordSent(id: string, providerMessageId: string, now: number): Promise<void> {
      await db
        .updateTable('message')
        .set({ provider_message_id: providerMessageId, status: 'sent', updated_at: now })
        .where('id', '=', id)
        .where('status', 'in', ['queued', 'sending'])
        .execute();
      // A status webhook may already have moved it further; only the id is missing then.
      await db
        .updateTable('message')
        .set({ provider_message_id: providerMessageId })
        .where('id', '=', id)
        .where('provider_message_id', 'is', null)
        .execute();
    },

    async recordFailure(id: string, code: string, detail: string, now: number): Promise<void> {
      await db
        .updateTable('message')
        .set({ status: 'failed', error_code: code, error_detail: detail, updated_at: now })
        .where('id', '=', id)
        .execute();
    },

    async recordRefusal(id: string, code: string, detail: string, now: number): Promise<void> {
      await db
        .updateTable('message')
        .set({ status: 'refused', error_code: code, error_detail: detail, updated_at: now })
        .where('id', '=', id)
        .where('status', 'in', ['queued', 'refused'])
        .execute();
    },

    async requeueRefused(id: string, now: number): Promise<boolean> {
      const result = await db
        .updateTable('message')
        .set({ status: 'queued', error_code: null, error_detail: null, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'refused')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * Applies a delivery status if it moves the message forward. Returns the updated row, or
     * undefined when the status was stale or a duplicate.
     */
    async advanceStatus(
      id: string,
      status: MessageStatus,
      error: { code: string; detail: string } | null,
      now: number,
    ): Promise<MessageRow | undefined> {
      const lower = (Object.keys(STATUS_RANK) as MessageStatus[]).filter((s) => STATUS_RANK[s] < STATUS_RANK[status]);
      const result = await db
        .updateTable('message')
        .set({ status, error_code: error?.code ?? null, error_detail: error?.detail ?? null, updated_at: now })
        .where('id', '=', id)
        .where('status', 'in', lower)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return undefined;
      return db.selectFrom('message').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async setAlternateId(id: string, alternateId: string): Promise<void> {
      await db
        .updateTable('message')
        .set({ alternate_message_id: alternateId })
        .where('id', '=', id)
        .where('alternate_message_id', 'is', null)
        .execute();
    },

    /**
     * Retention: forgets what was said (bodies, media references, reactions) but keeps the row's facts.
     * In batches (see inPurgeBatches), each found through `message_content_created`, which holds only
     * messages that still have content: webhooks keep being stored while months are purged.
     */
    async purgeContentBefore(cutoff: number, now: number): Promise<number> {
      await inPurgeBatches(async (limit) => {
        const result = await db
          .deleteFrom('message_reaction')
          .where('updated_at', '<', cutoff)
          .where('message_id', 'in', (eb) =>
            eb.selectFrom('message_reaction').select('message_id').where('updated_at', '<', cutoff).limit(limit),
          )
          .executeTakeFirst();
        return Number(result.numDeletedRows);
      });
      return inPurgeBatches(async (limit) => {
        const result = await db
          .updateTable('message')
          .set({ body: null, media_json: null, updated_at: now })
          .where('id', 'in', (eb) =>
            eb
              .selectFrom('message')
              .select('id')
              // SQLite (no statistics) would walk message_created through every message purged on
              // earlier nights; `+created_at` turns it to the partial index, which holds only what is
              // left. PostgreSQL takes the partial index by its statistics, and needs the plain range.
              .where(postgres ? sql.ref('created_at') : sql<number>`+${sql.ref('created_at')}`, '<', cutoff)
              .where(hasContent)
              .orderBy('created_at')
              .orderBy('id')
              .limit(limit),
          )
          .executeTakeFirst();
        return Number(result.numUpdatedRows);
      });
    },

    /**
     * History rows, newest first. With `takenPartBy`, only conversations that user took part in: they
     * are the author of at least one agent message in it (a reply in the thread or a template sent
     * from it). Having the number in My Sessions, a note, or a campaign they launched does not count.
     */
    async history(
      filter: HistoryRowsFilter & {
        takenPartBy?: string;
        limit: number;
        offset: number;
        /** Rows after this one in the order below (keyset paging: an export's next page costs the same as its first). */
        after?: { created_at: number; id: string };
      },
    ) {
      let query = historyRows(filter);
      if (filter.takenPartBy) query = query.where('message.contact_id', 'in', tookPartIn(filter.takenPartBy));
      const after = filter.after;
      if (after)
        query = query.where((eb) =>
          eb.or([
            eb('message.created_at', '<', after.created_at),
            eb.and([eb('message.created_at', '=', after.created_at), eb('message.id', '>', after.id)]),
          ]),
        );
      return query
        .selectAll('message')
        .select([
          'contact.phone_number as contact_phone',
          'contact.sending_number_id as sending_number_id',
          'contact.profile_name as profile_name',
          'contact.owner_user_id as owner_user_id',
          'contact.status as conversation_status',
          'contact.opened_at as opened_at',
          'contact.first_response_at as first_response_at',
        ])
        .orderBy('message.created_at', 'desc')
        .orderBy('message.id')
        .limit(filter.limit)
        .offset(filter.offset)
        .execute();
    },

    /** Whether the filter matches messages in conversations this user did not take part in. */
    async historyHiddenFrom(filter: HistoryRowsFilter, slackUserId: string): Promise<boolean> {
      const row = await historyRows(filter)
        .select('message.id')
        .where('message.contact_id', 'not in', tookPartIn(slackUserId))
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}
export type MessageStore = ReturnType<typeof createMessageStore>;
