/**
 * Characters a spreadsheet may read as the start of a formula (OWASP's list, plus the full-width
 * forms that East Asian locales of Excel also evaluate).
 */
const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
/** A number is left as it is (`-12.5`, `+447911123456`); anything more after a sign is text. */
const STRICTLY_NUMERIC = /^[+-]?\d+(\.\d+)?$/;

/** RFC 4180 field quoting; also defuses spreadsheet formulas in values people typed. */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (FORMULA_START.test(text) && !STRICTLY_NUMERIC.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: readonly (string | number | null | undefined)[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}
