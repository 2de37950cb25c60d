import { describe, expect, it } from 'vitest';
import { createByteBudget } from '../../src/shared/byte-budget.js';

const MB = 1024 * 1024;
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Small deterministic PRNG, so a failing schedule can be replayed. */
function prng(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

describe('media memory budget', () => {
  it('never holds more than the budget, however many transfers of whatever size run at once', async () => {
    const random = prng(14);
    const budget = createByteBudget(128 * MB);
    let concurrent = 0;
    let mostConcurrent = 0;
    const transfers = Array.from({ length: 60 }, async (_, i) => {
      const hold = budget.hold();
      const size = i % 10 === 0 ? 200 * MB : Math.ceil(random() * 60 * MB);
      await hold.reserve(size);
      concurrent++;
      mostConcurrent = Math.max(mostConcurrent, concurrent);
      expect(budget.inUse()).toBeLessThanOrEqual(budget.limitBytes);
      // Sometimes the download turns out larger than declared: the hold grows.
      if (random() < 0.3) await hold.reserve(size + Math.ceil(random() * 20 * MB));
      expect(budget.inUse()).toBeLessThanOrEqual(budget.limitBytes);
      for (let t = Math.floor(random() * 5); t >= 0; t--) await tick();
      concurrent--;
      hold.release();
      hold.release(); // twice is harmless
    });
    await Promise.all(transfers);
    expect(budget.peak()).toBeLessThanOrEqual(128 * MB);
    expect(budget.peak()).toBeGreaterThan(64 * MB);
    expect(mostConcurrent).toBeGreaterThan(1);
    expect(budget.inUse()).toBe(0);
    expect(budget.waiting()).toBe(0);
  });

  it('lets twenty 50 MB documents through two or three at a time, in arrival order, and none is lost', async () => {
    const budget = createByteBudget(128 * MB);
    const order: number[] = [];
    const holds = Array.from({ length: 20 }, () => budget.hold());
    const started = holds.map((hold, i) =>
      hold.reserve(50 * MB).then(() => {
        order.push(i);
      }),
    );
    await tick();
    expect(order).toEqual([0, 1]);
    expect(budget.waiting()).toBe(18);
    for (let i = 0; i < 20; i++) {
      holds[i]?.release();
      await tick();
    }
    await Promise.all(started);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(budget.peak()).toBe(100 * MB);
    expect(budget.inUse()).toBe(0);
  });

  it('moves a file larger than the budget alone, and a small one waits behind it (first come, first served)', async () => {
    const budget = createByteBudget(10 * MB);
    const small = budget.hold();
    await small.reserve(MB);
    const huge = budget.hold();
    const hugeGranted = huge.reserve(100 * MB).then(() => 'huge');
    const later = budget.hold();
    const laterGranted = later.reserve(MB).then(() => 'later');
    await tick();
    expect(budget.waiting()).toBe(2);
    small.release();
    expect(await hugeGranted).toBe('huge');
    expect(huge.held).toBe(10 * MB);
    expect(budget.waiting()).toBe(1);
    huge.release();
    expect(await laterGranted).toBe('later');
    later.release();
    expect(budget.inUse()).toBe(0);
  });

  it('gives back a hold released while it was still waiting, as soon as it is granted', async () => {
    const budget = createByteBudget(10 * MB);
    const first = budget.hold();
    await first.reserve(8 * MB);
    const second = budget.hold();
    const waiting = second.reserve(8 * MB);
    second.release();
    first.release();
    await waiting;
    await tick();
    expect(budget.inUse()).toBe(0);
    const third = budget.hold();
    await third.reserve(10 * MB);
    expect(budget.inUse()).toBe(10 * MB);
    third.release();
  });
});
