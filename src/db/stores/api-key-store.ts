import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../database.js';

const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** API keys for POST /api/v1/messages. Only a SHA-256 hash is stored; the key is shown once. */
export function createApiKeyStore(db: Kysely<Database>) {
  return {
    async create(name: string, createdBy: string, now: number): Promise<{ id: string; key: string }> {
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
        })
        .execute();
      return { id, key };
    },
    async revoke(id: string, now: number): Promise<boolean> {
      const result = await db
        .updateTable('api_key')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async list() {
      return db
        .selectFrom('api_key')
        .select(['id', 'name', 'created_by', 'created_at', 'revoked_at', 'last_used_at'])
        .orderBy('created_at')
        .execute();
    },
    /** The key's id when it is valid and not revoked. */
    async authenticate(key: string, now: number): Promise<string | null> {
      const row = await db
        .selectFrom('api_key')
        .select(['id', 'revoked_at'])
        .where('key_hash', '=', hashKey(key))
        .executeTakeFirst();
      if (!row || row.revoked_at !== null) return null;
      await db.updateTable('api_key').set({ last_used_at: now }).where('id', '=', row.id).execute();
      return row.id;
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
