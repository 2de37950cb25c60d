import { validateNote } from '../../../bridge/notes.js';
import { parseInternationalNumber } from '../../../bridge/phone-number.js';
import { escapeSlackText } from '../../../shared/slack-text.js';
import type { WaReply, WaSubcommandHandler } from './wa-command.js';

export function sessionsSubcommand(deps: { list(userId: string): Promise<WaReply> }): WaSubcommandHandler {
  return async ({ userId }) => deps.list(userId);
}

export const NOTE_USAGE =
  'Usage: `/wa note <number> <text>` (at most 30 characters), `/wa note <number> --clear` to remove it, `/wa note <number>` to see it; `/wa note <number> from <sending number> <text>` for one of a customer’s conversations with several of your numbers. If the note starts with digits, write the number without spaces or in quotes: `/wa note "+44 7911 150000" 2 kids`.';

/** Which of the customer's conversations (one per sending number) the note command is about: null, all. */
type SendingChoice = { sendingNumber: string | null };

export type NoteCommand =
  | ({ kind: 'set'; e164: string; text: string } & SendingChoice)
  | ({ kind: 'clear'; e164: string } & SendingChoice)
  | ({ kind: 'show'; e164: string } & SendingChoice)
  | { kind: 'invalid'; input: string; reason: string }
  | { kind: 'usage' };

/** A group of a number written with spaces: digits, maybe with dashes, dots or parentheses. */
const DIGIT_GROUP = /^[\d().-]*\d[\d().-]*$/;
const CLEAR_FLAG = /^(?:--|—|–)clear$/i;

/**
 * `/wa note` arguments. The number comes first: as one token (`+447911150000`, `+44-7911-150000`),
 * in quotes (`"+44 7911 150000"`, also Slack's curly quotes), or in groups of digits
 * (`+44 7911 150000`), where the longest run of groups that is a valid number is the number. The
 * note is everything after it; so a note may start with anything, digits and `(` included.
 */
export function parseNoteCommand(rest: string, knownSendingNumbers: readonly string[] = []): NoteCommand {
  const input = rest.trim();
  if (input === '') return { kind: 'usage' };
  let e164: string;
  let remainder: string;
  const quoted = /^["“”]([^"“”]*)["“”]\s*([\s\S]*)$/.exec(input);
  if (quoted) {
    const parsed = parseInternationalNumber(quoted[1] ?? '');
    if (!parsed.ok) return { kind: 'invalid', input: quoted[1] ?? '', reason: parsed.reason };
    e164 = parsed.e164;
    remainder = quoted[2] ?? '';
  } else {
    const tokens = input.split(/\s+/);
    const first = tokens[0] ?? '';
    const alone = parseInternationalNumber(first);
    let used = 0;
    if (alone.ok) {
      e164 = alone.e164;
      used = 1;
    } else {
      e164 = '';
      let candidate = first;
      for (let i = 1; i < tokens.length && DIGIT_GROUP.test(tokens[i] ?? ''); i++) {
        candidate += ` ${tokens[i]}`;
        const parsed = parseInternationalNumber(candidate);
        if (parsed.ok) {
          e164 = parsed.e164;
          used = i + 1;
        }
      }
      if (used === 0) return { kind: 'invalid', input: first, reason: alone.reason };
    }
    remainder = tokens.slice(used).join(' ');
  }
  const { sendingNumber, rest: noteText } = takeSendingNumber(remainder.trim(), knownSendingNumbers);
  const text = noteText.trim();
  if (text === '') return { kind: 'show', e164, sendingNumber };
  if (CLEAR_FLAG.test(text)) return { kind: 'clear', e164, sendingNumber };
  return { kind: 'set', e164, text, sendingNumber };
}

/** At least this many digits after `from` make it a sending number rather than a note ("from 9 to 5"). */
const MIN_SENDING_DIGITS = 6;

/**
 * `from <sending number>` right after the customer's number, as in `/wa chat`. Our own sending
 * numbers are matched by their digits (they are known, not validated), in one token or in groups;
 * the first run of groups that is one of ours wins, so a note may start with digits
 * (`from +1 555 000 2222 2 kids`). A run that is none of ours is taken whole, to be refused by name.
 */
function takeSendingNumber(input: string, known: readonly string[]): { sendingNumber: string | null; rest: string } {
  const tokens = input.split(/\s+/);
  if (tokens[0]?.toLowerCase() !== 'from') return { sendingNumber: null, rest: input };
  let digits = '';
  let used = 1;
  for (; used < tokens.length && /^\+?[\d().-]+$/.test(tokens[used] ?? ''); used++) {
    if (used > 1 && (tokens[used] ?? '').startsWith('+')) break;
    digits += (tokens[used] ?? '').replace(/\D/g, '');
    if (known.includes(`+${digits}`)) return { sendingNumber: `+${digits}`, rest: tokens.slice(used + 1).join(' ') };
  }
  if (digits.length < MIN_SENDING_DIGITS) return { sendingNumber: null, rest: input };
  return { sendingNumber: `+${digits}`, rest: tokens.slice(used).join(' ') };
}

/** `/wa note <number> <text>`, `/wa note <number> --clear`, `/wa note <number>`. */
export function noteSubcommand(deps: {
  contactsOf(e164: string): Promise<{ id: string; note: string | null; sendingNumberPhone: string | null }[]>;
  saveNote(contactId: string, note: string): Promise<{ ok: true } | { ok: false; error: string }>;
  /** Our sending numbers (E.164), to tell `from <sending number>` from the note after it. */
  sendingNumbers(): Promise<string[]>;
}): WaSubcommandHandler {
  return async ({ rest }) => {
    const command = parseNoteCommand(rest, await deps.sendingNumbers());
    if (command.kind === 'usage') return NOTE_USAGE;
    if (command.kind === 'invalid')
      return `:warning: \`${escapeSlackText(command.input.slice(0, 40))}\` is not a valid number: ${command.reason}.\n${NOTE_USAGE}`;
    const { e164 } = command;
    const all = await deps.contactsOf(e164);
    if (all.length === 0) return `:warning: ${e164} has no conversation yet. Open one with \`/wa chat ${e164}\`.`;
    // The note is the conversation's (the modal on its thread edits the same one); a customer who
    // talks to several sending numbers has one conversation, and one note, with each.
    const numberOf = (c: { sendingNumberPhone: string | null }) => c.sendingNumberPhone ?? 'an unknown number';
    const withNumber = (c: { sendingNumberPhone: string | null }) => `with ${numberOf(c)}`;
    const withNumbers = (list: typeof all) => `with ${list.map(numberOf).join(' and ')}`;
    const contacts = command.sendingNumber ? all.filter((c) => c.sendingNumberPhone === command.sendingNumber) : all;
    if (contacts.length === 0)
      return `:warning: ${e164} has no conversation with ${command.sendingNumber}, only ${withNumbers(all)}.`;
    const several = all.length > 1;
    const which = several && contacts.length === 1 && contacts[0] ? ` (${withNumber(contacts[0])})` : '';
    if (command.kind === 'show') {
      const shown = contacts.map((c) => {
        const note = c.note ? `“${escapeSlackText(c.note)}”` : 'no note';
        return several ? `${withNumber(c)}: ${note}` : note;
      });
      const current =
        several || contacts.some((c) => c.note)
          ? `Note${contacts.length > 1 ? 's' : ''} on ${e164}: ${shown.join('; ')}.`
          : '';
      return `${current || `${e164} has no note.`} Set it with \`/wa note ${e164} <text>\`, remove it with \`/wa note ${e164} --clear\`.`;
    }
    const note = command.kind === 'clear' ? '' : command.text;
    const checked = validateNote(note);
    if (!checked.ok) return `:warning: ${checked.error}`;
    for (const contact of contacts) {
      const result = await deps.saveNote(contact.id, note);
      if (!result.ok) return `:warning: ${result.error}`;
    }
    const done = checked.note ? `set to “${escapeSlackText(checked.note)}”` : 'cleared';
    if (several && contacts.length > 1)
      return `Note on ${e164} ${done} in its ${contacts.length} conversations (${withNumbers(contacts)}). For one only: \`/wa note ${e164} from <sending number> <text>\`.`;
    return `Note on ${e164}${which} ${done}.`;
  };
}

/** `/wa history [number]` opens the history modal (needs the trigger, so it answers with the modal). */
export function historySubcommand(deps: {
  open(triggerId: string, userId: string, phoneNumber: string | null): Promise<string | undefined>;
}): WaSubcommandHandler {
  return async ({ rest, userId, triggerId }) => {
    const number = rest.trim() || null;
    if (number) {
      // A modal can't show a field error before it is submitted: say what is wrong here instead.
      const parsed = parseInternationalNumber(number);
      if (!parsed.ok)
        return `:warning: \`${escapeSlackText(number.slice(0, 40))}\` is not a phone number (${parsed.reason}). Write it in international format: \`/wa history +44 7700 900123\`, or \`/wa history\` to search.`;
    }
    return deps.open(triggerId, userId, number);
  };
}
