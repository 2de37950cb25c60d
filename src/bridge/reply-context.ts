import { escapeSlackText } from '../shared/slack-text.js';
import type { MessageRecord } from './records.js';

/** How much of the answered message is quoted: enough to recognise it, short enough for one line. */
export const REPLY_QUOTE_CHARS = 100;

const ARROW = ':leftwards_arrow_with_hook:';

/**
 * The line above a customer's message that answers an earlier one (WhatsApp's `context`): a short
 * quote of the agent's message (or the customer's own), or, for a campaign, the template and when it
 * was sent, since a template's text is the same for everyone and says little. Linked to the message
 * in Slack when it was posted there.
 */
export function repliedMessageLine(original: MessageRecord, link: string | null): string {
  const lead = link ? `<${link}|${ARROW} In reply to>` : `${ARROW} In reply to`;
  const template = templateNameOf(original);
  const sent = `sent ${slackDate(original.created_at)}`;
  if (original.direction === 'outbound' && template && (original.source === 'campaign' || original.source === 'api')) {
    const what = original.source === 'campaign' ? 'the campaign template' : 'the template';
    const how = original.source === 'api' ? ' through the API' : '';
    return `>${lead} ${what} \`${escapeSlackText(template)}\`${how} ${sent}`;
  }
  const quote = original.body === null ? null : shortQuote(original.body);
  let who: string;
  if (original.direction === 'inbound') who = 'their message';
  else if (original.author_slack_user_id)
    who = template
      ? `<@${original.author_slack_user_id}>'s template \`${escapeSlackText(template)}\``
      : `<@${original.author_slack_user_id}>`;
  else who = template ? `the template \`${escapeSlackText(template)}\`` : 'a message';
  // A message whose content retention removed: who and when is what is left.
  return quote ? `>${lead} ${who}: “${quote}”` : `>${lead} ${who} ${sent}`;
}

function shortQuote(body: string): string | null {
  const oneLine = body.replace(/\s+/g, ' ').trim();
  if (oneLine === '') return null;
  const chars = [...oneLine];
  const cut =
    chars.length > REPLY_QUOTE_CHARS
      ? `${chars
          .slice(0, REPLY_QUOTE_CHARS - 1)
          .join('')
          .trimEnd()}…`
      : oneLine;
  return escapeSlackText(cut);
}

/** Template messages keep `{template, language}` in media_json (campaigns and the thread's template picker). */
function templateNameOf(message: MessageRecord): string | null {
  if (message.kind !== 'template' || !message.media_json) return null;
  try {
    const parsed: unknown = JSON.parse(message.media_json);
    if (parsed && typeof parsed === 'object' && 'template' in parsed && typeof parsed.template === 'string')
      return parsed.template;
  } catch {
    // Not ours to fix here: the line just does without the name.
  }
  return null;
}

/** A date Slack shows in each reader's time zone, with a UTC fallback where it cannot. */
function slackDate(ms: number): string {
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} at {time}|${fallback}>`;
}
