import type { Kysely } from 'kysely';

/**
 * Opt-outs and campaign replies.
 *
 * `opt_out`: the marketing suppression list of a WhatsApp account, one row per number that ever
 * opted out (`opted_out` 1) or back in (0). The account is the provider account the sending
 * numbers belong to (Meta: `meta:<WABA id>`; the bridge runs one account at a time), because
 * WhatsApp's opt-out is from the business, not from one of its numbers. `changed_at` is the time
 * of the event that set the state (the customer's message, the status, the person's command): an
 * older event arriving late never undoes a newer one.
 *
 * `campaign_reply`: a customer who wrote back within 72 hours of a campaign message, once per
 * campaign; `context_posted` says the thread was told which campaign the reply answers.
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('opt_out')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('phone_number', 'text', (c) => c.notNull()) // E.164
    .addColumn('opted_out', 'integer', (c) => c.notNull())
    // keyword | button | provider_error | manual | file | opt_in_keyword | manual_removal
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .addColumn('changed_by', 'text') // Slack user id for manual changes and uploads
    .addColumn('changed_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('opt_out_pk', ['account_id', 'phone_number'])
    .execute();
  // The list in number order (paging), without the numbers that opted back in.
  await db.schema
    .createIndex('opt_out_listed')
    .on('opt_out')
    .columns(['account_id', 'opted_out', 'phone_number'])
    .execute();

  await db.schema
    .createTable('campaign_reply')
    .addColumn('campaign_id', 'text', (c) => c.notNull())
    .addColumn('contact_id', 'text', (c) => c.notNull())
    .addColumn('replied_at', 'bigint', (c) => c.notNull())
    .addColumn('context_posted', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('campaign_reply_pk', ['campaign_id', 'contact_id'])
    .execute();
  // The latest campaign message of a conversation is looked up at each inbound message.
  await db.schema
    .createIndex('message_contact_campaign')
    .on('message')
    .columns(['contact_id', 'campaign_id', 'created_at'])
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('message_contact_campaign').ifExists().execute();
  await db.schema.dropTable('campaign_reply').ifExists().execute();
  await db.schema.dropTable('opt_out').ifExists().execute();
}
