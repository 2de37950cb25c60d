import { expect } from 'vitest';
import { EVENT_ORDER } from '../../src/db/stores/conversation-inbox-store.js';
import { CHANNEL_ID, type Harness, SIGNING_SECRET } from './bridge-harness.js';
import type { FakeMessage } from './fake-slack.js';
import {
  blockActionsPayload,
  interactivity,
  messageShortcutPayload,
  postSlack,
  viewSubmissionPayload,
} from './slack-requests.js';
import { waitFor } from './wait-for.js';

type Element = { action_id?: string; value?: string; type?: string };
type Block = { type: string; block_id?: string; elements?: Element[]; text?: { text?: string } };

let clickCounter = 0;

/**
 * Drives the team inbox through signed Slack requests: the header's buttons (with the value the
 * header carries, as Slack sends it back), the Assign… modal, the Resolve message shortcut.
 */
export function inboxDriver(h: Harness, baseUrl: () => string = () => h.url) {
  const db = h.app.database.db;

  const header = (threadTs: string, channel = CHANNEL_ID): FakeMessage => {
    const found = h.slack.messages().find((m) => m.channel === channel && m.ts === threadTs && !m.thread_ts);
    if (!found) throw new Error(`no header at ${threadTs}`);
    return found;
  };
  const headerText = (threadTs: string) =>
    ((header(threadTs).blocks ?? []) as Block[])
      .filter((b) => b.type === 'section')
      .map((b) => b.text?.text ?? '')
      .join('\n');
  const button = (threadTs: string, actionId: string): Element | undefined =>
    ((header(threadTs).blocks ?? []) as Block[]).flatMap((b) => b.elements ?? []).find((e) => e.action_id === actionId);

  /** Response_url answers of one click. */
  const answersTo = (id: string) =>
    h.slack
      .callsTo('response_url')
      .filter((c) => c.path === `/response/${id}`)
      .map((c) => String(c.body.text));

  return {
    header,
    headerText,
    button,
    answersTo,

    /** Clicks a header button as `userId`, sending the value the header shows now (or `value`). */
    async click(
      threadTs: string,
      actionId: string,
      userId: string,
      options: { value?: string; triggerId?: string; url?: string } = {},
    ): Promise<{ id: string; answer: () => Promise<string> }> {
      const value = options.value ?? button(threadTs, actionId)?.value;
      if (value === undefined) throw new Error(`the header has no ${actionId} button`);
      const id = `inbox-${++clickCounter}`;
      const response = await postSlack(
        options.url ?? baseUrl(),
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId,
            actionId,
            value,
            blockId: 'wa_inbox_actions',
            message: { channelId: CHANNEL_ID, ts: threadTs },
            responseUrl: `${h.slack.baseUrl}response/${id}`,
            ...(options.triggerId ? { triggerId: options.triggerId } : {}),
          }),
        ),
      );
      expect(response.status).toBe(200);
      return { id, answer: () => waitFor(`answer to ${actionId}`, () => answersTo(id)[0]) };
    },

    /** Submits the Assign… modal opened by `triggerId`; returns Slack's acknowledgement body. */
    async submitAssign(triggerId: string, userId: string, picked: string | null) {
      const opened = h.slack.callsTo('views.open').find((c) => c.body.trigger_id === triggerId);
      const view = opened?.body.view as { callback_id: string; private_metadata: string } | undefined;
      if (!view) throw new Error('no Assign… modal was opened');
      const response = await postSlack(
        baseUrl(),
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId,
            viewId: 'VASSIGN',
            callbackId: view.callback_id,
            privateMetadata: view.private_metadata,
            values: {
              wa_inbox_assignee: { wa_inbox_assignee_pick: { type: 'users_select', selected_user: picked } },
            },
          }),
        ),
      );
      expect(response.status).toBe(200);
      return response.json as { response_action?: string; errors?: Record<string, string> } | null;
    },

    /** The Resolve message shortcut on message `messageTs` of the thread. */
    async resolveShortcut(threadTs: string, messageTs: string, userId: string) {
      const id = `inbox-${++clickCounter}`;
      const response = await postSlack(
        baseUrl(),
        interactivity(
          SIGNING_SECRET,
          messageShortcutPayload({
            callbackId: 'wa_resolve',
            channelId: CHANNEL_ID,
            messageTs,
            threadTs,
            userId,
            responseUrl: `${h.slack.baseUrl}response/${id}`,
          }),
        ),
      );
      expect(response.status).toBe(200);
      return waitFor('answer to the Resolve shortcut', () => answersTo(id)[0]);
    },

    async contact(phone: string) {
      return db.selectFrom('contact').selectAll().where('phone_number', '=', phone).executeTakeFirstOrThrow();
    },

    async events(contactId: string) {
      const rows = await db
        .selectFrom('conversation_event')
        .selectAll()
        .where('contact_id', '=', contactId)
        .orderBy('at')
        .orderBy('id')
        .execute();
      // Events of one moment (a reopening message writes 'reopened' and 'opened') in the order they happen.
      return rows.sort((x, y) => x.at - y.at || EVENT_ORDER[x.kind] - EVENT_ORDER[y.kind]);
    },

    /** The bridge's own notes in a thread (not customer posts). */
    notes: (threadTs: string) =>
      h.slack
        .threadReplies(CHANNEL_ID, threadTs)
        .filter((m) => m.metadata?.event_type === 'wa_inbox_note')
        .map((m) => m.text),
  };
}
