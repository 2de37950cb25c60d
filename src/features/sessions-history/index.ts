import { createHistory } from '../../bridge/history.js';
import { validateNote } from '../../bridge/notes.js';
import { createAgentSessionStore } from '../../db/stores/agent-session-store.js';
import { createInboxQueueStore } from '../../db/stores/inbox-queue-store.js';
import { registerQueueActions } from '../../slack/listeners/actions/queue-actions.js';
import { registerSessionActions } from '../../slack/listeners/actions/session-actions.js';
import {
  historySubcommand,
  noteSubcommand,
  sessionsSubcommand,
} from '../../slack/listeners/commands/sessions-subcommands.js';
import { registerAppHomeEvents } from '../../slack/listeners/events/app-home-events.js';
import { registerHistoryShortcuts } from '../../slack/listeners/shortcuts/history-shortcuts.js';
import { registerHistoryModal } from '../../slack/listeners/views/history-submission.js';
import { registerNoteSubmission } from '../../slack/listeners/views/note-submission.js';
import { createUserTimeZones } from '../../slack/user-time-zones.js';
import { noteModal, sessionsListMessage } from '../../slack/views/sessions-views.js';
import type { AppContext } from '../context.js';
import type { FeatureRegistry } from '../registry.js';
import { createAppHome } from './app-home.js';
import { createHistoryModal } from './history-modal.js';
import { createHomeQueues } from './home-queues.js';
import { createHomeRefresher, DEFAULT_HOME_REFRESH } from './home-refresh.js';
import { conversationsOfNumber, sendingNumberToName } from './note-conversations.js';

/**
 * Sessions and history: each agent's My Sessions (≤ 100), All Sessions in App Home, notes on a
 * number, and the message history with delivery status (leads see and export everything).
 */
export function installSessionsHistory(ctx: AppContext, registry: FeatureRegistry) {
  const { clock, logger, conversations, threads } = ctx;
  const sessions = createAgentSessionStore(ctx.database.db, ctx.database.dialect);
  const addSession = (userId: string, contactId: string) => sessions.add(userId, contactId, clock.now());
  const queueStore = createInboxQueueStore(ctx.database.db);
  const refresher = createHomeRefresher({
    changesSince: (since) => queueStore.changesSince(since),
    publish: (userId) => publishHome(userId),
    now: clock.now,
    logger,
    timing: { ...DEFAULT_HOME_REFRESH, ...ctx.tuning.homeRefresh },
  });
  const publishHome = createAppHome({
    sessions,
    conversations,
    gateway: ctx.slack.gateway,
    now: clock.now,
    queues: createHomeQueues({
      store: queueStore,
      isLead: ctx.roles.leads,
      client: ctx.slack.client,
      slack: ctx.slack.conversations,
      numbers: () => conversations.listSendingNumbers(),
      now: clock.now,
      logger,
    }),
    published: refresher.published,
  });
  registry.lifecycle({ start: refresher.start, stop: refresher.stop });
  const history = createHistory({ repository: ctx.messages, isLead: ctx.roles.leads, leads: ctx.roles.leads.holders });
  const historyModal = createHistoryModal({
    history,
    conversations,
    isLead: ctx.roles.leads,
    client: ctx.slack.client,
    deliverFile: ctx.deliverFile,
    timeZoneOf: createUserTimeZones({ client: ctx.slack.client, now: clock.now, logger }),
    permalink: (channelId, ts) => ctx.slack.conversations.permalink(channelId, ts),
  });

  async function saveNote(contactId: string, text: string): Promise<{ ok: true } | { ok: false; error: string }> {
    const checked = validateNote(text);
    if (!checked.ok) return checked;
    if (!(await conversations.getContact(contactId)))
      return { ok: false, error: 'This conversation no longer exists.' };
    await conversations.setNote(contactId, checked.note, clock.now());
    const updated = await conversations.getContact(contactId);
    if (updated)
      await threads
        .refreshHeader(updated)
        .catch((error: unknown) => logger.warn({ err: String(error) }, 'refreshing the thread header failed'));
    return { ok: true };
  }

  registry.subcommand(
    'sessions',
    sessionsSubcommand({
      list: async (userId) =>
        sessionsListMessage(await sessions.list(userId), clock.now(), await conversations.listSendingNumbers()),
    }),
  );
  registry.subcommand(
    'note',
    noteSubcommand({
      contactsOf: (e164) => conversationsOfNumber(conversations, e164),
      saveNote,
      sendingNumbers: async () => (await conversations.listSendingNumbers()).map((n) => n.phone_number),
    }),
  );
  registry.subcommand(
    'history',
    historySubcommand({
      open: async (triggerId, userId, number) => {
        await historyModal.open(triggerId, userId, { phoneNumber: number });
        return undefined;
      },
    }),
  );
  registry.slackListeners((app) =>
    registerAppHomeEvents(app, {
      publishHome: (userId) => {
        refresher.opened(userId);
        return publishHome(userId);
      },
    }),
  );
  registry.slackListeners((app) => registerQueueActions(app));
  registry.slackListeners((app) =>
    registerSessionActions(app, {
      publishHome,
      removeSession: async (userId, contactId) => {
        await sessions.remove(userId, contactId);
      },
      startChat: async (userId, contactId) => {
        const contact = await conversations.getContact(contactId);
        if (!contact) return { ok: false, error: 'That conversation no longer exists.' };
        const thread = await threads.ensureThreadWaiting(contact);
        const session = await addSession(userId, contactId);
        const permalink = await ctx.slack.conversations.permalink(thread.slack_channel_id, thread.thread_ts);
        return { ok: true, channelId: thread.slack_channel_id, permalink, session };
      },
      openNoteModal: async (triggerId, contactId, origin) => {
        const contact = await conversations.getContact(contactId);
        if (contact)
          await ctx.slack.client.views.open({
            trigger_id: triggerId,
            view: noteModal(contact, origin, await sendingNumberToName(conversations, contact)),
          });
      },
      openHistoryFor: (triggerId, userId, contactId) => historyModal.open(triggerId, userId, { contactId }),
    }),
  );
  registry.slackListeners((app) =>
    registerNoteSubmission(app, {
      saveNote: (_userId, contactId, text) => saveNote(contactId, text),
      publishHome: (userId) => publishHome(userId),
    }),
  );
  registry.slackListeners((app) =>
    registerHistoryShortcuts(app, {
      openHistory: (triggerId, userId, query) => historyModal.open(triggerId, userId, query),
      contactOfThread: async (channelId, threadTs) =>
        (await conversations.threadByTs(channelId, threadTs))?.contact_id ?? null,
      tellUser: async (channelId, userId, text) => {
        await ctx.slack.gateway
          .direct((client) => client.chat.postEphemeral({ channel: channelId, user: userId, text }))
          .catch(() => {});
      },
    }),
  );
  registry.slackListeners((app) =>
    registerHistoryModal(app, { render: historyModal.render, exportCsv: historyModal.exportCsv }),
  );

  return {
    addSession,
    removeSession: (userId: string, contactId: string) => sessions.remove(userId, contactId),
  };
}
