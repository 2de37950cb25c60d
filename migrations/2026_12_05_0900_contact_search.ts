import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * A trigram index for the All Sessions search (issue #18 item 4): a substring of a name, a note or
 * a number, in any case. `LIKE '%…%'` cannot use a B-tree, so a search that matches few contacts (a
 * number, a rare note) read every contact: about 100 ms at 100,000 contacts on SQLite.
 *
 * - SQLite: `contact_search`, an FTS5 table with the `trigram` tokenizer over `contact`'s own columns
 *   (external content: the index only, matched to contacts by rowid), kept current by triggers, so
 *   every writer of `contact` keeps it right without knowing it exists. Its rowids are `contact`'s;
 *   should a contact's rowid ever change (SQLite allows VACUUM to renumber a table without an
 *   INTEGER PRIMARY KEY, though it keeps them today), `insert into contact_search(contact_search)
 *   values ('rebuild')` rebuilds the index from the table.
 * - PostgreSQL: `pg_trgm` GIN indexes on the expressions the search compares (`lower(profile_name)`,
 *   `lower(note)`), so the store's query is unchanged. Not on `phone_number`: every campaign send
 *   creates its recipients' contacts, and keeping a trigram index of their numbers slowed a
 *   10,000-recipient campaign on two replicas from 0.91 to 0.39 of the provider limit (`npm run
 *   bench -- replicas`), while the planner kept scanning for number searches anyway. `pg_trgm` is a trusted
 *   extension (PostgreSQL 13+): a user allowed to create objects in the database may create it. If
 *   the bridge's user may not, the migration goes on without the indexes (search scans, as before;
 *   docs/operations.md has the statements to run as a superuser afterwards).
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations are typed loosely on purpose (kysely docs).
type AnyDb = Kysely<any>;

const isPostgres = (db: AnyDb) => db.getExecutor().adapter instanceof PostgresAdapter;

const PG_INDEXES = [
  ['contact_profile_name_trgm', sql`lower(profile_name) gin_trgm_ops`],
  ['contact_note_trgm', sql`lower(note) gin_trgm_ops`],
] as const;

export async function up(db: AnyDb): Promise<void> {
  if (isPostgres(db)) {
    // Migrations run in one transaction on PostgreSQL: a refused CREATE EXTENSION is undone to the
    // savepoint instead of failing the whole upgrade.
    await sql`savepoint contact_search_trgm`.execute(db);
    try {
      await sql`create extension if not exists pg_trgm`.execute(db);
    } catch {
      await sql`rollback to savepoint contact_search_trgm`.execute(db);
      return;
    }
    await sql`release savepoint contact_search_trgm`.execute(db);
    for (const [name, expression] of PG_INDEXES)
      await sql`create index if not exists ${sql.id(name)} on contact using gin (${expression})`.execute(db);
    return;
  }
  await sql`create virtual table contact_search using fts5(
    phone_number, profile_name, note,
    content = 'contact', content_rowid = 'rowid', tokenize = 'trigram'
  )`.execute(db);
  await sql`insert into contact_search(contact_search) values ('rebuild')`.execute(db);
  await sql`create trigger contact_search_insert after insert on contact begin
    insert into contact_search(rowid, phone_number, profile_name, note)
      values (new.rowid, new.phone_number, new.profile_name, new.note);
  end`.execute(db);
  await sql`create trigger contact_search_delete after delete on contact begin
    insert into contact_search(contact_search, rowid, phone_number, profile_name, note)
      values ('delete', old.rowid, old.phone_number, old.profile_name, old.note);
  end`.execute(db);
  // Only when a searched column really changes: contacts are updated on every message (their
  // activity columns), and those updates must not touch the index.
  await sql`create trigger contact_search_update after update of phone_number, profile_name, note on contact
    when old.phone_number is not new.phone_number
      or old.profile_name is not new.profile_name
      or old.note is not new.note
  begin
    insert into contact_search(contact_search, rowid, phone_number, profile_name, note)
      values ('delete', old.rowid, old.phone_number, old.profile_name, old.note);
    insert into contact_search(rowid, phone_number, profile_name, note)
      values (new.rowid, new.phone_number, new.profile_name, new.note);
  end`.execute(db);
}

export async function down(db: AnyDb): Promise<void> {
  if (isPostgres(db)) {
    // The extension stays: other things may use it, and dropping it needs its owner.
    for (const [name] of PG_INDEXES) await sql`drop index if exists ${sql.id(name)}`.execute(db);
    return;
  }
  for (const trigger of ['contact_search_update', 'contact_search_delete', 'contact_search_insert'])
    await sql`drop trigger if exists ${sql.id(trigger)}`.execute(db);
  await sql`drop table if exists contact_search`.execute(db);
}
