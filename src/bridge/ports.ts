import type { BudgetHold } from '../shared/byte-budget.js';
import type {
  ContactRecord,
  ConversationStatus,
  MessageRecord,
  MessageStatus,
  SendingNumberRecord,
  SlackThreadRecord,
} from './records.js';

/**
 * What the core needs from the outside world. Storage and Slack implement these; the core never
 * imports Bolt, express or kysely.
 */

export type ContactIdentity = { sendingNumberId: string; phoneNumber: string | null; userId: string | null };

export interface ConversationRepository {
  findContact(identity: ContactIdentity): Promise<ContactRecord | undefined>;
  getContact(id: string): Promise<ContactRecord | undefined>;
  upsertContact(identity: ContactIdentity & { profileName?: string | null }, now: number): Promise<ContactRecord>;
  recordActivity(
    contactId: string,
    activity: { direction: 'inbound' | 'outbound'; at: number },
    now: number,
  ): Promise<void>;
  activeThread(contactId: string): Promise<SlackThreadRecord | undefined>;
  latestThread(contactId: string): Promise<SlackThreadRecord | undefined>;
  threadByTs(channelId: string, threadTs: string): Promise<SlackThreadRecord | undefined>;
  threadById(id: string): Promise<SlackThreadRecord | undefined>;
  startThread(
    thread: {
      contactId: string;
      channelId: string;
      threadTs: string;
      replacesThreadId: string | null;
      headerWindowUntil: number | null;
    },
    now: number,
  ): Promise<SlackThreadRecord>;
  deactivateThread(threadId: string): Promise<void>;
  setHeaderWindow(threadId: string, until: number | null): Promise<void>;
  sendingNumber(id: string): Promise<SendingNumberRecord | undefined>;
  /** Remembers a sending number seen in a webhook before the provider's number list did. */
  rememberSendingNumber(number: { id: string; provider: string; phoneNumber: string }, now: number): Promise<void>;
}

export type NewMessageRecord = Omit<MessageRecord, never>;

export interface MessageRepository {
  insertOnce(message: NewMessageRecord): Promise<{ row: MessageRecord; created: boolean }>;
  get(id: string): Promise<MessageRecord | undefined>;
  byProviderId(providerMessageId: string): Promise<MessageRecord | undefined>;
  bySlackTs(channelId: string, ts: string): Promise<MessageRecord | undefined>;
  /** The contact's most recent message (reactions aside): the one a read receipt is for. */
  latestInbound(contactId: string): Promise<MessageRecord | undefined>;
  linkSlack(id: string, channelId: string, ts: string, now: number): Promise<void>;
  markSending(id: string, now: number): Promise<void>;
  /** Back to queued after an attempt the provider certainly did not accept. */
  markQueued(id: string, now: number): Promise<void>;
  recordSent(id: string, providerMessageId: string, now: number): Promise<void>;
  recordFailure(id: string, code: string, detail: string, now: number): Promise<void>;
  /** Not sent because the bridge refused it (window closed, a file WhatsApp refuses); the text is kept. */
  recordRefusal(id: string, code: string, detail: string, now: number): Promise<void>;
  /** A refused reply sent again: back to queued. False when it was not refused (any more). */
  requeueRefused(id: string, now: number): Promise<boolean>;
  advanceStatus(
    id: string,
    status: MessageStatus,
    error: { code: string; detail: string } | null,
    now: number,
  ): Promise<MessageRecord | undefined>;
  setAlternateId(id: string, alternateId: string): Promise<void>;
}

/** Deliveries already handled (Slack retries the same event when an answer is slow). */
export interface DeliveryLog {
  has(key: string): Promise<boolean>;
  markFirstSeen(key: string, now: number): Promise<boolean>;
}

export type JobRequest = {
  kind: string;
  payload: unknown;
  orderingKey?: string | null;
  idempotencyKey?: string | null;
  runAt?: number;
  maxAttempts?: number;
};

export interface JobQueue {
  /** Returns false when the idempotency key was already used (nothing new enqueued). */
  enqueue(job: JobRequest): Promise<boolean>;
}

/** Slack-side Block Kit content, built by src/slack/blocks; opaque to the core. */
export type SlackContent = {
  text: string;
  blocks?: unknown[];
  /** Show the post as written by this person (the WhatsApp contact), not as "the app". */
  author?: { name: string /** An emoji shortcode (default :speech_balloon:, a customer). */; icon?: string };
  /** A thread reply also shown in the channel (`reply_broadcast`), once, to surface a conversation. */
  broadcast?: boolean;
  /** Let Slack unfurl links and media in the text (off unless asked: see UNFURL_CUSTOMER_LINKS). */
  unfurlLinks?: boolean;
};

/** Marks a Slack post with what it is, so a retry after a crash can find it instead of posting twice. */
export type PostMarker = { type: string; key: string };

export type ThreadHeaderModel = {
  contactId: string;
  contactName: string | null;
  contactNumber: string | null;
  sendingNumber: string;
  sendingNumberName: string | null;
  note: string | null;
  window: { open: true; closesAt: number } | { open: false; lastInboundAt: number | null };
  /** Messages starting with it stay in Slack (INTERNAL_NOTE_PREFIX); the header says so. */
  internalNotePrefix: string;
  previousThread: { channelId: string; threadTs: string; link: string | null } | null;
  /** The team inbox: who owns the conversation (null: nobody) and where it stands. */
  owner: string | null;
  status: ConversationStatus;
  /** Since when the customer's oldest unanswered message waits (null: nobody waits). */
  waitingSince: number | null;
  /** The customer opted out of marketing messages (when, and why in plain words). */
  optOut?: { at: number; why: string } | null;
};

/** Things only the agent who wrote the message needs to see (ephemeral in the thread). */
export type AgentNotice =
  | {
      kind: 'window_closed';
      contactId: string;
      lastInboundAt: number | null;
      refused?: RefusedReply;
      /** When WhatsApp refused it (131047): the id of the log line with its answer. */
      errorId?: string;
    }
  | { kind: 'not_sent'; reason: string; refused?: RefusedReply }
  /** Maybe sent: the bridge restarted mid-send, or (with the id of its log line) hit an unexpected error. */
  | { kind: 'uncertain'; errorId?: string };

/** A reply the bridge refused and kept: the notice offers to send it again or as a template. */
export type RefusedReply = { messageId: string; canSendAgain: boolean; canSendAsTemplate: boolean };

/** A Slack post announced before it is made (see the storage layer's slack_post_intent). */
export type PostIntent = {
  key: string;
  channelId: string;
  threadTs: string | null;
  startedAt: number;
  slackFileId: string | null;
};

export type IntentClaim = { acquired: true; earlier: PostIntent | null } | { acquired: false };

export interface PostIntentRepository {
  get(key: string): Promise<PostIntent | undefined>;
  begin(intent: { key: string; channelId: string; threadTs: string | null; now: number }): Promise<void>;
  claim(intent: { key: string; channelId: string; owner: string; now: number; leaseMs: number }): Promise<IntentClaim>;
  renew(key: string, owner: string, until: number): Promise<void>;
  release(key: string, owner: string): Promise<void>;
  setFileId(key: string, slackFileId: string | null): Promise<void>;
  clear(keys: readonly string[]): Promise<void>;
}

export type SlackFileShareState = 'shared' | 'not_shared' | 'missing';

export interface SlackConversationPort {
  notifyAgent(channelId: string, threadTs: string, userId: string, notice: AgentNotice): Promise<void>;
  postThreadHeader(channelId: string, header: ThreadHeaderModel, marker: PostMarker): Promise<string>;
  updateThreadHeader(channelId: string, ts: string, header: ThreadHeaderModel): Promise<void>;
  /** Returns the ts, or throws ThreadGoneError when the thread's parent no longer exists. */
  postInThread(channelId: string, threadTs: string, content: SlackContent, marker: PostMarker | null): Promise<string>;
  /**
   * Uploads a file into the thread (files.getUploadURLExternal → upload → completeUploadExternal).
   * `fileIdAssigned` runs before the file is shared, so a retry can find out whether it was.
   */
  uploadToThread(
    channelId: string,
    threadTs: string,
    file: { bytes: Buffer; filename: string; title: string | null },
    fileIdAssigned: (fileId: string) => Promise<void>,
  ): Promise<void>;
  /** Shares an already uploaded file into the thread (the last step of uploadToThread). */
  shareUploadedFile(channelId: string, threadTs: string, fileId: string, title: string | null): Promise<void>;
  fileShareState(fileId: string, channelId: string): Promise<SlackFileShareState>;
  /** ts of an earlier post carrying this marker, in the thread (or channel root when threadTs is null), posted after `sinceMs`. */
  findMarkedPost(
    channelId: string,
    threadTs: string | null,
    marker: PostMarker,
    sinceMs: number | null,
  ): Promise<string | null>;
  /** True when Slack certainly did not post (rate limited, refused): a retry need not search for it. */
  definitelyNotPosted(error: unknown): boolean;
  /** Completes a partial file object from a message event (`file_access: check_file_info`). */
  fileInfo(fileId: string): Promise<{ name: string; mimeType: string; size: number; urlPrivate: string }>;
  setStatusReaction(
    channelId: string,
    ts: string,
    status: MessageStatus,
    previous: MessageStatus | null,
  ): Promise<void>;
  /**
   * The bot's own reaction on a message (how a customer's WhatsApp reaction shows). Already there
   * counts as added; `refused` when Slack has no emoji by that name or the message takes no more.
   */
  addReaction(channelId: string, ts: string, name: string): Promise<'added' | 'refused' | 'message_gone'>;
  /** Shows (or takes away) the mark of a reply waiting for a slot to be sent (a rate limit, an outage). */
  setPendingMark(channelId: string, ts: string, pending: boolean): Promise<void>;
  /** Takes the bot's reaction away (already gone counts as done), unless it is the one showing `status`. */
  removeReaction(channelId: string, ts: string, name: string, status: MessageStatus): Promise<void>;
  postEphemeral(channelId: string, userId: string, content: SlackContent, threadTs?: string): Promise<void>;
  userName(userId: string): Promise<string>;
  channelName(channelId: string): Promise<string>;
  userGroupName(groupId: string): Promise<string>;
  /** `memory`, when given, is made to cover the file's declared length before its bytes are read. */
  downloadFile(url: string, maxBytes: number, memory?: BudgetHold): Promise<Buffer>;
  permalink(channelId: string, ts: string): Promise<string | null>;
}

export type ReactionSide = 'contact' | 'business';

/**
 * The reaction one side shows on a message: WhatsApp keeps one per person, a new one replaces it,
 * and an empty emoji means none. `slackName` is the Slack reaction it is shown as (contact side;
 * null when Slack had no name for it) or came from (business side).
 */
export type MessageReaction = {
  messageId: string;
  side: ReactionSide;
  emoji: string;
  slackName: string | null;
  reactedAt: number;
};

export interface ReactionRepository {
  get(messageId: string, side: ReactionSide): Promise<MessageReaction | undefined>;
  set(reaction: MessageReaction, now: number): Promise<void>;
}

/** A Slack file that can never be fetched as asked (too large, gone, no access): retrying won't help. */
export class SlackFileUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SlackFileUnavailableError';
  }
}

export class ThreadGoneError extends Error {
  constructor(
    readonly channelId: string,
    readonly threadTs: string,
  ) {
    super(`Slack thread ${channelId}/${threadTs} no longer exists`);
    this.name = 'ThreadGoneError';
  }
}

/** Where a sending number's conversations go (SLACK_CHANNEL_ID, or the per-number mapping). */
export type ChannelRouting = (sendingNumber: SendingNumberRecord | undefined, sendingNumberId: string) => string;
