import type { Kysely } from 'kysely';

/**
 * Slack posts that must happen exactly once (thread headers, inbound messages, inbound files) are
 * announced here before the Slack call. A retry only searches Slack for an earlier post when an
 * intent says one may exist, and only from the moment it was written: `conversations.history`
 * and `.replies` are rate limited to a trickle for apps outside the Slack Marketplace.
 *
 * Threads remember the thread they replaced (so a refreshed header keeps its link back) and the
 * window end their header shows (so it is refreshed when that changes, not on every message).
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('slack_post_intent')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('thread_ts', 'text')
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    // Thread headers can be started from several places at once: the owner holds a renewed lease.
    .addColumn('owner', 'text')
    .addColumn('lease_until', 'bigint')
    .addColumn('slack_file_id', 'text')
    .execute();

  // Claiming walks due jobs in (run_at, id) order and stops after the few it wants (see the job
  // store): jobs delayed into the future are never visited, and nothing has to be sorted.
  await db.schema.dropIndex('job_due').execute();
  await db.schema.createIndex('job_claim').on('job').columns(['status', 'run_at', 'id']).execute();

  await db.schema.alterTable('slack_thread').addColumn('replaces_thread_id', 'text').execute();
  await db.schema.alterTable('slack_thread').addColumn('header_window_until', 'bigint').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('job_claim').execute();
  await db.schema.createIndex('job_due').on('job').columns(['status', 'run_at']).execute();
  await db.schema.alterTable('slack_thread').dropColumn('header_window_until').execute();
  await db.schema.alterTable('slack_thread').dropColumn('replaces_thread_id').execute();
  await db.schema.dropTable('slack_post_intent').ifExists().execute();
}
