import { describe, expect, it } from 'vitest';
import { type ContactRecord, NEW_CONVERSATION_INBOX, type SendingNumberRecord } from '../../src/bridge/records.js';
import { sessionsListMessage } from '../../src/slack/views/sessions-views.js';

const numbers: SendingNumberRecord[] = ['+15550001111', '+15550002222'].map((phone, i) => ({
  id: `pn-${i}`,
  provider: 'meta',
  phone_number: phone,
  display_name: null,
  health: 'connected',
  health_reason: null,
  quality_rating: null,
  updated_at: 0,
}));

const contact = (i: number, overrides: Partial<ContactRecord> = {}): ContactRecord => ({
  id: `c-${i}`,
  sending_number_id: `pn-${i % 2}`,
  phone_number: `+4479111${String(50000 + i)}`,
  user_id: null,
  profile_name: `Customer ${i}`,
  note: 'a'.repeat(30),
  last_inbound_at: 1_800_000_000_000,
  last_message_at: 1_800_000_000_000 - i * 60_000,
  last_direction: i % 2 === 0 ? 'inbound' : 'outbound',
  created_at: 0,
  updated_at: 0,
  ...NEW_CONVERSATION_INBOX,
  ...overrides,
});

type Reply = { text: string; blocks: { type: string; text?: { text: string } }[] };
const sectionsOf = (reply: Reply) => reply.blocks.filter((b) => b.type === 'section').map((b) => b.text?.text ?? '');

describe('slack/views/sessions-views sessionsListMessage', () => {
  it('lists 100 sessions whole, one line each, in sections Slack accepts', () => {
    const reply = sessionsListMessage(
      Array.from({ length: 100 }, (_, i) => contact(i)),
      1_800_000_000_000,
      numbers,
    ) as Reply;
    expect(reply.text).toBe('My Sessions (100/100)');
    const lines = sectionsOf(reply).join('\n').split('\n');
    expect(lines).toHaveLength(100);
    lines.forEach((line, i) => {
      expect(line).toContain(`+4479111${String(50000 + i)}`);
      expect(line).toMatch(/<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^>]+> · :large_green_circle: open/);
      expect(line).toContain(`via +1555000${i % 2 === 0 ? '1111' : '2222'}`);
    });
    expect(lines[0]).toContain(':speech_balloon: unanswered');
    expect(lines[1]).not.toContain('unanswered');
  });

  it('stays within 3,000 characters a section and 50 blocks even with huge, escaped names', () => {
    const reply = sessionsListMessage(
      Array.from({ length: 100 }, (_, i) => contact(i, { profile_name: '<&>'.repeat(300), note: '&'.repeat(30) })),
      1_800_000_000_000,
      numbers,
    ) as Reply;
    expect(reply.blocks.length).toBeLessThanOrEqual(50);
    for (const section of sectionsOf(reply)) expect(section.length).toBeLessThanOrEqual(3000);
    expect(sectionsOf(reply).join('\n').split('\n')).toHaveLength(100);
    expect(sectionsOf(reply).join('')).not.toMatch(/<[&>]/);
  });

  it('says how to add a session when there is none', () => {
    expect(sessionsListMessage([], 0, numbers)).toContain('/wa chat <number>');
  });
});
