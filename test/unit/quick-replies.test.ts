import { describe, expect, it } from 'vitest';
import {
  fillQuickReply,
  quickReplyMessages,
  quickReplyTitleKey,
  validateQuickReplyDraft,
} from '../../src/bridge/quick-replies.js';

describe('quick reply drafts', () => {
  it('accepts a title and a text with the two placeholders, trimmed', () => {
    expect(
      validateQuickReplyDraft({ title: '  Hours ', body: 'Hi {{customer_name}},\r\nI am {{ agent_name }}.  \n' }),
    ).toEqual({
      ok: true,
      draft: { title: 'Hours', body: 'Hi {{customer_name}},\nI am {{ agent_name }}.' },
    });
  });

  it('names every unknown placeholder once, and refuses what a form could not send', () => {
    expect(validateQuickReplyDraft({ title: 'x', body: '{{order}} {{ order }} {{customer}} {{}}' })).toEqual({
      ok: false,
      errors: {
        body: 'Unknown placeholders {{order}}, {{customer}}, {{}}: only {{customer_name}} and {{agent_name}} can be used.',
      },
    });
    expect(validateQuickReplyDraft({ title: 42, body: null })).toEqual({
      ok: false,
      errors: { title: 'Give the quick reply a title.', body: 'Write the text of the reply.' },
    });
    expect(validateQuickReplyDraft({ title: 'a\nb', body: 'x' })).toMatchObject({
      errors: { title: 'A title is one line.' },
    });
  });

  it('compares titles ignoring case and spacing', () => {
    expect(quickReplyTitleKey('  Opening   HOURS ')).toBe(quickReplyTitleKey('opening hours'));
  });
});

describe('filling a quick reply', () => {
  it('fills the placeholders and keeps markup typed in the text or a name as text', () => {
    const text = fillQuickReply('Hi {{customer_name}} <!channel> & {{agent_name}} {{ customer_name }}', {
      customer_name: 'Ana <@U1>',
      agent_name: 'Bo & Co',
    });
    expect(text).toBe('Hi Ana &lt;@U1&gt; &lt;!channel&gt; &amp; Bo &amp; Co Ana &lt;@U1&gt;');
  });

  it('counts what WhatsApp receives, signed when asked, and splits it past 4,096 characters', async () => {
    expect(await quickReplyMessages('Hi &amp; :wave:', 'Ana')).toEqual({
      characters: '*Ana:* Hi & 👋'.length,
      parts: ['*Ana:* Hi & 👋'],
    });
    const long = Array.from({ length: 900 }, () => 'word').join(' ');
    const planned = await quickReplyMessages(long, null);
    expect(planned.characters).toBe(long.length);
    expect(planned.parts).toHaveLength(2);
    expect(planned.parts.join(' ')).toBe(long);
  });
});
