import type { KnownBlock, ModalView } from '@slack/web-api';
import type { HistoryEntry } from '../../bridge/history.js';
import type { SendingNumberRecord } from '../../bridge/records.js';
import { escapeSlackText } from '../../shared/slack-text.js';
import { formatInZone, type TimeZone, UTC_ZONE } from '../../shared/zoned-time.js';
import { DELIVERY_MARKS } from '../blocks/delivery-marks.js';

/** Longest number the history search takes (parseInternationalNumber refuses longer input anyway). */
const NUMBER_INPUT_MAX = 40;

export const HistoryIds = {
  callback: 'wa_history_modal',
  numberBlock: 'hist_number',
  numberAction: 'value',
  sendingBlock: 'hist_sending',
  sendingAction: 'value',
  fromBlock: 'hist_from',
  toBlock: 'hist_to',
  dateAction: 'value',
  page: 'wa_history_page',
  exportCsv: 'wa_history_export',
  /** The sending-number option that filters nothing. */
  allSendingNumbers: '*',
} as const;

export type HistoryQuery = {
  phoneNumber: string | null;
  sendingNumberId: string | null;
  contactId: string | null;
  from: string | null;
  to: string | null;
  page: number;
};

const STATUS_ICON: Record<string, string> = {
  received: ':inbox_tray:',
  queued: ':hourglass:',
  sending: ':hourglass:',
  sent: `:${DELIVERY_MARKS.sent}:`,
  delivered: `:${DELIVERY_MARKS.delivered}:`,
  read: `:${DELIVERY_MARKS.read}:`,
  failed: `:${DELIVERY_MARKS.failed}:`,
  refused: `:${DELIVERY_MARKS.refused}:`,
};

/**
 * One history entry. The date is a Slack date token (shown in each reader's zone where Slack renders
 * it) whose fallback is already in the viewer's zone; `link` opens the message in its thread.
 */
export function historyEntryText(entry: HistoryEntry, options: { zone?: TimeZone; link?: string | null } = {}): string {
  const arrow = entry.direction === 'inbound' ? ':arrow_left: from' : ':arrow_right: to';
  const who = entry.profile_name
    ? `${escapeSlackText(entry.profile_name)} ${entry.contact_phone ?? ''}`
    : (entry.contact_phone ?? '?');
  const text = entry.body === null ? '_(content removed by retention)_' : escapeSlackText(entry.body).slice(0, 300);
  const author = entry.author_slack_user_id
    ? ` by <@${entry.author_slack_user_id}>`
    : entry.source !== 'contact'
      ? ` (${entry.source})`
      : '';
  const status = `${STATUS_ICON[entry.status] ?? ''} ${entry.status}${entry.error_detail ? `: ${escapeSlackText(entry.error_detail)}` : ''}`;
  const zone = options.zone ?? UTC_ZONE;
  const when = `<!date^${Math.floor(entry.created_at / 1000)}^{date_short_pretty} {time}|${formatInZone(entry.created_at, zone)}>`;
  const link = options.link ? ` · <${options.link}|View in thread>` : '';
  return `${when} ${arrow} *${who}*${author} · ${entry.kind} · ${status}${link}\n${text}`;
}

export function historyModal(input: {
  query: HistoryQuery;
  numbers: SendingNumberRecord[];
  results: { entries: HistoryEntry[]; hasMore: boolean; restricted: boolean } | null;
  canExport: boolean;
  title?: string;
  /** The viewer's zone: dates and the date filter read in it. */
  zone?: TimeZone;
  /** Message id → its permalink in the thread. */
  links?: ReadonlyMap<string, string>;
}): ModalView {
  const q = input.query;
  const all = {
    text: { type: 'plain_text' as const, text: 'All sending numbers' },
    value: HistoryIds.allSendingNumbers,
  };
  const options = [
    all,
    ...input.numbers.map((n) => ({
      text: { type: 'plain_text' as const, text: n.phone_number },
      value: n.id,
    })),
  ].slice(0, 100);
  const selected = options.find((o) => o.value === q.sendingNumberId) ?? all;
  const blocks: unknown[] = [
    {
      type: 'input',
      block_id: HistoryIds.numberBlock,
      optional: true,
      label: { type: 'plain_text', text: 'Recipient number' },
      element: {
        type: 'plain_text_input',
        action_id: HistoryIds.numberAction,
        max_length: NUMBER_INPUT_MAX,
        ...(q.phoneNumber ? { initial_value: q.phoneNumber.slice(0, NUMBER_INPUT_MAX) } : {}),
      },
    },
  ];
  if (options.length > 0) {
    blocks.push({
      type: 'input',
      block_id: HistoryIds.sendingBlock,
      optional: true,
      label: { type: 'plain_text', text: 'Sending number' },
      element: {
        type: 'static_select',
        action_id: HistoryIds.sendingAction,
        options,
        initial_option: selected,
      },
    });
  }
  blocks.push(
    {
      type: 'input',
      block_id: HistoryIds.fromBlock,
      optional: true,
      label: { type: 'plain_text', text: 'From date' },
      element: { type: 'datepicker', action_id: HistoryIds.dateAction, ...(q.from ? { initial_date: q.from } : {}) },
    },
    {
      type: 'input',
      block_id: HistoryIds.toBlock,
      optional: true,
      label: { type: 'plain_text', text: 'To date' },
      element: { type: 'datepicker', action_id: HistoryIds.dateAction, ...(q.to ? { initial_date: q.to } : {}) },
    },
  );
  if (input.results) {
    blocks.push({ type: 'divider' });
    if (input.results.entries.length === 0)
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: '_No messages match._' } });
    for (const entry of input.results.entries)
      blocks.push({
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: historyEntryText(entry, {
            ...(input.zone ? { zone: input.zone } : {}),
            link: input.links?.get(entry.id) ?? null,
          }).slice(0, 3000),
        },
      });
    if (input.results.entries.length > 0 && input.zone)
      blocks.push({
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `Times in your time zone (${escapeSlackText(input.zone.label)}); the dates searched are whole days in it.`,
          },
        ],
      });
    if (input.results.restricted) {
      blocks.push({
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: 'Some conversations are hidden: only LEADS see conversations you did not send a message in as the agent.',
          },
        ],
      });
    }
    const buttons: unknown[] = [];
    if (q.page > 0)
      buttons.push({
        type: 'button',
        action_id: `${HistoryIds.page}:prev`,
        text: { type: 'plain_text', text: '← Newer' },
        value: String(q.page - 1),
      });
    if (input.results.hasMore)
      buttons.push({
        type: 'button',
        action_id: `${HistoryIds.page}:next`,
        text: { type: 'plain_text', text: 'Older →' },
        value: String(q.page + 1),
      });
    if (input.canExport)
      buttons.push({
        type: 'button',
        action_id: HistoryIds.exportCsv,
        text: { type: 'plain_text', text: 'Export CSV to my DM' },
        value: 'export',
      });
    if (buttons.length > 0) blocks.push({ type: 'actions', elements: buttons });
  }
  return {
    type: 'modal',
    callback_id: HistoryIds.callback,
    private_metadata: JSON.stringify(q),
    title: { type: 'plain_text', text: (input.title ?? 'WhatsApp history').slice(0, 24) },
    submit: { type: 'plain_text', text: 'Search' },
    close: { type: 'plain_text', text: 'Close' },
    blocks: blocks.slice(0, 100) as KnownBlock[],
  };
}
