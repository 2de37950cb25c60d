import type { Kysely } from 'kysely';

/**
 * When a queued campaign recipient may be tried again after a retryable provider error (epoch ms;
 * null = now): retries back off per recipient instead of hammering the provider.
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('campaign_recipient').addColumn('retry_at', 'bigint').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('campaign_recipient').dropColumn('retry_at').execute();
}
