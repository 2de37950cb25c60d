import { z } from 'zod';
import { emojiFor, replaceEmojiShortcodes } from './emoji-shortcodes.js';

export type NameLookups = {
  userName(id: string): Promise<string>;
  channelName(id: string): Promise<string>;
  userGroupName?(id: string): Promise<string>;
};

const style = z
  .object({
    bold: z.boolean().optional(),
    italic: z.boolean().optional(),
    strike: z.boolean().optional(),
    code: z.boolean().optional(),
  })
  .optional();

const inlineElement = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string(), style }),
  z.object({ type: z.literal('link'), url: z.string(), text: z.string().optional(), style }),
  z.object({ type: z.literal('user'), user_id: z.string() }),
  z.object({ type: z.literal('channel'), channel_id: z.string() }),
  z.object({ type: z.literal('usergroup'), usergroup_id: z.string() }),
  z.object({
    type: z.literal('emoji'),
    name: z.string(),
    unicode: z.string().optional(),
    skin_tone: z.number().optional(),
  }),
  z.object({ type: z.literal('broadcast'), range: z.string() }),
  z.object({ type: z.literal('date'), timestamp: z.number(), fallback: z.string().optional() }),
  z.object({ type: z.literal('color'), value: z.string() }),
]);
type Inline = z.infer<typeof inlineElement>;

const section = z.object({ type: z.literal('rich_text_section'), elements: z.array(inlineElement) });
const richTextElement = z.discriminatedUnion('type', [
  section,
  z.object({
    type: z.literal('rich_text_list'),
    style: z.enum(['bullet', 'ordered']),
    indent: z.number().optional(),
    offset: z.number().optional(),
    elements: z.array(section),
  }),
  z.object({ type: z.literal('rich_text_quote'), elements: z.array(inlineElement) }),
  z.object({ type: z.literal('rich_text_preformatted'), elements: z.array(inlineElement) }),
]);
const richTextBlock = z.object({ type: z.literal('rich_text'), elements: z.array(richTextElement) });

const unescapeSlack = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

function wrap(text: string, s: z.infer<typeof style>): string {
  if (!s || text.trim() === '') return text;
  // WhatsApp markers must hug the text: move surrounding spaces outside them.
  const match = /^(\s*)(.*?)(\s*)$/s.exec(text);
  let core = match?.[2] ?? text;
  if (s.code) core = `\`${core}\``;
  else {
    if (s.bold) core = `*${core}*`;
    if (s.italic) core = `_${core}_`;
    if (s.strike) core = `~${core}~`;
  }
  return `${match?.[1] ?? ''}${core}${match?.[3] ?? ''}`;
}

async function renderInline(elements: Inline[], lookups: NameLookups, plain = false): Promise<string> {
  const parts: string[] = [];
  for (const el of elements) {
    switch (el.type) {
      case 'text':
        parts.push(plain ? el.text : wrap(el.text, el.style));
        break;
      case 'link':
        parts.push(el.text && el.text !== el.url ? `${el.text} (${el.url})` : el.url);
        break;
      case 'user':
        parts.push(`@${await lookups.userName(el.user_id)}`);
        break;
      case 'channel':
        parts.push(`#${await lookups.channelName(el.channel_id)}`);
        break;
      case 'usergroup':
        parts.push(`@${lookups.userGroupName ? await lookups.userGroupName(el.usergroup_id) : 'group'}`);
        break;
      case 'emoji':
        parts.push(
          el.unicode
            ? String.fromCodePoint(...el.unicode.split('-').map((hex) => Number.parseInt(hex, 16)))
            : (emojiFor(el.name, el.skin_tone) ?? `:${el.name}:`),
        );
        break;
      case 'broadcast':
        parts.push(`@${el.range}`);
        break;
      case 'date':
        parts.push(el.fallback ?? new Date(el.timestamp * 1000).toISOString());
        break;
      case 'color':
        parts.push(el.value);
        break;
    }
  }
  return parts.join('');
}

async function fromRichText(block: z.infer<typeof richTextBlock>, lookups: NameLookups): Promise<string> {
  const out: string[] = [];
  const startLine = () => {
    const last = out.at(-1);
    if (last !== undefined && !last.endsWith('\n')) out.push('\n');
  };
  for (const element of block.elements) {
    if (element.type !== 'rich_text_section') startLine();
    switch (element.type) {
      case 'rich_text_section':
        out.push(await renderInline(element.elements, lookups));
        break;
      case 'rich_text_list': {
        const indent = '  '.repeat(element.indent ?? 0);
        const lines: string[] = [];
        for (const [index, item] of element.elements.entries()) {
          const marker = element.style === 'ordered' ? `${(element.offset ?? 0) + index + 1}.` : '-';
          lines.push(`${indent}${marker} ${await renderInline(item.elements, lookups)}`);
        }
        out.push(`${lines.join('\n')}\n`);
        break;
      }
      case 'rich_text_quote':
        out.push(
          `${(await renderInline(element.elements, lookups))
            .split('\n')
            .map((line) => `> ${line}`)
            .join('\n')}\n`,
        );
        break;
      case 'rich_text_preformatted':
        out.push(`\`\`\`${await renderInline(element.elements, lookups, true)}\`\`\`\n`);
        break;
    }
  }
  return out.join('').replace(/\n+$/, '');
}

/** Slack mrkdwn text (when no rich_text blocks came with the message). */
async function fromMrkdwn(text: string, lookups: NameLookups): Promise<string> {
  const tokens = /<([^<>]{1,2000})>/g;
  // Plain text is unescaped and gets emoji; what a token resolves to is already final text.
  const parts: string[] = [];
  const plain = (segment: string) => replaceEmojiShortcodes(unescapeSlack(segment));
  let last = 0;
  for (const match of text.matchAll(tokens)) {
    parts.push(plain(text.slice(last, match.index)));
    last = (match.index ?? 0) + match[0].length;
    const inner = match[1] ?? '';
    const [target = '', label] = inner.split('|', 2);
    if (target.startsWith('@')) parts.push(`@${label ?? (await lookups.userName(target.slice(1)))}`);
    else if (target.startsWith('#')) parts.push(`#${label ?? (await lookups.channelName(target.slice(1)))}`);
    else if (target.startsWith('!subteam^'))
      parts.push(
        label
          ? label.startsWith('@')
            ? label
            : `@${label}`
          : `@${lookups.userGroupName ? await lookups.userGroupName(target.slice(9)) : 'group'}`,
      );
    else if (target.startsWith('!date^')) parts.push(label ?? '');
    else if (target.startsWith('!')) parts.push(`@${target.slice(1)}`);
    else {
      const url = target.startsWith('mailto:') ? target.slice(7) : target;
      parts.push(
        label && label !== url && label !== target
          ? `${unescapeSlack(label)} (${unescapeSlack(url)})`
          : unescapeSlack(url),
      );
    }
  }
  parts.push(plain(text.slice(last)));
  return parts.join('').replace(/^(\s*)[•◦▪] /gm, '$1- ');
}

/**
 * A Slack message as WhatsApp text. Users' messages carry rich_text blocks, which say exactly
 * what was bold, a link or a mention; the mrkdwn text is the fallback.
 */
export async function slackToWhatsApp(
  input: { text: string; blocks?: unknown },
  lookups: NameLookups,
): Promise<string> {
  const blocks = Array.isArray(input.blocks) ? input.blocks : [];
  const rich = blocks.map((b) => richTextBlock.safeParse(b)).filter((r) => r.success);
  if (rich.length > 0 && rich.length === blocks.length) {
    const rendered: string[] = [];
    for (const result of rich) rendered.push(await fromRichText(result.data, lookups));
    return rendered.join('\n');
  }
  return fromMrkdwn(input.text, lookups);
}
