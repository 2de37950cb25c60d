/**
 * `/wa help`: short, grouped by who does what, and pointing at the surfaces a command list does not
 * show (the internal-note prefix, the history shortcut, App Home). Unknown subcommands get the
 * closest known one suggested.
 */

import { DELIVERY_MARKS_LEGEND } from '../../blocks/delivery-marks.js';

export type HelpOptions = { internalNotePrefix: string };

export function helpText(options: HelpOptions): string {
  const prefix = options.internalNotePrefix;
  return [
    '*WhatsApp bridge — `/wa` help*',
    '*Agents*',
    '• `/wa chat <number> [from <sending number>]` — open the conversation thread and add it to My Sessions; reply in the thread to write to the customer',
    ...(prefix ? [`• Start a thread message with \`${prefix}\` to keep it internal (it is not sent)`] : []),
    '• `/wa sessions` — your My Sessions (at most 100); *App Home* (the app’s Home tab) has them and All Sessions',
    '• `/wa note <number> [from <sending number>] <text>` — the note on a conversation (at most 30 characters); `--clear` removes it, no text shows it',
    '• `/wa history [number]` — history with delivery status; also the *WhatsApp history* shortcut (on a thread’s message, or from the shortcuts menu)',
    '*Marketers*',
    '• `/wa send` — launch a template campaign (typed numbers or a .txt/.csv file); `/wa campaigns` — recent results',
    '• `/wa optout` `list` · `add` · `remove` · `export` · `upload` — the marketing opt-out list (leads too)',
    '• `/wa apikey create <name>` · `revoke <id>` · `list` — keys for the HTTP API',
    '*Leads*',
    "• `/wa replies` — the team's quick replies (agents send them with *Quick reply* on a thread header); the history shows leads every conversation, with *Export CSV*",
    DELIVERY_MARKS_LEGEND,
    'Numbers are international: `+44 7700 900123`. On a thread header: *Assign to me*, *Resolve*, *Quick reply*. `/wa help` shows this.',
  ].join('\n');
}

/** Levenshtein distance (subcommand names are short: the quadratic table is nothing). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The known subcommand closest to what was typed, if it is close enough to be a typo. */
export function closestSubcommand(typed: string, known: Iterable<string>): string | null {
  const word = typed.toLowerCase();
  let best: { name: string; distance: number } | null = null;
  for (const name of known) {
    const distance = name.startsWith(word) || word.startsWith(name) ? 1 : editDistance(word, name);
    if (!best || distance < best.distance) best = { name, distance };
  }
  // At most a third of the word wrong (2 edits for `histroy`, 1 for `snd`): beyond that it is a guess.
  if (!best || best.distance > Math.max(1, Math.floor(Math.max(word.length, best.name.length) / 3))) return null;
  return best.name;
}

/** The answer to an unknown subcommand: the suggestion first, then the help. */
export function unknownSubcommandText(typed: string, known: Iterable<string>, options: HelpOptions): string {
  const shown = typed.slice(0, 40).replace(/[`<>&]/g, '');
  const closest = closestSubcommand(typed, known);
  const suggestion = closest ? ` Did you mean \`/wa ${closest}\`?` : '';
  return `Unknown subcommand \`${shown}\`.${suggestion}\n\n${helpText(options)}`;
}
