import examples from 'libphonenumber-js/examples.mobile.json';
import { getCountryCallingCode } from 'libphonenumber-js/max';
import metadata from 'libphonenumber-js/max/metadata';
import { describe, expect, it } from 'vitest';
import { parseInternationalNumber } from '../../src/bridge/phone-number.js';
import { createCachedNumberParser, freeTail, longestMatch } from '../../src/bridge/phone-number-cache.js';

/** Deterministic pseudo-random digits, so a failure names the same numbers every run. */
function digitsFrom(seed: number, count: number): string {
  let x = seed >>> 0 || 1;
  let out = '';
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out += String((x >>> 0) % 10);
  }
  return out;
}

describe('validating many numbers with shared verdicts (phone-number-cache)', () => {
  it('reads the free tail and the longest prefix of metadata patterns, and gives up on what it cannot read', () => {
    expect(freeTail('7(?:[1-3]\\d\\d)\\d{6}')).toBe(8);
    expect(freeTail('[1-357-9]\\d{9}|[18]\\d{8}|8\\d{6}')).toBe(6);
    // Only alternatives that can match the length count: `8001111` is seven digits long.
    expect(freeTail('80\\d{8}|8001111')).toBe(0);
    expect(freeTail('80\\d{8}|8001111', 10)).toBe(8);
    expect(freeTail('(?:1\\d|2[0-3])\\d{4}')).toBe(4);
    expect(freeTail('1\\d{3}(?:\\d{2})?')).toBe(0);
    expect(freeTail('1\\d{3}$')).toBe(0);
    expect(freeTail('1(?=2)\\d{3}')).toBe(0);
    expect(longestMatch('0|180020')).toBe(6);
    expect(longestMatch('74576|(?:16|7[56])24')).toBe(5);
    expect(longestMatch('([0-24-8]\\d{5})$|0')).toBe(Number.POSITIVE_INFINITY);
    expect(longestMatch('0\\d*')).toBe(Number.POSITIVE_INFINITY);
  });

  it('gives parseInternationalNumber’s verdict for every number, in every country code', () => {
    const parse = createCachedNumberParser();
    const inputs: string[] = [];
    // Each country's example mobile with its last digits changed, a digit more or less, and
    // written with spaces; then random digits after every country code.
    for (const [region, example] of Object.entries(examples as Record<string, string>)) {
      const code = getCountryCallingCode(region as Parameters<typeof getCountryCallingCode>[0]);
      for (let v = 0; v < 120; v++) {
        const changed = Math.min(example.length, 1 + (v % 7));
        const national = example.slice(0, example.length - changed) + digitsFrom(v * 7919 + code.length, changed);
        inputs.push(`+${code}${national}`);
        if (v % 10 === 0) inputs.push(`+${code}${national}${v % 10}`, `+${code}${national.slice(0, -1)}`);
        if (v % 15 === 0) inputs.push(`+${code} ${national.slice(0, 3)} ${national.slice(3)}`);
      }
    }
    for (const code of Object.keys(metadata.country_calling_codes)) {
      for (let v = 0; v < 150; v++) inputs.push(`+${code}${digitsFrom(v * 104729 + Number(code), 4 + (v % 11))}`);
    }
    // A bulk file's pattern: long runs of one operator's numbers.
    for (let i = 0; i < 20_000; i++) inputs.push(`+44 79${11 + (i % 3)} ${String(i * 37).padStart(6, '0')}`);
    // The verdicts are compared twice over: first seen, and when shared from the cache.
    const twice = [...inputs, ...inputs];
    const mismatches = twice
      .map((input) => ({ input, cached: parse(input), direct: parseInternationalNumber(input) }))
      .filter((r) => JSON.stringify(r.cached) !== JSON.stringify(r.direct));
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(inputs.length).toBeGreaterThan(80_000);
    // Valid numbers of many countries were among them, not only refusals.
    expect(inputs.filter((input) => parseInternationalNumber(input).ok).length).toBeGreaterThan(20_000);
  });
});
