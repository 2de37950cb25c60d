import type { Kysely } from 'kysely';

/**
 * Files a person asked for (exports, reports) that Slack would not take into their DM are kept as
 * a media blob behind an expiring link: `expires_at` (epoch ms) lets them go once the link is dead.
 * `campaign.slack_response_url` is the launching command's response_url, the one way to reach the
 * marketer where they acted when neither the channel nor their DM takes the progress message.
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('media_blob').addColumn('expires_at', 'bigint').execute();
  await db.schema.alterTable('campaign').addColumn('slack_response_url', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('campaign').dropColumn('slack_response_url').execute();
  await db.schema.alterTable('media_blob').dropColumn('expires_at').execute();
}
