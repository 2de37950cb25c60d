import type { Kysely } from 'kysely';

/**
 * Per-sending-number send budget, one row per one-second window, shared by every replica so the
 * messages-per-second limit holds across all of them.
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('send_budget')
    .addColumn('sending_number_id', 'text', (c) => c.notNull())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('used', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('send_budget_pk', ['sending_number_id', 'window_start'])
    .execute();
  await db.schema.alterTable('campaign').addColumn('error', 'text').execute();
  await db.schema
    .alterTable('campaign')
    .addColumn('invalid_count', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('send_budget').ifExists().execute();
}
