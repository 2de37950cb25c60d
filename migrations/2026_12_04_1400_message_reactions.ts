import type { Kysely } from 'kysely';

/**
 * The reaction each side currently shows on a message, since WhatsApp keeps one per person and a new
 * one replaces the old: `contact` is the customer's, shown in Slack as the bot's reaction
 * `slack_name` (null: Slack has no such emoji and it was posted as text); `business` is the one the
 * bridge sent to WhatsApp for an agent's Slack reaction `slack_name`.
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('message_reaction')
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('side', 'text', (c) => c.notNull()) // contact | business
    .addColumn('emoji', 'text', (c) => c.notNull())
    .addColumn('slack_name', 'text')
    // The provider's time of the reaction shown (contact side): an older one arriving late is stale.
    .addColumn('reacted_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('message_reaction_pk', ['message_id', 'side'])
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('message_reaction').ifExists().execute();
}
