import type { ContactRecord, MessageRecord, MessageStatus, SendingNumberRecord, SlackThreadRecord } from './records.js';

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
  startThread(contactId: string, channelId: string, threadTs: string, now: number): Promise<SlackThreadRecord>;
  deactivateThread(threadId: string): Promise<void>;
  sendingNumber(id: string): Promise<SendingNumberRecord | undefined>;
}

export type NewMessageRecord = Omit<MessageRecord, never>;

export interface MessageRepository {
  insertOnce(message: NewMessageRecord): Promise<{ row: MessageRecord; created: boolean }>;
  get(id: string): Promise<MessageRecord | undefined>;
  byProviderId(providerMessageId: string): Promise<MessageRecord | undefined>;
  bySlackTs(channelId: string, ts: string): Promise<MessageRecord | undefined>;
  linkSlack(id: string, channelId: string, ts: string, now: number): Promise<void>;
  markSending(id: string, now: number): Promise<void>;
  /** Back to queued after an attempt the provider certainly did not accept. */
  markQueued(id: string, now: number): Promise<void>;
  recordSent(id: string, providerMessageId: string, now: number): Promise<void>;
  recordFailure(id: string, code: string, detail: string, now: number): Promise<void>;
  advanceStatus(
    id: string,
    status: MessageStatus,
    error: { code: string; detail: string } | null,
    now: number,
  ): Promise<MessageRecord | undefined>;
  setAlternateId(id: string, alternateId: string): Promise<void>;
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
  author?: { name: string };
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
  previousThread: { channelId: string; threadTs: string } | null;
};

/** Things only the agent who wrote the message needs to see (ephemeral in the thread). */
export type AgentNotice =
  | { kind: 'window_closed'; contactId: string; lastInboundAt: number | null }
  | { kind: 'not_sent'; reason: string }
  | { kind: 'uncertain' };

export interface SlackConversationPort {
  notifyAgent(channelId: string, threadTs: string, userId: string, notice: AgentNotice): Promise<void>;
  postThreadHeader(channelId: string, header: ThreadHeaderModel, marker: PostMarker): Promise<string>;
  updateThreadHeader(channelId: string, ts: string, header: ThreadHeaderModel): Promise<void>;
  /** Returns the ts, or throws ThreadGoneError when the thread's parent no longer exists. */
  postInThread(channelId: string, threadTs: string, content: SlackContent, marker: PostMarker | null): Promise<string>;
  uploadToThread(
    channelId: string,
    threadTs: string,
    file: { bytes: Buffer; filename: string; title: string | null },
    comment: string,
  ): Promise<void>;
  /** ts of an earlier post carrying this marker, in the thread (or channel root when threadTs is null). */
  findMarkedPost(channelId: string, threadTs: string | null, marker: PostMarker): Promise<string | null>;
  setStatusReaction(
    channelId: string,
    ts: string,
    status: MessageStatus,
    previous: MessageStatus | null,
  ): Promise<void>;
  postEphemeral(channelId: string, userId: string, content: SlackContent, threadTs?: string): Promise<void>;
  userName(userId: string): Promise<string>;
  channelName(channelId: string): Promise<string>;
  userGroupName(groupId: string): Promise<string>;
  downloadFile(url: string, maxBytes: number): Promise<Buffer>;
  permalink(channelId: string, ts: string): Promise<string | null>;
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
