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
export type MessageStatus = 'received' | 'queued' | 'sending' | 'sent' | 'delivered' | 'read' | 'failed';
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
