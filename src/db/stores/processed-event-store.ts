import type { Kysely } from 'kysely';
import type { Database } from '../database.js';

/** Remembers deliveries already handled (Slack event ids, provider webhook entries, …). */
export function createProcessedEventStore(db: Kysely<Database>) {
  return {
    /** true the first time a key is seen, false for every later delivery of it. */
    async markFirstSeen(key: string, now: number, executor: Kysely<Database> = db): Promise<boolean> {
      const result = await executor
        .insertInto('processed_event')
        .values({ key, created_at: now })
        .onConflict((oc) => oc.column('key').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    async has(key: string): Promise<boolean> {
      const row = await db.selectFrom('processed_event').select('key').where('key', '=', key).executeTakeFirst();
      return row !== undefined;
    },
    async purgeOlderThan(cutoff: number): Promise<number> {
      const result = await db.deleteFrom('processed_event').where('created_at', '<', cutoff).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
export type ProcessedEventStore = ReturnType<typeof createProcessedEventStore>;
