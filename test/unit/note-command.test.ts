import { describe, expect, it } from 'vitest';
import { parseNoteCommand } from '../../src/slack/listeners/commands/sessions-subcommands.js';

const NORA = '+447911150000';

describe('slack/listeners/commands/sessions-subcommands parseNoteCommand', () => {
  it.each([
    ['+447911150000 2nd floor', '2nd floor'],
    ['+447911150000 10am callback', '10am callback'],
    ['+44 7911 150000 10am callback', '10am callback'],
    ['+44 7911 150000 VIP, call before noon', 'VIP, call before noon'],
    ['+447911150000 (wife) call after 6', '(wife) call after 6'],
    ['+44 7911 150000 (wife)', '(wife)'],
    ['+447911150000 2 kids', '2 kids'],
    // "+447911150000 2" is not a valid number, so the groups stop before the note's digits.
    ['+44 7911 150000 2 kids', '2 kids'],
    ['+44-7911-150000 +1 day', '+1 day'],
    ['"+44 7911 150000" 2 kids', '2 kids'],
    ['“+44 7911 150000” 10 am', '10 am'],
    ['00447911150000 hi', 'hi'],
    ['+447911150000 -', '-'],
    ['+447911150000    spaced    out  ', 'spaced out'],
  ])('%s sets the note to %j', (rest, text) => {
    expect(parseNoteCommand(rest)).toEqual({ kind: 'set', e164: NORA, text });
  });

  it.each(['+447911150000 --clear', '+44 7911 150000 --CLEAR', '+447911150000 —clear', '"+447911150000" --clear'])(
    '%s clears the note',
    (rest) => {
      expect(parseNoteCommand(rest)).toEqual({ kind: 'clear', e164: NORA });
    },
  );

  it('shows the note when only a number is given, and the usage when nothing is', () => {
    expect(parseNoteCommand('+44 7911 150000')).toEqual({ kind: 'show', e164: NORA });
    expect(parseNoteCommand('  ')).toEqual({ kind: 'usage' });
  });

  it('names what is not a number', () => {
    expect(parseNoteCommand('abc hello')).toMatchObject({ kind: 'invalid', input: 'abc' });
    expect(parseNoteCommand('+44 hello')).toMatchObject({ kind: 'invalid', input: '+44' });
    expect(parseNoteCommand('07911150000 no country code')).toMatchObject({
      kind: 'invalid',
      reason: expect.stringContaining('country code'),
    });
    expect(parseNoteCommand('"+44 7911" note')).toMatchObject({ kind: 'invalid', input: '+44 7911' });
  });
});
