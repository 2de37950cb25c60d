import { expect } from 'vitest';
import { CHANNEL_ID, type Harness, LEAD, SIGNING_SECRET } from './bridge-harness.js';
import {
  blockActionsPayload,
  interactivity,
  postSlack,
  slashCommand,
  viewSubmissionPayload,
} from './slack-requests.js';

/**
 * Drives quick replies through the app's entry points only: `/wa replies`, the buttons and selects
 * of its modals and of the thread header, and modal submissions, all signed as Slack sends them.
 * Views are read back from the fake Slack, which keeps each modal as the app last set it.
 */

export type ModalBlock = {
  type: string;
  block_id?: string;
  text?: { text: string };
  elements?: { action_id?: string; value?: string; text?: { text: string } | string }[];
  element?: {
    type: string;
    action_id?: string;
    options?: { text: { text: string }; value: string; description?: { text: string } }[];
    initial_option?: { value: string };
    initial_value?: string;
  };
  accessory?: { action_id?: string };
};
export type Modal = {
  id: string;
  hash: string;
  callback_id?: string;
  private_metadata: string;
  submit?: unknown;
  blocks: ModalBlock[];
};

let triggers = 0;
const nextTrigger = () => `trigger.qr.${Date.now()}.${++triggers}`;

export function quickReplyDriver(h: Harness) {
  /** The modal as the app last set it. */
  function modal(id: string): Modal {
    const record = h.slack.views.get(id);
    if (!record) throw new Error(`no view ${id}`);
    return { id, hash: record.hash, ...(record.view as Omit<Modal, 'id' | 'hash'>) };
  }

  /** The modal a views.open / views.push with this trigger created (read right after the request). */
  function openedBy(trigger: string, method: 'views.open' | 'views.push'): Modal | null {
    const call = h.slack.callsTo(method).find((c) => c.body.trigger_id === trigger);
    if (!call) return null;
    const record = [...h.slack.views.values()].find((v) => v.view === call.body.view);
    return record ? modal(record.id) : null;
  }

  const text = (view: Modal) => JSON.stringify(view.blocks);

  async function click(
    view: Modal,
    actionId: string,
    options: { value?: string; selectedOption?: string; userId?: string; state?: Record<string, unknown> } = {},
  ) {
    const trigger = nextTrigger();
    const payload = blockActionsPayload({
      actionId,
      ...(options.value !== undefined ? { value: options.value } : {}),
      ...(options.selectedOption !== undefined ? { selectedOption: options.selectedOption } : {}),
      ...(options.userId ? { userId: options.userId } : {}),
      triggerId: trigger,
      view: {
        id: view.id,
        hash: view.hash,
        callbackId: view.callback_id ?? '',
        privateMetadata: view.private_metadata,
        ...(options.state ? { state: options.state } : {}),
      },
    });
    const response = await postSlack(h.url, interactivity(SIGNING_SECRET, payload));
    expect(response.status).toBe(200);
    return { trigger, pushed: () => openedBy(trigger, 'views.push') };
  }

  async function submit(view: Modal, values: Record<string, Record<string, unknown>>, userId = 'UAGENT1') {
    const response = await postSlack(
      h.url,
      interactivity(
        SIGNING_SECRET,
        viewSubmissionPayload({
          viewId: view.id,
          callbackId: view.callback_id ?? '',
          privateMetadata: view.private_metadata,
          values,
          userId,
        }),
      ),
    );
    expect(response.status).toBe(200);
    return response.json as { response_action?: string; errors?: Record<string, string> } | null;
  }

  const draftValues = (title: string, body: string) => ({
    qr_title: { value: { type: 'plain_text_input', value: title } },
    qr_body: { value: { type: 'plain_text_input', value: body } },
  });

  return {
    modal,
    text,
    click,
    submit,
    draftValues,

    /** `/wa replies`: the list modal it opened, or the ephemeral answer when it opened none. */
    async openList(userId = LEAD): Promise<{ list: Modal | null; answer: string }> {
      const trigger = nextTrigger();
      const response = await postSlack(
        h.url,
        slashCommand(SIGNING_SECRET, { text: 'replies', userId, triggerId: trigger }),
      );
      expect(response.status).toBe(200);
      return {
        list: openedBy(trigger, 'views.open'),
        answer: (response.json as { text?: string } | null)?.text ?? '',
      };
    },

    /** Add (or, with `id`, edit) from the list; returns the submission's answer. */
    async save(list: Modal, draft: { title: string; body: string; id?: string }, userId = LEAD) {
      const clicked = draft.id
        ? await click(list, 'wa_qr_edit', { value: draft.id, userId })
        : await click(list, 'wa_qr_add', { userId });
      const editor = clicked.pushed();
      if (!editor) throw new Error('the editor did not open');
      return { editor, answer: await submit(editor, draftValues(draft.title, draft.body), userId) };
    },

    async replies() {
      return h.app.database.db.selectFrom('quick_reply').selectAll().orderBy('title').execute();
    },

    /** *Quick reply* on a thread's header, as the agent; returns the picker. */
    async openPicker(threadTs: string, contactId: string, userId = 'UAGENT1'): Promise<Modal> {
      const trigger = nextTrigger();
      const response = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            actionId: 'wa_quick_reply_open',
            value: contactId,
            userId,
            triggerId: trigger,
            message: { channelId: CHANNEL_ID, ts: threadTs },
          }),
        ),
      );
      expect(response.status).toBe(200);
      const picker = openedBy(trigger, 'views.open');
      if (!picker) throw new Error('the picker did not open');
      return picker;
    },

    /** Chooses a reply in the picker; returns the picker as updated with the preview. */
    async choose(picker: Modal, replyId: string, userId = 'UAGENT1'): Promise<Modal> {
      await click(picker, 'wa_qr_pick', { selectedOption: replyId, userId, state: pickState(replyId) });
      return modal(picker.id);
    },

    async send(picker: Modal, replyId: string, userId = 'UAGENT1') {
      return submit(modal(picker.id), pickState(replyId), userId);
    },

    options(view: Modal) {
      return view.blocks.find((b) => b.block_id === 'qr_pick')?.element?.options ?? [];
    },
  };
}

export const pickState = (replyId: string) => ({
  qr_pick: {
    wa_qr_pick: {
      type: 'static_select',
      selected_option: { text: { type: 'plain_text', text: 'x' }, value: replyId },
    },
  },
});
