import { describe, expect, it } from 'vitest';
import { parseInternationalNumber } from '../../src/bridge/phone-number.js';
import { MAX_CSV_COLUMNS, MAX_LINE_CHARS, parseRecipientsFile } from '../../src/bridge/recipients.js';

const HELLO = ['body.1'];
const ORDER = ['header.1', 'body.1', 'body.2', 'button.0.1'];
const parse = (text: string, variableKeys: readonly string[] = HELLO) =>
  parseRecipientsFile(Buffer.from(text), { variableKeys });

describe('bridge/recipients: parseRecipientsFile', () => {
  it('reads one number per line: BOM, CRLF, lone CR, blank lines, duplicates and invalid lines with their line numbers', async () => {
    const result = await parse('\uFEFF+44 7911-123101\r\n\r\n  +44 7911 123102 \roops\n+44 7911 123101\n');
    expect(result).toEqual({
      ok: true,
      numbers: ['+447911123101', '+447911123102'],
      invalid: [{ line: 4, input: 'oops', reason: expect.any(String) }],
      duplicates: 1,
      ignoredColumns: [],
    });
  });

  it("keeps only the template's variable columns of a CSV, by key, without regard to case; empty cells are left out", async () => {
    const csv = [
      'Phone,notes,{{1}},Header.1,email,body.2,button.0.1,1',
      '+44 7911 123701,"long, quoted ""note""",Ana,A-1,ana@example.com,"A, 1",track-a1,shadowed',
      '+44 7911 123702,,Bruno,,bruno@example.com,B-2,,',
      '+44 7911 123703',
    ].join('\n');
    const result = await parse(csv, ORDER);
    expect(result).toEqual({
      ok: true,
      numbers: ['+447911123701', '+447911123702', '+447911123703'],
      invalid: [],
      duplicates: 0,
      variables: [
        { 'body.1': 'Ana', 'header.1': 'A-1', 'body.2': 'A, 1', 'button.0.1': 'track-a1' },
        { 'body.1': 'Bruno', 'body.2': 'B-2' },
        null,
      ],
      // Reported once each; a second column for a variable already read is ignored too.
      ignoredColumns: ['notes', 'email', '1'],
    });
  });

  it('reports an invalid phone cell with its line, and a header with only a phone column is a title', async () => {
    const csv = await parse('phone,1\n+44 7911 123801,Ana\nnot a number,Bo\n');
    expect(csv.ok && csv.invalid).toEqual([{ line: 3, input: 'not a number', reason: expect.any(String) }]);
    const titled = await parse('phone\n+44 7911 123801\n');
    expect(titled).toMatchObject({ ok: true, numbers: ['+447911123801'], invalid: [] });
  });

  it(`refuses a CSV of more than ${MAX_CSV_COLUMNS} columns, naming the cap and the count`, async () => {
    const header = ['phone', ...Array.from({ length: 2999 }, (_, i) => `c${i}`)].join(',');
    const rows = Array.from({ length: 30_000 }, (_, i) => `+4479111${String(i).padStart(5, '0')}`).join('\n');
    const result = await parse(`${header}\n${rows}\n`);
    expect(result).toEqual({
      ok: false,
      error: expect.stringMatching(/^The file has 3,000 columns; at most 50 are read\. .*\(body\.1\)/),
    });
    // A template with more variables than that raises the cap to one column each, and the phone.
    const many = Array.from({ length: 60 }, (_, i) => `body.${i + 1}`);
    const wide = await parse(`phone,${many.join(',')}\n+44 7911 123901,${many.map((_, i) => i).join(',')}\n`, many);
    expect(wide.ok && wide.variables?.[0]?.['body.60']).toBe('59');
    const wider = await parse(`phone,${many.join(',')},extra,more\n`, many);
    expect(wider).toEqual({ ok: false, error: expect.stringMatching(/has 63 columns; at most 61 are read/) });
  });

  it(`reports a line longer than ${MAX_LINE_CHARS} characters as invalid and reads the others`, async () => {
    const long = `+44 7911 124001,${'x'.repeat(MAX_LINE_CHARS)}`;
    const result = await parse(`phone,1\n${long}\n+44 7911 124002,Ana\n`);
    expect(result).toMatchObject({
      ok: true,
      numbers: ['+447911124002'],
      invalid: [{ line: 2, input: long.slice(0, 60), reason: 'the line is longer than 65,536 characters' }],
      variables: [{ 'body.1': 'Ana' }],
    });
  });

  it('holds nothing of the columns it does not read: the result is the same with or without 40 wide extra columns', async () => {
    const rows = 2_000;
    const narrow: string[] = ['phone,1'];
    const wide: string[] = [['phone', ...Array.from({ length: 40 }, (_, i) => `extra${i}`), '1'].join(',')];
    for (let i = 0; i < rows; i++) {
      const phone = `+44 7911 ${String(130000 + i)}`;
      narrow.push(`${phone},name ${i}`);
      wide.push([phone, ...Array.from({ length: 40 }, () => 'y'.repeat(100)), `name ${i}`].join(','));
    }
    const validated: string[][] = [];
    const validate = async (inputs: readonly string[]) => {
      validated.push([...inputs]);
      return inputs.map(parseInternationalNumber);
    };
    const a = await parseRecipientsFile(Buffer.from(narrow.join('\n')), { variableKeys: HELLO, validate });
    const b = await parseRecipientsFile(Buffer.from(wide.join('\n')), { variableKeys: HELLO, validate });
    expect(Buffer.from(wide.join('\n')).length).toBeGreaterThan(40 * 100 * rows);
    if (!a.ok || !b.ok) throw new Error('both files are valid');
    expect(b.ignoredColumns).toHaveLength(40);
    expect({ ...b, ignoredColumns: [] }).toEqual(a);
    // Only the phone cells are validated, and only the kept cell per row is held.
    expect(validated[1]).toEqual(validated[0]);
    expect(JSON.stringify(b.variables).length).toBeLessThan(rows * 40);
  });

  it('reads a big file a chunk at a time: the validator never sees more than 2,000 numbers, and duplicates and invalid lines across chunks count as in one piece', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 9_000; i++) {
      if (i % 10 === 3)
        lines.push(`call ${i}`); // invalid
      else if (i % 10 === 7)
        lines.push(lines[Math.floor(i / 3)] ?? ''); // a line from a chunk before
      else lines.push(`+44 7911 ${String(200000 + i)}`);
    }
    const batches: number[] = [];
    const validate = async (inputs: readonly string[]) => {
      batches.push(inputs.length);
      return inputs.map(parseInternationalNumber);
    };
    const result = await parseRecipientsFile(Buffer.from(lines.join('\n')), { variableKeys: [], validate });
    expect(Math.max(...batches)).toBeLessThanOrEqual(2_000);
    // The same file, one line at a time.
    const numbers: string[] = [];
    const invalid: { line: number; input: string; reason: string }[] = [];
    let duplicates = 0;
    for (const [index, line] of lines.entries()) {
      const parsed = parseInternationalNumber(line);
      if (!parsed.ok) invalid.push({ line: index + 1, input: line, reason: parsed.reason });
      else if (numbers.includes(parsed.e164)) duplicates++;
      else numbers.push(parsed.e164);
    }
    expect(duplicates).toBeGreaterThan(500);
    expect(result).toEqual({ ok: true, numbers, invalid, duplicates, ignoredColumns: [] });
  });
});
