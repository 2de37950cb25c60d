import type { ModalView } from '@slack/web-api';
import { z } from 'zod';
import type { WindowState } from '../../bridge/conversation-window.js';
import {
  QUICK_REPLY_BODY_MAX,
  QUICK_REPLY_PLACEHOLDERS,
  QUICK_REPLY_TITLE_MAX,
  type QuickReplyRecord,
} from '../../bridge/quick-replies.js';
import { escapeSlackText } from '../../shared/slack-text.js';
import { slackDate, windowLine } from '../blocks/thread-header.js';

export const QuickReplyIds = {
  listCallback: 'wa_quick_replies',
  editCallback: 'wa_quick_reply_edit',
  pickerCallback: 'wa_quick_reply_picker',
  add: 'wa_qr_add',
  edit: 'wa_qr_edit',
  remove: 'wa_qr_delete',
  page: 'wa_qr_page',
  titleBlock: 'qr_title',
  bodyBlock: 'qr_body',
  inputAction: 'value',
  searchBlock: 'qr_search',
  searchAction: 'wa_qr_search',
  pickBlock: 'qr_pick',
  pickAction: 'wa_qr_pick',
  previewBlock: 'qr_preview',
} as const;

/** Replies per page of the list: two blocks each, well within a modal's 100 blocks. */
export const LIST_PAGE_SIZE = 20;
/** A static select holds at most 100 options; beyond that the picker offers a search. */
export const PICKER_OPTIONS = 100;
/** The preview is a section (3,000 characters at most); the post itself carries the whole text. */
const PREVIEW_CHARS = 2800;

const plain = (text: string) => ({ type: 'plain_text' as const, text, emoji: true });
const mrkdwn = (text: string) => ({ type: 'mrkdwn' as const, text });
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const firstLine = (body: string) => body.split('\n').find((line) => line.trim() !== '') ?? '';
const PLACEHOLDER_HELP = QUICK_REPLY_PLACEHOLDERS.map((name) => `{{${name}}}`).join(', ');

export const listMetadata = z.object({ page: z.number().int().min(0).catch(0) });
export const editMetadata = z.object({
  id: z.string().max(100).nullable(),
  listViewId: z.string().max(100),
  page: z.number().int().min(0).catch(0),
});
export type EditMetadata = z.infer<typeof editMetadata>;
export const pickerMetadata = z.object({
  channelId: z.string().min(1).max(40),
  threadTs: z.string().min(1).max(40),
  search: z.string().max(200).catch(''),
});
export type PickerMetadata = z.infer<typeof pickerMetadata>;

/** Private metadata a modal carried, checked; null when it is not what this app wrote. */
export function readMetadata<T>(schema: z.ZodType<T>, raw: string | undefined): T | null {
  try {
    const parsed = schema.safeParse(JSON.parse(raw ?? ''));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** `/wa replies`: the team's quick replies, a page at a time, with Add, Edit and Delete. */
export function quickReplyListView(input: {
  rows: QuickReplyRecord[];
  total: number;
  page: number;
  notice?: string;
}): ModalView {
  const pages = Math.max(1, Math.ceil(input.total / LIST_PAGE_SIZE));
  const blocks: unknown[] = [
    {
      type: 'section',
      text: mrkdwn(
        `*${input.total} quick ${input.total === 1 ? 'reply' : 'replies'}* shared by the team. Agents send them with *Quick reply* on a conversation thread's header. Placeholders: ${PLACEHOLDER_HELP}.`,
      ),
      accessory: { type: 'button', style: 'primary', action_id: QuickReplyIds.add, text: plain('Add quick reply') },
    },
  ];
  if (input.notice) blocks.push({ type: 'context', elements: [mrkdwn(input.notice)] });
  blocks.push({ type: 'divider' });
  if (input.rows.length === 0) blocks.push({ type: 'section', text: mrkdwn('_No quick replies yet._') });
  for (const reply of input.rows) {
    blocks.push(
      {
        type: 'section',
        text: mrkdwn(`*${escapeSlackText(reply.title)}*\n${escapeSlackText(clip(firstLine(reply.body), 150))}`),
      },
      {
        type: 'actions',
        block_id: `qr_row:${reply.id}`,
        elements: [
          { type: 'button', action_id: QuickReplyIds.edit, text: plain('Edit'), value: reply.id },
          {
            type: 'button',
            style: 'danger',
            action_id: QuickReplyIds.remove,
            text: plain('Delete'),
            value: reply.id,
            confirm: {
              title: plain('Delete quick reply?'),
              text: plain(`"${reply.title}" will no longer be offered to agents.`),
              confirm: plain('Delete'),
              deny: plain('Keep it'),
              style: 'danger',
            },
          },
        ],
      },
    );
  }
  if (pages > 1) {
    const nav: unknown[] = [];
    if (input.page > 0)
      nav.push({
        type: 'button',
        action_id: `${QuickReplyIds.page}:prev`,
        text: plain('Previous'),
        value: String(input.page - 1),
      });
    if (input.page < pages - 1)
      nav.push({
        type: 'button',
        action_id: `${QuickReplyIds.page}:next`,
        text: plain('Next'),
        value: String(input.page + 1),
      });
    blocks.push({ type: 'context', elements: [mrkdwn(`Page ${input.page + 1} of ${pages}`)] });
    if (nav.length > 0) blocks.push({ type: 'actions', block_id: 'qr_pages', elements: nav });
  }
  return {
    type: 'modal',
    callback_id: QuickReplyIds.listCallback,
    private_metadata: JSON.stringify({ page: input.page }),
    title: plain('Quick replies'),
    close: plain('Done'),
    blocks: blocks as ModalView['blocks'],
  };
}

/** Add (no reply) or edit a quick reply, pushed on top of the list. */
export function quickReplyEditView(input: { reply: QuickReplyRecord | null; metadata: EditMetadata }): ModalView {
  const { reply } = input;
  const blocks: unknown[] = [
    {
      type: 'input',
      block_id: QuickReplyIds.titleBlock,
      label: plain('Title'),
      hint: plain(`What agents pick in the list; unique. At most ${QUICK_REPLY_TITLE_MAX} characters.`),
      element: {
        type: 'plain_text_input',
        action_id: QuickReplyIds.inputAction,
        max_length: QUICK_REPLY_TITLE_MAX,
        ...(reply ? { initial_value: reply.title } : {}),
      },
    },
    {
      type: 'input',
      block_id: QuickReplyIds.bodyBlock,
      label: plain('Text'),
      hint: plain(
        `As you would type it in the thread: *bold*, _italic_, ~strike~ and :emoji: codes work. {{customer_name}} becomes the customer's WhatsApp name (or number), {{agent_name}} the name of the agent sending it. At most ${QUICK_REPLY_BODY_MAX.toLocaleString('en-US')} characters.`,
      ),
      element: {
        type: 'plain_text_input',
        action_id: QuickReplyIds.inputAction,
        multiline: true,
        max_length: QUICK_REPLY_BODY_MAX,
        ...(reply ? { initial_value: reply.body } : {}),
      },
    },
  ];
  if (reply)
    blocks.push({
      type: 'context',
      elements: [
        mrkdwn(
          `Added by <@${reply.created_by}> ${slackDate(reply.created_at, new Date(reply.created_at).toISOString())} · last changed by <@${reply.updated_by}> ${slackDate(reply.updated_at, new Date(reply.updated_at).toISOString())}`,
        ),
      ],
    });
  return {
    type: 'modal',
    callback_id: QuickReplyIds.editCallback,
    private_metadata: JSON.stringify(input.metadata),
    title: plain(reply ? 'Edit quick reply' : 'Add quick reply'),
    submit: plain('Save'),
    close: plain('Cancel'),
    blocks: blocks as ModalView['blocks'],
  };
}

export type PickerPreview = { text: string; messages: number; characters: number };

/** The Quick reply picker of a conversation: choose a reply, see it filled in, send it. */
export function quickReplyPickerView(input: {
  metadata: PickerMetadata;
  contactLabel: string;
  window: WindowState;
  rows: QuickReplyRecord[];
  /** How many replies there are (or match the search). */
  total: number;
  /** Whether there are more replies than one select can hold (the search is offered). */
  searchable: boolean;
  selected: QuickReplyRecord | null;
  preview: PickerPreview | null;
  leads: string;
}): ModalView {
  const { metadata, rows, selected } = input;
  const blocks: unknown[] = [
    {
      type: 'context',
      elements: [mrkdwn(`To: *${escapeSlackText(input.contactLabel)}*`), mrkdwn(windowLine(input.window))],
    },
  ];
  const base = {
    type: 'modal' as const,
    callback_id: QuickReplyIds.pickerCallback,
    private_metadata: JSON.stringify(metadata),
    title: plain('Quick reply'),
    close: plain('Cancel'),
  };
  if (input.total === 0 && !metadata.search) {
    blocks.push({
      type: 'section',
      text: mrkdwn(`No quick replies yet. ${escapeSlackText(input.leads)} can add them with \`/wa replies\`.`),
    });
    return { ...base, blocks: blocks as ModalView['blocks'] };
  }
  if (input.searchable || metadata.search) {
    blocks.push({
      type: 'input',
      block_id: QuickReplyIds.searchBlock,
      optional: true,
      dispatch_action: true,
      label: plain('Search'),
      hint: plain('Words from the title or the text, then Enter.'),
      element: {
        type: 'plain_text_input',
        action_id: QuickReplyIds.searchAction,
        dispatch_action_config: { trigger_actions_on: ['on_enter_pressed'] },
        ...(metadata.search ? { initial_value: metadata.search } : {}),
      },
    });
  }
  // The chosen reply stays listed (and chosen) while the agent searches for others.
  const listed =
    selected && !rows.some((reply) => reply.id === selected.id)
      ? [selected, ...rows.slice(0, PICKER_OPTIONS - 1)]
      : rows.slice(0, PICKER_OPTIONS);
  const options = listed.map((reply) => ({
    text: plain(clip(reply.title, 75)),
    value: reply.id,
    ...(firstLine(reply.body) ? { description: plain(clip(firstLine(reply.body), 75)) } : {}),
  }));
  if (rows.length === 0)
    blocks.push({ type: 'section', text: mrkdwn(`No quick reply matches "${escapeSlackText(metadata.search)}".`) });
  if (options.length > 0) {
    const chosen = selected ? options.find((option) => option.value === selected.id) : undefined;
    blocks.push({
      type: 'input',
      block_id: QuickReplyIds.pickBlock,
      dispatch_action: true,
      label: plain('Quick reply'),
      element: {
        type: 'static_select',
        action_id: QuickReplyIds.pickAction,
        placeholder: plain('Choose a quick reply'),
        options,
        ...(chosen ? { initial_option: chosen } : {}),
      },
    });
    if (input.total > rows.length)
      blocks.push({
        type: 'context',
        elements: [mrkdwn(`Showing the first ${rows.length} of ${input.total} by title: search to find the others.`)],
      });
  }
  const preview = input.preview;
  if (selected && preview) {
    blocks.push(
      { type: 'divider' },
      {
        type: 'section',
        block_id: QuickReplyIds.previewBlock,
        text: mrkdwn(clip(preview.text, PREVIEW_CHARS)),
      },
      {
        type: 'context',
        elements: [
          mrkdwn(
            preview.messages > 1
              ? `:warning: ${preview.characters.toLocaleString('en-US')} characters once filled in: WhatsApp takes at most 4,096 in one message, so it goes out as *${preview.messages} messages*, split at paragraph, line or word breaks.`
              : `What the customer receives (${preview.characters.toLocaleString('en-US')} characters), sent as you. It also appears in the thread.`,
          ),
        ],
      },
    );
  } else {
    blocks.push({
      type: 'context',
      elements: [mrkdwn('Choose a quick reply to see it as the customer will.')],
    });
  }
  return { ...base, submit: plain('Send'), blocks: blocks as ModalView['blocks'] };
}

/** A modal that only says something (a refusal, a conversation that is gone). */
export function quickReplyMessageView(title: string, text: string): ModalView {
  return {
    type: 'modal',
    title: plain(title.slice(0, 24)),
    close: plain('Close'),
    blocks: [{ type: 'section', text: mrkdwn(text) }] as ModalView['blocks'],
  };
}
