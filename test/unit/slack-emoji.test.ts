import { describe, expect, it } from 'vitest';
import { emojiForSlackReaction, slackReactionForEmoji } from '../../src/bridge/formatting/slack-emoji.js';
import { SLACK_EMOJI_DATA } from '../../src/bridge/formatting/slack-emoji-data.js';

/** Slack reaction names ⇄ the Unicode emoji WhatsApp reactions carry. */

describe('Slack reaction name → emoji', () => {
  it("maps WhatsApp's quick reactions and the names Slack reports", () => {
    expect(['+1', 'thumbsup', 'heart', 'joy', 'open_mouth', 'cry', 'pray'].map(emojiForSlackReaction)).toEqual([
      '👍',
      '👍',
      '❤️',
      '😂',
      '😮',
      '😢',
      '🙏',
    ]);
    expect(emojiForSlackReaction('flamingo')).toBe('🦩');
    expect(emojiForSlackReaction('flag-pt')).toBe('🇵🇹');
  });

  it('puts a skin tone into the emoji, after its first character', () => {
    expect(emojiForSlackReaction('+1::skin-tone-4')).toBe('👍🏽');
    expect(emojiForSlackReaction('wave::skin-tone-6')).toBe('👋🏿');
    expect(emojiForSlackReaction('man-shrugging::skin-tone-2')).toBe('🤷🏻‍♂️');
    // An emoji that takes no tone is sent as it is.
    expect(emojiForSlackReaction('heart::skin-tone-3')).toBe('❤️');
  });

  it('has nothing for custom workspace emoji and malformed names', () => {
    for (const name of ['partyparrot', 'simple_smile', ':+1:', '', 'heart::skin-tone-9', 'constructor', '__proto__'])
      expect(emojiForSlackReaction(name), name).toBeNull();
  });
});

describe('emoji → Slack reaction name', () => {
  it('gives the name Slack reports, with or without the variation selector', () => {
    expect(slackReactionForEmoji('👍')).toBe('+1');
    expect(slackReactionForEmoji('❤️')).toBe('heart');
    expect(slackReactionForEmoji('❤')).toBe('heart');
    expect(slackReactionForEmoji('😂')).toBe('joy');
    expect(slackReactionForEmoji('🦩')).toBe('flamingo');
  });

  it('names a skin tone as Slack does', () => {
    expect(slackReactionForEmoji('👍🏽')).toBe('+1::skin-tone-4');
    expect(slackReactionForEmoji('🤷🏻‍♂️')).toBe('man-shrugging::skin-tone-2');
  });

  it('has nothing for what Slack has no name for', () => {
    for (const emoji of ['🫪', 'x', '<!channel>', '', '👍👍', '❤️🏽', '🧑🏻‍🤝‍🧑🏿'])
      expect(slackReactionForEmoji(emoji), emoji).toBeNull();
  });

  it('round-trips every emoji Slack has, and each with every skin tone it takes', () => {
    const lines = SLACK_EMOJI_DATA.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1800);
    for (const line of lines) {
      const [head = '', name = ''] = line.split(' ');
      const emoji = head.replace(/\*$/, '');
      expect(emojiForSlackReaction(name), name).toBe(emoji);
      expect(slackReactionForEmoji(emoji), name).toBe(name);
      if (!head.endsWith('*')) continue;
      for (const tone of [2, 3, 4, 5, 6]) {
        const toned = emojiForSlackReaction(`${name}::skin-tone-${tone}`) ?? '';
        expect(toned).not.toBe(emoji);
        expect(slackReactionForEmoji(toned), `${name} ${tone}`).toBe(`${name}::skin-tone-${tone}`);
      }
    }
  });
});
