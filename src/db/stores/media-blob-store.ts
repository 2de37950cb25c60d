import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { MediaStore, MediaUpload } from '../../whatsapp/whatsapp-provider.js';
import type { Database } from '../database.js';

export function createMediaBlobStore(db: Kysely<Database>, now: () => number) {
  return {
    /** Stores a file; with `expiresAt` it is no longer served after then and goes at the next purge. */
    async save(media: MediaUpload, expiresAt: number | null = null): Promise<string> {
      const id = randomUUID();
      await db
        .insertInto('media_blob')
        .values({
          id,
          mime_type: media.mimeType,
          filename: media.filename,
          size: media.bytes.length,
          bytes: media.bytes,
          created_at: now(),
          expires_at: expiresAt,
        })
        .execute();
      return id;
    },
    async load(id: string) {
      const row = await db.selectFrom('media_blob').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row || (row.expires_at !== null && row.expires_at <= now())) return undefined;
      return { mimeType: row.mime_type, filename: row.filename, bytes: Buffer.from(row.bytes) };
    },
    /** Blobs created before `cutoff`, and those whose expiry has passed. */
    async purgeOlderThan(cutoff: number): Promise<number> {
      const result = await db
        .deleteFrom('media_blob')
        .where((eb) => eb.or([eb('created_at', '<', cutoff), eb('expires_at', '<=', now())]))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  } satisfies MediaStore & Record<string, unknown>;
}
export type MediaBlobStore = ReturnType<typeof createMediaBlobStore>;
