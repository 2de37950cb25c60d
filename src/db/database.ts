import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { CampaignStatus, RecipientStatus } from '../bridge/campaigns/campaign-ports.js';
import type {
  ContactRecord,
  ConversationEventRecord,
  ConversationStatus,
  MessageRecord,
  SendingNumberRecord,
  SlackThreadRecord,
} from '../bridge/records.js';

/**
 * The typed schema the storage layer queries. Mirrors migrations/; timestamps are epoch
 * milliseconds, flags are 0/1 integers, JSON is stored as text (portable across SQLite and
 * PostgreSQL).
 */

export type SendingNumberTable = SendingNumberRecord;
/** `status` has a default ('open'), so inserts may leave it out. */
export type ContactTable = Omit<ContactRecord, 'status'> & {
  status: ColumnType<ConversationStatus, ConversationStatus | undefined, ConversationStatus>;
};
export type SlackThreadTable = SlackThreadRecord;
export type MessageTable = MessageRecord;
export type { MessageDirection, MessageSource, MessageStatus } from '../bridge/records.js';

export type JobStatus = 'pending' | 'running' | 'done' | 'failed';

export type JobTable = {
  id: Generated<number>;
  kind: string;
  ordering_key: string | null;
  idempotency_key: string | null;
  payload: string;
  status: JobStatus;
  attempts: Generated<number>;
  max_attempts: number;
  run_at: number;
  locked_by: string | null;
  locked_until: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
};

/** `paused`: stopped by account health or a spam-rate error until a marketer resumes it. */
export type { CampaignStatus, RecipientStatus };

export type CampaignTable = {
  id: string;
  created_by: string;
  slack_channel_id: string;
  slack_message_ts: string | null;
  sending_number_id: string;
  template_name: string;
  template_language: string;
  template_category: string | null;
  parameters_json: string;
  status: CampaignStatus;
  scheduled_at: number | null;
  total: Generated<number>;
  sent: Generated<number>;
  delivered: Generated<number>;
  read: Generated<number>;
  failed: Generated<number>;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
  invalid_count: Generated<number>;
  /** The launching `/wa send`'s response_url (valid 30 minutes), for notices Slack won't take elsewhere. */
  slack_response_url: string | null;
};

/** The next free send slot of a sending number's schedule (epoch microseconds), shared by replicas. */
export type SendScheduleTable = {
  sending_number_id: string;
  next_slot_us: number;
  /** First slot of the last grant (read back by the taker that made it). */
  granted_from_us: number;
};

export type CampaignRecipientTable = {
  id: Generated<number>;
  campaign_id: string;
  phone_number: string;
  parameters_json: string | null;
  status: RecipientStatus;
  provider_message_id: string | null;
  error_code: string | null;
  error_detail: string | null;
  attempts: Generated<number>;
  claimed_by: string | null;
  claimed_until: number | null;
  /** A queued recipient waits until then after a retryable failure (null: as soon as possible). */
  retry_at: number | null;
  updated_at: number;
};

export type AgentSessionTable = {
  slack_user_id: string;
  contact_id: string;
  created_at: number;
};

export type SlackPostIntentTable = {
  key: string;
  channel_id: string;
  thread_ts: string | null;
  started_at: number;
  owner: string | null;
  lease_until: number | null;
  slack_file_id: string | null;
};

export type ProcessedEventTable = {
  key: string;
  created_at: number;
};

export type ApiKeyTable = {
  id: string;
  name: string;
  key_hash: string;
  created_by: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
  /** Null only for a key written by a replica older than the expiry migration: created_at + API_KEY_TTL_DAYS. */
  expires_at: number | null;
  revoked_by: string | null;
};

export type ApiRequestTable = {
  api_key_id: string;
  idempotency_key: string;
  message_id: string;
  created_at: number;
};

export type MediaBlobTable = {
  id: string;
  mime_type: string;
  filename: string;
  size: number;
  bytes: Buffer;
  created_at: number;
  /** When the blob's link dies and the blob may go (null: kept for the retention period). */
  expires_at: number | null;
};

/** A saved reply the team sends from conversation threads (`title_key`: the title folded, unique). */
export type QuickReplyTable = {
  id: string;
  title: string;
  title_key: string;
  body: string;
  created_by: string;
  updated_by: string;
  created_at: number;
  updated_at: number;
};

/** The reaction a side shows on a message (see migrations/2026_12_04_1400_message_reactions.ts). */
export type MessageReactionTable = {
  message_id: string;
  side: 'contact' | 'business';
  emoji: string;
  slack_name: string | null;
  reacted_at: number;
  updated_at: number;
};

/** A conversation's history: ownership and status changes, openings, first responses. */
export type ConversationEventTable = ConversationEventRecord;
/** A campaign's pause and messaging limit (see migrations/2026_12_04_1700_campaign_limits.ts). */
export type CampaignControlTable = {
  campaign_id: string;
  paused_reason: string | null;
  paused_at: number | null;
  /** The Slack user who paused it, or `system` (a spam-rate error, the template paused by Meta). */
  paused_by: string | null;
  account_key: string | null;
  limit_tier: string | null;
  daily_limit: number | null;
  waiting_until: number | null;
  updated_at: number;
};

/** A customer an account reached with a business-initiated message, last counted then. */
export type MessagingAllowanceUseTable = {
  account_key: string;
  phone_number: string;
  counted_at: number;
};

/** One row per account: locked while its messaging allowance is handed out. */
export type MessagingAllowanceTable = {
  account_key: string;
  updated_at: number;
};

/** A number's marketing opt-out state in a WhatsApp account (see migrations/2026_12_04_1600_opt_outs.ts). */
export type OptOutTable = {
  account_id: string;
  phone_number: string;
  opted_out: number;
  reason: string;
  detail: string | null;
  changed_by: string | null;
  changed_at: number;
  updated_at: number;
};

/** A customer who wrote back within 72 hours of a campaign's message. */
export type CampaignReplyTable = {
  campaign_id: string;
  contact_id: string;
  replied_at: number;
  context_posted: Generated<number>;
};

/** The number a marketer last sent a campaign test to (see migrations/2026_12_04_1800_campaign_test_sends.ts). */
export type CampaignTestRecipientTable = {
  slack_user_id: string;
  phone_number: string;
  updated_at: number;
};

export type Database = {
  sending_number: SendingNumberTable;
  contact: ContactTable;
  slack_thread: SlackThreadTable;
  message: MessageTable;
  job: JobTable;
  campaign: CampaignTable;
  campaign_recipient: CampaignRecipientTable;
  agent_session: AgentSessionTable;
  processed_event: ProcessedEventTable;
  api_key: ApiKeyTable;
  api_request: ApiRequestTable;
  media_blob: MediaBlobTable;
  send_schedule: SendScheduleTable;
  slack_post_intent: SlackPostIntentTable;
  quick_reply: QuickReplyTable;
  message_reaction: MessageReactionTable;
  conversation_event: ConversationEventTable;
  campaign_control: CampaignControlTable;
  messaging_allowance_use: MessagingAllowanceUseTable;
  messaging_allowance: MessagingAllowanceTable;
  opt_out: OptOutTable;
  campaign_reply: CampaignReplyTable;
  campaign_test_recipient: CampaignTestRecipientTable;
};

export type ContactRow = Selectable<ContactTable>;
export type MessageRow = Selectable<MessageTable>;
export type NewMessage = Insertable<MessageTable>;
export type MessageUpdate = Updateable<MessageTable>;
export type JobRow = Selectable<JobTable>;
export type SlackThreadRow = Selectable<SlackThreadTable>;
export type SendingNumberRow = Selectable<SendingNumberTable>;
export type SlackPostIntentRow = Selectable<SlackPostIntentTable>;
export type CampaignRow = Selectable<CampaignTable>;
export type CampaignRecipientRow = Selectable<CampaignRecipientTable>;
