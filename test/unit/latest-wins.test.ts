import { describe, expect, it } from 'vitest';
import { createLatestWins } from '../../src/shared/latest-wins.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('latest-wins runs', () => {
  it('runs one at a time per key and coalesces requests made meanwhile into one more run', async () => {
    let state = 0;
    const published: number[] = [];
    let running = 0;
    let maxRunning = 0;
    const publish = createLatestWins(async (_key: string) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      const seen = state;
      await tick();
      published.push(seen);
      running--;
    });
    state = 1;
    const first = publish('U1');
    await new Promise((resolve) => setTimeout(resolve, 1)); // the first run is under way
    state = 2;
    const second = publish('U1');
    state = 3;
    const third = publish('U1'); // joins the queued run
    expect(third).toBe(second);
    await Promise.all([first, second, third]);
    expect(maxRunning).toBe(1);
    expect(second).not.toBe(first);
    expect(published).toEqual([1, 3]); // two runs, the last one with the latest state
  });

  it('keeps keys independent, and a failed run does not block the next', async () => {
    const calls: string[] = [];
    const publish = createLatestWins(async (key: string) => {
      calls.push(key);
      if (key === 'bad' && calls.filter((k) => k === 'bad').length === 1) throw new Error('boom');
    });
    await expect(publish('bad')).rejects.toThrow('boom');
    await Promise.all([publish('bad'), publish('other')]);
    expect(calls.sort()).toEqual(['bad', 'bad', 'other']);
  });
});
