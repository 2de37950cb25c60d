import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/create-db.js';

type Scratch = { note: { id: number; body: string; bytes: Buffer | null } };

describe('SQLite on its own thread', () => {
  let handle: DatabaseHandle;
  let db: Kysely<Scratch>;

  const open = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sqlite-thread-'));
    handle = createDatabase({ kind: 'sqlite', path: join(dir, 'db.sqlite') }, { backgroundCheckpoints: true });
    db = handle.db as unknown as Kysely<Scratch>;
    await sql`create table note (id integer primary key, body text not null unique, bytes blob)`.execute(db);
  };
  afterEach(async () => {
    await handle?.close();
  });

  it('keeps the event loop running while a long statement runs', async () => {
    await open();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    // A statement that keeps SQLite busy for a while (a few hundred ms on this kind of machine).
    const slow = sql<{ n: number }>`
      with recursive counter(n) as (select 1 union all select n + 1 from counter where n < 3000000)
      select count(*) as n from counter`.execute(db);
    const ticksWhileRunning = await slow.then((result) => {
      expect(result.rows[0]?.n).toBe(3_000_000);
      return ticks;
    });
    clearInterval(timer);
    // On the app's own thread the timer could not fire at all until the statement finished.
    expect(ticksWhileRunning).toBeGreaterThan(5);
  });

  it('keeps an open transaction to itself: a write from outside runs after it, and survives its rollback', async () => {
    await open();
    let releaseTransaction: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      releaseTransaction = resolve;
    });
    const transaction = db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('note').values({ id: 1, body: 'inside', bytes: null }).execute();
        await held;
        const seen = await trx.selectFrom('note').select('body').orderBy('id').execute();
        expect(seen.map((row) => row.body)).toEqual(['inside']); // the outside write has not run yet
        throw new Error('roll it back');
      })
      .catch((error: Error) => error.message);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const outside = db.insertInto('note').values({ id: 2, body: 'outside', bytes: null }).execute();
    await new Promise((resolve) => setTimeout(resolve, 20));
    releaseTransaction();
    expect(await transaction).toBe('roll it back');
    await outside;
    const rows = await db.selectFrom('note').select('body').execute();
    expect(rows.map((row) => row.body)).toEqual(['outside']);
  });

  it('runs statements in the order they were issued, and reports SQLite errors with their code', async () => {
    await open();
    const inserts = Array.from({ length: 50 }, (_, i) =>
      db
        .insertInto('note')
        .values({ id: i + 1, body: `n${i}`, bytes: null })
        .execute(),
    );
    const duplicate = db
      .insertInto('note')
      .values({ id: 99, body: 'n0', bytes: null })
      .execute()
      .catch((error: Error & { code?: string }) => error);
    await Promise.all(inserts);
    const error = await duplicate;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error & { code?: string }).code).toBe('SQLITE_CONSTRAINT_UNIQUE');
    expect((error as Error).message).toMatch(/UNIQUE constraint failed: note.body/);
    const ids = await db.selectFrom('note').select('id').orderBy('id').execute();
    expect(ids.map((row) => row.id)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it("keeps SQLite's page cache to 4 MB (better-sqlite3's build would give it 16 MB)", async () => {
    await open();
    const { rows } = await sql<{ cache_size: number }>`pragma cache_size`.execute(db);
    expect(rows[0]?.cache_size).toBe(-4000);
  });

  it('gives BLOBs back as Buffers, and affected rows and insert ids as bigints', async () => {
    await open();
    const inserted = await db
      .insertInto('note')
      .values({ id: 7, body: 'png', bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47]) })
      .executeTakeFirst();
    expect(inserted.insertId).toBe(7n);
    const row = await db.selectFrom('note').select('bytes').where('id', '=', 7).executeTakeFirstOrThrow();
    expect(Buffer.isBuffer(row.bytes)).toBe(true);
    expect(row.bytes?.toString('hex')).toBe('89504e47');
    const updated = await db.updateTable('note').set({ body: 'png2' }).where('id', '=', 7).executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(1n);
  });

  it('reports a database it cannot open on each statement, and still closes', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'sqlite-thread-'));
    handle = createDatabase({ kind: 'sqlite', path: directory }); // a directory is no database file
    await expect(sql`select 1`.execute(handle.db)).rejects.toThrow(/unable to open database file/);
    await expect(sql`select 1`.execute(handle.db)).rejects.toThrow(/unable to open database file/);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the thread has exited by now
    await handle.close(); // must not wait for a thread that has already stopped
    handle = createDatabase({ kind: 'sqlite', path: ':memory:' }); // for afterEach
  });

  it('tells its owner once when the thread stops on its own, and not when it is closed', async () => {
    const failures: string[] = [];
    const directory = mkdtempSync(join(tmpdir(), 'sqlite-thread-'));
    handle = createDatabase(
      { kind: 'sqlite', path: directory },
      { onFailure: (error) => failures.push(error.message) },
    );
    await expect(sql`select 1`.execute(handle.db)).rejects.toThrow(/unable to open database file/);
    await new Promise((resolve) => setTimeout(resolve, 100)); // both 'error' and 'exit' have arrived
    expect(failures).toEqual(['unable to open database file']);
    await handle.close();

    const closed: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'sqlite-thread-'));
    handle = createDatabase(
      { kind: 'sqlite', path: join(dir, 'db.sqlite') },
      { onFailure: (e) => closed.push(e.message) },
    );
    await sql`select 1`.execute(handle.db);
    await handle.close();
    expect(closed).toEqual([]);
    handle = createDatabase({ kind: 'sqlite', path: ':memory:' }); // for afterEach
  });
});
