import type { KnownBlock } from '@slack/web-api';
import { escapeSlackText } from '../../shared/slack-text.js';

export type CampaignListItem = {
  id: string;
  templateName: string;
  language: string;
  createdBy: string;
  createdAt: number;
  status: string;
  total: number;
  sent: number;
  delivered: number;
  read: number;
  failed: number;
  optedOut: number;
  replied: number;
};

/** At most this many campaigns: two blocks each stays far below Block Kit's 50 per message. */
export const CAMPAIGNS_LISTED = 15;

const percent = (part: number, whole: number) => (whole > 0 ? ` (${Math.round((part / whole) * 100)}%)` : '');

/** `/wa campaigns`: the recent campaigns with their results, newest first. */
export function campaignListContent(items: readonly CampaignListItem[]): { text: string; blocks: KnownBlock[] } {
  if (items.length === 0) return { text: 'No campaigns yet. Launch one with `/wa send`.', blocks: [] };
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: `Recent campaigns (${items.length})` } },
  ];
  for (const c of items.slice(0, CAMPAIGNS_LISTED)) {
    const when = `<!date^${Math.floor(c.createdAt / 1000)}^{date_short_pretty} {time}|${new Date(c.createdAt).toISOString().slice(0, 16).replace('T', ' ')} UTC>`;
    const text = [
      `*${escapeSlackText(c.templateName)}* (${escapeSlackText(c.language)}) — ${when} by <@${c.createdBy}> — ${escapeSlackText(c.status)}`,
      `Recipients *${c.total}* · Sent *${c.sent}* · Delivered *${c.delivered}*${percent(c.delivered, c.sent)} · Read *${c.read}*${percent(c.read, c.sent)}`,
      `Failed *${c.failed}* · Opted out *${c.optedOut}* · Replied *${c.replied}*${percent(c.replied, c.sent)}`,
    ].join('\n');
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } });
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `id \`${c.id.slice(0, 8)}\`` }] });
  }
  return { text: `Recent campaigns: ${items.length}`, blocks };
}
