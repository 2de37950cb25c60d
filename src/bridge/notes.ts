export const MAX_NOTE_LENGTH = 30;

/** A note on a number: at most 30 characters (counted as people see them), one line. Empty clears it. */
export function validateNote(input: string): { ok: true; note: string | null } | { ok: false; error: string } {
  const note = input.replace(/\s+/g, ' ').trim();
  const length = [...note].length;
  if (length > MAX_NOTE_LENGTH) {
    return { ok: false, error: `A note can be at most ${MAX_NOTE_LENGTH} characters; this one has ${length}.` };
  }
  return { ok: true, note: note === '' ? null : note };
}
