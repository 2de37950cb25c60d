import type { Kysely } from 'kysely';

/**
 * Quick replies: the team's saved answers, sent from a conversation thread. A title is unique
 * regardless of case and surrounding spaces (`title_key`, its folded form), so the picker never
 * lists two entries that read the same.
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('quick_reply')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('title_key', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('quick_reply_title_unique').on('quick_reply').column('title_key').unique().execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('quick_reply').ifExists().execute();
}
