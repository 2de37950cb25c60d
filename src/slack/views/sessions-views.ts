import type { HomeView, KnownBlock, ModalView } from '@slack/web-api';
import { z } from 'zod';
import { windowState } from '../../bridge/conversation-window.js';
import { MAX_NOTE_LENGTH } from '../../bridge/notes.js';
import type { ContactRecord, SendingNumberRecord } from '../../bridge/records.js';
import { MAX_SESSIONS_PER_AGENT } from '../../db/stores/agent-session-store.js';
import { escapeSlackText } from '../../shared/slack-text.js';

export const SessionIds = {
  remove: 'wa_session_remove',
  startChat: 'wa_session_start_chat',
  editNote: 'wa_note_edit',
  homeSearchBlock: 'home_search',
  homeSearchAction: 'wa_home_search',
  homeNumberFilter: 'wa_home_number_filter',
  homePage: 'wa_home_page',
  openHistory: 'wa_history_open',
  noteCallback: 'wa_note_modal',
  noteBlock: 'note',
  noteAction: 'value',
} as const;

const when = (ms: number | null) =>
  ms ? `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${new Date(ms).toISOString()}>` : 'never';

export function contactLine(contact: ContactRecord, now: number, numbers: Map<string, SendingNumberRecord>): string {
  const window = windowState(contact.last_inbound_at, now);
  const unanswered = contact.last_direction === 'inbound' ? ' · :speech_balloon: *unanswered*' : '';
  const via = numbers.get(contact.sending_number_id)?.phone_number ?? contact.sending_number_id;
  return [
    `*${escapeSlackText(contact.profile_name ?? contact.phone_number ?? 'unknown')}* ${contact.profile_name ? escapeSlackText(contact.phone_number ?? '') : ''} via ${via}`,
    `Note: ${contact.note ? escapeSlackText(contact.note) : '_none_'} · Last message ${when(contact.last_message_at)} · ${window.open ? ':large_green_circle: window open' : ':red_circle: window closed'}${unanswered}`,
  ].join('\n');
}

function contactBlocks(
  contact: ContactRecord,
  now: number,
  numbers: Map<string, SendingNumberRecord>,
  mode: 'mine' | 'all',
): unknown[] {
  const buttons: unknown[] = [
    {
      type: 'button',
      action_id: SessionIds.startChat,
      text: { type: 'plain_text', text: mode === 'mine' ? 'Open thread' : 'Start chat' },
      value: contact.id,
    },
    {
      type: 'button',
      action_id: SessionIds.editNote,
      text: { type: 'plain_text', text: 'Edit note' },
      value: contact.id,
    },
    {
      type: 'button',
      action_id: SessionIds.openHistory,
      text: { type: 'plain_text', text: 'History' },
      value: contact.id,
    },
  ];
  if (mode === 'mine')
    buttons.push({
      type: 'button',
      action_id: SessionIds.remove,
      text: { type: 'plain_text', text: 'Remove' },
      value: contact.id,
    });
  return [
    { type: 'section', text: { type: 'mrkdwn', text: contactLine(contact, now, numbers) } },
    { type: 'actions', block_id: `${mode}:${contact.id}`, elements: buttons },
  ];
}

export type HomeState = { query: string; sendingNumberId: string | null; page: number };

export function homeView(input: {
  mine: ContactRecord[];
  all: { rows: ContactRecord[]; hasMore: boolean };
  numbers: SendingNumberRecord[];
  state: HomeState;
  now: number;
  /** Blocks shown above My Sessions (the queues); My Sessions shows fewer rows to leave them room. */
  top?: unknown[];
}): HomeView {
  const numbers = new Map(input.numbers.map((n) => [n.id, n]));
  const top = input.top ?? [];
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: 'WhatsApp' } },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: '`/wa chat <number>` opens a conversation · `/wa send` launches a campaign · `/wa history` · `/wa help`',
        },
      ],
    },
    ...top,
    {
      type: 'header',
      text: { type: 'plain_text', text: `My Sessions (${input.mine.length}/${MAX_SESSIONS_PER_AGENT})` },
    },
  ];
  if (input.mine.length === 0)
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: '_No sessions yet. Add one with `/wa chat <number>` or from All Sessions below._' },
    });
  // A Home tab holds at most 100 blocks: show the most recent sessions, list the rest with /wa sessions.
  // All Sessions below takes at most 6 + 2 per row; My Sessions gets what the queues above leave.
  const allSessionsBlocks = 6 + 2 * input.all.rows.length;
  const shownMine = Math.max(0, Math.min(20, Math.floor((100 - blocks.length - 1 - allSessionsBlocks) / 2)));
  for (const contact of input.mine.slice(0, shownMine))
    blocks.push(...contactBlocks(contact, input.now, numbers, 'mine'));
  if (input.mine.length > shownMine)
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `…and ${input.mine.length - shownMine} more: \`/wa sessions\`` }],
    });
  blocks.push({ type: 'divider' }, { type: 'header', text: { type: 'plain_text', text: 'All Sessions' } });
  blocks.push({
    type: 'input',
    block_id: SessionIds.homeSearchBlock,
    dispatch_action: true,
    optional: true,
    label: { type: 'plain_text', text: 'Search by number, name or note' },
    element: {
      type: 'plain_text_input',
      action_id: SessionIds.homeSearchAction,
      dispatch_action_config: { trigger_actions_on: ['on_enter_pressed'] },
      ...(input.state.query ? { initial_value: input.state.query } : {}),
    },
  });
  if (input.numbers.length > 1) {
    const options = [
      { text: { type: 'plain_text', text: 'All sending numbers' }, value: '*' },
      ...input.numbers.map((n) => ({ text: { type: 'plain_text', text: n.phone_number }, value: n.id })),
    ];
    const selected = options.find((o) => o.value === (input.state.sendingNumberId ?? '*'));
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'static_select',
          action_id: SessionIds.homeNumberFilter,
          options,
          ...(selected ? { initial_option: selected } : {}),
        },
      ],
    });
  }
  if (input.all.rows.length === 0)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: '_No matching conversations._' } });
  for (const contact of input.all.rows) blocks.push(...contactBlocks(contact, input.now, numbers, 'all'));
  const paging: unknown[] = [];
  if (input.state.page > 0)
    paging.push({
      type: 'button',
      action_id: `${SessionIds.homePage}:prev`,
      text: { type: 'plain_text', text: '← Previous' },
      value: JSON.stringify({ ...input.state, page: input.state.page - 1 }),
    });
  if (input.all.hasMore)
    paging.push({
      type: 'button',
      action_id: `${SessionIds.homePage}:next`,
      text: { type: 'plain_text', text: 'Next →' },
      value: JSON.stringify({ ...input.state, page: input.state.page + 1 }),
    });
  if (paging.length > 0) blocks.push({ type: 'actions', elements: paging });
  return { type: 'home', private_metadata: JSON.stringify(input.state), blocks: blocks.slice(0, 100) as KnownBlock[] };
}

/** What the note modal carries back to its submission. */
export const noteModalMetadata = z.object({ contactId: z.string().min(1), fromHome: z.boolean().default(false) });

/**
 * The note on one conversation. `sendingNumber`: the customer talks to several of ours, so the
 * modal says which conversation's note this is (`/wa note … from <it>` edits the same one).
 */
export function noteModal(
  contact: ContactRecord,
  origin: { fromHome: boolean } = { fromHome: false },
  sendingNumber: string | null = null,
): ModalView {
  return {
    type: 'modal',
    callback_id: SessionIds.noteCallback,
    private_metadata: JSON.stringify({ contactId: contact.id, fromHome: origin.fromHome }),
    title: { type: 'plain_text', text: 'Note on number' },
    submit: { type: 'plain_text', text: 'Save' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `${escapeSlackText(contact.profile_name ?? '')} ${contact.phone_number ?? ''}${sendingNumber ? ` · with ${sendingNumber}` : ''}`,
          },
        ],
      },
      {
        type: 'input',
        block_id: SessionIds.noteBlock,
        optional: true,
        label: { type: 'plain_text', text: `Note (at most ${MAX_NOTE_LENGTH} characters)` },
        element: {
          type: 'plain_text_input',
          action_id: SessionIds.noteAction,
          max_length: MAX_NOTE_LENGTH,
          ...(contact.note ? { initial_value: contact.note } : {}),
        },
      },
    ] as KnownBlock[],
  };
}

/** A small modal that answers an App Home button (App Home has no channel to answer in). */
export function sessionNoticeModal(text: string): ModalView {
  return {
    type: 'modal',
    title: { type: 'plain_text', text: 'WhatsApp' },
    close: { type: 'plain_text', text: 'OK' },
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } }],
  };
}

/** At most this many characters of a profile name in one-line lists (WhatsApp does not bound them). */
const NAME_IN_LINE = 40;
/** Slack's limit for a section's text. */
const SECTION_TEXT_LIMIT = 3000;

/** One compact line per session for `/wa sessions`: what App Home shows, on one line. */
export function sessionLine(contact: ContactRecord, now: number, numbers: Map<string, SendingNumberRecord>): string {
  const window = windowState(contact.last_inbound_at, now);
  const name = contact.profile_name
    ? `*${escapeSlackText([...contact.profile_name].slice(0, NAME_IN_LINE).join(''))}* `
    : '';
  const via =
    numbers.size > 1 ? ` via ${numbers.get(contact.sending_number_id)?.phone_number ?? contact.sending_number_id}` : '';
  const note = contact.note ? ` · “${escapeSlackText(contact.note)}”` : '';
  const unanswered = contact.last_direction === 'inbound' ? ' · :speech_balloon: unanswered' : '';
  return `• ${name}${contact.phone_number ?? 'no number'}${via}${note} · ${when(contact.last_message_at)} · ${window.open ? ':large_green_circle: open' : ':red_circle: closed'}${unanswered}`;
}

/**
 * `/wa sessions`: every session, one line each, packed whole into sections of at most 3,000
 * characters (a line is never split, so no `<!date^…>` token is cut). A line is at most a few
 * hundred characters, so 100 sessions take about ten sections, well under a message's 50 blocks.
 */
export function sessionsListMessage(
  mine: ContactRecord[],
  now: number,
  numbers: SendingNumberRecord[],
): string | { text: string; blocks: KnownBlock[] } {
  if (mine.length === 0) return 'My Sessions is empty. Add a conversation with `/wa chat <number>`.';
  const byId = new Map(numbers.map((n) => [n.id, n]));
  const sections: string[] = [];
  let current = '';
  for (const line of mine.map((c) => sessionLine(c, now, byId))) {
    if (current && current.length + 1 + line.length > SECTION_TEXT_LIMIT) {
      sections.push(current);
      current = line;
    } else current = current ? `${current}\n${line}` : line;
  }
  sections.push(current);
  const title = `My Sessions (${mine.length}/${MAX_SESSIONS_PER_AGENT})`;
  return {
    text: title,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: title } },
      ...sections.map((text) => ({ type: 'section' as const, text: { type: 'mrkdwn' as const, text } })),
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: 'Open threads, edit notes or remove sessions from the app’s Home tab.' }],
      },
    ],
  };
}
