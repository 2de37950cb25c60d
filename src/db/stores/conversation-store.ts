import { randomUUID } from 'node:crypto';
import { type Kysely, SqliteAdapter, sql } from 'kysely';
import { NEW_CONVERSATION_INBOX } from '../../bridge/records.js';
import type { ContactRow, Database, SlackThreadRow } from '../database.js';

export type ContactIdentity = { sendingNumberId: string; phoneNumber: string | null; userId: string | null };

/** Contacts (one per sending number × WhatsApp user) and the Slack threads of their conversations.
 *
 * Longer than 150 lines on purpose: a store is one closure of short queries sharing its connection
 * (and compiled statements); each method is the unit to read.
 */
export function createConversationStore(db: Kysely<Database>) {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  async function findContact(identity: ContactIdentity): Promise<ContactRow | undefined> {
    if (identity.phoneNumber) {
      const byPhone = await db
        .selectFrom('contact')
        .selectAll()
        .where('sending_number_id', '=', identity.sendingNumberId)
        .where('phone_number', '=', identity.phoneNumber)
        .executeTakeFirst();
      if (byPhone) return byPhone;
    }
    if (identity.userId) {
      return db
        .selectFrom('contact')
        .selectAll()
        .where('sending_number_id', '=', identity.sendingNumberId)
        .where('user_id', '=', identity.userId)
        .executeTakeFirst();
    }
    return undefined;
  }

  return {
    findContact,

    async getContact(id: string): Promise<ContactRow | undefined> {
      return db.selectFrom('contact').selectAll().where('id', '=', id).executeTakeFirst();
    },

    /** Finds or creates the contact, filling in identifiers and the profile name as they become known. */
    async upsertContact(identity: ContactIdentity & { profileName?: string | null }, now: number): Promise<ContactRow> {
      const existing = await findContact(identity);
      if (existing) {
        const patch: Partial<ContactRow> = {};
        if (identity.phoneNumber && !existing.phone_number) patch.phone_number = identity.phoneNumber;
        if (identity.userId && !existing.user_id) patch.user_id = identity.userId;
        if (identity.profileName && identity.profileName !== existing.profile_name)
          patch.profile_name = identity.profileName;
        if (Object.keys(patch).length === 0) return existing;
        await db
          .updateTable('contact')
          .set({ ...patch, updated_at: now })
          .where('id', '=', existing.id)
          .execute();
        return { ...existing, ...patch, updated_at: now };
      }
      const row: ContactRow = {
        id: randomUUID(),
        sending_number_id: identity.sendingNumberId,
        phone_number: identity.phoneNumber,
        user_id: identity.userId,
        profile_name: identity.profileName ?? null,
        note: null,
        last_inbound_at: null,
        last_message_at: null,
        last_direction: null,
        created_at: now,
        updated_at: now,
        ...NEW_CONVERSATION_INBOX,
      };
      await db
        .insertInto('contact')
        .values(row)
        .onConflict((oc) => oc.doNothing())
        .execute();
      // A concurrent creator may have won the race: read back whichever row exists.
      return (await findContact(identity)) ?? row;
    },

    /**
     * Moves the window and the last-activity time forward only (an old message delivered late
     * never shortens them). One statement, so inbound and outbound work racing on the same
     * contact cannot overwrite each other with stale values.
     */
    async recordActivity(
      contactId: string,
      activity: { direction: 'inbound' | 'outbound'; at: number },
      now: number,
    ): Promise<void> {
      const at = activity.at;
      await db
        .updateTable('contact')
        .set((eb) => ({
          updated_at: now,
          ...(activity.direction === 'inbound'
            ? {
                last_inbound_at: eb
                  .case()
                  .when(eb.fn.coalesce('last_inbound_at', eb.val(0)), '<', at)
                  .then(eb.val(at))
                  .else(eb.ref('last_inbound_at'))
                  .end(),
              }
            : {}),
          last_direction: eb
            .case()
            .when(eb.fn.coalesce('last_message_at', eb.val(0)), '<=', at)
            .then(eb.val(activity.direction))
            .else(eb.ref('last_direction'))
            .end(),
          last_message_at: eb
            .case()
            .when(eb.fn.coalesce('last_message_at', eb.val(0)), '<=', at)
            .then(eb.val(at))
            .else(eb.ref('last_message_at'))
            .end(),
        }))
        .where('id', '=', contactId)
        .execute();
    },

    async setNote(contactId: string, note: string | null, now: number): Promise<void> {
      await db.updateTable('contact').set({ note, updated_at: now }).where('id', '=', contactId).execute();
    },

    async activeThread(contactId: string): Promise<SlackThreadRow | undefined> {
      return db
        .selectFrom('slack_thread')
        .selectAll()
        .where('contact_id', '=', contactId)
        .where('active', '=', 1)
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
    },

    /** The most recent thread, active or not (to link a replacement to it). */
    async latestThread(contactId: string): Promise<SlackThreadRow | undefined> {
      return db
        .selectFrom('slack_thread')
        .selectAll()
        .where('contact_id', '=', contactId)
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
    },

    async threadByTs(channelId: string, threadTs: string): Promise<SlackThreadRow | undefined> {
      return db
        .selectFrom('slack_thread')
        .selectAll()
        .where('slack_channel_id', '=', channelId)
        .where('thread_ts', '=', threadTs)
        .executeTakeFirst();
    },

    async threadById(id: string): Promise<SlackThreadRow | undefined> {
      return db.selectFrom('slack_thread').selectAll().where('id', '=', id).executeTakeFirst();
    },

    /** The new thread becomes the active one; older threads keep routing replies to the contact. */
    async startThread(
      thread: {
        contactId: string;
        channelId: string;
        threadTs: string;
        replacesThreadId: string | null;
        headerWindowUntil: number | null;
      },
      now: number,
    ): Promise<SlackThreadRow> {
      const row: SlackThreadRow = {
        id: randomUUID(),
        contact_id: thread.contactId,
        slack_channel_id: thread.channelId,
        thread_ts: thread.threadTs,
        active: 1,
        created_at: now,
        replaces_thread_id: thread.replacesThreadId,
        header_window_until: thread.headerWindowUntil,
      };
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('slack_thread').set({ active: 0 }).where('contact_id', '=', thread.contactId).execute();
        await trx.insertInto('slack_thread').values(row).execute();
      });
      return row;
    },

    async deactivateThread(threadId: string): Promise<void> {
      await db.updateTable('slack_thread').set({ active: 0 }).where('id', '=', threadId).execute();
    },

    async setHeaderWindow(threadId: string, until: number | null): Promise<void> {
      await db.updateTable('slack_thread').set({ header_window_until: until }).where('id', '=', threadId).execute();
    },

    async rememberSendingNumber(number: { id: string; provider: string; phoneNumber: string }, now: number) {
      await db
        .insertInto('sending_number')
        .values({
          id: number.id,
          provider: number.provider,
          phone_number: number.phoneNumber,
          display_name: null,
          health: 'unknown',
          health_reason: 'not listed by the provider yet',
          quality_rating: null,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    },

    async sendingNumber(id: string) {
      return db.selectFrom('sending_number').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async sendingNumberByPhone(phoneNumber: string) {
      return db.selectFrom('sending_number').selectAll().where('phone_number', '=', phoneNumber).executeTakeFirst();
    },

    async saveSendingNumbers(
      numbers: {
        id: string;
        provider: string;
        phoneNumber: string;
        displayName: string | null;
        health: string;
        healthReason: string | null;
        qualityRating: string | null;
        messagingLimitTier?: string | null;
      }[],
      now: number,
    ): Promise<void> {
      // One transaction, so a reader never sees half a refresh (say, the healthy number without the blocked one).
      await db.transaction().execute(async (trx) => {
        for (const n of numbers) {
          const values = {
            provider: n.provider,
            phone_number: n.phoneNumber,
            display_name: n.displayName,
            health: n.health,
            health_reason: n.healthReason,
            quality_rating: n.qualityRating,
            messaging_limit_tier: n.messagingLimitTier ?? null,
            updated_at: now,
          };
          await trx
            .insertInto('sending_number')
            .values({ id: n.id, ...values })
            .onConflict((oc) => oc.column('id').doUpdateSet(values))
            .execute();
        }
      });
    },

    /** All Sessions: every contact with any message either way, newest activity first. */
    async searchContacts(filter: { query?: string; sendingNumberId?: string; limit: number; offset: number }) {
      let query = db.selectFrom('contact').selectAll().where('last_message_at', 'is not', null);
      if (filter.sendingNumberId) query = query.where('sending_number_id', '=', filter.sendingNumberId);
      const text = filter.query?.trim();
      if (text) {
        const digits = text.replace(/[^\d]/g, '');
        const needle = text.replace(/[%_\\]/g, '').toLowerCase();
        if (sqlite && [...needle].length >= 3) {
          // The trigram index (migrations/2026_12_05_0900_contact_search.ts): a phrase of trigrams is
          // a substring, matched ignoring case. FTS5 strings are quoted, with quotes doubled.
          const phrase = (s: string) => `"${s.replaceAll('"', '""')}"`;
          const match = [
            `{profile_name note} : ${phrase(needle)}`,
            ...(digits.length >= 3 ? [`{phone_number} : ${phrase(digits)}`] : []),
          ].join(' OR ');
          query = query.where(
            sql.ref('contact.rowid'),
            'in',
            sql`(select rowid from contact_search where contact_search match ${match})`,
          );
        } else {
          // Shorter than a trigram (or PostgreSQL, whose pg_trgm indexes serve this very query).
          // LIKE is case-sensitive on PostgreSQL and not on SQLite: lower() on both sides makes both
          // dialects ignore case (SQLite's lower() folds ASCII letters only).
          const like = `%${needle}%`;
          query = query.where((eb) =>
            eb.or([
              ...(digits.length >= 3 ? [eb('phone_number', 'like', `%${digits}%`)] : []),
              eb(eb.fn('lower', ['note']), 'like', like),
              eb(eb.fn('lower', ['profile_name']), 'like', like),
            ]),
          );
        }
      }
      const rows = await query
        .orderBy('last_message_at', 'desc')
        .orderBy('id')
        .limit(filter.limit + 1)
        .offset(filter.offset)
        .execute();
      return { rows: rows.slice(0, filter.limit), hasMore: rows.length > filter.limit };
    },

    async contactsByPhone(phoneNumber: string) {
      return db.selectFrom('contact').selectAll().where('phone_number', '=', phoneNumber).execute();
    },

    async listSendingNumbers() {
      return db.selectFrom('sending_number').selectAll().orderBy('phone_number').execute();
    },
  };
}
export type ConversationStore = ReturnType<typeof createConversationStore>;
