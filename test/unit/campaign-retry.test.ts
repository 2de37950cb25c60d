import { describe, expect, it } from 'vitest';
import { MAX_SEND_ATTEMPTS, RETRY_MAX_DELAY_MS, retryDelayMs } from '../../src/bridge/campaigns/campaign-retry.js';

describe('bridge/campaigns/campaign-retry', () => {
  it('doubles the delay per failure, between half and all of it (jitter), up to the cap', () => {
    const low = () => 0;
    const high = () => 1;
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, null, { baseMs: 1000, random: low }))).toEqual([
      500, 1000, 2000, 4000,
    ]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, null, { baseMs: 1000, random: high }))).toEqual([
      1000, 2000, 4000, 8000,
    ]);
    expect(retryDelayMs(MAX_SEND_ATTEMPTS + 20, null, { random: high })).toBe(RETRY_MAX_DELAY_MS);
  });

  it('never retries sooner than the Retry-After the provider asked for', () => {
    expect(retryDelayMs(1, 30_000, { baseMs: 1000, random: () => 0.5 })).toBe(30_000);
    expect(retryDelayMs(5, 1000, { baseMs: 1000, random: () => 0 })).toBe(8000);
  });
});
