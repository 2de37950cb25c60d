import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Metadata } from 'libphonenumber-js/max';
import metadata from 'libphonenumber-js/max/metadata';
import { internationalForm, NOT_VALID_FOR_COUNTRY, type ParsedNumber, validateInternational } from './phone-number.js';

/**
 * libphonenumber's verdicts, shared by numbers that only differ in digits no rule looks at.
 *
 * Validating one number costs ~30 µs (every pattern of every region of its country code, twice);
 * a 10 MB file has 650,000 of them. But a number's verdict only depends on its length and its
 * digits up to the last K, where K is the run of free digits (`\d{n}`) that ends every pattern of
 * every region of its country code (for UK mobiles `…\d{6}`; the shortest tail of all UK patterns
 * is what counts), as long as no prefix rule (leading digits, national prefix) can reach into
 * them. K is worked out from the metadata's patterns themselves (see `freeTail` and `longestMatch`),
 * per country code and length; where anything is unclear (anchors, unbounded repeats, non-geographic
 * codes) K is 0 and every number is validated. A verdict is shared only when libphonenumber kept
 * the digits as they were (E.164 = the input), so no rewritten number is ever copied.
 *
 * Same results as parseInternationalNumber, number for number (test/unit/phone-number-cache.test.ts
 * compares them on more than 80,000 numbers of every country code, each twice).
 */

type Item = { kind: 'digit' | 'char' | 'anchor' | 'group'; group?: Item[][]; min: number; max: number };

/** Parses the regular expression subset of libphonenumber's metadata; null for anything else. */
function parsePattern(source: string): Item[][] | null {
  let pos = 0;
  function alternation(): Item[][] | null {
    const alternatives: Item[][] = [[]];
    while (pos < source.length) {
      const c = source[pos] as string;
      if (c === ')') return alternatives;
      if (c === '|') {
        pos++;
        alternatives.push([]);
        continue;
      }
      let item: Item;
      if (c === '\\') {
        const escaped = source[pos + 1];
        if (escaped === undefined) return null;
        item = { kind: escaped === 'd' ? 'digit' : 'char', min: 1, max: 1 };
        pos += 2;
      } else if (c === '[') {
        const close = source.indexOf(']', pos + 1);
        if (close === -1 || source.slice(pos + 1, close).includes('\\')) return null;
        item = { kind: 'char', min: 1, max: 1 };
        pos = close + 1;
      } else if (c === '(') {
        pos++;
        if (source[pos] === '?') {
          if (source[pos + 1] !== ':') return null; // lookarounds: not in the subset
          pos += 2;
        }
        const group = alternation();
        if (group === null || source[pos] !== ')') return null;
        pos++;
        item = { kind: 'group', group, min: 1, max: 1 };
      } else if (c === '^' || c === '$') {
        item = { kind: 'anchor', min: 1, max: 1 };
        pos++;
      } else if ('*+?{}]'.includes(c)) {
        return null;
      } else {
        item = { kind: 'char', min: 1, max: 1 };
        pos++;
      }
      // A quantifier, if any.
      const q = source[pos];
      if (q === '?' || q === '*' || q === '+') {
        item.min = q === '+' ? 1 : 0;
        item.max = q === '?' ? 1 : Number.POSITIVE_INFINITY;
        pos++;
      } else if (q === '{') {
        const match = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(pos));
        if (!match) return null;
        item.min = Number(match[1]);
        item.max = match[2] === undefined ? item.min : match[3] ? Number(match[3]) : Number.POSITIVE_INFINITY;
        pos += match[0].length;
      }
      if (source[pos] === '?' && (q === '?' || q === '*' || q === '+' || q === '{')) return null; // lazy
      (alternatives[alternatives.length - 1] as Item[]).push(item);
    }
    return alternatives;
  }
  const result = alternation();
  return result !== null && pos === source.length ? result : null;
}

const hasAnchor = (alternatives: Item[][]): boolean =>
  alternatives.some((seq) => seq.some((i) => i.kind === 'anchor' || (i.group !== undefined && hasAnchor(i.group))));

/** The shortest and longest strings a sequence matches. */
function lengthsOf(seq: Item[]): { min: number; max: number } {
  let min = 0;
  let max = 0;
  for (const item of seq) {
    const one =
      item.kind === 'group' && item.group
        ? item.group.map(lengthsOf).reduce((a, b) => ({ min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) }))
        : { min: 1, max: 1 };
    min += one.min * item.min;
    max += one.max * item.max;
  }
  return { min, max };
}

/**
 * How many trailing digits never change whether a whole string of `length` characters matches:
 * the digits taken by the `\d{n,m}` that end every alternative that can match that many (n each),
 * plus, where a plain group comes before them, the group's own free tail.
 */
function freeTailOf(alternatives: Item[][], length?: number): number {
  let tail = Number.POSITIVE_INFINITY;
  for (const seq of alternatives) {
    if (length !== undefined) {
      const { min, max } = lengthsOf(seq);
      if (length < min || length > max) continue;
    }
    let total = 0;
    for (let i = seq.length - 1; i >= 0; i--) {
      const item = seq[i] as Item;
      if (item.kind === 'digit') {
        total += item.min;
        continue;
      }
      if (item.kind === 'group' && item.group && item.min === 1 && item.max === 1) total += freeTailOf(item.group);
      break;
    }
    tail = Math.min(tail, total);
  }
  return tail;
}

/** The free tail of a whole-string pattern for strings of `length` (Infinity: none of them match). */
export function freeTail(pattern: string, length?: number): number {
  const parsed = parsePattern(pattern);
  return parsed === null || hasAnchor(parsed) ? 0 : freeTailOf(parsed, length);
}

function longestOf(alternatives: Item[][]): number {
  let longest = 0;
  for (const seq of alternatives) {
    let total = 0;
    for (const item of seq) {
      if (item.kind === 'anchor') return Number.POSITIVE_INFINITY;
      const one = item.kind === 'group' && item.group ? longestOf(item.group) : 1;
      total += one * item.max;
    }
    longest = Math.max(longest, total);
  }
  return longest;
}

/** The most characters a match of a prefix rule can take (Infinity when not bounded or unclear). */
export function longestMatch(pattern: string): number {
  const parsed = parsePattern(pattern);
  return parsed === null ? Number.POSITIVE_INFINITY : longestOf(parsed);
}

type PlanLike = {
  nationalNumberPattern(): string;
  leadingDigits(): string | undefined;
  nationalPrefixForParsing(): string | undefined;
  type(name: string): { pattern(): string } | undefined;
};

const TYPES = [
  'FIXED_LINE',
  'MOBILE',
  'TOLL_FREE',
  'PREMIUM_RATE',
  'SHARED_COST',
  'VOIP',
  'PERSONAL_NUMBER',
  'PAGER',
  'UAN',
  'VOICEMAIL',
];

const regionsByCode = metadata.country_calling_codes as Record<string, string[]>;

/**
 * Free tail (whole-string patterns, for national numbers of `length` digits) and longest prefix
 * rule of a country code, over all its regions.
 */
function codeRules(code: string, length: number): { tail: number; prefix: number } {
  const regions = regionsByCode[code] ?? [];
  if (regions.length === 0 || regions.includes('001')) return { tail: 0, prefix: Number.POSITIVE_INFINITY };
  const md = new Metadata() as unknown as { selectNumberingPlan(x: string): void; numberingPlan: PlanLike };
  let tail = Number.POSITIVE_INFINITY;
  let prefix = 0;
  const rules = (plan: PlanLike, prefixRules: (string | undefined)[]) => {
    tail = Math.min(tail, freeTail(plan.nationalNumberPattern(), length));
    for (const type of TYPES) {
      const pattern = plan.type(type)?.pattern();
      if (pattern) tail = Math.min(tail, freeTail(pattern, length));
    }
    for (const rule of prefixRules) if (rule) prefix = Math.max(prefix, longestMatch(rule));
  };
  // An international number's national prefix is looked for with its country code's (main
  // region's) rule (libphonenumber's parse); each region's leading digits pick the region.
  md.selectNumberingPlan(code);
  rules(md.numberingPlan, [md.numberingPlan.nationalPrefixForParsing()]);
  for (const region of regions) {
    md.selectNumberingPlan(region);
    rules(md.numberingPlan, [md.numberingPlan.leadingDigits()]);
  }
  // No pattern matches this length: every such number is invalid, and a tail as long as the number
  // would share that verdict; keep to validating them one by one (they are rare).
  return { tail: Number.isFinite(tail) ? tail : 0, prefix };
}

const rulesByCode = new Map<string, { tail: number; prefix: number }>();

/** The country code a `+`-less digit string starts with (codes are prefix-free), or null. */
function countryCodeOf(digits: string): string | null {
  for (let length = 1; length <= 3; length++) {
    const code = digits.slice(0, length);
    if (regionsByCode[code]) return code;
  }
  return null;
}

/** Verdicts kept by one parser at most (~10 MB); past that the cache starts over. */
const MAX_VERDICTS = 200_000;

/**
 * A parser with the same results as parseInternationalNumber, sharing verdicts across the numbers
 * it is given (create one per file: its cache lives as long as it does, up to MAX_VERDICTS).
 */
export function createCachedNumberParser(): (input: string) => ParsedNumber {
  const verdicts = new Map<string, boolean>();
  return (input) => {
    if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
    const form = internationalForm(input);
    if (!form.ok) return form;
    const { international } = form;
    const digits = international.slice(1);
    const code = countryCodeOf(digits);
    if (code === null) return validateInternational(international);
    const national = digits.length - code.length;
    let rules = rulesByCode.get(`${code}:${national}`);
    if (!rules) {
      rules = codeRules(code, national);
      rulesByCode.set(`${code}:${national}`, rules);
    }
    const free = Math.min(rules.tail, national - rules.prefix);
    if (!(free >= 1)) return validateInternational(international);
    const key = `${digits.length}:${digits.slice(0, digits.length - free)}`;
    const known = verdicts.get(key);
    if (known === true) return { ok: true, e164: international };
    if (known === false) return { ok: false, reason: NOT_VALID_FOR_COUNTRY };
    const verdict = validateInternational(international);
    if (!verdict.ok) verdicts.set(key, false);
    else if (verdict.e164 === international) verdicts.set(key, true);
    return verdict;
  };
}

/** Validates many numbers (same results, in order, as parseInternationalNumber one by one). */
export type NumberValidator = (inputs: readonly string[]) => Promise<ParsedNumber[]>;

/** Longest the validator keeps the event loop before letting it run (other requests, paced sends). */
const SLICE_MS = 5;

/**
 * A validator for one file's numbers, in this thread, sharing verdicts across all its calls. With
 * them a 10 MB file of one country's numbers is a second or two of CPU; worker threads were
 * slower than that (the numbers and results copied across, a verdict cache per thread) and each
 * held 20 to 60 MB of its own heap and libphonenumber's metadata.
 */
export function createNumberValidator(): NumberValidator {
  const parse = createCachedNumberParser();
  return async (inputs) => {
    const results: ParsedNumber[] = new Array(inputs.length);
    let sliceStart = performance.now();
    for (let i = 0; i < inputs.length; i++) {
      results[i] = parse(inputs[i] ?? '');
      if ((i & 255) === 255 && performance.now() - sliceStart > SLICE_MS) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
    }
    return results;
  };
}
