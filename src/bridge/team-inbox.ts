import { JobKind } from './job-kinds.js';
import type { SlackAccount } from './permissions.js';
import type { ConversationRepository, JobQueue } from './ports.js';
import type { ContactRecord, ConversationStatus } from './records.js';

/** What the team inbox needs from storage (src/db/stores/conversation-inbox-store.ts). */
export interface InboxRepository {
  assign(change: {
    contactId: string;
    ownerUserId: string;
    expectedOwnerUserId: string | null;
    actorUserId: string;
    now: number;
  }): Promise<
    | { outcome: 'assigned'; previousOwnerUserId: string | null; eventId: string }
    | { outcome: 'unchanged' }
    | { outcome: 'conflict'; currentOwnerUserId: string | null }
    | { outcome: 'missing' }
  >;
  unassign(change: {
    contactId: string;
    expectedOwnerUserId: string;
    actorUserId: string;
    now: number;
  }): Promise<
    | { outcome: 'unassigned'; previousOwnerUserId: string; eventId: string }
    | { outcome: 'unchanged' }
    | { outcome: 'conflict'; currentOwnerUserId: string | null }
    | { outcome: 'missing' }
  >;
  resolve(change: { contactId: string; actorUserId: string; now: number }): Promise<StatusChange>;
  reopen(change: { contactId: string; actorUserId: string; now: number }): Promise<StatusChange>;
  recordInbound(message: {
    contactId: string;
    messageId: string;
    at: number;
    quietAfterMs: number;
    now: number;
  }): Promise<{ surface: boolean; ownerUserId: string | null; statusChanged: boolean }>;
  recordAgentAnswer(answer: {
    contactId: string;
    agentUserId: string;
    at: number;
    autoAssign: boolean;
    now: number;
  }): Promise<{
    assigned: boolean;
    assignedEventId: string | null;
    ownerUserId: string | null;
    statusChanged: boolean;
  }>;
}

type StatusChange =
  | { outcome: 'changed'; ownerUserId: string | null; eventId: string }
  | { outcome: 'unchanged' }
  | { outcome: 'missing' };

type SessionAdd = 'added' | 'already' | 'limit_reached';

/** A change to show in Slack: a note in the thread (once, keyed) and the header re-rendered. */
export type InboxUpdatePayload = {
  contactId: string;
  /** Posted in the conversation's active thread once per key. */
  note?: { key: string; text: string };
  /** Told only to this person, in the thread (e.g. why an auto-assign did not happen). */
  ephemeral?: { userId: string; text: string };
};

/** Where a header button was clicked: that header's channel and ts. */
export type ClickedHeader = { channelId: string; ts: string };

export type InboxAnswer = { ok: boolean; text: string };

/**
 * The team inbox: a conversation has at most one owner and a status. Every change goes through
 * the database (compare-and-set on the owner the person saw, so two people acting at once end
 * with one result and both are told), then a durable job notes it in the thread with who did it
 * and re-renders the header, so a crash between the two loses nothing.
 *
 * Longer than 150 lines on purpose: the inbox's actions as short inner functions sharing its
 * dependencies; splitting them into modules would only pass the same dependencies around.
 */
export function createTeamInbox(deps: {
  inbox: InboxRepository;
  conversations: Pick<ConversationRepository, 'getContact' | 'activeThread'>;
  sessions: {
    add(userId: string, contactId: string): Promise<SessionAdd>;
    remove(userId: string, contactId: string): Promise<unknown>;
  };
  maxSessions: number;
  /** users.info, cached: null when Slack knows no such user. */
  account(userId: string): Promise<SlackAccount | null>;
  isLead(userId: string): Promise<boolean>;
  leads: string;
  permalink(channelId: string, ts: string): Promise<string | null>;
  jobs: JobQueue;
  autoAssignOnReply: boolean;
  quietAfterMs: number;
  now: () => number;
}) {
  const { inbox } = deps;

  async function showUpdate(payload: InboxUpdatePayload, key: string | null): Promise<void> {
    await deps.jobs.enqueue({
      kind: JobKind.inboxUpdate,
      payload,
      orderingKey: `inbox:${payload.contactId}`,
      idempotencyKey: key,
      maxAttempts: 20,
    });
  }

  /** A click on a header that is no longer the conversation's thread: point to the current one. */
  async function staleHeader(contact: ContactRecord, clicked: ClickedHeader | null): Promise<InboxAnswer | null> {
    if (!clicked) return null;
    const active = await deps.conversations.activeThread(contact.id);
    if (!active || (active.slack_channel_id === clicked.channelId && active.thread_ts === clicked.ts)) return null;
    const link = await deps.permalink(active.slack_channel_id, active.thread_ts);
    return {
      ok: false,
      text: `:information_source: This conversation moved to a new thread: ${link ? `<${link}|open the current thread>` : `<#${active.slack_channel_id}>`}. Nothing was changed; use the buttons there.`,
    };
  }

  /** Why this account cannot own a conversation, or null when it can. */
  async function cannotOwn(userId: string, workspaceTeamId: string | null): Promise<string | null> {
    const account = await deps.account(userId);
    if (!account) return `<@${userId}> is not a member of this workspace.`;
    if (account.deleted) return `<@${userId}> is deactivated.`;
    if (account.isBot) return `<@${userId}> is a bot, not a person who can answer customers.`;
    if (workspaceTeamId && account.teamId && account.teamId !== workspaceTeamId)
      return `<@${userId}> is outside this workspace (a Slack Connect user).`;
    return null;
  }

  const fullSessions = (userId: string, actorUserId: string) =>
    userId === actorUserId
      ? `Your My Sessions already holds ${deps.maxSessions} conversations, the most it can: remove one first (\`/wa sessions\`).`
      : `<@${userId}>'s My Sessions already holds ${deps.maxSessions} conversations, the most it can: they need to remove one first.`;

  function assignedNote(actor: string, owner: string, previous: string | null): string {
    if (actor === owner)
      return previous
        ? `:bust_in_silhouette: <@${actor}> took this conversation over from <@${previous}>.`
        : `:bust_in_silhouette: <@${actor}> took this conversation.`;
    return previous
      ? `:bust_in_silhouette: <@${actor}> reassigned this conversation from <@${previous}> to <@${owner}>.`
      : `:bust_in_silhouette: <@${actor}> assigned this conversation to <@${owner}>.`;
  }

  return {
    /**
     * Makes `ownerUserId` the owner, if the owner is still the one the person saw. Assigning to
     * someone else takes a lead; the new owner must be an active person of this workspace with room
     * in their My Sessions, where the conversation then is.
     */
    async assign(request: {
      contactId: string;
      ownerUserId: string;
      shownOwner: string | null;
      actorUserId: string;
      clicked: ClickedHeader | null;
      workspaceTeamId: string | null;
    }): Promise<InboxAnswer> {
      const { contactId, ownerUserId, actorUserId } = request;
      const contact = await deps.conversations.getContact(contactId);
      if (!contact) return { ok: false, text: 'This conversation no longer exists.' };
      const stale = await staleHeader(contact, request.clicked);
      if (stale) return stale;
      if (ownerUserId !== actorUserId) {
        if (!(await deps.isLead(actorUserId)))
          return { ok: false, text: `:no_entry: Only ${deps.leads} can assign conversations to others.` };
        const reason = await cannotOwn(ownerUserId, request.workspaceTeamId);
        if (reason) return { ok: false, text: `:no_entry: Not assigned: ${reason}` };
      }
      if (contact.owner_user_id === ownerUserId && request.shownOwner === ownerUserId)
        return {
          ok: true,
          text:
            ownerUserId === actorUserId
              ? 'You already own this conversation.'
              : `<@${ownerUserId}> already owns this conversation.`,
        };
      const session = await deps.sessions.add(ownerUserId, contactId);
      if (session === 'limit_reached')
        return { ok: false, text: `:no_entry: Not assigned: ${fullSessions(ownerUserId, actorUserId)}` };
      const result = await inbox.assign({
        contactId,
        ownerUserId,
        expectedOwnerUserId: request.shownOwner,
        actorUserId,
        now: deps.now(),
      });
      if (result.outcome !== 'assigned' && session === 'added') await deps.sessions.remove(ownerUserId, contactId);
      switch (result.outcome) {
        case 'assigned':
          await showUpdate(
            {
              contactId,
              note: { key: result.eventId, text: assignedNote(actorUserId, ownerUserId, result.previousOwnerUserId) },
            },
            `inbox-update:${result.eventId}`,
          );
          return {
            ok: true,
            text:
              ownerUserId === actorUserId
                ? ':white_check_mark: You own this conversation now; it is in your My Sessions.'
                : `:white_check_mark: <@${ownerUserId}> owns this conversation now; it is in their My Sessions.`,
          };
        case 'unchanged':
          return { ok: true, text: `<@${ownerUserId}> already owns this conversation.` };
        case 'conflict':
          return {
            ok: false,
            text: result.currentOwnerUserId
              ? `:warning: Not assigned: <@${result.currentOwnerUserId}> got this conversation a moment before you. Nothing was changed.`
              : ':warning: Not assigned: someone unassigned this conversation a moment before you. Look at the header again.',
          };
        case 'missing':
          return { ok: false, text: 'This conversation no longer exists.' };
      }
    },

    /** The owner, or a lead, gives the conversation up (it stays in the owner's My Sessions). */
    async unassign(request: {
      contactId: string;
      shownOwner: string | null;
      actorUserId: string;
      clicked: ClickedHeader | null;
    }): Promise<InboxAnswer> {
      const contact = await deps.conversations.getContact(request.contactId);
      if (!contact) return { ok: false, text: 'This conversation no longer exists.' };
      const stale = await staleHeader(contact, request.clicked);
      if (stale) return stale;
      const expected = request.shownOwner ?? contact.owner_user_id;
      if (!expected) return { ok: true, text: 'Nobody owns this conversation.' };
      if (expected !== request.actorUserId && !(await deps.isLead(request.actorUserId)))
        return { ok: false, text: `:no_entry: Only <@${expected}> or ${deps.leads} can unassign this conversation.` };
      const result = await inbox.unassign({
        contactId: request.contactId,
        expectedOwnerUserId: expected,
        actorUserId: request.actorUserId,
        now: deps.now(),
      });
      switch (result.outcome) {
        case 'unassigned': {
          const text =
            result.previousOwnerUserId === request.actorUserId
              ? `:bust_in_silhouette: <@${request.actorUserId}> unassigned themselves from this conversation.`
              : `:bust_in_silhouette: <@${request.actorUserId}> unassigned <@${result.previousOwnerUserId}> from this conversation.`;
          await showUpdate(
            { contactId: request.contactId, note: { key: result.eventId, text } },
            `inbox-update:${result.eventId}`,
          );
          return { ok: true, text: ':white_check_mark: Unassigned: nobody owns this conversation now.' };
        }
        case 'unchanged':
          return { ok: true, text: 'Nobody owns this conversation.' };
        case 'conflict':
          return {
            ok: false,
            text: `:warning: Not unassigned: <@${result.currentOwnerUserId ?? 'nobody'}> owns it now (it changed a moment ago).`,
          };
        case 'missing':
          return { ok: false, text: 'This conversation no longer exists.' };
      }
    },

    /** Resolves (or reopens) the conversation; anyone on the team may. */
    async setStatus(request: {
      contactId: string;
      status: Extract<ConversationStatus, 'resolved' | 'open'>;
      actorUserId: string;
      clicked: ClickedHeader | null;
    }): Promise<InboxAnswer> {
      const contact = await deps.conversations.getContact(request.contactId);
      if (!contact) return { ok: false, text: 'This conversation no longer exists.' };
      const stale = await staleHeader(contact, request.clicked);
      if (stale) return stale;
      const change = { contactId: request.contactId, actorUserId: request.actorUserId, now: deps.now() };
      const result = request.status === 'resolved' ? await inbox.resolve(change) : await inbox.reopen(change);
      if (result.outcome === 'missing') return { ok: false, text: 'This conversation no longer exists.' };
      if (result.outcome === 'unchanged')
        return {
          ok: true,
          text:
            request.status === 'resolved'
              ? 'This conversation is already resolved.'
              : 'This conversation is already open.',
        };
      const text =
        request.status === 'resolved'
          ? `:white_check_mark: <@${request.actorUserId}> resolved this conversation.`
          : `:arrows_counterclockwise: <@${request.actorUserId}> reopened this conversation.`;
      await showUpdate(
        { contactId: request.contactId, note: { key: result.eventId, text } },
        `inbox-update:${result.eventId}`,
      );
      return {
        ok: true,
        text:
          request.status === 'resolved'
            ? ':white_check_mark: Resolved. The next customer message reopens it.'
            : ':white_check_mark: Reopened.',
      };
    },

    /**
     * A customer message is about to be posted (before the contact's activity moves to it):
     * whether to surface it in the channel and whom to mention. Safe to repeat for a message.
     */
    async customerWrote(message: {
      contactId: string;
      messageId: string;
      at: number;
    }): Promise<{ broadcast: boolean; mention: string | null }> {
      const result = await inbox.recordInbound({ ...message, quietAfterMs: deps.quietAfterMs, now: deps.now() });
      if (result.statusChanged) await showUpdate({ contactId: message.contactId }, null);
      return { broadcast: result.surface, mention: result.ownerUserId };
    },

    /**
     * An agent's reply was accepted for sending: the conversation now waits on the customer, and
     * an unowned one becomes the agent's (AUTO_ASSIGN_ON_REPLY) when their My Sessions has room.
     */
    async agentAnswered(answer: { contactId: string; agentUserId: string }): Promise<void> {
      const contact = await deps.conversations.getContact(answer.contactId);
      if (!contact) return;
      let autoAssign = deps.autoAssignOnReply && contact.owner_user_id === null;
      let session: SessionAdd | null = null;
      if (autoAssign) {
        session = await deps.sessions.add(answer.agentUserId, answer.contactId);
        if (session === 'limit_reached') {
          autoAssign = false;
          await showUpdate(
            {
              contactId: answer.contactId,
              ephemeral: {
                userId: answer.agentUserId,
                text: `:information_source: Your reply is on its way, but this conversation was not assigned to you: ${fullSessions(answer.agentUserId, answer.agentUserId)}`,
              },
            },
            null,
          );
        }
      }
      const now = deps.now();
      const result = await inbox.recordAgentAnswer({ ...answer, at: now, autoAssign, now });
      if (!result.assigned && session === 'added') await deps.sessions.remove(answer.agentUserId, answer.contactId);
      if (result.assigned && result.assignedEventId) {
        const text = `:bust_in_silhouette: <@${answer.agentUserId}> took this conversation (first to reply).`;
        await showUpdate(
          { contactId: answer.contactId, note: { key: result.assignedEventId, text } },
          `inbox-update:${result.assignedEventId}`,
        );
      } else if (result.statusChanged) await showUpdate({ contactId: answer.contactId }, null);
    },
  };
}
export type TeamInbox = ReturnType<typeof createTeamInbox>;
