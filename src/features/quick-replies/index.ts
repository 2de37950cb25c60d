import { randomUUID } from 'node:crypto';
import type { AgentMessageOutcome, QuickReplyRequest } from '../../bridge/agent-replies.js';
import { windowState } from '../../bridge/conversation-window.js';
import {
  createQuickReplyLibrary,
  fillQuickReply,
  type QuickReplyRecord,
  quickReplyMessages,
} from '../../bridge/quick-replies.js';
import type { ContactRecord } from '../../bridge/records.js';
import { createQuickReplyStore } from '../../db/stores/quick-reply-store.js';
import { registerQuickReplyActions } from '../../slack/listeners/actions/quick-reply-actions.js';
import { repliesSubcommand } from '../../slack/listeners/commands/replies-subcommand.js';
import { registerQuickReplySubmissions } from '../../slack/listeners/views/quick-reply-submissions.js';
import {
  LIST_PAGE_SIZE,
  PICKER_OPTIONS,
  type PickerMetadata,
  quickReplyEditView,
  quickReplyListView,
  quickReplyMessageView,
  quickReplyPickerView,
} from '../../slack/views/quick-reply-views.js';
import type { AppContext } from '../context.js';
import type { FeatureRegistry } from '../registry.js';

/**
 * Quick replies: the team's saved answers with placeholders. Leads manage them with `/wa replies`;
 * any agent sends one from a thread header's *Quick reply*, which fills it in for the customer and
 * hands it to session chat's agent replies, so it is sent exactly like a typed reply.
 */
export function installQuickReplies(
  ctx: AppContext,
  registry: FeatureRegistry,
  chat: { acceptQuickReply(request: QuickReplyRequest): Promise<AgentMessageOutcome> },
) {
  const { conversations, clock } = ctx;
  const slack = ctx.slack.conversations;
  const client = ctx.slack.client;
  const library = createQuickReplyLibrary({
    repository: createQuickReplyStore(ctx.database.db),
    mayManage: ctx.roles.leads,
    newId: randomUUID,
    now: clock.now,
  });

  async function listView(page: number, notice?: string) {
    let { rows, total } = await library.list({ offset: page * LIST_PAGE_SIZE, limit: LIST_PAGE_SIZE });
    const last = Math.max(0, Math.ceil(total / LIST_PAGE_SIZE) - 1);
    // After a delete the page may be past the end: show the last one instead of an empty page.
    if (page > last) {
      page = last;
      ({ rows, total } = await library.list({ offset: page * LIST_PAGE_SIZE, limit: LIST_PAGE_SIZE }));
    }
    return quickReplyListView({ rows, total, page, ...(notice ? { notice } : {}) });
  }

  const contactOfThread = async (channelId: string, threadTs: string) => {
    const thread = await conversations.threadByTs(channelId, threadTs);
    return thread ? conversations.getContact(thread.contact_id) : undefined;
  };

  /** The reply as this agent would send it to this customer now. */
  async function filled(reply: QuickReplyRecord, contact: ContactRecord, userId: string) {
    const agentName = await slack.userName(userId);
    const text = fillQuickReply(reply.body, {
      customer_name: contact.profile_name || contact.phone_number || '',
      agent_name: agentName,
    });
    return { text, agentName };
  }

  async function pickerView(metadata: PickerMetadata, userId: string, selectedId: string | null) {
    const contact = await contactOfThread(metadata.channelId, metadata.threadTs);
    if (!contact) return quickReplyMessageView('Quick reply', ':warning: This conversation no longer exists.');
    const [{ rows, total }, everything] = await Promise.all([
      library.list({ offset: 0, limit: PICKER_OPTIONS, ...(metadata.search ? { search: metadata.search } : {}) }),
      metadata.search ? library.list({ offset: 0, limit: 0 }) : null,
    ]);
    const selected = selectedId ? ((await library.get(selectedId)) ?? null) : null;
    let preview = null;
    if (selected) {
      const { text, agentName } = await filled(selected, contact, userId);
      const planned = await quickReplyMessages(text, ctx.config.chat.signAgentName ? agentName : null);
      preview = { text, messages: planned.parts.length, characters: planned.characters };
    }
    return quickReplyPickerView({
      metadata,
      contactLabel: contact.profile_name
        ? `${contact.profile_name} (${contact.phone_number ?? ''})`
        : (contact.phone_number ?? contact.id),
      window: windowState(contact.last_inbound_at, clock.now()),
      rows,
      total,
      searchable: (everything?.total ?? total) > PICKER_OPTIONS,
      selected,
      preview,
      leads: ctx.roles.leads.holders,
    });
  }

  registry.subcommand(
    'replies',
    repliesSubcommand({
      mayManage: library.mayManage,
      refusal: library.refusal,
      openList: async (triggerId) => {
        await client.views.open({ trigger_id: triggerId, view: await listView(0) });
      },
    }),
  );
  registry.slackListeners((app) =>
    registerQuickReplyActions(app, {
      mayManage: library.mayManage,
      refusal: library.refusal,
      listView,
      editView: async (id, metadata) => {
        if (id === null) return quickReplyEditView({ reply: null, metadata });
        const reply = await library.get(id);
        return reply ? quickReplyEditView({ reply, metadata }) : null;
      },
      remove: async (userId, id) => {
        const reply = await library.get(id);
        const result = await library.remove(userId, id);
        if (!result.ok) return result;
        return { ok: true, title: result.removed && reply ? reply.title : null };
      },
      pickerView,
    }),
  );
  registry.slackListeners((app) =>
    registerQuickReplySubmissions(app, {
      save: library.save,
      showList: async (metadata, notice) => {
        await client.views.update({ view_id: metadata.listViewId, view: await listView(metadata.page, notice) });
      },
      send: async ({ userId, metadata, replyId, key }) => {
        const reply = await library.get(replyId);
        if (!reply) return { ok: false, error: 'This quick reply was deleted meanwhile: choose another.' };
        const contact = await contactOfThread(metadata.channelId, metadata.threadTs);
        if (!contact) return { ok: false, error: 'This conversation no longer exists.' };
        const { text } = await filled(reply, contact, userId);
        const outcome = await chat.acceptQuickReply({
          channelId: metadata.channelId,
          threadTs: metadata.threadTs,
          userId,
          title: reply.title,
          text,
          key,
        });
        // Refused outside the window: stored as refused, and its job shows it in the thread as a typed reply's.
        if (outcome.result === 'ignored') return { ok: false, error: `Not sent: ${outcome.reason}.` };
        return { ok: true };
      },
    }),
  );
}
