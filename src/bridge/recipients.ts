import { parseInternationalNumber } from './phone-number.js';
import { createNumberValidator, type NumberValidator } from './phone-number-cache.js';

export type InvalidRecipient = { line: number; input: string; reason: string };

export type TypedRecipients = { numbers: string[]; invalid: InvalidRecipient[]; tooMany: boolean; duplicates: number };

export type RecipientsFileResult =
  | { ok: false; error: string }
  | {
      ok: true;
      numbers: string[];
      invalid: InvalidRecipient[];
      duplicates: number;
      /** A CSV's per-recipient variables (template key → non-empty value), in the order of `numbers`. */
      variables?: (Record<string, string> | null)[];
      /** Header names of CSV columns that fill no variable of the template (never read). */
      ignoredColumns: string[];
    };

/** Numbers typed in the modal: one per line or separated by commas/semicolons, at most `max`. */
export function parseTypedRecipients(text: string, options: { max?: number } = {}): TypedRecipients {
  const max = options.max ?? 50;
  const numbers: string[] = [];
  const seen = new Set<string>();
  const invalid: InvalidRecipient[] = [];
  let duplicates = 0;
  let entries = 0;
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    for (const entry of line.split(/[,;]/)) {
      const value = entry.trim();
      if (value === '') continue;
      entries++;
      const parsed = parseInternationalNumber(value);
      if (!parsed.ok) invalid.push({ line: index + 1, input: value.slice(0, 60), reason: parsed.reason });
      else if (seen.has(parsed.e164)) duplicates++;
      else {
        seen.add(parsed.e164);
        numbers.push(parsed.e164);
      }
    }
  }
  return { numbers, invalid, tooMany: entries > max, duplicates };
}

/** Columns a recipients CSV may have: the phone column and the template's variables, with room to spare. */
export const MAX_CSV_COLUMNS = 50;
/** Longest line read: 50 columns of WhatsApp's longest variable value (1,024 characters), and more. */
export const MAX_LINE_CHARS = 64 * 1024;

/** Lines read, validated and kept at a time (see parseRecipientsFile). */
const CHUNK_LINES = 2_000;

const PHONE_HEADERS = new Set(['phone', 'phone_number', 'number', 'mobile', 'to', 'recipient', 'whatsapp']);

/**
 * A CSV column names the variable it fills: `header.1`, `body.2` and `button.0.1` (URL button 0,
 * placeholder 1) as in the form; a bare `1` or `name` means the body's. An empty cell keeps the
 * value typed in the form.
 */
export function csvVariableKey(column: string): string {
  return /^(header|body)\.\w+$/.test(column) || /^button\.\d+\.\w+$/.test(column) ? column : `body.${column}`;
}

const headerName = (field: string) => field.toLowerCase().replace(/^\{\{\s*|\s*\}\}$/g, '');

/**
 * Reads the fields of one CSV line (`text` from `start` to `end`, no line break inside), calling
 * `take(column, value)` for the columns `wanted` says (null: every column) and stopping after
 * `lastColumn`. Values are trimmed; a field that starts with `"` is quoted (`""` inside is a quote).
 * Fields that are not wanted are skipped without being copied. Returns the number of fields read.
 */
function readFields(
  text: string,
  start: number,
  end: number,
  wanted: ((column: number) => boolean) | null,
  lastColumn: number,
  take: (column: number, value: string) => void,
): number {
  let pos = start;
  let column = 0;
  for (;;) {
    const want = wanted === null || wanted(column);
    let fieldEnd: number;
    let value = '';
    if (text.charCodeAt(pos) === 34 /* " */ && pos < end) {
      // Quoted: up to the closing quote, then (unusually) anything up to the comma.
      let cursor = pos + 1;
      let parts = '';
      for (;;) {
        const quote = text.indexOf('"', cursor);
        if (quote === -1 || quote >= end) {
          if (want) parts += text.slice(cursor, end);
          cursor = end;
          break;
        }
        if (want) parts += text.slice(cursor, quote);
        cursor = quote + 1;
        if (quote + 1 < end && text.charCodeAt(quote + 1) === 34) {
          if (want) parts += '"';
          cursor++;
        } else break;
      }
      const comma = text.indexOf(',', cursor);
      fieldEnd = comma === -1 || comma >= end ? end : comma;
      if (want) value = parts + text.slice(cursor, fieldEnd);
    } else {
      const comma = text.indexOf(',', pos);
      fieldEnd = comma === -1 || comma >= end ? end : comma;
      if (want) value = text.slice(pos, fieldEnd);
    }
    if (want) take(column, value.trim());
    column++;
    if (fieldEnd >= end || column > lastColumn) return column;
    pos = fieldEnd + 1;
  }
}

/** Where a line ends: at the next LF or CR (their positions, -1 for none), or the end of the text. */
function lineEnd(text: string, nextLf: number, nextCr: number): number {
  if (nextLf === -1) return nextCr === -1 ? text.length : nextCr;
  return nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
}

/** The lines of `text` (LF, CRLF or CR) as [start, end, line number], without splitting it. */
function* linesOf(text: string): Generator<[start: number, end: number, number: number]> {
  let nextLf = text.indexOf('\n');
  let nextCr = text.indexOf('\r');
  for (let pos = 0, number = 1; pos <= text.length; number++) {
    if (nextLf !== -1 && nextLf < pos) nextLf = text.indexOf('\n', pos);
    if (nextCr !== -1 && nextCr < pos) nextCr = text.indexOf('\r', pos);
    const end = lineEnd(text, nextLf, nextCr);
    yield [pos, end, number];
    pos = end + (text.charCodeAt(end) === 13 && text.charCodeAt(end + 1) === 10 ? 2 : 1);
  }
}

type CsvLayout = {
  /** Number of columns in the header. */
  columns: number;
  phoneColumn: number;
  /** Column → slot of the template variable it fills (kept columns only). */
  slots: Map<number, number>;
  /** The template variable key of each slot. */
  keys: string[];
  lastColumn: number;
  ignored: string[];
};

/**
 * The header's layout when it names a phone column: which columns fill one of `variableKeys`
 * (matched without regard to case). Other columns are ignored, and never read in the rows.
 */
function csvLayout(text: string, end: number, variableKeys: readonly string[], maxColumns: number): CsvLayout | null {
  const byLowerKey = new Map(variableKeys.map((key) => [key.toLowerCase(), key]));
  let phoneColumn = -1;
  const slots = new Map<number, number>();
  const keys: string[] = [];
  const ignored: string[] = [];
  const columns = readFields(text, 0, end, null, Number.MAX_SAFE_INTEGER, (column, raw) => {
    const name = headerName(raw);
    if (phoneColumn === -1 && PHONE_HEADERS.has(name)) phoneColumn = column;
    else if (name !== '' && column < maxColumns) {
      const key = byLowerKey.get(csvVariableKey(name));
      if (key !== undefined && !keys.includes(key)) {
        slots.set(column, keys.length);
        keys.push(key);
      } else ignored.push(raw);
    }
  });
  if (phoneColumn === -1) return null;
  return { columns, phoneColumn, slots, keys, lastColumn: Math.max(phoneColumn, ...slots.keys()), ignored };
}

/**
 * An uploaded recipients file: UTF-8 text, one number per line (BOM, CRLF, blank lines, spaces and
 * dashes tolerated), or a CSV whose header has a phone column plus one column per variable of the
 * template (`variableKeys`); other columns are ignored. At most MAX_CSV_COLUMNS columns (more if
 * the template has that many variables), lines of at most MAX_LINE_CHARS. The numbers are
 * validated CHUNK_LINES at a time by `validate` (default: in this thread, sharing verdicts across
 * the file and letting the event loop run every few milliseconds); lines of a chunk with the same
 * text are validated once.
 *
 * Memory: the decoded text, the numbers kept (and their kept cells) and the invalid lines; of the
 * other lines only a chunk's worth at a time, whatever the number of columns or the length of
 * the lines.
 */
export async function parseRecipientsFile(
  bytes: Buffer,
  options: { variableKeys: readonly string[]; maxBytes?: number; validate?: NumberValidator },
): Promise<RecipientsFileResult> {
  const maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
  const validate = options.validate ?? createNumberValidator();
  if (bytes.length > maxBytes)
    return { ok: false, error: `The file is larger than ${Math.round(maxBytes / 1024 / 1024)} MB.` };
  if (bytes.length === 0) return { ok: false, error: 'The file is empty.' };
  if (bytes.includes(0))
    return {
      ok: false,
      error: 'This is not a text file (it contains binary data). Upload a UTF-8 .txt file with one number per line.',
    };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return {
      ok: false,
      error:
        'The file is not valid UTF-8 text. Save it as UTF-8 (e.g. "CSV UTF-8" or "Text, UTF-8") and upload it again.',
    };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const { variableKeys } = options;
  const maxColumns = Math.max(MAX_CSV_COLUMNS, variableKeys.length + 1);
  // A header names a phone column; one with nothing else is the title of a one-number-per-line file.
  const header = csvLayout(text, lineEnd(text, text.indexOf('\n'), text.indexOf('\r')), variableKeys, maxColumns);
  const csv = header && header.columns > 1 ? header : null;
  if (csv && csv.columns > maxColumns) {
    const variables = variableKeys.length > 0 ? ` (${variableKeys.join(', ')})` : '';
    return {
      ok: false,
      error: `The file has ${csv.columns.toLocaleString('en-US')} columns; at most ${maxColumns} are read. Keep the phone column and one column per template variable${variables}, and upload it again.`,
    };
  }

  // The file is read CHUNK_LINES lines at a time: what each line says, then the chunk's numbers
  // validated together (lines with the same text once), then the valid ones kept. Held across
  // chunks: the text, the numbers kept (with a CSV's kept cells) and the invalid lines.
  const width = csv?.keys.length ?? 0;
  const numbers: string[] = [];
  const variables: (Record<string, string> | null)[] = [];
  const seen = new Set<string>();
  const invalid: InvalidRecipient[] = [];
  let duplicates = 0;
  const chunk = { lineNumbers: [] as number[], valueIds: [] as number[], cells: [] as string[] };
  const distinct = new Map<string, number>();

  async function keepChunk(): Promise<void> {
    if (chunk.lineNumbers.length === 0) return;
    const values = [...distinct.keys()];
    distinct.clear();
    const verdicts = await validate(values);
    const { lineNumbers, valueIds, cells } = chunk;
    for (let entry = 0; entry < lineNumbers.length; entry++) {
      const id = valueIds[entry] ?? -1;
      const parsed = verdicts[id] ?? { ok: false, reason: 'the number could not be checked' };
      if (!parsed.ok) {
        invalid.push({ line: lineNumbers[entry] ?? 0, input: (values[id] ?? '').slice(0, 60), reason: parsed.reason });
        continue;
      }
      if (seen.has(parsed.e164)) {
        duplicates++;
        continue;
      }
      seen.add(parsed.e164);
      numbers.push(parsed.e164);
      if (csv && width > 0) {
        const filled: Record<string, string> = {};
        let any = false;
        for (let slot = 0; slot < width; slot++) {
          const cell = cells[entry * width + slot] ?? '';
          if (cell === '') continue;
          filled[csv.keys[slot] ?? ''] = cell;
          any = true;
        }
        variables.push(any ? filled : null);
      }
    }
    chunk.lineNumbers = [];
    chunk.valueIds = [];
    chunk.cells = [];
  }

  const row: string[] = new Array<string>(width).fill('');
  let phone = '';
  const wanted = csv ? (column: number) => column === csv.phoneColumn || csv.slots.has(column) : null;
  const takeCell = (column: number, value: string) => {
    if (column === csv?.phoneColumn) phone = value;
    else row[csv?.slots.get(column) ?? 0] = value;
  };
  for (const [start, end, lineNumber] of linesOf(text)) {
    if (lineNumber === 1 && header) continue;
    if (end - start > MAX_LINE_CHARS) {
      invalid.push({
        line: lineNumber,
        input: text.slice(start, start + 60),
        reason: `the line is longer than ${MAX_LINE_CHARS.toLocaleString('en-US')} characters`,
      });
      continue;
    }
    const line = text.slice(start, end).trim();
    if (line === '') continue;
    if (csv) {
      phone = '';
      row.fill('');
      readFields(text, start, end, wanted, csv.lastColumn, takeCell);
      for (const cell of row) chunk.cells.push(cell);
    }
    const value = csv ? phone : line;
    let id = distinct.get(value);
    if (id === undefined) {
      id = distinct.size;
      distinct.set(value, id);
    }
    chunk.lineNumbers.push(lineNumber);
    chunk.valueIds.push(id);
    if (chunk.lineNumbers.length === CHUNK_LINES) await keepChunk();
  }
  await keepChunk();
  // Lines too long were noted as they were read, the others after their chunk: report in file order.
  invalid.sort((a, b) => a.line - b.line);
  return {
    ok: true,
    numbers,
    invalid,
    duplicates,
    ignoredColumns: csv?.ignored ?? [],
    ...(csv && width > 0 ? { variables } : {}),
  };
}
