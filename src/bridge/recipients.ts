import { parseInternationalNumber } from './phone-number.js';
import { type NumberValidator, validateInThread } from './phone-number-pool.js';

export type InvalidRecipient = { line: number; input: string; reason: string };

export type TypedRecipients = { numbers: string[]; invalid: InvalidRecipient[]; tooMany: boolean; duplicates: number };

export type RecipientRow = { e164: string; variables: Record<string, string> };

export type RecipientsFileResult =
  | { ok: false; error: string }
  | { ok: true; numbers: string[]; invalid: InvalidRecipient[]; duplicates: number; rows?: RecipientRow[] };

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

function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (quoted) {
      if (char === '"') {
        if (line[i + 1] === '"') {
          current += '"';
          i++;
        } else quoted = false;
      } else current += char;
    } else if (char === '"' && current === '') quoted = true;
    else if (char === ',') {
      fields.push(current);
      current = '';
    } else current += char;
  }
  fields.push(current);
  return fields.map((f) => f.trim());
}

const PHONE_HEADERS = new Set(['phone', 'phone_number', 'number', 'mobile', 'to', 'recipient', 'whatsapp']);

/**
 * An uploaded recipients file: UTF-8 text, one number per line (BOM, CRLF, blank lines, spaces and
 * dashes tolerated), or a CSV whose header has a phone column plus one column per variable. The
 * numbers are validated in bulk by `validate` (a worker pool for big files); lines with the same
 * text are validated once.
 */
export async function parseRecipientsFile(
  bytes: Buffer,
  options: { maxBytes?: number; validate?: NumberValidator } = {},
): Promise<RecipientsFileResult> {
  const maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
  const validate = options.validate ?? validateInThread;
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
  const lines = text.split(/\r?\n|\r/);

  const header = splitCsvLine(lines[0] ?? '').map((h) => h.toLowerCase().replace(/^\{\{\s*|\s*\}\}$/g, ''));
  const phoneColumn = header.findIndex((h) => PHONE_HEADERS.has(h));
  const isCsv = phoneColumn >= 0 && header.length > 1;

  // First pass: what each line says (cheap); the numbers are validated together afterwards.
  const entries: { line: number; value: string; variables: Record<string, string> | null }[] = [];
  const distinct = new Map<string, number>();
  for (let index = isCsv ? 1 : phoneColumn === 0 ? 1 : 0; index < lines.length; index++) {
    const line = lines[index] ?? '';
    if (line.trim() === '') continue;
    let value = line;
    let variables: Record<string, string> | null = null;
    if (isCsv) {
      const fields = splitCsvLine(line);
      value = fields[phoneColumn] ?? '';
      variables = {};
      for (const [column, name] of header.entries()) {
        if (column !== phoneColumn && name) variables[name] = fields[column] ?? '';
      }
    }
    value = value.trim();
    if (!distinct.has(value)) distinct.set(value, distinct.size);
    entries.push({ line: index + 1, value, variables });
  }
  const verdicts = await validate([...distinct.keys()]);

  const numbers: string[] = [];
  const seen = new Set<string>();
  const invalid: InvalidRecipient[] = [];
  const rows: RecipientRow[] = [];
  let duplicates = 0;
  for (const entry of entries) {
    const parsed = verdicts[distinct.get(entry.value) ?? -1] ?? {
      ok: false,
      reason: 'the number could not be checked',
    };
    if (!parsed.ok) {
      invalid.push({ line: entry.line, input: entry.value.slice(0, 60), reason: parsed.reason });
      continue;
    }
    if (seen.has(parsed.e164)) {
      duplicates++;
      continue;
    }
    seen.add(parsed.e164);
    numbers.push(parsed.e164);
    if (entry.variables) rows.push({ e164: parsed.e164, variables: entry.variables });
  }
  return { ok: true, numbers, invalid, duplicates, ...(isCsv ? { rows } : {}) };
}
