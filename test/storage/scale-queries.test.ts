import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHistory, HISTORY_EXPORT_PAGE } from '../../src/bridge/history.js';
import type { Database } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createCampaignStore } from '../../src/db/stores/campaign-store.js';
import { createConversationStore } from '../../src/db/stores/conversation-store.js';
import { createMessageStore } from '../../src/db/stores/message-store.js';
import { PURGE_BATCH } from '../../src/db/stores/purge-batches.js';
import { dialects, type TestDatabase } from '../support/databases.js';

/**
 * The query shapes a year of data needs (issue #18, migrations/2026_12_04_1900_scale_indexes.ts):
 * the statements the stores really send are captured and their plans asked of the database, so a
 * store change that stops using an index fails here rather than only in `npm run bench -- scale`.
 * Also: the batched retention purge and the keyset-paged export lose and repeat nothing.
 */

const cases = await dialects();
const CONTACTS = 60;
const MESSAGES = 4500;
const RECIPIENTS = 2600;
const DAY = 24 * 60 * 60 * 1000;

for (const dialect of cases) {
  describe.runIf(dialect.available)(`scale indexes and batched purges on ${dialect.name}`, () => {
    let testDb: TestDatabase;
    let db: Kysely<Database>;
    let explainDb: Kysely<Database>;
    const captured: { sql: string; parameters: readonly unknown[] }[] = [];
    const base = Date.now() - 60 * DAY;

    /** Runs `act` against the stores, returns the plan of every statement it sent, joined. */
    async function plansOf(act: (store: Kysely<Database>) => Promise<unknown>): Promise<string[]> {
      captured.length = 0;
      await act(explainDb);
      const plans: string[] = [];
      for (const query of [...captured]) {
        const prefix = dialect.name === 'sqlite' ? 'explain query plan ' : 'explain ';
        const result = await explainDb.executeQuery<Record<string, unknown>>(
          CompiledQuery.raw(`${prefix}${query.sql}`, [...query.parameters]),
        );
        plans.push(`${query.sql}\n  ${result.rows.map((r) => String(r.detail ?? r['QUERY PLAN'])).join('\n  ')}`);
      }
      return plans;
    }

    beforeAll(async () => {
      testDb = await dialect.create();
      const target = testDb.target;
      const make = (log?: (query: CompiledQuery) => void) =>
        new Kysely<Database>({
          dialect:
            target.kind === 'sqlite'
              ? new SqliteDialect({ database: new BetterSqlite3(target.path) })
              : new PostgresDialect({
                  pool: new pg.Pool({ connectionString: target.url, max: 1, types: { getTypeParser: pgParser } }),
                }),
          ...(log
            ? {
                log: (event) => {
                  if (event.level === 'query') log(event.query);
                },
              }
            : {}),
        });
      db = make();
      await migrateToLatest(db);
      explainDb = make((query) => {
        if (!/^(explain|set|begin|drop|rollback)/i.test(query.sql))
          captured.push({ sql: query.sql, parameters: query.parameters });
      });
      // A handful of rows: PostgreSQL would scan them whatever the indexes, so it is told not to.
      if (target.kind === 'postgres') await explainDb.executeQuery(CompiledQuery.raw('set enable_seqscan = off'));

      const now = Date.now();
      await db
        .insertInto('contact')
        .values(
          Array.from({ length: CONTACTS }, (_, k) => ({
            id: `c-${k}`,
            sending_number_id: k % 2 ? 'pn-2' : 'pn-1',
            phone_number: `+4477100${String(10000 + k)}`,
            user_id: null,
            profile_name: `Name ${k}`,
            note: null,
            last_inbound_at: null,
            last_message_at: now,
            last_direction: 'inbound' as const,
            created_at: 1,
            updated_at: 1,
          })),
        )
        .execute();
      for (let b = 0; b < MESSAGES; b += 500) {
        await db
          .insertInto('message')
          .values(
            Array.from({ length: 500 }, (_, j) => {
              const i = b + j;
              // Ten messages share each millisecond: keyset paging must order ties by id.
              const at = base + Math.floor(i / 10) * 1000;
              return {
                id: `m-${String(i).padStart(5, '0')}`,
                contact_id: `c-${i % CONTACTS}`,
                direction: i % 2 ? ('outbound' as const) : ('inbound' as const),
                kind: 'text',
                body: `body ${i}`,
                media_json: null,
                provider_message_id: `wamid.${i}`,
                alternate_message_id: null,
                slack_channel_id: null,
                slack_ts: null,
                status: 'delivered' as const,
                error_code: null,
                error_detail: null,
                provider_timestamp: null,
                source: i % 2 ? ('agent' as const) : ('contact' as const),
                author_slack_user_id: i % 2 ? 'UAGENT' : null,
                campaign_id: null,
                created_at: at,
                updated_at: at,
              };
            }),
          )
          .execute();
      }
      // Another campaign, still sending (its variables stay), and larger: the planner has a choice to make.
      await db
        .insertInto('campaign')
        .values({
          id: 'cmp-0',
          created_by: 'UMARKETER',
          slack_channel_id: 'C1',
          slack_message_ts: null,
          sending_number_id: 'pn-1',
          template_name: 'hello_world',
          template_language: 'en_US',
          template_category: null,
          parameters_json: '{}',
          status: 'sending',
          scheduled_at: null,
          created_at: 1,
          started_at: 1,
          finished_at: null,
          error: null,
          slack_response_url: null,
        })
        .execute();
      await db
        .insertInto('campaign')
        .values({
          id: 'cmp-1',
          created_by: 'UMARKETER',
          slack_channel_id: 'C1',
          slack_message_ts: null,
          sending_number_id: 'pn-1',
          template_name: 'hello_world',
          template_language: 'en_US',
          template_category: null,
          parameters_json: '{}',
          status: 'completed',
          scheduled_at: null,
          created_at: 1,
          started_at: 1,
          finished_at: 2,
          error: null,
          slack_response_url: null,
        })
        .execute();
      for (const campaignId of ['cmp-0', 'cmp-1'])
        for (let b = 0; b < RECIPIENTS * (campaignId === 'cmp-0' ? 4 : 1); b += 500) {
          await db
            .insertInto('campaign_recipient')
            .values(
              Array.from({ length: Math.min(500, RECIPIENTS * (campaignId === 'cmp-0' ? 4 : 1) - b) }, (_, j) => ({
                campaign_id: campaignId,
                phone_number: `+4477200${String(10000 + b + j)}`,
                parameters_json: '["Ana"]',
                status: 'delivered' as const,
                provider_message_id: null,
                error_code: null,
                error_detail: null,
                claimed_by: null,
                claimed_until: null,
                retry_at: null,
                updated_at: 1,
              })),
            )
            .execute();
        }
      if (target.kind === 'postgres') await db.executeQuery(CompiledQuery.raw('analyze'));
    });
    afterAll(async () => {
      await explainDb?.destroy();
      await db?.destroy();
      await testDb?.drop();
    });

    it('history for one number starts from contact_phone, and a non-lead’s from message_agent_author', async () => {
      const plans = await plansOf((x) =>
        createMessageStore(x).history({ phoneNumber: '+447710010007', limit: 21, offset: 0 }),
      );
      expect(plans.join('\n')).toContain('contact_phone');
      const restricted = await plansOf((x) =>
        createMessageStore(x).history({ phoneNumber: '+447710010007', takenPartBy: 'UAGENT', limit: 21, offset: 0 }),
      );
      expect(restricted.join('\n')).toContain('message_agent_author');
    });

    it('All Sessions search finds a number, a name or a note through the trigram index', async () => {
      const search = (query: string) => (x: Kysely<Database>) =>
        createConversationStore(x).searchContacts({ query, limit: 10, offset: 0 });
      // SQLite: the FTS5 table; PostgreSQL: a pg_trgm GIN index on the name and on the note.
      const indexes =
        dialect.name === 'sqlite'
          ? ['contact_search VIRTUAL TABLE']
          : ['contact_note_trgm', 'contact_profile_name_trgm'];
      // PostgreSQL would rather walk 60 contacts newest first (the right plan for 60, not for 100,000):
      // that index is dropped for the test, in a transaction undone after it.
      const raw = (statement: string) => explainDb.executeQuery(CompiledQuery.raw(statement));
      if (dialect.name === 'postgres') {
        await raw('begin');
        await raw('drop index contact_last_message');
      }
      // On PostgreSQL a number is matched by reading the contacts: no trigram index of numbers (see the
      // migration), so only the name and note searches are held to an index there.
      const queries = dialect.name === 'sqlite' ? ['10042', 'Name 4', 'vip customer'] : ['Name 4', 'vip customer'];
      for (const query of queries) {
        const plans = await plansOf(search(query));
        for (const index of indexes) expect(plans.join('\n')).toContain(index);
        expect(plans.join('\n')).not.toMatch(/SCAN contact\b|Seq Scan on contact/);
      }
      if (dialect.name === 'postgres') await raw('rollback');
    });

    it('the per-recipient CSV pages through campaign_recipient_campaign_id', async () => {
      const plans = await plansOf((x) => createCampaignStore(x, dialect.name).recipients('cmp-1', 100, 5000));
      expect(plans.join('\n')).toContain('campaign_recipient_campaign_id');
    });

    it('exports every message of a range once, in order, across keyset pages with ties', async () => {
      const store = createMessageStore(db);
      const history = createHistory({ repository: store, isLead: async () => true });
      const chunks: Buffer[] = [];
      const exported = await history.exportCsv('ULEAD', {}, { write: async (chunk) => void chunks.push(chunk) });
      if (!exported.ok) throw new Error(exported.error);
      expect(exported.rows).toBe(MESSAGES);
      // The header, then one chunk per page: the pages are handed over, not gathered.
      expect(chunks.length).toBe(1 + Math.ceil(MESSAGES / HISTORY_EXPORT_PAGE));
      const bodies = Buffer.concat(chunks)
        .toString()
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(',')[6]);
      const expected = (await store.history({ limit: MESSAGES + 1, offset: 0 })).map((r) => r.body);
      expect(bodies).toEqual(expected);
      expect(new Set(bodies).size).toBe(MESSAGES);
    });

    it('purges content in batches through the partial indexes, everything before the cutoff and nothing after', async () => {
      const now = Date.now();
      const cutoff = base + 300 * 1000; // the first 3,000 messages (ten per second)
      const plans = await plansOf((x) => createMessageStore(x).purgeContentBefore(cutoff, now));
      // 3,000 messages: full batches and an empty one, each an UPDATE through the partial index.
      const updates = plans.filter((p) => p.startsWith('update'));
      expect(updates.length).toBe(Math.floor(3000 / PURGE_BATCH) + 1);
      for (const plan of updates) expect(plan).toContain('message_content_created');
      const left = await db
        .selectFrom('message')
        .select((eb) => [
          eb.fn.countAll<number>().as('all'),
          eb.fn.count<number>('body').as('withBody'),
          eb.fn.min('created_at').as('oldestWithBody'),
        ])
        .where('body', 'is not', null)
        .executeTakeFirstOrThrow();
      expect(Number(left.withBody)).toBe(MESSAGES - 3000);
      expect(Number(left.oldestWithBody)).toBeGreaterThanOrEqual(cutoff);

      let purgedVariables = 0;
      const variablePlans = await plansOf(async (x) => {
        purgedVariables = await createCampaignStore(x, dialect.name).purgeRecipientVariables(now);
      });
      expect(purgedVariables).toBeGreaterThan(PURGE_BATCH);
      expect(variablePlans.filter((p) => p.startsWith('update')).length).toBe(
        Math.floor(purgedVariables / PURGE_BATCH) + 1,
      );
      expect(variablePlans.join('\n')).toContain('campaign_recipient_variables');
      const kept = await db
        .selectFrom('campaign_recipient')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('parameters_json', 'is not', null)
        .where('campaign_id', '=', 'cmp-1')
        .executeTakeFirstOrThrow();
      expect(Number(kept.n)).toBe(0);
    });
  });
}

/** As the app reads PostgreSQL: bigint timestamps as numbers. */
function pgParser(oid: number, format?: 'text' | 'binary') {
  if (oid === pg.types.builtins.INT8) return (value: string) => Number(value);
  return pg.types.getTypeParser(oid, format);
}
