import type { Kysely } from 'kysely';
import type { MessageReaction, ReactionSide } from '../../bridge/ports.js';
import type { Database } from '../database.js';

/** The reaction each side of a conversation currently shows on a message. */
export function createReactionStore(db: Kysely<Database>) {
  return {
    async get(messageId: string, side: ReactionSide): Promise<MessageReaction | undefined> {
      const row = await db
        .selectFrom('message_reaction')
        .selectAll()
        .where('message_id', '=', messageId)
        .where('side', '=', side)
        .executeTakeFirst();
      return row
        ? { messageId, side, emoji: row.emoji, slackName: row.slack_name, reactedAt: Number(row.reacted_at) }
        : undefined;
    },

    async set(reaction: MessageReaction, now: number): Promise<void> {
      const values = { emoji: reaction.emoji, slack_name: reaction.slackName, reacted_at: reaction.reactedAt };
      await db
        .insertInto('message_reaction')
        .values({ message_id: reaction.messageId, side: reaction.side, ...values, updated_at: now })
        .onConflict((oc) => oc.columns(['message_id', 'side']).doUpdateSet({ ...values, updated_at: now }))
        .execute();
    },
  };
}
export type ReactionStore = ReturnType<typeof createReactionStore>;
