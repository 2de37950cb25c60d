/** Slack needs only its three control characters escaped in message text. */
export function escapeSlackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One emoji (with its modifiers, joiners and variation selectors), a flag or a keycap, and nothing else. */
const EMOJI =
  /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}|\p{Emoji_Modifier}|[#*0-9]\uFE0F?\u20E3|[\u200D\uFE0E\uFE0F]|[\u{E0020}-\u{E007F}])+$/u;
const PICTURE = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20E3/u;

/** Whether a provider's "emoji" is really one (WhatsApp reactions are; a forged webhook's need not be). */
export function isEmoji(text: string): boolean {
  return text.length <= 32 && EMOJI.test(text) && PICTURE.test(text);
}
