import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../database.js';

export const MAX_SESSIONS_PER_AGENT = 100;

export type AddSessionResult = 'added' | 'already' | 'limit_reached';

/** First key of the PostgreSQL advisory lock that serialises one agent's adds (the second is the user). */
const SESSION_LOCK_NAMESPACE = 0x5e55;

/** My Sessions: which conversations an agent keeps at hand. Removing one keeps all its data. */
export function createAgentSessionStore(db: Kysely<Database>, dialect: 'sqlite' | 'postgres') {
  /** Inserts only while the agent has fewer than the maximum; true when a row went in. */
  async function insertUnderLimit(
    executor: Kysely<Database> | Transaction<Database>,
    slackUserId: string,
    contactId: string,
    now: number,
  ): Promise<boolean> {
    const result = await executor
      .insertInto('agent_session')
      .columns(['slack_user_id', 'contact_id', 'created_at'])
      .expression(
        executor
          .selectNoFrom([
            sql<string>`${slackUserId}`.as('slack_user_id'),
            sql<string>`${contactId}`.as('contact_id'),
            sql<number>`${now}`.as('created_at'),
          ])
          .where((eb) =>
            eb(
              eb
                .selectFrom('agent_session')
                .select((inner) => inner.fn.countAll().as('count'))
                .where('slack_user_id', '=', slackUserId),
              '<',
              MAX_SESSIONS_PER_AGENT,
            ),
          ),
      )
      .onConflict((oc) => oc.columns(['slack_user_id', 'contact_id']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  return {
    /**
     * Race-free: two adds at once (two clicks, two replicas) never take an agent past the maximum.
     * SQLite runs the conditional insert as one atomic statement. PostgreSQL's read-committed
     * statements could both count 99, so its adds for one agent take turns on an advisory lock.
     */
    async add(slackUserId: string, contactId: string, now: number): Promise<AddSessionResult> {
      const inserted =
        dialect === 'postgres'
          ? await db.transaction().execute(async (trx) => {
              await sql`select pg_advisory_xact_lock(${SESSION_LOCK_NAMESPACE}, hashtext(${slackUserId}))`.execute(trx);
              return insertUnderLimit(trx, slackUserId, contactId, now);
            })
          : await insertUnderLimit(db, slackUserId, contactId, now);
      if (inserted) return 'added';
      const existing = await db
        .selectFrom('agent_session')
        .select('contact_id')
        .where('slack_user_id', '=', slackUserId)
        .where('contact_id', '=', contactId)
        .executeTakeFirst();
      return existing ? 'already' : 'limit_reached';
    },
    async remove(slackUserId: string, contactId: string): Promise<boolean> {
      const result = await db
        .deleteFrom('agent_session')
        .where('slack_user_id', '=', slackUserId)
        .where('contact_id', '=', contactId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async list(slackUserId: string) {
      return db
        .selectFrom('agent_session')
        .innerJoin('contact', 'contact.id', 'agent_session.contact_id')
        .selectAll('contact')
        .select('agent_session.created_at as added_at')
        .where('agent_session.slack_user_id', '=', slackUserId)
        .orderBy('contact.last_message_at', 'desc')
        .execute();
    },
    async count(slackUserId: string): Promise<number> {
      const { count } = await db
        .selectFrom('agent_session')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('slack_user_id', '=', slackUserId)
        .executeTakeFirstOrThrow();
      return Number(count);
    },
  };
}
export type AgentSessionStore = ReturnType<typeof createAgentSessionStore>;
