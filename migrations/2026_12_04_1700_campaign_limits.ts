import type { Kysely } from 'kysely';

/**
 * Campaign pauses and WhatsApp's messaging limits.
 * - `campaign_control`: one row per campaign that was paused or is held to a messaging limit. A paused
 *   campaign has status `paused` (the dispatchers of every replica only claim for `sending` ones);
 *   the row says why, since when and by whom. `daily_limit` is the number of new customers a day its
 *   sending number may reach (null: not limited); `waiting_until` when the limit next frees up while
 *   the campaign waits for it.
 * - `messaging_allowance_use`: the customers each account reached with business-initiated messages,
 *   with the last time each was counted (Meta counts unique customers over a rolling 24 hours).
 * - `messaging_allowance`: one row per account, locked by whoever hands out its allowance, so two
 *   replicas never hand out the same remainder.
 * - `sending_number.messaging_limit_tier`: the tier Meta reports (TIER_1K…; null: not reported).
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('campaign_control')
    .addColumn('campaign_id', 'text', (c) => c.primaryKey())
    .addColumn('paused_reason', 'text')
    .addColumn('paused_at', 'bigint')
    .addColumn('paused_by', 'text')
    .addColumn('account_key', 'text')
    .addColumn('limit_tier', 'text')
    .addColumn('daily_limit', 'bigint')
    .addColumn('waiting_until', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('messaging_allowance_use')
    .addColumn('account_key', 'text', (c) => c.notNull())
    .addColumn('phone_number', 'text', (c) => c.notNull())
    .addColumn('counted_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('messaging_allowance_use_pk', ['account_key', 'phone_number'])
    .execute();
  await db.schema
    .createIndex('messaging_allowance_use_time')
    .on('messaging_allowance_use')
    .columns(['account_key', 'counted_at'])
    .execute();
  await db.schema
    .createTable('messaging_allowance')
    .addColumn('account_key', 'text', (c) => c.primaryKey())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('sending_number').addColumn('messaging_limit_tier', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('sending_number').dropColumn('messaging_limit_tier').execute();
  await db.schema.dropTable('messaging_allowance').ifExists().execute();
  await db.schema.dropIndex('messaging_allowance_use_time').ifExists().execute();
  await db.schema.dropTable('messaging_allowance_use').ifExists().execute();
  await db.schema.dropTable('campaign_control').ifExists().execute();
}
