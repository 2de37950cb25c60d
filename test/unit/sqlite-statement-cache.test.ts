import SQLite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { withStatementCache } from '../../src/db/sqlite-statement-cache.js';

describe('the SQLite statement cache', () => {
  const open = () => {
    const raw = new SQLite(':memory:');
    raw.exec('create table t (n integer)');
    for (let i = 0; i < 5; i++) raw.prepare('insert into t values (?)').run(i);
    return raw;
  };

  it('prepares the same SQL once and reuses it', () => {
    const db = withStatementCache(open());
    const first = db.prepare('select n from t where n > ?');
    const second = db.prepare('select n from t where n > ?');
    expect(second).toBe(first);
    expect(second.all(2)).toEqual([{ n: 3 }, { n: 4 }]);
  });

  it('gives a fresh statement while the cached one is still iterating a streamed query', () => {
    const db = withStatementCache(open());
    const sql = 'select n from t order by n';
    const streaming = db.prepare(sql).iterate() as IterableIterator<{ n: number }>;
    expect(streaming.next().value).toEqual({ n: 0 });
    const meanwhile = db.prepare(sql);
    expect(meanwhile.all()).toHaveLength(5);
    expect([...streaming].map((row) => row.n)).toEqual([1, 2, 3, 4]);
  });

  it('keeps at most `capacity` statements, dropping the least recently used', () => {
    const db = withStatementCache(open(), 2);
    const a = db.prepare('select 1');
    db.prepare('select 2');
    db.prepare('select 1'); // a is now the most recently used
    db.prepare('select 3'); // evicts "select 2"
    expect(db.prepare('select 1')).toBe(a);
    const two = db.prepare('select 2');
    expect(db.prepare('select 2')).toBe(two);
  });
});
