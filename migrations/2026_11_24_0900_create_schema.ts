import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * The whole product's schema. Portable types only, so the same migration runs on SQLite and
 * PostgreSQL: text ids, bigint epoch-millisecond timestamps, integer counters and flags.
 * Frozen in time: never import application code here.
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

const isPostgres = (db: AnyDb) => db.getExecutor().adapter instanceof PostgresAdapter;

export async function up(db: AnyDb): Promise<void> {
  const pg = isPostgres(db);
  const serialId = pg ? ('bigserial' as const) : ('integer' as const);
  const bytes = pg ? sql`bytea` : sql`blob`;

  await db.schema
    .createTable('sending_number')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('phone_number', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text')
    .addColumn('health', 'text', (c) => c.notNull())
    .addColumn('health_reason', 'text')
    .addColumn('quality_rating', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  // One row per sending number × WhatsApp user: the conversation's identity, note and window.
  await db.schema
    .createTable('contact')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('sending_number_id', 'text', (c) => c.notNull())
    .addColumn('phone_number', 'text')
    .addColumn('user_id', 'text') // Meta business-scoped user id (BSUID), when known
    .addColumn('profile_name', 'text')
    .addColumn('note', 'text')
    .addColumn('last_inbound_at', 'bigint') // provider timestamp of the contact's last message
    .addColumn('last_message_at', 'bigint')
    .addColumn('last_direction', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('contact_number_unique')
    .on('contact')
    .columns(['sending_number_id', 'phone_number'])
    .unique()
    .execute();
  await db.schema
    .createIndex('contact_user_unique')
    .on('contact')
    .columns(['sending_number_id', 'user_id'])
    .unique()
    .execute();
  await db.schema.createIndex('contact_last_message').on('contact').column('last_message_at').execute();

  // Every Slack thread a conversation ever had; exactly one is active. Old threads keep routing.
  await db.schema
    .createTable('slack_thread')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('contact_id', 'text', (c) => c.notNull().references('contact.id'))
    .addColumn('slack_channel_id', 'text', (c) => c.notNull())
    .addColumn('thread_ts', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('slack_thread_unique')
    .on('slack_thread')
    .columns(['slack_channel_id', 'thread_ts'])
    .unique()
    .execute();
  await db.schema.createIndex('slack_thread_contact').on('slack_thread').columns(['contact_id', 'active']).execute();

  await db.schema
    .createTable('message')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('contact_id', 'text', (c) => c.notNull().references('contact.id'))
    .addColumn('direction', 'text', (c) => c.notNull()) // inbound | outbound
    .addColumn('kind', 'text', (c) => c.notNull()) // text | image | … | template | reaction
    .addColumn('body', 'text')
    .addColumn('media_json', 'text')
    .addColumn('provider_message_id', 'text')
    .addColumn('alternate_message_id', 'text')
    .addColumn('slack_channel_id', 'text')
    .addColumn('slack_ts', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('error_code', 'text')
    .addColumn('error_detail', 'text')
    .addColumn('provider_timestamp', 'bigint')
    .addColumn('source', 'text', (c) => c.notNull()) // contact | agent | campaign | api
    .addColumn('author_slack_user_id', 'text')
    .addColumn('campaign_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('message_provider_id_unique')
    .on('message')
    .column('provider_message_id')
    .unique()
    .execute();
  await db.schema.createIndex('message_alternate_id').on('message').column('alternate_message_id').execute();
  await db.schema
    .createIndex('message_slack_unique')
    .on('message')
    .columns(['slack_channel_id', 'slack_ts'])
    .unique()
    .execute();
  await db.schema.createIndex('message_contact_time').on('message').columns(['contact_id', 'created_at']).execute();
  await db.schema.createIndex('message_created').on('message').column('created_at').execute();

  // Durable work queue: everything that must reach Slack or WhatsApp is a row here first.
  await db.schema
    .createTable('job')
    .addColumn('id', serialId, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('ordering_key', 'text') // jobs sharing a key run one at a time, in id order
    .addColumn('idempotency_key', 'text')
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull()) // pending | running | done | failed
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('run_at', 'bigint', (c) => c.notNull())
    .addColumn('locked_by', 'text')
    .addColumn('locked_until', 'bigint')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('job_idempotency_unique').on('job').column('idempotency_key').unique().execute();
  await db.schema.createIndex('job_due').on('job').columns(['status', 'run_at']).execute();
  await db.schema.createIndex('job_ordering').on('job').columns(['ordering_key', 'status', 'id']).execute();

  await db.schema
    .createTable('campaign')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('slack_channel_id', 'text', (c) => c.notNull())
    .addColumn('slack_message_ts', 'text')
    .addColumn('sending_number_id', 'text', (c) => c.notNull())
    .addColumn('template_name', 'text', (c) => c.notNull())
    .addColumn('template_language', 'text', (c) => c.notNull())
    .addColumn('template_category', 'text')
    .addColumn('parameters_json', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull()) // scheduled | sending | completed | cancelled | failed
    .addColumn('scheduled_at', 'bigint')
    .addColumn('total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('sent', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('delivered', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('read', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('failed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('started_at', 'bigint')
    .addColumn('finished_at', 'bigint')
    .execute();

  await db.schema
    .createTable('campaign_recipient')
    .addColumn('id', serialId, (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('campaign_id', 'text', (c) => c.notNull().references('campaign.id'))
    .addColumn('phone_number', 'text', (c) => c.notNull())
    .addColumn('parameters_json', 'text')
    .addColumn('status', 'text', (c) => c.notNull()) // queued | sending | sent | delivered | read | failed
    .addColumn('provider_message_id', 'text')
    .addColumn('error_code', 'text')
    .addColumn('error_detail', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('claimed_by', 'text')
    .addColumn('claimed_until', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('campaign_recipient_unique')
    .on('campaign_recipient')
    .columns(['campaign_id', 'phone_number'])
    .unique()
    .execute();
  await db.schema
    .createIndex('campaign_recipient_status')
    .on('campaign_recipient')
    .columns(['campaign_id', 'status', 'id'])
    .execute();
  await db.schema
    .createIndex('campaign_recipient_provider_id')
    .on('campaign_recipient')
    .column('provider_message_id')
    .execute();

  await db.schema
    .createTable('agent_session')
    .addColumn('slack_user_id', 'text', (c) => c.notNull())
    .addColumn('contact_id', 'text', (c) => c.notNull().references('contact.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('agent_session_pk', ['slack_user_id', 'contact_id'])
    .execute();

  // De-duplication of deliveries we may receive more than once (Slack event ids, …).
  await db.schema
    .createTable('processed_event')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('processed_event_created').on('processed_event').column('created_at').execute();

  await db.schema
    .createTable('api_key')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .execute();

  await db.schema
    .createTable('api_request')
    .addColumn('api_key_id', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('api_request_pk', ['api_key_id', 'idempotency_key'])
    .execute();

  // Bytes a provider fetches by link (EngageLab media), served under expiring signed URLs.
  await db.schema
    .createTable('media_blob')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('mime_type', 'text', (c) => c.notNull())
    .addColumn('filename', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('bytes', bytes, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const table of [
    'media_blob',
    'api_request',
    'api_key',
    'processed_event',
    'agent_session',
    'campaign_recipient',
    'campaign',
    'job',
    'message',
    'slack_thread',
    'contact',
    'sending_number',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
