import { describe, expect, it } from 'vitest';
import { csvField, csvLine } from '../../src/shared/csv.js';

describe('shared/csv', () => {
  it('prefixes with a quote every cell a spreadsheet would evaluate, numbers with a sign included', () => {
    expect(csvField("-1+1+cmd|' /C calc'!A0")).toBe("'-1+1+cmd|' /C calc'!A0");
    expect(csvField('+1+cmd')).toBe("'+1+cmd");
    expect(csvField('-1')).toBe('-1');
    expect(csvField('+1)')).toBe("'+1)");
    expect(csvField('=HYPERLINK("http://evil.example","click")')).toBe(
      `"'=HYPERLINK(""http://evil.example"",""click"")"`,
    );
    expect(csvField('@SUM(A1:A2)')).toBe("'@SUM(A1:A2)");
    expect(csvField('\t=1')).toBe("'\t=1");
    expect(csvField('\r=1')).toBe(`"'\r=1"`);
    expect(csvField('＝1+1')).toBe("'＝1+1");
    expect(csvField('-')).toBe("'-");
    expect(csvField('- 5')).toBe("'- 5");
  });

  it('leaves plain numbers, signed numbers, phone numbers and ordinary text as they are', () => {
    expect(csvField(42)).toBe('42');
    expect(csvField('-42')).toBe('-42');
    expect(csvField(-3.25)).toBe('-3.25');
    expect(csvField('+3.25')).toBe('+3.25');
    expect(csvField('+447911123456')).toBe('+447911123456');
    expect(csvField('hello = world')).toBe('hello = world');
    expect(csvField('a, "b"')).toBe('"a, ""b"""');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvLine(['-1+1', 2, null])).toBe("'-1+1,2,\r\n");
  });
});
