import type { Kysely } from 'kysely';
import type { Database } from '../database.js';

export const MAX_SESSIONS_PER_AGENT = 100;

export type AddSessionResult = 'added' | 'already' | 'limit_reached';

/** My Sessions: which conversations an agent keeps at hand. Removing one keeps all its data. */
export function createAgentSessionStore(db: Kysely<Database>) {
  return {
    async add(slackUserId: string, contactId: string, now: number): Promise<AddSessionResult> {
      return db.transaction().execute(async (trx) => {
        const existing = await trx
          .selectFrom('agent_session')
          .select('contact_id')
          .where('slack_user_id', '=', slackUserId)
          .where('contact_id', '=', contactId)
          .executeTakeFirst();
        if (existing) return 'already';
        const { count } = await trx
          .selectFrom('agent_session')
          .select((eb) => eb.fn.countAll<number>().as('count'))
          .where('slack_user_id', '=', slackUserId)
          .executeTakeFirstOrThrow();
        if (Number(count) >= MAX_SESSIONS_PER_AGENT) return 'limit_reached';
        await trx
          .insertInto('agent_session')
          .values({ slack_user_id: slackUserId, contact_id: contactId, created_at: now })
          .onConflict((oc) => oc.doNothing())
          .execute();
        return 'added';
      });
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
