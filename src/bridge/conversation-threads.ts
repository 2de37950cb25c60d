import { randomUUID } from 'node:crypto';
import type { Logger } from '../shared/logger.js';
import { windowState } from './conversation-window.js';
import type {
  ChannelRouting,
  ConversationRepository,
  PostIntentRepository,
  SlackConversationPort,
  ThreadHeaderModel,
} from './ports.js';
import type { ContactRecord, SlackThreadRecord } from './records.js';

export type ConversationThreads = ReturnType<typeof createConversationThreads>;

/** How long a worker may hold the right to start a conversation's thread without renewing it. */
const THREAD_START_LEASE_MS = 60_000;
/** Slack's clock and ours may disagree a little: search a bit before the intent was written. */
const CLOCK_SKEW_MS = 60_000;
/**
 * The header shows until when the 24-hour window is open. Each customer message moves that time;
 * the header is updated when it moved by more than this (or the window opened or closed), so a
 * chatty conversation does not cost a `chat.update` per message.
 */
export const HEADER_WINDOW_TOLERANCE_MS = 15 * 60_000;

/** Another worker is posting this conversation's thread header right now: try again shortly. */
export class ThreadStartBusyError extends Error {
  constructor(readonly contactId: string) {
    super(`the thread of conversation ${contactId} is being started by another worker`);
    this.name = 'ThreadStartBusyError';
  }
}

/**
 * Finds or starts the one Slack thread of a conversation. A thread whose header was deleted, or
 * that lives in a channel the sending number no longer routes to, is replaced by a new thread
 * that links back to the old one — a message is never posted to the channel root by mistake.
 * Starting a thread is exclusive (an intent with a lease), so the inbound queue, `/wa chat` and
 * template sends racing for the same conversation post one header between them.
 *
 * Longer than 150 lines on purpose: the steps of one flow as short inner functions sharing its
 * dependencies; splitting them into modules would only pass the same dependencies around.
 */
export function createConversationThreads(deps: {
  conversations: ConversationRepository;
  intents: PostIntentRepository;
  slack: SlackConversationPort;
  routeChannel: ChannelRouting;
  internalNotePrefix: string;
  /** The conversation's marketing opt-out, shown in the header. */
  optOutOf?: (contact: ContactRecord) => Promise<{ at: number; why: string } | null>;
  now: () => number;
  logger: Logger;
}) {
  const { conversations, intents, slack } = deps;

  async function headerModel(contact: ContactRecord, previous: SlackThreadRecord | null): Promise<ThreadHeaderModel> {
    const sendingNumber = await conversations.sendingNumber(contact.sending_number_id);
    return {
      contactId: contact.id,
      contactName: contact.profile_name,
      contactNumber: contact.phone_number,
      sendingNumber: sendingNumber?.phone_number ?? contact.sending_number_id,
      sendingNumberName: sendingNumber?.display_name ?? null,
      note: contact.note,
      window: windowState(contact.last_inbound_at, deps.now()),
      internalNotePrefix: deps.internalNotePrefix,
      owner: contact.owner_user_id,
      status: contact.status,
      waitingSince: contact.waiting_since,
      optOut: (await deps.optOutOf?.(contact)) ?? null,
      previousThread: previous
        ? {
            channelId: previous.slack_channel_id,
            threadTs: previous.thread_ts,
            link: await slack.permalink(previous.slack_channel_id, previous.thread_ts),
          }
        : null,
    };
  }

  const shownWindowEnd = (header: ThreadHeaderModel) => (header.window.open ? header.window.closesAt : null);

  async function startThread(contact: ContactRecord, previous: SlackThreadRecord | null): Promise<SlackThreadRecord> {
    const sendingNumber = await conversations.sendingNumber(contact.sending_number_id);
    const channelId = deps.routeChannel(sendingNumber, contact.sending_number_id);
    // The marker lets a retry after a crash find the header it already posted.
    const key = `wa_thread:${contact.id}:${previous?.thread_ts ?? 'first'}`;
    const marker = { type: 'wa_thread', key: `${contact.id}:${previous?.thread_ts ?? 'first'}` };
    const owner = randomUUID();
    const claim = await intents.claim({ key, channelId, owner, now: deps.now(), leaseMs: THREAD_START_LEASE_MS });
    if (!claim.acquired) throw new ThreadStartBusyError(contact.id);
    const renew = setInterval(() => {
      intents.renew(key, owner, deps.now() + THREAD_START_LEASE_MS).catch(() => {});
    }, THREAD_START_LEASE_MS / 3);
    renew.unref();
    try {
      // Whoever held the claim before us may have finished the job.
      const current = await conversations.activeThread(contact.id);
      if (current && current.id !== previous?.id && current.slack_channel_id === channelId) {
        await intents.clear([key]);
        return current;
      }
      const header = await headerModel(contact, previous);
      let postedIn = channelId;
      let ts: string | null = null;
      if (claim.earlier) {
        // An earlier attempt stopped half-way (crash, timeout): it may have posted the header.
        ts = await slack.findMarkedPost(claim.earlier.channelId, null, marker, claim.earlier.startedAt - CLOCK_SKEW_MS);
        if (ts) postedIn = claim.earlier.channelId;
        deps.logger.info({ contactId: contact.id, found: ts }, 'looked for a header an interrupted attempt posted');
      }
      if (!ts) {
        try {
          ts = await slack.postThreadHeader(channelId, header, marker);
        } catch (error) {
          if (slack.definitelyNotPosted(error)) await intents.clear([key]);
          else await intents.release(key, owner);
          throw error;
        }
      }
      const thread = await conversations.startThread(
        {
          contactId: contact.id,
          channelId: postedIn,
          threadTs: ts,
          replacesThreadId: previous?.id ?? null,
          headerWindowUntil: shownWindowEnd(header),
        },
        deps.now(),
      );
      await intents.clear([key]);
      if (previous) {
        // Leave a pointer in the old thread so people reading it find the conversation.
        await slack
          .postInThread(
            previous.slack_channel_id,
            previous.thread_ts,
            {
              text: `This conversation continues in a new thread: ${(await slack.permalink(postedIn, ts)) ?? `<#${postedIn}>`}`,
            },
            null,
          )
          .catch(() => {});
      }
      deps.logger.info(
        { contactId: contact.id, channelId: postedIn, ts, replaced: previous !== null },
        'conversation thread started',
      );
      return thread;
    } finally {
      clearInterval(renew);
    }
  }

  /** The active thread, started if missing or misrouted. */
  async function ensureThread(contact: ContactRecord): Promise<SlackThreadRecord> {
    const active = await conversations.activeThread(contact.id);
    if (!active) return startThread(contact, (await conversations.latestThread(contact.id)) ?? null);
    const sendingNumber = await conversations.sendingNumber(contact.sending_number_id);
    const wanted = deps.routeChannel(sendingNumber, contact.sending_number_id);
    if (wanted !== active.slack_channel_id) return startThread(contact, active);
    return active;
  }

  async function previousOf(thread: SlackThreadRecord): Promise<SlackThreadRecord | null> {
    return thread.replaces_thread_id ? ((await conversations.threadById(thread.replaces_thread_id)) ?? null) : null;
  }

  return {
    headerModel,

    ensureThread,

    /**
     * For people waiting on a Slack surface (`/wa chat`, Start chat): when the thread is being
     * started by someone else right now, wait for that one instead of failing.
     */
    async ensureThreadWaiting(contact: ContactRecord, maxWaitMs = 10_000): Promise<SlackThreadRecord> {
      const deadline = Date.now() + maxWaitMs;
      for (;;) {
        try {
          return await ensureThread(contact);
        } catch (error) {
          if (!(error instanceof ThreadStartBusyError) || Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    },

    /** Called when a post found the thread's parent gone: start over, linked to the old thread. */
    async replaceThread(contact: ContactRecord, gone: SlackThreadRecord): Promise<SlackThreadRecord> {
      await conversations.deactivateThread(gone.id);
      return startThread(contact, gone);
    },

    /** Re-renders the header (note, window, names); keeps its link to an earlier thread. */
    async refreshHeader(contact: ContactRecord): Promise<void> {
      const active = await conversations.activeThread(contact.id);
      if (!active) return;
      const header = await headerModel(contact, await previousOf(active));
      await slack.updateThreadHeader(active.slack_channel_id, active.thread_ts, header);
      await conversations.setHeaderWindow(active.id, shownWindowEnd(header));
    },

    /** Refreshes the header only when the window it shows is no longer right (opened, closed, moved). */
    async refreshHeaderIfStale(contact: ContactRecord): Promise<boolean> {
      const active = await conversations.activeThread(contact.id);
      if (!active) return false;
      const window = windowState(contact.last_inbound_at, deps.now());
      const wanted = window.open ? window.closesAt : null;
      const shown = active.header_window_until;
      const stale =
        (wanted === null) !== (shown === null) ||
        (wanted !== null && shown !== null && Math.abs(wanted - shown) > HEADER_WINDOW_TOLERANCE_MS);
      if (!stale) return false;
      const header = await headerModel(contact, await previousOf(active));
      await slack.updateThreadHeader(active.slack_channel_id, active.thread_ts, header);
      await conversations.setHeaderWindow(active.id, shownWindowEnd(header));
      return true;
    },
  };
}
