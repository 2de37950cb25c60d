import type { Kysely, Transaction } from 'kysely';
import type {
  ContactRecord,
  ConversationEventKind,
  ConversationEventRecord,
  ConversationStatus,
} from '../../bridge/records.js';
import { timeOrderedId } from '../../shared/time-ordered-id.js';
import type { Database } from '../database.js';

/** A conversation's inbox state: who owns it and where it stands. */
export type InboxState = Pick<
  ContactRecord,
  | 'id'
  | 'owner_user_id'
  | 'status'
  | 'status_changed_at'
  | 'waiting_since'
  | 'opened_at'
  | 'first_response_at'
  | 'surface_message_id'
  | 'last_message_at'
>;

export type AssignResult =
  | { outcome: 'assigned'; previousOwnerUserId: string | null; eventId: string }
  /** The conversation already had that owner. */
  | { outcome: 'unchanged' }
  /** Someone else changed the owner first (the compare-and-set lost): it is now `currentOwnerUserId`. */
  | { outcome: 'conflict'; currentOwnerUserId: string | null }
  | { outcome: 'missing' };

export type UnassignResult =
  | { outcome: 'unassigned'; previousOwnerUserId: string; eventId: string }
  | { outcome: 'unchanged' }
  | { outcome: 'conflict'; currentOwnerUserId: string | null }
  | { outcome: 'missing' };

export type StatusChangeResult =
  | { outcome: 'changed'; ownerUserId: string | null; eventId: string }
  | { outcome: 'unchanged' | 'missing' };

export type InboundRecorded = {
  /** The conversation was resolved and this message reopened it. */
  reopened: boolean;
  /** An 'opened' event was written (a conversation's first customer message, or a reopening one). */
  opened: boolean;
  /**
   * Make this message visible in the channel: it came after a quiet spell or a resolve. Decided in
   * the database, once per quiet spell: a retry of the same message gets true again, the next
   * messages get false.
   */
  surface: boolean;
  ownerUserId: string | null;
  /** The status moved (to 'open'): the header needs to show it. */
  statusChanged: boolean;
};

export type AgentAnswerRecorded = {
  /** The agent became the owner (auto-assign on reply). */
  assigned: boolean;
  /** The 'assigned' event's id when `assigned`. */
  assignedEventId: string | null;
  /** Set when this was the first answer since the conversation opened. */
  firstResponseMs: number | null;
  ownerUserId: string | null;
  status: ConversationStatus;
  statusChanged: boolean;
};

/** Events written in one transaction share their time; this is the order they happen in. */
export const EVENT_ORDER: Record<ConversationEventKind, number> = {
  reopened: 0,
  opened: 1,
  assigned: 2,
  first_response: 3,
  unassigned: 4,
  resolved: 5,
};

const STATE_COLUMNS = [
  'id',
  'owner_user_id',
  'status',
  'status_changed_at',
  'waiting_since',
  'opened_at',
  'first_response_at',
  'surface_message_id',
  'last_message_at',
] as const;

/**
 * Ownership and status of conversations, and their history (`conversation_event`).
 *
 * Every change is one transaction that moves the row and writes its events, so the history never
 * disagrees with the state. The owner changes only by compare-and-set (a conditional UPDATE whose
 * affected-row count says who won), which holds across replicas sharing a PostgreSQL database.
 * The message-driven changes (recordInbound, recordAgentAnswer) read the row locked (PostgreSQL
 * `for update`; SQLite runs one write transaction at a time) and write what they decided.
 *
 * Longer than 150 lines on purpose: a store is one closure of short queries sharing its connection.
 */
export function createConversationInboxStore(db: Kysely<Database>, dialect: 'sqlite' | 'postgres') {
  async function lockedState(trx: Transaction<Database>, contactId: string): Promise<InboxState | undefined> {
    const query = trx.selectFrom('contact').select(STATE_COLUMNS).where('id', '=', contactId);
    return dialect === 'postgres' ? query.forUpdate().executeTakeFirst() : query.executeTakeFirst();
  }

  async function addEvent(
    trx: Transaction<Database>,
    event: Omit<ConversationEventRecord, 'id' | 'response_ms'> & { response_ms?: number | null },
  ): Promise<string> {
    const id = timeOrderedId(event.at);
    await trx
      .insertInto('conversation_event')
      .values({ id, response_ms: null, ...event })
      .execute();
    return id;
  }

  async function currentOwner(
    executor: Kysely<Database> | Transaction<Database>,
    contactId: string,
  ): Promise<{ owner: string | null } | undefined> {
    const row = await executor
      .selectFrom('contact')
      .select('owner_user_id')
      .where('id', '=', contactId)
      .executeTakeFirst();
    return row ? { owner: row.owner_user_id } : undefined;
  }

  return {
    async get(contactId: string): Promise<InboxState | undefined> {
      return db.selectFrom('contact').select(STATE_COLUMNS).where('id', '=', contactId).executeTakeFirst();
    },

    /**
     * Makes `ownerUserId` the owner if the owner is still `expectedOwnerUserId` (null: unassigned).
     * Of two agents assigning at once from the same view, exactly one gets 'assigned'.
     */
    async assign(change: {
      contactId: string;
      ownerUserId: string;
      expectedOwnerUserId: string | null;
      actorUserId: string;
      now: number;
    }): Promise<AssignResult> {
      if (change.expectedOwnerUserId === change.ownerUserId) {
        const row = await currentOwner(db, change.contactId);
        if (!row) return { outcome: 'missing' };
        return row.owner === change.ownerUserId
          ? { outcome: 'unchanged' }
          : { outcome: 'conflict', currentOwnerUserId: row.owner };
      }
      return db.transaction().execute(async (trx): Promise<AssignResult> => {
        const expected = change.expectedOwnerUserId;
        const result = await trx
          .updateTable('contact')
          .set({ owner_user_id: change.ownerUserId, updated_at: change.now })
          .where('id', '=', change.contactId)
          .where((eb) => (expected === null ? eb('owner_user_id', 'is', null) : eb('owner_user_id', '=', expected)))
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) {
          const row = await currentOwner(trx, change.contactId);
          if (!row) return { outcome: 'missing' };
          return row.owner === change.ownerUserId
            ? { outcome: 'unchanged' }
            : { outcome: 'conflict', currentOwnerUserId: row.owner };
        }
        const eventId = await addEvent(trx, {
          contact_id: change.contactId,
          kind: 'assigned',
          actor_user_id: change.actorUserId,
          owner_user_id: change.ownerUserId,
          at: change.now,
        });
        return { outcome: 'assigned', previousOwnerUserId: expected, eventId };
      });
    },

    /** Removes the owner if it is still `expectedOwnerUserId`. */
    async unassign(change: {
      contactId: string;
      expectedOwnerUserId: string;
      actorUserId: string;
      now: number;
    }): Promise<UnassignResult> {
      return db.transaction().execute(async (trx): Promise<UnassignResult> => {
        const result = await trx
          .updateTable('contact')
          .set({ owner_user_id: null, updated_at: change.now })
          .where('id', '=', change.contactId)
          .where('owner_user_id', '=', change.expectedOwnerUserId)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) {
          const row = await currentOwner(trx, change.contactId);
          if (!row) return { outcome: 'missing' };
          return row.owner === null ? { outcome: 'unchanged' } : { outcome: 'conflict', currentOwnerUserId: row.owner };
        }
        const eventId = await addEvent(trx, {
          contact_id: change.contactId,
          kind: 'unassigned',
          actor_user_id: change.actorUserId,
          owner_user_id: change.expectedOwnerUserId,
          at: change.now,
        });
        return { outcome: 'unassigned', previousOwnerUserId: change.expectedOwnerUserId, eventId };
      });
    },

    /** Resolves the conversation (nobody waits any more); 'unchanged' when it already was. */
    async resolve(change: { contactId: string; actorUserId: string; now: number }): Promise<StatusChangeResult> {
      return setStatus(change, 'resolved');
    },

    /** Reopens a resolved conversation by hand (a customer message reopens it by itself). */
    async reopen(change: { contactId: string; actorUserId: string; now: number }): Promise<StatusChangeResult> {
      return setStatus(change, 'open');
    },

    /**
     * A customer message arrived (call it before the contact's last activity moves to it: whether
     * the conversation was quiet is judged from the message before). Reopens a resolved
     * conversation, makes it wait on us since its oldest unanswered message, writes 'opened' for a
     * conversation's first customer message or a reopening one, and decides whether the message
     * must be surfaced in the channel (after `quietAfterMs` without a message either way, or a
     * resolve). Safe to repeat for the same message.
     */
    async recordInbound(message: {
      contactId: string;
      messageId: string;
      at: number;
      quietAfterMs: number;
      now: number;
    }): Promise<InboundRecorded> {
      return db.transaction().execute(async (trx): Promise<InboundRecorded> => {
        const row = await lockedState(trx, message.contactId);
        if (!row) return { reopened: false, opened: false, surface: false, ownerUserId: null, statusChanged: false };
        if (row.surface_message_id === message.messageId)
          return {
            reopened: false,
            opened: false,
            surface: true,
            ownerUserId: row.owner_user_id,
            statusChanged: false,
          };
        const reopened = row.status === 'resolved';
        const opened = reopened || row.opened_at === null;
        const quiet = row.last_message_at !== null && message.at - row.last_message_at >= message.quietAfterMs;
        // A first message starts a new thread, whose header is in the channel already.
        const surface = row.last_message_at !== null && (reopened || quiet);
        const waitingSince =
          reopened || row.waiting_since === null ? message.at : Math.min(row.waiting_since, message.at);
        await trx
          .updateTable('contact')
          .set({
            status: 'open',
            ...(row.status !== 'open' ? { status_changed_at: message.now } : {}),
            waiting_since: waitingSince,
            ...(opened ? { opened_at: message.at, first_response_at: null } : {}),
            ...(surface ? { surface_message_id: message.messageId } : {}),
            updated_at: message.now,
          })
          .where('id', '=', message.contactId)
          .execute();
        if (reopened)
          await addEvent(trx, {
            contact_id: message.contactId,
            kind: 'reopened',
            actor_user_id: null,
            owner_user_id: row.owner_user_id,
            at: message.at,
          });
        if (opened)
          await addEvent(trx, {
            contact_id: message.contactId,
            kind: 'opened',
            actor_user_id: null,
            owner_user_id: row.owner_user_id,
            at: message.at,
          });
        return { reopened, opened, surface, ownerUserId: row.owner_user_id, statusChanged: row.status !== 'open' };
      });
    },

    /**
     * An agent answered in the conversation: it now waits on the customer (a resolved one stays
     * resolved), the first answer since it opened is recorded with its response time, and with
     * `autoAssign` an unowned conversation becomes the agent's. Safe to repeat.
     */
    async recordAgentAnswer(answer: {
      contactId: string;
      agentUserId: string;
      at: number;
      autoAssign: boolean;
      now: number;
    }): Promise<AgentAnswerRecorded> {
      return db.transaction().execute(async (trx): Promise<AgentAnswerRecorded> => {
        const row = await lockedState(trx, answer.contactId);
        if (!row)
          return {
            assigned: false,
            assignedEventId: null,
            firstResponseMs: null,
            ownerUserId: null,
            status: 'open',
            statusChanged: false,
          };
        const assigned = answer.autoAssign && row.owner_user_id === null;
        const owner = assigned ? answer.agentUserId : row.owner_user_id;
        const firstResponseMs =
          row.opened_at !== null && row.first_response_at === null ? Math.max(0, answer.at - row.opened_at) : null;
        const status: ConversationStatus = row.status === 'resolved' ? 'resolved' : 'waiting';
        await trx
          .updateTable('contact')
          .set({
            status,
            ...(status !== row.status ? { status_changed_at: answer.now } : {}),
            waiting_since: null,
            ...(assigned ? { owner_user_id: answer.agentUserId } : {}),
            ...(firstResponseMs !== null ? { first_response_at: answer.at } : {}),
            updated_at: answer.now,
          })
          .where('id', '=', answer.contactId)
          .execute();
        const assignedEventId = assigned
          ? await addEvent(trx, {
              contact_id: answer.contactId,
              kind: 'assigned',
              actor_user_id: answer.agentUserId,
              owner_user_id: answer.agentUserId,
              at: answer.now,
            })
          : null;
        if (firstResponseMs !== null)
          await addEvent(trx, {
            contact_id: answer.contactId,
            kind: 'first_response',
            actor_user_id: answer.agentUserId,
            owner_user_id: owner,
            at: answer.at,
            response_ms: firstResponseMs,
          });
        return {
          assigned,
          assignedEventId,
          firstResponseMs,
          ownerUserId: owner,
          status,
          statusChanged: status !== row.status,
        };
      });
    },

    /** A conversation's history, oldest first (events of one moment in the order they happen). */
    async events(contactId: string): Promise<ConversationEventRecord[]> {
      const rows = await db
        .selectFrom('conversation_event')
        .selectAll()
        .where('contact_id', '=', contactId)
        .orderBy('at')
        .orderBy('id')
        .execute();
      return rows.sort((x, y) => x.at - y.at || EVENT_ORDER[x.kind] - EVENT_ORDER[y.kind]);
    },
  };

  async function setStatus(
    change: { contactId: string; actorUserId: string; now: number },
    status: 'resolved' | 'open',
  ): Promise<StatusChangeResult> {
    return db.transaction().execute(async (trx): Promise<StatusChangeResult> => {
      const result = await trx
        .updateTable('contact')
        .set({ status, status_changed_at: change.now, waiting_since: null, updated_at: change.now })
        .where('id', '=', change.contactId)
        .where((eb) => (status === 'resolved' ? eb('status', '!=', 'resolved') : eb('status', '=', 'resolved')))
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0)
        return { outcome: (await currentOwner(trx, change.contactId)) ? 'unchanged' : 'missing' };
      const owner = (await currentOwner(trx, change.contactId))?.owner ?? null;
      const kind: ConversationEventKind = status === 'resolved' ? 'resolved' : 'reopened';
      const eventId = await addEvent(trx, {
        contact_id: change.contactId,
        kind,
        actor_user_id: change.actorUserId,
        owner_user_id: owner,
        at: change.now,
      });
      return { outcome: 'changed', ownerUserId: owner, eventId };
    });
  }
}
export type ConversationInboxStore = ReturnType<typeof createConversationInboxStore>;
