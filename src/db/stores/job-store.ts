import { CompiledQuery, type Insertable, type Kysely, sql } from 'kysely';
import type { Database, JobRow, JobTable } from '../database.js';

/** Column order of the batch insert's parameters (see enqueueAll). */
const JOB_COLUMNS = [
  'kind',
  'ordering_key',
  'idempotency_key',
  'payload',
  'status',
  'max_attempts',
  'run_at',
  'locked_by',
  'locked_until',
  'last_error',
  'created_at',
  'updated_at',
] as const;
const INSERT_CHUNK = 200;

export type NewJob = {
  kind: string;
  payload: unknown;
  /** Jobs that share a key run one at a time, in the order they were enqueued. */
  orderingKey?: string | null;
  /** A second enqueue with the same key is ignored (at-most-once enqueue). */
  idempotencyKey?: string | null;
  runAt?: number;
  maxAttempts?: number;
};

export type ClaimedJob = {
  id: number;
  kind: string;
  payload: unknown;
  attempts: number;
  maxAttempts: number;
  orderingKey: string | null;
};

export type QueueDepth = { kind: string; pending: number; oldestRunAt: number | null };

export type JobStore = ReturnType<typeof createJobStore>;

/**
 * The durable outbox. Claiming marks rows `running` under a lease; a worker that dies leaves its
 * lease to expire and another worker (or the restarted process) takes the job over. On
 * PostgreSQL, FOR UPDATE SKIP LOCKED lets several replicas claim concurrently without overlap.
 *
 * Longer than 150 lines on purpose: a store is one closure of short queries sharing its connection
 * (and compiled statements); each method is the unit to read.
 */
export function createJobStore(db: Kysely<Database>, dialect: 'sqlite' | 'postgres') {
  const toClaimed = (row: JobRow): ClaimedJob => ({
    id: row.id,
    kind: row.kind,
    payload: JSON.parse(row.payload) as unknown,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    orderingKey: row.ordering_key,
  });

  // The webhook intake's batch insert is compiled by kysely once per batch size and reused:
  // building and compiling the query tree cost more than running it.
  const insertSqlBySize = new Map<number, string>();
  const batchInsertSql = (rows: number): string => {
    let text = insertSqlBySize.get(rows);
    if (text === undefined) {
      const placeholder = Object.fromEntries(
        JOB_COLUMNS.map((column) => [column, null]),
      ) as unknown as Insertable<JobTable>;
      const compiled = db
        .insertInto('job')
        .values(Array.from({ length: rows }, () => placeholder))
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .compile();
      if (compiled.parameters.length !== rows * JOB_COLUMNS.length)
        throw new Error('unexpected parameter count in the job batch insert');
      text = compiled.sql;
      insertSqlBySize.set(rows, text);
    }
    return text;
  };

  return {
    /** Returns the new job id, or null when the idempotency key was already used. */
    async enqueue(job: NewJob, now: number, executor: Kysely<Database> = db): Promise<number | null> {
      const inserted = await executor
        .insertInto('job')
        .values({
          kind: job.kind,
          ordering_key: job.orderingKey ?? null,
          idempotency_key: job.idempotencyKey ?? null,
          payload: JSON.stringify(job.payload),
          status: 'pending',
          max_attempts: job.maxAttempts ?? 10,
          run_at: job.runAt ?? now,
          locked_by: null,
          locked_until: null,
          last_error: null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .returning('id')
        .executeTakeFirst();
      return inserted?.id ?? null;
    },

    /** All or nothing: either every job is stored or none is (one statement per 200 jobs). */
    async enqueueAll(jobs: readonly NewJob[], now: number): Promise<void> {
      if (jobs.length === 0) return;
      const values = (job: NewJob): unknown[] => [
        job.kind,
        job.orderingKey ?? null,
        job.idempotencyKey ?? null,
        JSON.stringify(job.payload),
        'pending',
        job.maxAttempts ?? 10,
        job.runAt ?? now,
        null,
        null,
        null,
        now,
        now,
      ];
      const statements: CompiledQuery[] = [];
      for (let i = 0; i < jobs.length; i += INSERT_CHUNK) {
        const chunk = jobs.slice(i, i + INSERT_CHUNK);
        statements.push(CompiledQuery.raw(batchInsertSql(chunk.length), chunk.flatMap(values)));
      }
      // One statement is atomic on its own; several (a very large webhook) go in one transaction.
      const [only] = statements;
      if (statements.length === 1 && only) await db.executeQuery(only);
      else
        await db.transaction().execute(async (trx) => {
          for (const statement of statements) await trx.executeQuery(statement);
        });
    },

    async claim(options: {
      workerId: string;
      now: number;
      leaseMs: number;
      limit: number;
      kinds?: readonly string[];
      /** Also take over jobs whose worker's lease ran out (a crashed replica's); default true. */
      includeAbandoned?: boolean;
    }): Promise<ClaimedJob[]> {
      const { workerId, now, leaseMs, limit, kinds } = options;
      // Two narrow queries instead of one with an OR: each walks an index and stops after `limit`
      // claimable jobs, instead of evaluating (and sorting) every pending job on every claim. Due
      // jobs go oldest first; the ordering key, not the claim order, keeps a conversation in order.
      const candidates = (executor: Kysely<Database>, which: 'due' | 'abandoned', max: number) => {
        let query = executor
          .selectFrom('job as j')
          .select('j.id')
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('job as e')
                  .select(sql`1`.as('one'))
                  .whereRef('e.ordering_key', '=', 'j.ordering_key')
                  .whereRef('e.id', '<', 'j.id')
                  .where('e.status', 'in', ['pending', 'running']),
              ),
            ),
          )
          .limit(max);
        query =
          which === 'due'
            ? query.where('j.status', '=', 'pending').where('j.run_at', '<=', now).orderBy('j.run_at').orderBy('j.id')
            : query.where('j.status', '=', 'running').where('j.locked_until', '<', now).orderBy('j.id');
        if (kinds && kinds.length > 0) query = query.where('j.kind', 'in', kinds);
        return query;
      };
      const markClaimed = (executor: Kysely<Database>) =>
        executor.updateTable('job').set((eb) => ({
          status: 'running',
          locked_by: workerId,
          locked_until: now + leaseMs,
          attempts: eb('attempts', '+', 1),
          updated_at: now,
        }));

      const claimed: JobRow[] = [];
      const kindsToClaim = options.includeAbandoned === false ? (['due'] as const) : (['abandoned', 'due'] as const);
      for (const which of kindsToClaim) {
        const max = limit - claimed.length;
        if (max <= 0) break;
        if (dialect === 'postgres') {
          const rows = await db.transaction().execute(async (trx) => {
            const ids = (await candidates(trx, which, max).forUpdate().skipLocked().execute()).map((r) => r.id);
            if (ids.length === 0) return [];
            return markClaimed(trx).where('id', 'in', ids).returningAll().execute();
          });
          claimed.push(...rows);
        } else {
          // One statement is atomic in SQLite; a read-then-write transaction would hit SQLITE_BUSY.
          claimed.push(
            ...(await markClaimed(db)
              .where('id', 'in', candidates(db, which, max))
              .returningAll()
              .execute()),
          );
        }
      }
      return claimed.sort((a, b) => a.id - b.id).map(toClaimed);
    },

    /** Only the worker holding the lease may settle a job (a stale worker's result is ignored). */
    async complete(id: number, workerId: string, now: number): Promise<boolean> {
      const result = await db
        .updateTable('job')
        .set({ status: 'done', locked_by: null, locked_until: null, updated_at: now })
        .where('id', '=', id)
        .where('locked_by', '=', workerId)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async retryLater(id: number, workerId: string, error: string, runAt: number, now: number): Promise<void> {
      await db
        .updateTable('job')
        .set({
          status: 'pending',
          locked_by: null,
          locked_until: null,
          run_at: runAt,
          last_error: error,
          updated_at: now,
        })
        .where('id', '=', id)
        .where('locked_by', '=', workerId)
        .execute();
    },

    async failPermanently(id: number, workerId: string, error: string, now: number): Promise<void> {
      await db
        .updateTable('job')
        .set({ status: 'failed', locked_by: null, locked_until: null, last_error: error, updated_at: now })
        .where('id', '=', id)
        .where('locked_by', '=', workerId)
        .execute();
    },

    async extendLease(id: number, workerId: string, until: number): Promise<void> {
      await db
        .updateTable('job')
        .set({ locked_until: until })
        .where('id', '=', id)
        .where('locked_by', '=', workerId)
        .execute();
    },

    /**
     * Single-process deployments (SQLite) restart with nobody else holding leases, so jobs left
     * `running` by a crash can be taken back at once instead of waiting for the lease to expire.
     */
    async releaseAllLeases(now: number): Promise<number> {
      const result = await db
        .updateTable('job')
        .set({ status: 'pending', locked_by: null, locked_until: null, updated_at: now })
        .where('status', '=', 'running')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async get(id: number): Promise<JobRow | undefined> {
      return db.selectFrom('job').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async depths(): Promise<QueueDepth[]> {
      const rows = await db
        .selectFrom('job')
        .select(['kind', (eb) => eb.fn.countAll<number>().as('pending'), (eb) => eb.fn.min('run_at').as('oldest')])
        .where('status', 'in', ['pending', 'running'])
        .groupBy('kind')
        .execute();
      return rows.map((r) => ({
        kind: r.kind,
        pending: Number(r.pending),
        oldestRunAt: r.oldest === null ? null : Number(r.oldest),
      }));
    },

    async purgeFinished(olderThan: number): Promise<number> {
      const result = await db
        .deleteFrom('job')
        .where('status', 'in', ['done', 'failed'])
        .where('updated_at', '<', olderThan)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
