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
    expect(parseNoteCommand(rest)).toEqual({ kind: 'set', e164: NORA, text, sendingNumber: null });
  });

  it.each(['+447911150000 --clear', '+44 7911 150000 --CLEAR', '+447911150000 —clear', '"+447911150000" --clear'])(
    '%s clears the note',
    (rest) => {
      expect(parseNoteCommand(rest)).toEqual({ kind: 'clear', e164: NORA, sendingNumber: null });
    },
  );

  it('shows the note when only a number is given, and the usage when nothing is', () => {
    expect(parseNoteCommand('+44 7911 150000')).toEqual({ kind: 'show', e164: NORA, sendingNumber: null });
    expect(parseNoteCommand('  ')).toEqual({ kind: 'usage' });
  });

  it('takes `from <sending number>` after the number, in one token or groups, and leaves a short "from" to the note', () => {
    expect(parseNoteCommand('+447911150000 from +15550002222 VIP')).toEqual({
      kind: 'set',
      e164: NORA,
      text: 'VIP',
      sendingNumber: '+15550002222',
    });
    // Digits after our number are the note's once the groups make one of our numbers.
    expect(parseNoteCommand('+44 7911 150000 FROM +1 555-000-2222 2 kids', ['+15550002222'])).toEqual({
      kind: 'set',
      e164: NORA,
      text: '2 kids',
      sendingNumber: '+15550002222',
    });
    // Not one of ours: the whole run is the sending number, to be refused by name.
    expect(parseNoteCommand('+447911150000 from +1 555 000 9999 2 kids', ['+15550002222'])).toMatchObject({
      text: 'kids',
      sendingNumber: '+155500099992',
    });
    expect(parseNoteCommand('+447911150000 from +1 555 000 2222 +1 day')).toEqual({
      kind: 'set',
      e164: NORA,
      text: '+1 day',
      sendingNumber: '+15550002222',
    });
    expect(parseNoteCommand('+447911150000 from 15550002222 --clear')).toEqual({
      kind: 'clear',
      e164: NORA,
      sendingNumber: '+15550002222',
    });
    expect(parseNoteCommand('+447911150000 from +15550002222')).toEqual({
      kind: 'show',
      e164: NORA,
      sendingNumber: '+15550002222',
    });
    expect(parseNoteCommand('+447911150000 from 9 to 5')).toEqual({
      kind: 'set',
      e164: NORA,
      text: 'from 9 to 5',
      sendingNumber: null,
    });
    expect(parseNoteCommand('+447911150000 from Lisbon')).toMatchObject({ text: 'from Lisbon', sendingNumber: null });
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
