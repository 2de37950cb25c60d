import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

const MAX_INPUT_LENGTH = 40;

export type ParsedNumber = { ok: true; e164: string } | { ok: false; reason: string };

/**
 * An international phone number with its country code, as WhatsApp needs it. Spaces, dashes,
 * dots and parentheses are tolerated; `00` works as the international prefix.
 */
export function parseInternationalNumber(input: string): ParsedNumber {
  const form = internationalForm(input);
  return form.ok ? validateInternational(form.international) : form;
}

/** What parseInternationalNumber says of a number in the right form that libphonenumber refuses. */
export const NOT_VALID_FOR_COUNTRY = 'this is not a valid phone number for its country code';

/** The input as `+` and 6 to 15 digits, or why it is not in an international form. */
export function internationalForm(input: string): { ok: true; international: string } | { ok: false; reason: string } {
  const raw = input.trim();
  if (raw === '') return { ok: false, reason: 'the number is empty' };
  if (raw.length > MAX_INPUT_LENGTH)
    return { ok: false, reason: `the input is longer than ${MAX_INPUT_LENGTH} characters` };
  if (!/^[+\d\s().\-/]+$/.test(raw))
    return { ok: false, reason: 'only digits, spaces, dashes, dots, parentheses and a leading + are allowed' };
  const compact = raw.replace(/[\s().\-/]/g, '');
  let international: string;
  if (compact.startsWith('+')) international = compact;
  else if (compact.startsWith('00')) international = `+${compact.slice(2)}`;
  else return { ok: false, reason: 'include the country code, e.g. +44 7700 900123' };
  if (!/^\+\d{6,15}$/.test(international))
    return { ok: false, reason: 'an international number has 6 to 15 digits after the +' };
  return { ok: true, international };
}

/** libphonenumber's verdict (full metadata) on `+` and digits, with the number in E.164. */
export function validateInternational(international: string): ParsedNumber {
  const parsed = parsePhoneNumberFromString(international);
  if (!parsed?.isValid()) return { ok: false, reason: NOT_VALID_FOR_COUNTRY };
  return { ok: true, e164: parsed.number };
}

export function formatForDisplay(e164: string): string {
  return parsePhoneNumberFromString(e164)?.formatInternational() ?? e164;
}
