import type { Kysely } from 'kysely';

/**
 * API keys expire (`expires_at`, epoch ms) and record who revoked them (`revoked_by`). Keys made
 * before this version get a full default lifetime (90 days) from the upgrade, so integrations are
 * not cut off the moment it is deployed; `/wa apikey revoke` ends one sooner.
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

const LEGACY_KEY_LIFETIME_MS = 90 * 24 * 60 * 60 * 1000;

export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('api_key').addColumn('expires_at', 'bigint').execute();
  await db.schema.alterTable('api_key').addColumn('revoked_by', 'text').execute();
  await db
    .updateTable('api_key')
    .set({ expires_at: Date.now() + LEGACY_KEY_LIFETIME_MS })
    .where('expires_at', 'is', null)
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('api_key').dropColumn('revoked_by').execute();
  await db.schema.alterTable('api_key').dropColumn('expires_at').execute();
}
