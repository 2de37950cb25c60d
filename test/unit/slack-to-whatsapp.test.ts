import { describe, expect, it } from 'vitest';
import { type NameLookups, slackToWhatsApp } from '../../src/bridge/formatting/slack-to-whatsapp.js';

/**
 * What an agent writes in Slack, as the contact reads it on WhatsApp. Users' messages carry
 * rich_text blocks (exact structure); messages without them fall back to the mrkdwn text.
 */

const NAMES: Record<string, string> = { UBOB: 'Bob', UANA: 'Ana Souza', CSUPPORT: 'support', SONCALL: 'oncall' };

function lookups(): NameLookups & { asked: string[] } {
  const asked: string[] = [];
  const look = async (id: string) => {
    asked.push(id);
    return NAMES[id] ?? id;
  };
  return { asked, userName: look, channelName: look, userGroupName: look };
}

type Inline = Record<string, unknown>;
const text = (value: string, style?: Record<string, boolean>): Inline => ({
  type: 'text',
  text: value,
  ...(style ? { style } : {}),
});
const section = (...elements: Inline[]) => ({ type: 'rich_text_section', elements });
const list = (style: 'bullet' | 'ordered', items: Inline[][], extra: { indent?: number; offset?: number } = {}) => ({
  type: 'rich_text_list',
  style,
  ...extra,
  elements: items.map((elements) => section(...elements)),
});

/** A message as Slack delivers it: the mrkdwn text plus one rich_text block. */
const rich = (...elements: unknown[]) => ({
  text: 'the mrkdwn fallback, ignored when rich_text blocks are present',
  blocks: [{ type: 'rich_text', block_id: 'b1', elements }],
});
const convert = (input: { text: string; blocks?: unknown }) => slackToWhatsApp(input, lookups());
const mrkdwn = (value: string) => convert({ text: value });

describe('Slack → WhatsApp formatting, from rich_text blocks', () => {
  it('turns bold, italic, strike and inline code into WhatsApp markers', async () => {
    const out = await convert(
      rich(
        section(
          text('bold', { bold: true }),
          text(' '),
          text('italic', { italic: true }),
          text(' '),
          text('gone', { strike: true }),
          text(' '),
          text('npm ci', { code: true }),
          text(' '),
          text('all three', { bold: true, italic: true, strike: true }),
        ),
      ),
    );
    expect(out).toBe('*bold* _italic_ ~gone~ `npm ci` ~_*all three*_~');
  });

  it('keeps the markers against the words, moving surrounding spaces outside them', async () => {
    expect(await convert(rich(section(text('Total: '), text(' 42 EUR ', { bold: true }), text('today'))))).toBe(
      'Total:  *42 EUR* today',
    );
  });

  it('writes a code block as a WhatsApp monospace block, without formatting its content', async () => {
    const out = await convert(
      rich(
        section(text('Run this:')),
        { type: 'rich_text_preformatted', elements: [text('npm ci\nnpm run *build*')] },
        section(text('then restart.')),
      ),
    );
    expect(out).toBe('Run this:\n```npm ci\nnpm run *build*```\nthen restart.');
  });

  it('prefixes every line of a quote with "> "', async () => {
    const out = await convert(rich({ type: 'rich_text_quote', elements: [text('You wrote:\nwhere is my order?')] }));
    expect(out).toBe('> You wrote:\n> where is my order?');
  });

  it('writes bullet and ordered lists, nested ones indented, ordered ones continuing from their offset', async () => {
    const out = await convert(
      rich(
        section(text('Steps:')),
        list('ordered', [[text('Open the app')], [text('Go to '), text('Orders', { bold: true })]]),
        list('bullet', [[text('pending')], [text('shipped')]], { indent: 1 }),
        list('ordered', [[text('Tap the order')]], { offset: 2 }),
      ),
    );
    expect(out).toBe('Steps:\n1. Open the app\n2. Go to *Orders*\n  - pending\n  - shipped\n3. Tap the order');
  });

  it('writes a labelled link as "label (url)" and a bare link as the url', async () => {
    const out = await convert(
      rich(
        section(
          { type: 'link', url: 'https://acme.example/track/1', text: 'track it' },
          text(' or '),
          { type: 'link', url: 'https://acme.example/help' },
          text(' or '),
          { type: 'link', url: 'https://acme.example/faq', text: 'https://acme.example/faq' },
        ),
      ),
    );
    expect(out).toBe(
      'track it (https://acme.example/track/1) or https://acme.example/help or https://acme.example/faq',
    );
  });

  it('replaces user, channel and user-group mentions and @here with names', async () => {
    const names = lookups();
    const out = await slackToWhatsApp(
      rich(
        section(
          { type: 'user', user_id: 'UBOB' },
          text(' from '),
          { type: 'channel', channel_id: 'CSUPPORT' },
          text(' and '),
          { type: 'usergroup', usergroup_id: 'SONCALL' },
          text(' will call you, '),
          { type: 'broadcast', range: 'here' },
        ),
      ),
      names,
    );
    expect(out).toBe('@Bob from #support and @oncall will call you, @here');
    expect(names.asked).toEqual(['UBOB', 'CSUPPORT', 'SONCALL']);
  });

  it('turns emoji into Unicode, with skin tones, leaving custom emoji as their shortcode', async () => {
    const out = await convert(
      rich(
        section(
          { type: 'emoji', name: 'tada' },
          { type: 'emoji', name: 'wave', unicode: '1f44b' },
          { type: 'emoji', name: '+1', skin_tone: 3 },
          { type: 'emoji', name: 'thumbsup', unicode: '1f44d-1f3fd', skin_tone: 4 },
          text(' '),
          { type: 'emoji', name: 'acme_party_parrot' },
        ),
      ),
    );
    expect(out).toBe('🎉👋👍🏼👍🏽 :acme_party_parrot:');
  });

  it('sends rich text characters as they are: no HTML entities to undo', async () => {
    expect(await convert(rich(section(text('Fish & chips < 10 EUR > 5 EUR'))))).toBe('Fish & chips < 10 EUR > 5 EUR');
  });

  it('falls back to the mrkdwn text when a block is not rich text', async () => {
    const out = await convert({
      text: '*Order* shipped :tada:',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'something else' } }],
    });
    expect(out).toBe('*Order* shipped 🎉');
  });
});

describe('Slack → WhatsApp formatting, from mrkdwn text', () => {
  it('keeps bold, italic, strike, inline code, code blocks and quotes, which share their syntax', async () => {
    expect(await mrkdwn('*bold* _italic_ ~strike~ `code`')).toBe('*bold* _italic_ ~strike~ `code`');
    expect(await mrkdwn('```\nnpm ci\n```')).toBe('```\nnpm ci\n```');
    expect(await mrkdwn('&gt; where is my order?\nIt ships today')).toBe('> where is my order?\nIt ships today');
  });

  it('writes bullets as "- ", nested ones keeping their indent, and leaves numbered lines alone', async () => {
    expect(await mrkdwn('• pending\n• shipped\n    ◦ by courier\n        ▪ tomorrow')).toBe(
      '- pending\n- shipped\n    - by courier\n        - tomorrow',
    );
    expect(await mrkdwn('1. Open the app\n2. Tap Orders')).toBe('1. Open the app\n2. Tap Orders');
  });

  it('writes <url|text> as "text (url)", and <url> or a link labelled with itself as the url', async () => {
    expect(await mrkdwn('see <https://acme.example/o/1|your order>')).toBe('see your order (https://acme.example/o/1)');
    expect(await mrkdwn('see <https://acme.example/o/1>')).toBe('see https://acme.example/o/1');
    expect(await mrkdwn('<https://acme.example|https://acme.example>')).toBe('https://acme.example');
    expect(await mrkdwn('write to <mailto:help@acme.example|help@acme.example>')).toBe('write to help@acme.example');
  });

  it('unescapes entities in link targets and labels', async () => {
    expect(await mrkdwn('<https://acme.example/?a=1&amp;b=2|Terms &amp; conditions>')).toBe(
      'Terms & conditions (https://acme.example/?a=1&b=2)',
    );
  });

  it('replaces user, channel and user-group mentions with names, using the label Slack sent when there is one', async () => {
    const names = lookups();
    const out = await slackToWhatsApp(
      { text: 'Hi, <@UBOB> in <#CSUPPORT> (<#CGENERAL|general>) and <!subteam^SONCALL> or <!subteam^SX|@billing>' },
      names,
    );
    expect(out).toBe('Hi, @Bob in #support (#general) and @oncall or @billing');
    expect(names.asked).toEqual(['UBOB', 'CSUPPORT', 'SONCALL']);
  });

  it('writes <!here>, <!channel> and <!everyone> as plain @words, and a date as its fallback text', async () => {
    expect(await mrkdwn('<!here> <!channel> <!everyone>')).toBe('@here @channel @everyone');
    expect(await mrkdwn('due <!date^1392734382^{date}|Feb 18, 2014>')).toBe('due Feb 18, 2014');
  });

  it('unescapes &amp; &lt; &gt; once, so text that spelled an entity stays spelled', async () => {
    expect(await mrkdwn('Fish &amp; chips &lt;10 EUR&gt;')).toBe('Fish & chips <10 EUR>');
    expect(await mrkdwn('type &amp;lt; for <')).toBe('type &lt; for <');
  });

  it('turns emoji shortcodes into Unicode, with skin tones, and leaves unknown ones and clock times as typed', async () => {
    expect(await mrkdwn('Shipped :tada: :+1::skin-tone-3: :thumbsup: :heart:')).toBe('Shipped 🎉 👍🏼 👍 ❤️');
    expect(await mrkdwn('Party :acme_party_parrot: at 12:30:45')).toBe('Party :acme_party_parrot: at 12:30:45');
  });
});
