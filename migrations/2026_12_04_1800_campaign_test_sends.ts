import type { Kysely } from 'kysely';

/**
 * Campaign test sends (issue #17): the number each marketer last sent a test to, offered again the
 * next time they send one. One row per Slack user.
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('campaign_test_recipient')
    .addColumn('slack_user_id', 'text', (c) => c.primaryKey())
    .addColumn('phone_number', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('campaign_test_recipient').ifExists().execute();
}
