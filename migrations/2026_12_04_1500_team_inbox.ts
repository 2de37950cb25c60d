import type { Kysely } from 'kysely';

/**
 * The team inbox: each conversation (a `contact` row) has at most one owner and a status, and its
 * history is a log of events.
 *
 * `contact`:
 * - `owner_user_id`: the Slack user who owns the conversation (null: unassigned). Changed only by a
 *   conditional UPDATE (compare-and-set), so two agents assigning at once end with one owner.
 * - `status`: 'open' (the customer wrote last, or nobody answered yet) | 'waiting' (waiting on the
 *   customer: an agent answered last) | 'resolved'; `status_changed_at` when it last changed.
 * - `waiting_since`: when the customer's oldest message not yet answered by an agent arrived (null
 *   when an agent answered last, or resolved). The queues sort by it.
 * - `opened_at` / `first_response_at`: the current conversation's start (its first customer message,
 *   or the one that reopened it) and the first agent answer after it (null: not answered yet).
 * - `surface_message_id`: the customer message that made the conversation visible in the channel
 *   again after a quiet spell or a resolve, so a retried job surfaces it once and the next messages
 *   do not surface it again.
 *
 * `conversation_event`: 'opened' | 'assigned' | 'unassigned' | 'resolved' | 'reopened' |
 * 'first_response'; `response_ms` only on 'first_response' (answer time − opened time).
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('contact').addColumn('owner_user_id', 'text').execute();
  await db.schema
    .alterTable('contact')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open'))
    .execute();
  await db.schema.alterTable('contact').addColumn('status_changed_at', 'bigint').execute();
  await db.schema.alterTable('contact').addColumn('waiting_since', 'bigint').execute();
  await db.schema.alterTable('contact').addColumn('opened_at', 'bigint').execute();
  await db.schema.alterTable('contact').addColumn('first_response_at', 'bigint').execute();
  await db.schema.alterTable('contact').addColumn('surface_message_id', 'text').execute();
  await db.schema.createIndex('contact_status_waiting').on('contact').columns(['status', 'waiting_since']).execute();
  await db.schema.createIndex('contact_owner').on('contact').column('owner_user_id').execute();

  await db.schema
    .createTable('conversation_event')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('contact_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('actor_user_id', 'text')
    .addColumn('owner_user_id', 'text')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('response_ms', 'bigint')
    .execute();
  await db.schema.createIndex('conversation_event_kind_at').on('conversation_event').columns(['kind', 'at']).execute();
  await db.schema
    .createIndex('conversation_event_contact_at')
    .on('conversation_event')
    .columns(['contact_id', 'at'])
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('conversation_event').ifExists().execute();
  await db.schema.dropIndex('contact_owner').ifExists().execute();
  await db.schema.dropIndex('contact_status_waiting').ifExists().execute();
  for (const column of [
    'surface_message_id',
    'first_response_at',
    'opened_at',
    'waiting_since',
    'status_changed_at',
    'status',
    'owner_user_id',
  ])
    await db.schema.alterTable('contact').dropColumn(column).execute();
}
