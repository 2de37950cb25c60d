/** What campaign sending needs from storage (implemented by src/db/stores/campaign-store.ts). */

/**
 * `cancelled`: never sent because its campaign was cancelled first (not a failure). `opted_out`: a
 * MARKETING template not sent because the number is on the suppression list (or Meta refused it
 * with 131050, the customer stopped marketing messages).
 */
export type RecipientStatus =
  | 'queued'
  | 'sending'
  | 'sent'
  | 'delivered'
  | 'read'
  | 'failed'
  | 'cancelled'
  | 'opted_out';
export type CampaignStatus = 'draft' | 'scheduled' | 'sending' | 'paused' | 'completed' | 'cancelled' | 'failed';
export type StatusCounts = Record<RecipientStatus, number>;

export type CampaignRecord = {
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
  total: number;
  invalid_count: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  error: string | null;
  /** The launching `/wa send`'s response_url (Slack keeps it valid for 30 minutes). */
  slack_response_url: string | null;
};

/** Campaigns created by POST /api/v1/messages carry `api:<key id>` as their creator. */
export const API_CREATOR_PREFIX = 'api:';

export const apiCreator = (apiKeyId: string) => `${API_CREATOR_PREFIX}${apiKeyId}`;

/**
 * A template triggered through the HTTP API (one recipient, often a verification code): its status
 * is read with GET /api/v1/messages/:id, so it never gets a progress message in Slack.
 */
export const isApiTriggered = (campaign: Pick<CampaignRecord, 'created_by'>) =>
  campaign.created_by.startsWith(API_CREATOR_PREFIX);

export type CampaignRecipientRecord = {
  id: number;
  campaign_id: string;
  phone_number: string;
  parameters_json: string | null;
  status: RecipientStatus;
  provider_message_id: string | null;
  error_code: string | null;
  error_detail: string | null;
  /** Claims so far, this one included (a reclaim after a crash counts too). */
  attempts: number;
};

export type NewRecipient = { phoneNumber: string; parametersJson: string | null };

/**
 * A campaign's recipients, read a slice at a time: an array, or a view that makes each slice's
 * rows only when they are written (a 10 MB file's 650,000 rows are never all objects at once).
 */
export type NewRecipients = { readonly length: number; slice(start: number, end: number): readonly NewRecipient[] };

export type NewCampaignRecord = {
  id: string;
  createdBy: string;
  slackChannelId: string;
  sendingNumberId: string;
  templateName: string;
  templateLanguage: string;
  templateCategory: string | null;
  parametersJson: string;
  scheduledAt: number | null;
  invalidCount: number;
  recipients: NewRecipients;
  slackResponseUrl?: string | null;
};

export interface CampaignRepository {
  create(campaign: NewCampaignRecord, now: number, options?: { draft?: boolean }): Promise<void>;
  /**
   * A campaign triggered through the API, stored atomically with its idempotency key; when the key
   * was used before, nothing is stored and the id it points at comes back.
   */
  createTriggered(
    campaign: NewCampaignRecord,
    request: { apiKeyId: string; idempotencyKey: string },
    now: number,
  ): Promise<{ created: true } | { created: false; existingId: string }>;
  /** Turns a draft into a real campaign (sending now, or scheduled); false if it was not a draft. */
  confirm(id: string, now: number): Promise<boolean>;
  get(id: string): Promise<CampaignRecord | undefined>;
  setSlackMessage(id: string, channelId: string, ts: string): Promise<void>;
  active(now: number): Promise<CampaignRecord[]>;
  markStarted(id: string, now: number): Promise<void>;
  finish(
    id: string,
    status: 'completed' | 'cancelled' | 'failed',
    now: number,
    error?: string | null,
  ): Promise<boolean>;
  cancel(id: string, now: number): Promise<boolean>;
  /**
   * With `skipOptedOutOf` (an account id), recipients on that account's suppression list are
   * claimed as `opted_out` (not to be sent) in the same statement.
   */
  claimRecipients(
    campaignId: string,
    workerId: string,
    limit: number,
    leaseMs: number,
    now: number,
    skipOptedOutOf?: string | null,
  ): Promise<CampaignRecipientRecord[]>;
  /** Extends this worker's leases on recipients it still holds (a send in flight is never reclaimed). */
  renewLeases(workerId: string, recipientIds: readonly number[], until: number): Promise<void>;
  /** Marks these recipients sent, in one write (group commit of sends that finished together). */
  recordSentMany(sent: readonly { recipientId: number; providerMessageId: string }[], now: number): Promise<void>;
  /**
   * recordSentMany, and the templates recorded in their recipients' conversations (contact created
   * when new, message added, last activity moved forward; no Slack thread is opened), in one
   * transaction.
   */
  recordSentWithConversations(
    sent: readonly { recipientId: number; providerMessageId: string; conversation: CampaignConversationEntry }[],
    now: number,
  ): Promise<void>;
  recordFailed(recipientId: number, code: string, detail: string, now: number): Promise<void>;
  /** Back to queued, not to be claimed before `retryAt`. */
  requeue(recipientId: number, retryAt: number, now: number): Promise<void>;
  /** Back to queued without counting an attempt: it was claimed but never tried. */
  release(recipientId: number, now: number): Promise<void>;
  applyStatus(
    providerMessageId: string,
    status: RecipientStatus,
    error: { code: string; detail: string } | null,
    now: number,
  ): Promise<string | null>;
  counts(campaignId: string): Promise<StatusCounts>;
  failureReasons(campaignId: string, limit?: number): Promise<{ reason: string; count: number }[]>;
  updateTotals(campaignId: string, counts: StatusCounts): Promise<void>;
}

export type CampaignConversationEntry = {
  sendingNumberId: string;
  phoneNumber: string;
  messageId: string;
  providerMessageId: string;
  body: string;
  mediaJson: string;
  source: 'campaign' | 'api';
  authorSlackUserId: string | null;
  campaignId: string;
};

/**
 * Pacing. Every sending number has one schedule of send slots shared by all replicas (in the
 * database): consecutive slots are 1000 / (SEND_PACE × limit) ms apart, whoever holds them. A
 * send starts at its slot or up to SEND_LATENESS_MS after it, never earlier and never later (a
 * missed slot is given up). So the sends starting in any sliding second have their slots within
 * 1000 + SEND_LATENESS_MS ms, which hold at most ⌈1010 × 0.96 × limit / 1000⌉ = ⌈0.9696 × limit⌉
 * slots: never above the limit, across replicas, with about 30 ms to spare (3 slots at a limit of
 * 100/s, 30 at 1,000/s) for the jitter between a send starting here and the provider counting it
 * (10–15 ms at the fake provider on a quiet host; a 20 ms margin was once overrun on a loaded one).
 * The lateness allowed absorbs event-loop and scheduling hiccups on a busy host.
 */
export const SEND_PACE = 0.96;
export const SEND_LATENESS_MS = 10;
/** By default slots are reserved at most this far ahead of now. */
export const SCHEDULE_LOOKAHEAD_MS = 10;

export interface SendBudget {
  /**
   * Reserves up to `wanted` consecutive slots of this number's schedule, none starting later than
   * now + lookaheadMs (SCHEDULE_LOOKAHEAD_MS): slot i is at `firstSlotAt + i × spacingMs`.
   * `nextFreeAt` is where the schedule continues (when nothing was granted: when it frees up).
   */
  take(
    sendingNumberId: string,
    wanted: number,
    limitPerSecond: number,
    now: number,
    lookaheadMs?: number,
  ): Promise<{ granted: number; firstSlotAt: number; spacingMs: number; nextFreeAt: number }>;
}

/** What a campaign sends: the template and its shared parameters (header media already uploaded). */
export type CampaignParameters = {
  values: Record<string, string>;
  headerMedia: {
    type: 'image' | 'video' | 'document';
    mediaRef: { kind: 'id'; id: string } | { kind: 'link'; url: string };
    filename?: string;
  } | null;
};
