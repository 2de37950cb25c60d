import { describe, expect, it } from 'vitest';
import { parseInternationalNumber } from '../../src/bridge/phone-number.js';

// The pool only runs workers from the compiled build (test/support/global-setup.ts builds it).
const compiled = '../../dist/src/bridge/phone-number-pool.js';

describe('bridge/phone-number-pool (compiled build)', () => {
  it('validates in worker threads exactly as parseInternationalNumber does, in order', async () => {
    const { createNumberValidatorPool } = (await import(
      compiled
    )) as typeof import('../../src/bridge/phone-number-pool.js');
    const fallbacks: unknown[] = [];
    const validate = createNumberValidatorPool({
      size: 2,
      minBatch: 1,
      idleMs: 100,
      onFallback: (error) => fallbacks.push(error),
    });
    const inputs = Array.from({ length: 25_000 }, (_, i) =>
      i % 7 === 0 ? `not a number ${i}` : i % 5 === 0 ? `+1 555 ${i}` : `+44 7911 ${String(100000 + i)}`,
    );
    const results = await validate(inputs);
    expect(fallbacks).toEqual([]); // the workers did it
    expect(results).toEqual(inputs.map(parseInternationalNumber));
    expect(results.filter((r) => r.ok).length).toBeGreaterThan(10_000);
  });
});
