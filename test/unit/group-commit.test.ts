import { describe, expect, it } from 'vitest';
import { createGroupCommit } from '../../src/shared/group-commit.js';

/** A write that stays in progress until the test lets it finish. */
function controllableWrites<T>() {
  const writes: { items: T[]; finish(): void; fail(error: Error): void }[] = [];
  const write = (items: T[]) =>
    new Promise<void>((resolve, reject) => {
      writes.push({ items, finish: resolve, fail: reject });
    });
  return { writes, write };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('group commit', () => {
  it('writes what arrives in the same turn together, and what arrives during a write in the next one', async () => {
    const { writes, write } = controllableWrites<string>();
    const commit = createGroupCommit(write);
    const settled: string[] = [];
    const add = (item: string) => commit.add(item).then(() => settled.push(item));

    const first = [add('a'), add('b')];
    await turn();
    expect(writes.map((w) => w.items)).toEqual([['a', 'b']]);

    const second = [add('c'), add('d')]; // arrive while the first write is in progress
    await turn();
    expect(writes).toHaveLength(1); // not written yet: one write at a time
    expect(settled).toEqual([]); // nobody is told "stored" before the write finished

    writes[0]?.finish();
    await Promise.all(first);
    expect(settled).toEqual(['a', 'b']);
    await turn();
    expect(writes.map((w) => w.items)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    writes[1]?.finish();
    await Promise.all(second);
    expect(settled).toEqual(['a', 'b', 'c', 'd']);
  });

  it('splits what is waiting into writes of at most maxBatch items', async () => {
    const { writes, write } = controllableWrites<number>();
    const commit = createGroupCommit(write, { maxBatch: 2 });
    const all = [1, 2, 3, 4, 5].map((n) => commit.add(n));
    await turn();
    writes[0]?.finish();
    await turn();
    writes[1]?.finish();
    await turn();
    writes[2]?.finish();
    await Promise.all(all);
    expect(writes.map((w) => w.items)).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('counts a batch by the size of its items when told how, writing an oversized item on its own', async () => {
    const { writes, write } = controllableWrites<string[]>();
    const commit = createGroupCommit(write, { maxBatch: 4, sizeOf: (list) => list.length });
    const all = [['a', 'b'], ['c', 'd'], ['e'], ['f', 'g', 'h', 'i', 'j'], ['k']].map((list) => commit.add(list));
    for (let i = 0; i < 3; i++) {
      await turn();
      writes[i]?.finish();
    }
    await turn();
    writes[3]?.finish();
    await Promise.all(all);
    expect(writes.map((w) => w.items)).toEqual([
      [
        ['a', 'b'],
        ['c', 'd'],
      ],
      [['e']],
      [['f', 'g', 'h', 'i', 'j']],
      [['k']],
    ]);
  });

  it('rejects only the callers whose write failed; the next write goes ahead', async () => {
    const { writes, write } = controllableWrites<string>();
    const commit = createGroupCommit(write);
    const failed = commit.add('lost');
    await turn();
    const later = commit.add('kept');
    writes[0]?.fail(new Error('disk full'));
    await expect(failed).rejects.toThrow('disk full');
    await turn();
    expect(writes[1]?.items).toEqual(['kept']);
    writes[1]?.finish();
    await expect(later).resolves.toBeUndefined();
    await commit.idle();
  });
});
