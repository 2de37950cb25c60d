import type { WaSubcommandHandler } from './wa-command.js';

export function sessionsSubcommand(deps: { listText(userId: string): Promise<string> }): WaSubcommandHandler {
  return async ({ userId }) => deps.listText(userId);
}

/** `/wa note <number> <text>` (empty text clears the note). */
export function noteSubcommand(deps: {
  setNote(userId: string, number: string, text: string): Promise<string>;
}): WaSubcommandHandler {
  return async ({ rest, userId }) => {
    const match = /^(\+?[\d\s().-]{6,25}?)(?:\s+(?=[^\d\s().+-])(.*))?$/s.exec(rest.trim());
    if (!rest.trim() || !match?.[1])
      return 'Usage: `/wa note <number> <text>` — at most 30 characters; `/wa note <number>` clears it.';
    return deps.setNote(userId, match[1].trim(), match[2]?.trim() ?? '');
  };
}

/** `/wa history [number]` opens the history modal (needs the trigger, so it answers with the modal). */
export function historySubcommand(deps: {
  open(triggerId: string, userId: string, phoneNumber: string | null): Promise<string | undefined>;
}): WaSubcommandHandler {
  return async ({ rest, userId, triggerId }) => deps.open(triggerId, userId, rest.trim() || null);
}
