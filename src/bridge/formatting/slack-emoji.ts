import { SLACK_EMOJI_DATA } from './slack-emoji-data.js';

/**
 * Slack reaction names ⇄ the emoji WhatsApp reactions carry. Slack names a skin tone as a suffix
 * (`+1::skin-tone-4`); WhatsApp puts the modifier into the emoji itself (👍🏽).
 */

/** Fitzpatrick modifiers for Slack's skin-tone-2 … skin-tone-6. */
const SKIN_TONES = ['\u{1F3FB}', '\u{1F3FC}', '\u{1F3FD}', '\u{1F3FE}', '\u{1F3FF}'];
const VARIATION_SELECTOR = '\uFE0F';

type Entry = { emoji: string; name: string; toned: boolean };
type Index = { byName: Map<string, Entry>; byEmoji: Map<string, Entry> };

let index: Index | null = null;

/** Variation selectors come and go between keyboards (❤ / ❤️): lookups ignore them. */
const bare = (emoji: string) => emoji.replaceAll(VARIATION_SELECTOR, '');

function load(): Index {
  if (index) return index;
  const byName = new Map<string, Entry>();
  const byEmoji = new Map<string, Entry>();
  for (const line of SLACK_EMOJI_DATA.split('\n')) {
    const [head, ...names] = line.split(' ');
    const first = names[0];
    if (!head || !first) continue;
    const toned = head.endsWith('*');
    const entry = { emoji: toned ? head.slice(0, -1) : head, name: first, toned };
    for (const name of names) byName.set(name, entry);
    byEmoji.set(bare(entry.emoji), entry);
  }
  index = { byName, byEmoji };
  return index;
}

/** The modifier goes right after the first code point, replacing a variation selector there (👍🏽, 🤷🏽‍♂️). */
function withSkinTone(emoji: string, tone: string): string {
  const [first = '', ...rest] = [...emoji];
  if (rest[0] === VARIATION_SELECTOR) rest.shift();
  return first + tone + rest.join('');
}

/**
 * The emoji of a Slack reaction name (`thumbsup`, `+1::skin-tone-2`), or null for a name Slack's
 * standard set does not have: a workspace's custom emoji, which has no Unicode form.
 */
export function emojiForSlackReaction(reaction: string): string | null {
  const match = /^([^:]+)((?:::skin-tone-[2-6])*)$/.exec(reaction);
  if (!match?.[1]) return null;
  const entry = load().byName.get(match[1]);
  if (!entry) return null;
  const tones = [...(match[2] ?? '').matchAll(/skin-tone-([2-6])/g)].map((m) => SKIN_TONES[Number(m[1]) - 2]);
  // Two tones name a pair of people (🧑🏻‍🤝‍🧑🏿); the bare emoji is sent rather than a guess at the sequence.
  const tone = tones.length === 1 ? tones[0] : undefined;
  return tone && entry.toned ? withSkinTone(entry.emoji, tone) : entry.emoji;
}

/** Slack's reaction name for an emoji (👍🏽 → `+1::skin-tone-4`), or null when Slack has none. */
export function slackReactionForEmoji(emoji: string): string | null {
  const { byEmoji } = load();
  const exact = byEmoji.get(bare(emoji));
  if (exact) return exact.name;
  const characters = [...emoji];
  const tones = [...new Set(characters.filter((c) => SKIN_TONES.includes(c)))];
  const tone = tones[0];
  if (!tone || tones.length > 1) return null;
  const entry = byEmoji.get(bare(characters.filter((c) => c !== tone).join('')));
  return entry?.toned ? `${entry.name}::skin-tone-${SKIN_TONES.indexOf(tone) + 2}` : null;
}
