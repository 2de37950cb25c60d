import { describeOptOut, type OptOutEntry } from '../../../bridge/opt-outs.js';
import { parseInternationalNumber } from '../../../bridge/phone-number.js';
import { escapeSlackText } from '../../../shared/slack-text.js';
import type { WaSubcommandHandler } from './wa-command.js';

export const OPT_OUT_PAGE = 50;
const USAGE =
  'Usage: `/wa optout list [after <number>]`, `/wa optout add <number> [reason]`, `/wa optout remove <number>`, `/wa optout export`, `/wa optout upload`.';

const slackDate = (ms: number) =>
  `<!date^${Math.floor(ms / 1000)}^{date_short} {time}|${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC>`;

/**
 * `/wa optout`: the marketing suppression list (marketers and leads). Lists a page at a time in
 * number order, adds and removes one number, exports the whole list as CSV to the person, and
 * opens the upload modal for a file of numbers.
 */
export function optoutSubcommand(deps: {
  mayManage(userId: string): Promise<boolean>;
  holders: string;
  list(after: string | null, limit: number): Promise<OptOutEntry[]>;
  count(): Promise<number>;
  /** Returns whether the number's state changed. */
  add(phoneNumber: string, userId: string, reason: string | null): Promise<boolean>;
  remove(phoneNumber: string, userId: string): Promise<boolean>;
  exportCsv(userId: string): Promise<string>;
  openUpload(triggerId: string): Promise<void>;
}): WaSubcommandHandler {
  /** The number (typed with or without spaces) and what follows it: the longest leading words that parse. */
  const numberFrom = (text: string) => {
    const words = text
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '');
    for (let count = Math.min(words.length, 6); count > 0; count--) {
      const parsed = parseInternationalNumber(words.slice(0, count).join(' '));
      if (parsed.ok) return { number: parsed.e164, rest: words.slice(count).join(' ') };
    }
    return null;
  };

  return async ({ rest, userId, triggerId }) => {
    if (!(await deps.mayManage(userId))) return `:no_entry: Only ${deps.holders} can manage the opt-out list.`;
    const [action = 'list', ...args] = rest.trim().split(/\s+/);
    const argument = args.join(' ').trim();
    switch (action.toLowerCase() || 'list') {
      case 'list': {
        let after: string | null = null;
        if (argument) {
          const parsed = parseInternationalNumber(argument.replace(/^after\s+/i, ''));
          if (!parsed.ok)
            return `\`${escapeSlackText(argument.slice(0, 40))}\` is not a number to list after. ${USAGE}`;
          after = parsed.e164;
        }
        const [entries, total] = await Promise.all([deps.list(after, OPT_OUT_PAGE + 1), deps.count()]);
        if (entries.length === 0)
          return total === 0 ? 'The opt-out list is empty.' : `No more opted-out numbers (${total} in all).`;
        const page = entries.slice(0, OPT_OUT_PAGE);
        const lines = page.map((e) => `• ${e.phoneNumber} — ${slackDate(e.at)} — ${describeOptOut(e)}`);
        const last = page[page.length - 1];
        const next =
          entries.length > OPT_OUT_PAGE && last ? `\nNext page: \`/wa optout list after ${last.phoneNumber}\`` : '';
        return `*Opted out of marketing messages: ${total}*${after ? ` (after ${after})` : ''}\n${lines.join('\n')}${next}`;
      }
      case 'add': {
        const parsed = numberFrom(argument);
        if (!parsed)
          return `Give an international number, e.g. \`/wa optout add +44 7700 900123 asked by phone\`. ${USAGE}`;
        const changed = await deps.add(parsed.number, userId, parsed.rest.slice(0, 200) || null);
        return changed
          ? `${parsed.number} is on the opt-out list: campaigns and the API will not send it MARKETING templates.`
          : `${parsed.number} was already on the opt-out list.`;
      }
      case 'remove': {
        const parsed = numberFrom(argument);
        if (!parsed) return `Give an international number, e.g. \`/wa optout remove +44 7700 900123\`. ${USAGE}`;
        return (await deps.remove(parsed.number, userId))
          ? `${parsed.number} is off the opt-out list: marketing templates can reach it again.`
          : `${parsed.number} is not on the opt-out list.`;
      }
      case 'export':
        return deps.exportCsv(userId);
      case 'upload':
        await deps.openUpload(triggerId);
        return undefined;
      default:
        return USAGE;
    }
  };
}
