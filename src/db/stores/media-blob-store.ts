import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { MediaStore, MediaUpload } from '../../whatsapp/whatsapp-provider.js';
import type { Database } from '../database.js';

export function createMediaBlobStore(db: Kysely<Database>, now: () => number) {
  return {
    async save(media: MediaUpload): Promise<string> {
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
        })
        .execute();
      return id;
    },
    async load(id: string) {
      const row = await db.selectFrom('media_blob').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? { mimeType: row.mime_type, filename: row.filename, bytes: Buffer.from(row.bytes) } : undefined;
    },
    async purgeOlderThan(cutoff: number): Promise<number> {
      const result = await db.deleteFrom('media_blob').where('created_at', '<', cutoff).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  } satisfies MediaStore & Record<string, unknown>;
}
export type MediaBlobStore = ReturnType<typeof createMediaBlobStore>;
