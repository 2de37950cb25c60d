/**
 * The shapes of stored conversation data, as the core sees them. The storage layer uses these as
 * its table types, so the core never needs to know about SQL or kysely.
 */

export type SendingNumberRecord = {
  id: string;
  provider: string;
  phone_number: string;
  display_name: string | null;
  health: string;
  health_reason: string | null;
  quality_rating: string | null;
  /** As the provider last reported it (see SendingNumber.messagingLimitTier); null or absent: unknown. */
  messaging_limit_tier?: string | null;
  updated_at: number;
};

export type ContactRecord = {
  id: string;
  sending_number_id: string;
  phone_number: string | null;
  user_id: string | null;
  profile_name: string | null;
  note: string | null;
  last_inbound_at: number | null;
  last_message_at: number | null;
  last_direction: 'inbound' | 'outbound' | null;
  created_at: number;
  updated_at: number;
  /** The Slack user who owns the conversation (null: unassigned). */
  owner_user_id: string | null;
  status: ConversationStatus;
  status_changed_at: number | null;
  /** When the customer's oldest message not yet answered by an agent arrived (null: none waits). */
  waiting_since: number | null;
  /** When the current conversation opened (its first customer message, or the one that reopened it). */
  opened_at: number | null;
  /** The first agent answer after `opened_at` (null: not answered yet). */
  first_response_at: number | null;
  /** The customer message that surfaced the conversation in the channel after a quiet spell or a resolve. */
  surface_message_id: string | null;
};

/** The inbox fields of a contact nobody has written to or assigned yet. */
export const NEW_CONVERSATION_INBOX = {
  owner_user_id: null,
  status: 'open',
  status_changed_at: null,
  waiting_since: null,
  opened_at: null,
  first_response_at: null,
  surface_message_id: null,
} as const satisfies Partial<ContactRecord>;

/** 'waiting': waiting on the customer (an agent answered last). */
export type ConversationStatus = 'open' | 'waiting' | 'resolved';

export type ConversationEventKind = 'opened' | 'assigned' | 'unassigned' | 'resolved' | 'reopened' | 'first_response';

/** One change in a conversation's history (see migrations/2026_12_04_1500_team_inbox.ts). */
export type ConversationEventRecord = {
  id: string;
  contact_id: string;
  kind: ConversationEventKind;
  /** Who did it (null: the bridge itself, e.g. a customer message reopening the conversation). */
  actor_user_id: string | null;
  /** The owner after the change ('unassigned': the owner before it). */
  owner_user_id: string | null;
  at: number;
  /** Only on 'first_response': answer time − opened time. */
  response_ms: number | null;
};

export type SlackThreadRecord = {
  id: string;
  contact_id: string;
  slack_channel_id: string;
  thread_ts: string;
  active: number;
  created_at: number;
  /** The thread this one continues (its header links back to it). */
  replaces_thread_id: string | null;
  /** The window end the header currently shows (null: it shows the window closed). */
  header_window_until: number | null;
};

export type MessageDirection = 'inbound' | 'outbound';
/** `refused`: the bridge would not send it (the 24-hour window was closed, a file WhatsApp refuses). */
export type MessageStatus = 'received' | 'queued' | 'sending' | 'sent' | 'delivered' | 'read' | 'failed' | 'refused';
export type MessageSource = 'contact' | 'agent' | 'campaign' | 'api';

export type MessageRecord = {
  id: string;
  contact_id: string;
  direction: MessageDirection;
  kind: string;
  body: string | null;
  media_json: string | null;
  provider_message_id: string | null;
  alternate_message_id: string | null;
  slack_channel_id: string | null;
  slack_ts: string | null;
  status: MessageStatus;
  error_code: string | null;
  error_detail: string | null;
  provider_timestamp: number | null;
  source: MessageSource;
  author_slack_user_id: string | null;
  campaign_id: string | null;
  created_at: number;
  updated_at: number;
};
