import type { SendingNumberRecord } from '../../bridge/records.js';
import type { InboxPeriodStats, OwnerLoad, QueuePage, QueueRow } from '../../db/stores/inbox-queue-store.js';
import { escapeSlackText } from '../../shared/slack-text.js';

export const QueueIds = {
  /** Prefix of the link buttons' action ids (Slack still sends the click; it is only acknowledged). */
  openThread: 'wa_queue_open',
} as const;

/** Rows shown per list; the rest are counted ("…and N more"). Keeps the Home tab within 100 blocks. */
export const QUEUE_CAPS = { waiting: 10, unassigned: 5, mine: 10 } as const;

/** At most this many characters of a profile name in a queue row (WhatsApp does not bound them). */
const NAME_IN_ROW = 40;

export type QueueLists = {
  waiting: QueuePage & { oldestSince: number | null };
  unassigned: QueuePage;
  mine: QueuePage;
};

export type LeadFigures = {
  todayStart: number;
  weekStart: number;
  today: InboxPeriodStats;
  week: InboxPeriodStats;
  byOwner: { owners: OwnerLoad[]; unowned: number };
};

/** `<!date>`: Slack renders it in the viewer's time zone; the fallback is UTC. */
export function slackDate(ms: number, format: string): string {
  return `<!date^${Math.floor(ms / 1000)}^${format}|${new Date(ms).toISOString().replace('T', ' ').slice(0, 16)} UTC>`;
}

/** A duration for people: 45 s, 12 min, 3 h 05 min, 2 d 4 h. */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

function who(row: QueueRow, numbers: Map<string, SendingNumberRecord>): string {
  const name = row.profile_name ? `*${escapeSlackText([...row.profile_name].slice(0, NAME_IN_ROW).join(''))}* ` : '';
  const via =
    numbers.size > 1 ? ` via ${numbers.get(row.sending_number_id)?.phone_number ?? row.sending_number_id}` : '';
  return `${name}${escapeSlackText(row.phone_number ?? 'no number')}${via}`;
}

const ownerOf = (row: QueueRow) => (row.owner_user_id ? `<@${row.owner_user_id}>` : '_unassigned_');

function rowBlock(
  list: keyof QueueLists,
  row: QueueRow,
  line: string,
  permalink: (row: QueueRow) => string | null,
): unknown {
  const url = permalink(row);
  return {
    type: 'section',
    text: { type: 'mrkdwn', text: url ? line : `${line} · _no thread yet_` },
    ...(url
      ? {
          accessory: {
            type: 'button',
            action_id: `${QueueIds.openThread}:${list}:${row.id}`,
            text: { type: 'plain_text', text: 'Open thread' },
            url,
          },
        }
      : {}),
  };
}

const more = (page: QueuePage, shown: number): unknown[] =>
  page.total > shown
    ? [
        {
          type: 'context',
          elements: [
            {
              type: 'mrkdwn',
              text: `…and ${page.atLeast ? 'over ' : ''}${(page.total - shown).toLocaleString('en-US')} more`,
            },
          ],
        },
      ]
    : [];

/** `12`, `1,234`, or `1,000+` for a count that stopped at its cap. */
const counted = (page: QueuePage) => `${page.total.toLocaleString('en-US')}${page.atLeast ? '+' : ''}`;

const empty = (text: string) => ({ type: 'context', elements: [{ type: 'mrkdwn', text: `_${text}_` }] });

/**
 * The queues at the top of App Home: *Waiting on us* (the customer wrote last; for an agent theirs
 * and nobody's, for a lead everyone's), *Unassigned* and *Mine* (both: an agent answered last),
 * the newest need first, each row with a link button straight to its thread.
 */
export function queueBlocks(input: {
  lists: QueueLists;
  team: boolean;
  numbers: SendingNumberRecord[];
  permalink: (row: QueueRow) => string | null;
}): unknown[] {
  const numbers = new Map(input.numbers.map((n) => [n.id, n]));
  const { waiting, unassigned, mine } = input.lists;
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: `Waiting on us (${counted(waiting)})` } },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `${input.team ? 'The whole team’s customers' : 'Your customers and unassigned ones'} who wrote last, newest first${
            waiting.oldestSince
              ? ` · the longest has waited since ${slackDate(waiting.oldestSince, '{date_short_pretty} {time} ({ago})')}`
              : ''
          }`,
        },
      ],
    },
  ];
  if (waiting.rows.length === 0) blocks.push(empty('Nobody is waiting for an answer.'));
  for (const row of waiting.rows) {
    const since = row.waiting_since ? slackDate(row.waiting_since, '{date_short_pretty} {time} ({ago})') : 'unknown';
    blocks.push(
      rowBlock('waiting', row, `${who(row, numbers)} · waiting since ${since} · ${ownerOf(row)}`, input.permalink),
    );
  }
  blocks.push(...more(waiting, waiting.rows.length));

  blocks.push({ type: 'header', text: { type: 'plain_text', text: `Unassigned (${counted(unassigned)})` } });
  if (unassigned.rows.length === 0) blocks.push(empty('No other conversation without an owner.'));
  for (const row of unassigned.rows)
    blocks.push(rowBlock('unassigned', row, answeredLine(row, numbers), input.permalink));
  blocks.push(...more(unassigned, unassigned.rows.length));

  blocks.push({ type: 'header', text: { type: 'plain_text', text: `Mine (${counted(mine)})` } });
  if (mine.rows.length === 0) blocks.push(empty('None of yours waits on the customer.'));
  for (const row of mine.rows) blocks.push(rowBlock('mine', row, answeredLine(row, numbers), input.permalink));
  blocks.push(...more(mine, mine.rows.length));
  blocks.push({ type: 'divider' });
  return blocks;
}

function answeredLine(row: QueueRow, numbers: Map<string, SendingNumberRecord>): string {
  const state = row.status === 'waiting' ? 'answered, waiting on the customer' : 'no message yet';
  const last = row.last_message_at
    ? ` · last message ${slackDate(row.last_message_at, '{date_short_pretty} {time}')}`
    : '';
  return `${who(row, numbers)} · ${state}${last}`;
}

function periodText(title: string, stats: InboxPeriodStats): string {
  const p = (ms: number | null) => (ms === null ? '–' : formatDuration(ms));
  return [
    `*${title}*`,
    `Opened: ${stats.opened}${stats.reopened ? ` (+${stats.reopened} reopened)` : ''}`,
    `Resolved: ${stats.resolved}`,
    `First response: p50 ${p(stats.firstResponseP50Ms)} · p90 ${p(stats.firstResponseP90Ms)} (${stats.firstResponses} answered)`,
  ].join('\n');
}

/** The leads' figures: today (since the lead's midnight) and the last 7 days, and who has customers waiting. */
export function leadFigureBlocks(figures: LeadFigures): unknown[] {
  const owners = figures.byOwner.owners.map((o) => `<@${o.ownerUserId}> ${o.waiting}`);
  if (figures.byOwner.unowned > 0) owners.push(`unassigned ${figures.byOwner.unowned}`);
  return [
    { type: 'header', text: { type: 'plain_text', text: 'Team' } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: periodText('Today', figures.today) },
        { type: 'mrkdwn', text: periodText('Last 7 days', figures.week) },
      ],
    },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `Today: since ${slackDate(figures.todayStart, '{date_short_pretty} {time}')} · 7 days: since ${slackDate(figures.weekStart, '{date_short_pretty} {time}')}`,
        },
        {
          type: 'mrkdwn',
          text: `Waiting on us by owner: ${owners.length > 0 ? owners.join(' · ') : 'nobody'}`.slice(0, 3000),
        },
      ],
    },
  ];
}
