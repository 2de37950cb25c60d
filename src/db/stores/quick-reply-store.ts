import { type Kysely, sql } from 'kysely';
import { type QuickReplyRepository, quickReplyTitleKey } from '../../bridge/quick-replies.js';
import type { Database } from '../database.js';

const COLUMNS = ['id', 'title', 'body', 'created_by', 'updated_by', 'created_at', 'updated_at'] as const;

/**
 * Matches the search literally: `%` and `_` typed by a person are not wildcards. SQLite has no
 * default escape character, so it is named (PostgreSQL's default is the same backslash).
 */
const contains = (column: 'title_key' | 'body', search: string) => {
  const pattern = `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return sql<boolean>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`;
};

/** Unique-index violations, as SQLite (better-sqlite3) and PostgreSQL (pg) report them. */
function isUniqueViolation(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** The team's quick replies, listed by title ignoring case; titles are unique in the same way. */
export function createQuickReplyStore(db: Kysely<Database>): QuickReplyRepository {
  return {
    async list({ offset, limit, search }) {
      let query = db.selectFrom('quick_reply');
      const needle = search?.trim();
      if (needle) query = query.where((eb) => eb.or([contains('title_key', needle), contains('body', needle)]));
      const [rows, count] = await Promise.all([
        query.select(COLUMNS).orderBy('title_key').orderBy('id').offset(offset).limit(limit).execute(),
        query.select((eb) => eb.fn.countAll<number | string>().as('total')).executeTakeFirst(),
      ]);
      return { rows, total: Number(count?.total ?? 0) };
    },

    async get(id) {
      return db.selectFrom('quick_reply').select(COLUMNS).where('id', '=', id).executeTakeFirst();
    },

    async create({ id, draft, by, now }) {
      const result = await db
        .insertInto('quick_reply')
        .values({
          id,
          title: draft.title,
          title_key: quickReplyTitleKey(draft.title),
          body: draft.body,
          created_by: by,
          updated_by: by,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('title_key').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0 ? 'created' : 'duplicate_title';
    },

    async update(id, { draft, by, now }) {
      try {
        const result = await db
          .updateTable('quick_reply')
          .set({
            title: draft.title,
            title_key: quickReplyTitleKey(draft.title),
            body: draft.body,
            updated_by: by,
            updated_at: now,
          })
          .where('id', '=', id)
          .executeTakeFirst();
        return Number(result.numUpdatedRows) > 0 ? 'updated' : 'missing';
      } catch (error) {
        if (isUniqueViolation(error)) return 'duplicate_title';
        throw error;
      }
    },

    async remove(id) {
      const result = await db.deleteFrom('quick_reply').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
