import { type Kysely, sql } from 'kysely';

/**
 * Indexes for a year of data (issue #18, `npm run bench -- scale`), each for a query that otherwise
 * scans a table of millions of rows. SQLite plans without statistics (the app never runs ANALYZE),
 * so each index makes the good plan the obvious one; both databases take partial indexes.
 *
 * - `contact_phone`: history for one number (`contact.phone_number = ?` without the sending number;
 *   the unique index leads with `sending_number_id`, so SQLite walked every message by time instead).
 * - `message_agent_author`: who took part in a conversation (history for someone not in LEADS):
 *   only messages with an author are indexed.
 * - `message_content_created`: the retention purge's batches, which only visit messages that still
 *   have content (the purged ones before them are not in the index, so each batch is cheap however
 *   much was purged before).
 * - `campaign_recipient_campaign_id`: the per-recipient CSV's pages (`campaign_id = ? and id > ?`
 *   in id order), which SQLite otherwise answered by walking every recipient of every campaign.
 * - `campaign_recipient_variables`: recipients still holding variables, for the purge's batches.
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema.createIndex('contact_phone').on('contact').column('phone_number').execute();
  await db.schema
    .createIndex('message_agent_author')
    .on('message')
    .columns(['author_slack_user_id', 'contact_id'])
    .where(sql.ref('author_slack_user_id'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('message_content_created')
    .on('message')
    .columns(['created_at', 'id'])
    .where(sql<boolean>`${sql.ref('body')} is not null or ${sql.ref('media_json')} is not null`)
    .execute();
  await db.schema
    .createIndex('campaign_recipient_campaign_id')
    .on('campaign_recipient')
    .columns(['campaign_id', 'id'])
    .execute();
  await db.schema
    .createIndex('campaign_recipient_variables')
    .on('campaign_recipient')
    .columns(['campaign_id', 'id'])
    .where(sql.ref('parameters_json'), 'is not', null)
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const index of [
    'campaign_recipient_variables',
    'campaign_recipient_campaign_id',
    'message_content_created',
    'message_agent_author',
    'contact_phone',
  ])
    await db.schema.dropIndex(index).ifExists().execute();
}
