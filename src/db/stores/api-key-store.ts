import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../database.js';

const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** API keys for POST /api/v1/messages. Only a SHA-256 hash is stored; the key is shown once. */
export function createApiKeyStore(db: Kysely<Database>) {
  return {
    async create(
      name: string,
      createdBy: string,
      now: number,
      expiresAt: number,
    ): Promise<{ id: string; key: string; expiresAt: number }> {
      const id = randomUUID().slice(0, 8);
      const key = `wab_${randomBytes(24).toString('base64url')}`;
      await db
        .insertInto('api_key')
        .values({
          id,
          name,
          key_hash: hashKey(key),
          created_by: createdBy,
          created_at: now,
          revoked_at: null,
          last_used_at: null,
          expires_at: expiresAt,
          revoked_by: null,
        })
        .execute();
      return { id, key, expiresAt };
    },
    async revoke(id: string, revokedBy: string, now: number): Promise<boolean> {
      const result = await db
        .updateTable('api_key')
        .set({ revoked_at: now, revoked_by: revokedBy })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    /** The newest `limit` keys first, revoked and expired ones included. */
    async list(limit: number) {
      return db
        .selectFrom('api_key')
        .select(['id', 'name', 'created_by', 'created_at', 'expires_at', 'revoked_at', 'revoked_by', 'last_used_at'])
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(limit)
        .execute();
    },
    /** The stored key for a presented secret, whatever its state (the caller decides). */
    async find(key: string) {
      return db
        .selectFrom('api_key')
        .select(['id', 'created_by', 'created_at', 'expires_at', 'revoked_at'])
        .where('key_hash', '=', hashKey(key))
        .executeTakeFirst();
    },
    async recordUse(id: string, now: number): Promise<void> {
      await db.updateTable('api_key').set({ last_used_at: now }).where('id', '=', id).execute();
    },
    /** Idempotency keys recorded before then are forgotten: the same key sends again. */
    async purgeRequestsBefore(cutoff: number): Promise<number> {
      const result = await db.deleteFrom('api_request').where('created_at', '<', cutoff).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async findRequest(apiKeyId: string, idempotencyKey: string) {
      return db
        .selectFrom('api_request')
        .selectAll()
        .where('api_key_id', '=', apiKeyId)
        .where('idempotency_key', '=', idempotencyKey)
        .executeTakeFirst();
    },
  };
}
export type ApiKeyStore = ReturnType<typeof createApiKeyStore>;
