import type { Kysely } from 'kysely';

/**
 * One send schedule per sending number, shared by every replica: the start of its next free slot
 * in epoch microseconds (slots are a fixed spacing apart), and where the last grant began. Replaces the per-bucket send_budget
 * table, whose rows were never purged.
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('send_schedule')
    .addColumn('sending_number_id', 'text', (c) => c.primaryKey())
    .addColumn('next_slot_us', 'bigint', (c) => c.notNull())
    .addColumn('granted_from_us', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.dropTable('send_budget').ifExists().execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('send_schedule').ifExists().execute();
  await db.schema
    .createTable('send_budget')
    .addColumn('sending_number_id', 'text', (c) => c.notNull())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('used', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('send_budget_pk', ['sending_number_id', 'window_start'])
    .execute();
}
