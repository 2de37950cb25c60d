import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/create-db.js';
import { isMigrated, migrateToLatest } from '../../src/db/migrate.js';
import { createJobStore } from '../../src/db/stores/job-store.js';
import { createProcessedEventStore } from '../../src/db/stores/processed-event-store.js';
import { createJobRunner, JobInterruptedError } from '../../src/jobs/job-runner.js';
import { createLogger } from '../../src/shared/logger.js';
import { dialects, type TestDatabase } from '../support/databases.js';

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`storage on ${dialect.name}`, () => {
    let testDb: TestDatabase;
    let handle: DatabaseHandle;

    beforeAll(async () => {
      testDb = await dialect.create();
      handle = createDatabase(testDb.target);
      await migrateToLatest(handle.db);
    });
    afterAll(async () => {
      await handle?.close();
      await testDb?.drop();
    });

    it('applies migrations once and reports the schema as migrated', async () => {
      expect(await isMigrated(handle.db)).toBe(true);
      const again = await migrateToLatest(handle.db);
      expect(again).toEqual([]);
    });

    it('reads epoch-millisecond timestamps back as numbers', async () => {
      const at = 1_790_000_000_123;
      await handle.db
        .insertInto('sending_number')
        .values({
          id: 'pn-1',
          provider: 'meta',
          phone_number: '+15550001111',
          display_name: null,
          health: 'connected',
          health_reason: null,
          quality_rating: null,
          updated_at: at,
        })
        .execute();
      const row = await handle.db
        .selectFrom('sending_number')
        .selectAll()
        .where('id', '=', 'pn-1')
        .executeTakeFirstOrThrow();
      expect(row.updated_at).toBe(at);
      expect(typeof row.updated_at).toBe('number');
    });

    it('refuses a second message with the same provider message id', async () => {
      const now = Date.now();
      await handle.db
        .insertInto('contact')
        .values({
          id: 'c-1',
          sending_number_id: 'pn-1',
          phone_number: '+447700900123',
          user_id: null,
          profile_name: 'Ana',
          note: null,
          last_inbound_at: null,
          last_message_at: null,
          last_direction: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      const message = {
        contact_id: 'c-1',
        direction: 'inbound' as const,
        kind: 'text',
        body: 'hi',
        media_json: null,
        provider_message_id: 'wamid.same',
        alternate_message_id: null,
        slack_channel_id: null,
        slack_ts: null,
        status: 'received' as const,
        error_code: null,
        error_detail: null,
        provider_timestamp: now,
        source: 'contact' as const,
        author_slack_user_id: null,
        campaign_id: null,
        created_at: now,
        updated_at: now,
      };
      await handle.db
        .insertInto('message')
        .values({ ...message, id: 'm-1' })
        .execute();
      await expect(
        handle.db
          .insertInto('message')
          .values({ ...message, id: 'm-2' })
          .execute(),
      ).rejects.toThrow();
    });

    it('remembers processed event keys', async () => {
      const events = createProcessedEventStore(handle.db);
      expect(await events.markFirstSeen('slack:Ev1', 1)).toBe(true);
      expect(await events.markFirstSeen('slack:Ev1', 2)).toBe(false);
      expect(await events.purgeOlderThan(10)).toBe(1);
      expect(await events.markFirstSeen('slack:Ev1', 11)).toBe(true);
    });

    describe('job queue', () => {
      it('ignores a second enqueue with the same idempotency key', async () => {
        const jobs = createJobStore(handle.db, handle.dialect);
        const first = await jobs.enqueue({ kind: 'k', payload: { n: 1 }, idempotencyKey: 'idem-1' }, 1000);
        const second = await jobs.enqueue({ kind: 'k', payload: { n: 2 }, idempotencyKey: 'idem-1' }, 1000);
        expect(first).toBeTypeOf('number');
        expect(second).toBeNull();
        const claimed = await jobs.claim({ workerId: 'w', now: 1000, leaseMs: 100, limit: 10, kinds: ['k'] });
        expect(claimed.map((j) => j.payload)).toEqual([{ n: 1 }]);
        await jobs.complete(claimed[0]!.id, 'w', 1001);
      });

      it('stores a batch of webhook jobs whole, once per idempotency key, in chunks of any size', async () => {
        const jobs = createJobStore(handle.db, handle.dialect);
        const batch = (from: number, count: number) =>
          Array.from({ length: count }, (_, i) => ({
            kind: 'batch',
            payload: { n: from + i, text: 'it\'s "quoted" and 🎉' },
            orderingKey: `batch:${(from + i) % 7}`,
            idempotencyKey: `batch-${from + i}`,
            maxAttempts: 3,
          }));
        await jobs.enqueueAll(batch(0, 1), 5_000);
        await jobs.enqueueAll(batch(1, 13), 5_000);
        await jobs.enqueueAll(batch(0, 450), 5_000); // three chunks, the first 14 already stored
        const rows = await handle.db
          .selectFrom('job')
          .select(['idempotency_key', 'payload', 'status', 'max_attempts', 'run_at', 'ordering_key', 'attempts'])
          .where('kind', '=', 'batch')
          .orderBy('id')
          .execute();
        expect(rows).toHaveLength(450);
        expect(rows[3]).toEqual({
          idempotency_key: 'batch-3',
          payload: JSON.stringify({ n: 3, text: 'it\'s "quoted" and 🎉' }),
          status: 'pending',
          max_attempts: 3,
          run_at: 5_000,
          ordering_key: 'batch:3',
          attempts: 0,
        });
        expect(new Set(rows.map((r) => r.idempotency_key)).size).toBe(450);
        await handle.db.deleteFrom('job').where('kind', '=', 'batch').execute();
      });

      it('runs jobs that share an ordering key one at a time, in order', async () => {
        const jobs = createJobStore(handle.db, handle.dialect);
        for (const n of [1, 2, 3]) await jobs.enqueue({ kind: 'ordered', payload: n, orderingKey: 'thread-A' }, 2000);
        await jobs.enqueue({ kind: 'ordered', payload: 'other', orderingKey: 'thread-B' }, 2000);

        const firstBatch = await jobs.claim({
          workerId: 'w',
          now: 2000,
          leaseMs: 60_000,
          limit: 10,
          kinds: ['ordered'],
        });
        expect(firstBatch.map((j) => j.payload)).toEqual([1, 'other']);
        expect(await jobs.claim({ workerId: 'w', now: 2000, leaseMs: 1000, limit: 10, kinds: ['ordered'] })).toEqual(
          [],
        );

        await jobs.complete(firstBatch[0]!.id, 'w', 2001);
        const secondBatch = await jobs.claim({
          workerId: 'w',
          now: 2001,
          leaseMs: 1000,
          limit: 10,
          kinds: ['ordered'],
        });
        expect(secondBatch.map((j) => j.payload)).toEqual([2]);

        // A retry scheduled for later still holds back the jobs behind it.
        await jobs.retryLater(secondBatch[0]!.id, 'w', 'boom', 5000, 2002);
        expect(await jobs.claim({ workerId: 'w', now: 2003, leaseMs: 1000, limit: 10, kinds: ['ordered'] })).toEqual(
          [],
        );
        const retried = await jobs.claim({ workerId: 'w', now: 5000, leaseMs: 1000, limit: 10, kinds: ['ordered'] });
        expect(retried.map((j) => [j.payload, j.attempts])).toEqual([[2, 2]]);
        await jobs.complete(retried[0]!.id, 'w', 5001);
        await jobs.complete(firstBatch[1]!.id, 'w', 5001);
        const last = await jobs.claim({ workerId: 'w', now: 5002, leaseMs: 1000, limit: 10, kinds: ['ordered'] });
        expect(last.map((j) => j.payload)).toEqual([3]);
        await jobs.complete(last[0]!.id, 'w', 5003);
      });

      it('hands a job whose lease expired to another worker and ignores the stale worker', async () => {
        const jobs = createJobStore(handle.db, handle.dialect);
        await jobs.enqueue({ kind: 'lease', payload: 'x' }, 10_000);
        const [taken] = await jobs.claim({ workerId: 'dead', now: 10_000, leaseMs: 500, limit: 1, kinds: ['lease'] });
        expect(taken).toBeDefined();
        expect(await jobs.claim({ workerId: 'alive', now: 10_400, leaseMs: 500, limit: 1, kinds: ['lease'] })).toEqual(
          [],
        );
        const [takenOver] = await jobs.claim({
          workerId: 'alive',
          now: 10_600,
          leaseMs: 500,
          limit: 1,
          kinds: ['lease'],
        });
        expect(takenOver?.id).toBe(taken?.id);
        expect(await jobs.complete(taken!.id, 'dead', 10_700)).toBe(false);
        expect(await jobs.complete(taken!.id, 'alive', 10_700)).toBe(true);
      });

      for (const restart of [
        'a restart releasing the leases (SQLite)',
        'lease expiry (PostgreSQL replicas)',
      ] as const) {
        it(`fails a job that was interrupted on each of its attempts, after ${restart}, instead of running it again`, async () => {
          const jobs = createJobStore(handle.db, handle.dialect);
          const kind = `crashing-${restart.slice(0, 5)}`;
          let now = 30_000;
          const leaseMs = 1_000;
          const id = await jobs.enqueue({ kind, payload: { file: 'F1' }, maxAttempts: 3 }, now);
          // Three runs that never finished: each claimed the job, then the process died mid-run.
          for (let attempt = 1; attempt <= 3; attempt++) {
            const [claimed] = await jobs.claim({ workerId: `dead-${attempt}`, now, leaseMs, limit: 1, kinds: [kind] });
            expect(claimed?.attempts).toBe(attempt);
            if (restart.startsWith('a restart')) await jobs.releaseAllLeases(now);
            else now += leaseMs + 1;
          }
          // The next process: its runner claims the job (a 4th claim) but must not hand it over.
          const ran: unknown[] = [];
          const gaveUp: { id: number; error: unknown }[] = [];
          const runner = createJobRunner({
            store: jobs,
            handlers: { [kind]: async (payload) => void ran.push(payload) },
            clock: { now: () => now },
            logger: createLogger('silent'),
            classifyFailure: () => ({ retry: true }),
            onGaveUp: async (job, error) => void gaveUp.push({ id: job.id, error }),
            leaseMs,
            pollIntervalMs: 10,
          });
          runner.start();
          await runner.idle();
          await runner.stop();
          expect(ran, 'the handler never ran again').toEqual([]);
          expect(gaveUp.map((g) => g.id)).toEqual([id]);
          expect(gaveUp[0]?.error).toBeInstanceOf(JobInterruptedError);
          const row = await jobs.get(id!);
          expect(row).toMatchObject({ status: 'failed', attempts: 4, locked_by: null });
          expect(row?.last_error).toMatch(/interrupted 3 times/);
          // Failed for good: neither a restart nor time brings it back.
          await jobs.releaseAllLeases(now);
          expect(await jobs.claim({ workerId: 'later', now: now + 60_000, leaseMs, limit: 1, kinds: [kind] })).toEqual(
            [],
          );
        });
      }

      it('never gives the same job to two concurrent claimers', async () => {
        const second = createDatabase(testDb.target);
        try {
          const a = createJobStore(handle.db, handle.dialect);
          const b = createJobStore(second.db, second.dialect);
          const total = 200;
          for (let i = 0; i < total; i++) await a.enqueue({ kind: 'race', payload: i }, 20_000);
          const seen: number[] = [];
          const drain = async (store: typeof a, worker: string) => {
            for (;;) {
              const batch = await store.claim({
                workerId: worker,
                now: 20_000,
                leaseMs: 60_000,
                limit: 7,
                kinds: ['race'],
              });
              if (batch.length === 0) return;
              for (const job of batch) {
                seen.push(job.id);
                await store.complete(job.id, worker, 20_001);
              }
            }
          };
          await Promise.all([drain(a, 'A'), drain(b, 'B'), drain(a, 'A2'), drain(b, 'B2')]);
          expect(seen.length).toBe(total);
          expect(new Set(seen).size).toBe(total);
        } finally {
          await second.close();
        }
      });
    });
  });
}
