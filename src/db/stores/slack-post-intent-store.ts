import type { Kysely } from 'kysely';
import type { IntentClaim, PostIntent, PostIntentRepository } from '../../bridge/ports.js';
import type { Database, SlackPostIntentRow } from '../database.js';

const toIntent = (row: SlackPostIntentRow): PostIntent => ({
  key: row.key,
  channelId: row.channel_id,
  threadTs: row.thread_ts,
  startedAt: Number(row.started_at),
  slackFileId: row.slack_file_id,
});

/**
 * "About to post this to Slack": written before a post that must happen once, removed once the
 * post is recorded. An intent still present on a retry means an earlier attempt may have posted.
 */
export function createSlackPostIntentStore(db: Kysely<Database>): PostIntentRepository & {
  purgeOlderThan(cutoff: number): Promise<number>;
  releaseAllLeases(): Promise<void>;
} {
  return {
    async get(key: string): Promise<PostIntent | undefined> {
      const row = await db.selectFrom('slack_post_intent').selectAll().where('key', '=', key).executeTakeFirst();
      return row ? toIntent(row) : undefined;
    },

    /** Records the intent unless one exists (the first attempt's start time is what a search needs). */
    async begin(intent: { key: string; channelId: string; threadTs: string | null; now: number }): Promise<void> {
      await db
        .insertInto('slack_post_intent')
        .values({
          key: intent.key,
          channel_id: intent.channelId,
          thread_ts: intent.threadTs,
          started_at: intent.now,
          owner: null,
          lease_until: null,
          slack_file_id: null,
        })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
    },

    /**
     * Exclusive version of `begin` for posts several workers may attempt at once: succeeds when
     * there is no intent or its owner's lease ran out (then `earlier` tells where to look).
     */
    async claim(intent: {
      key: string;
      channelId: string;
      owner: string;
      now: number;
      leaseMs: number;
    }): Promise<IntentClaim> {
      const inserted = await db
        .insertInto('slack_post_intent')
        .values({
          key: intent.key,
          channel_id: intent.channelId,
          thread_ts: null,
          started_at: intent.now,
          owner: intent.owner,
          lease_until: intent.now + intent.leaseMs,
          slack_file_id: null,
        })
        .onConflict((oc) => oc.column('key').doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0) return { acquired: true, earlier: null };
      const existing = await db
        .selectFrom('slack_post_intent')
        .selectAll()
        .where('key', '=', intent.key)
        .executeTakeFirst();
      if (!existing) return { acquired: false }; // cleared in between: the caller looks again
      if (existing.lease_until !== null && Number(existing.lease_until) > intent.now) return { acquired: false };
      // Take over an abandoned intent; compare-and-set on the old owner so only one taker wins.
      let takeover = db
        .updateTable('slack_post_intent')
        .set({ owner: intent.owner, lease_until: intent.now + intent.leaseMs, channel_id: intent.channelId })
        .where('key', '=', intent.key);
      takeover =
        existing.owner === null ? takeover.where('owner', 'is', null) : takeover.where('owner', '=', existing.owner);
      const result = await takeover.executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return { acquired: false };
      return { acquired: true, earlier: toIntent(existing) };
    },

    async renew(key: string, owner: string, until: number): Promise<void> {
      await db
        .updateTable('slack_post_intent')
        .set({ lease_until: until })
        .where('key', '=', key)
        .where('owner', '=', owner)
        .execute();
    },

    /** Gives the lease up but keeps the intent: whoever comes next searches before posting. */
    async release(key: string, owner: string): Promise<void> {
      await db
        .updateTable('slack_post_intent')
        .set({ lease_until: 0 })
        .where('key', '=', key)
        .where('owner', '=', owner)
        .execute();
    },

    async setFileId(key: string, slackFileId: string | null): Promise<void> {
      await db.updateTable('slack_post_intent').set({ slack_file_id: slackFileId }).where('key', '=', key).execute();
    },

    async clear(keys: readonly string[]): Promise<void> {
      if (keys.length === 0) return;
      await db.deleteFrom('slack_post_intent').where('key', 'in', keys).execute();
    },

    /** SQLite runs one process: after a restart, intents left by the last run belong to nobody. */
    async releaseAllLeases(): Promise<void> {
      await db.updateTable('slack_post_intent').set({ lease_until: 0 }).where('lease_until', '>', 0).execute();
    },

    async purgeOlderThan(cutoff: number): Promise<number> {
      const result = await db.deleteFrom('slack_post_intent').where('started_at', '<', cutoff).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
export type SlackPostIntentStore = ReturnType<typeof createSlackPostIntentStore>;
