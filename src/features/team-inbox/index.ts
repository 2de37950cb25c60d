import { JobKind } from '../../bridge/job-kinds.js';
import { ThreadGoneError } from '../../bridge/ports.js';
import { postInThreadOnce } from '../../bridge/post-once.js';
import { createTeamInbox, type InboxUpdatePayload } from '../../bridge/team-inbox.js';
import { MAX_SESSIONS_PER_AGENT } from '../../db/stores/agent-session-store.js';
import { createConversationInboxStore } from '../../db/stores/conversation-inbox-store.js';
import { escapeSlackText } from '../../shared/slack-text.js';
import { registerTeamInboxActions } from '../../slack/listeners/actions/team-inbox-actions.js';
import { registerResolveShortcut } from '../../slack/listeners/shortcuts/resolve-shortcut.js';
import { registerAssignSubmission } from '../../slack/listeners/views/assign-submission.js';
import { createSlackDirectory } from '../../slack/slack-directory.js';
import { assignModal } from '../../slack/views/assign-view.js';
import type { AppContext } from '../context.js';
import type { FeatureRegistry } from '../registry.js';

type SessionAdd = 'added' | 'already' | 'limit_reached';

/** How long users.info answers count when checking who may own a conversation. */
const ACCOUNT_CACHE_MS = 60_000;

/**
 * The team inbox: owners and statuses of conversations (the thread header's Assign to me,
 * Assign…, Unassign, Resolve/Reopen and the Resolve message shortcut), auto-assign on a first
 * reply, and the inbound side: a quiet or resolved conversation surfaced in the channel once, the
 * owner mentioned on new customer messages. Session chat calls `customerWrote` / `agentAnswered`.
 */
export function installTeamInbox(
  ctx: AppContext,
  registry: FeatureRegistry,
  deps: {
    addSession(userId: string, contactId: string): Promise<SessionAdd>;
    removeSession(userId: string, contactId: string): Promise<unknown>;
  },
) {
  const { conversations, clock, logger, threads } = ctx;
  const slack = ctx.slack.conversations;
  const store = createConversationInboxStore(ctx.database.db, ctx.database.dialect);
  const directory = createSlackDirectory({ client: ctx.slack.client, ttlMs: ACCOUNT_CACHE_MS, now: clock.now });
  const inbox = createTeamInbox({
    inbox: store,
    conversations,
    sessions: { add: deps.addSession, remove: deps.removeSession },
    maxSessions: MAX_SESSIONS_PER_AGENT,
    account: (userId) => directory.account(userId),
    isLead: ctx.roles.leads,
    leads: ctx.roles.leads.holders,
    permalink: (channelId, ts) => slack.permalink(channelId, ts),
    jobs: ctx.jobs.queue,
    autoAssignOnReply: ctx.config.inbox.autoAssignOnReply,
    quietAfterMs: ctx.config.inbox.quietAfterMs,
    now: clock.now,
  });

  // The note in the thread (once per change) and the header showing the new owner and status.
  ctx.jobs.handle(JobKind.inboxUpdate, {
    pool: 'slack',
    handler: async (raw) => {
      const payload = raw as InboxUpdatePayload;
      const contact = await conversations.getContact(payload.contactId);
      const thread = contact ? await conversations.activeThread(contact.id) : undefined;
      if (!contact || !thread) return;
      if (payload.note) {
        const key = `wa_inbox_note:${payload.note.key}`;
        try {
          await postInThreadOnce(
            { slack, intents: ctx.postIntents, now: clock.now },
            {
              key,
              thread,
              content: { text: payload.note.text },
              marker: { type: 'wa_inbox_note', key: payload.note.key },
            },
          );
          await ctx.postIntents.clear([key]);
        } catch (error) {
          // The thread's header is gone: the next customer message starts a new thread showing the owner.
          if (!(error instanceof ThreadGoneError)) throw error;
          logger.info({ contactId: contact.id }, 'inbox note not posted: the thread is gone');
          return;
        }
      }
      if (payload.ephemeral)
        await slack
          .postEphemeral(
            thread.slack_channel_id,
            payload.ephemeral.userId,
            { text: payload.ephemeral.text },
            thread.thread_ts,
          )
          .catch((error: unknown) => logger.warn({ err: String(error) }, 'could not tell an agent about auto-assign'));
      await threads.refreshHeader((await conversations.getContact(contact.id)) ?? contact);
    },
  });

  const contactLabel = async (contactId: string) => {
    const contact = await conversations.getContact(contactId);
    if (!contact) return 'this contact';
    return contact.profile_name
      ? `${contact.profile_name} (${contact.phone_number ?? ''})`
      : (contact.phone_number ?? 'this contact');
  };

  registry.slackListeners((app) =>
    registerTeamInboxActions(app, {
      assignToMe: (click) =>
        inbox.assign({
          contactId: click.contactId,
          ownerUserId: click.userId,
          shownOwner: click.shownOwner,
          actorUserId: click.userId,
          clicked: click.clicked,
          workspaceTeamId: click.teamId,
        }),
      openAssign: async (click, triggerId) => {
        if (!(await ctx.roles.leads(click.userId)))
          return {
            ok: false,
            text: `:no_entry: Only ${ctx.roles.leads.holders} can assign conversations to others. *Assign to me* takes it yourself.`,
          };
        if (!click.clicked) return { ok: false, text: 'This button only works on a conversation thread header.' };
        const metadata = { contactId: click.contactId, shownOwner: click.shownOwner, ...click.clicked };
        // Escaped: the customer's profile name is theirs to choose.
        const label = escapeSlackText(await contactLabel(click.contactId));
        await ctx.slack.client.views.open({ trigger_id: triggerId, view: assignModal(metadata, label) });
        return null;
      },
      unassign: (click) =>
        inbox.unassign({
          contactId: click.contactId,
          shownOwner: click.shownOwner,
          actorUserId: click.userId,
          clicked: click.clicked,
        }),
      setStatus: (click, status) =>
        inbox.setStatus({ contactId: click.contactId, status, actorUserId: click.userId, clicked: click.clicked }),
    }),
  );
  registry.slackListeners((app) =>
    registerAssignSubmission(app, {
      assign: ({ metadata, ownerUserId, actorUserId, teamId }) =>
        inbox.assign({
          contactId: metadata.contactId,
          ownerUserId,
          shownOwner: metadata.shownOwner,
          actorUserId,
          clicked: { channelId: metadata.channelId, ts: metadata.ts },
          workspaceTeamId: teamId,
        }),
      tell: async (channelId, threadTs, userId, text) => {
        await slack.postEphemeral(channelId, userId, { text }, threadTs).catch(() => {});
      },
    }),
  );
  registry.slackListeners((app) =>
    registerResolveShortcut(app, {
      resolve: async (channelId, threadTs, userId) => {
        const thread = await conversations.threadByTs(channelId, threadTs);
        if (!thread) return null;
        return inbox.setStatus({
          contactId: thread.contact_id,
          status: 'resolved',
          actorUserId: userId,
          clicked: null,
        });
      },
    }),
  );

  return { customerWrote: inbox.customerWrote, agentAnswered: inbox.agentAnswered };
}
export type TeamInboxHooks = ReturnType<typeof installTeamInbox>;
