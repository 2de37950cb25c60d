import type { Kysely } from 'kysely';

/**
 * App Home refreshes itself when the queues change (src/features/sessions-history/home-refresh.ts):
 * every replica looks every few seconds for conversations whose status changed since it last
 * looked. This index keeps that look to the few rows that changed, however many conversations there are.
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema.createIndex('contact_status_changed').on('contact').column('status_changed_at').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('contact_status_changed').ifExists().execute();
}
