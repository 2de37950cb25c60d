/** What campaign sending needs from storage (implemented by src/db/stores/campaign-store.ts). */

/** `cancelled`: never sent because its campaign was cancelled first (not a failure). */
export type RecipientStatus = 'queued' | 'sending' | 'sent' | 'delivered' | 'read' | 'failed' | 'cancelled';
export type CampaignStatus = 'draft' | 'scheduled' | 'sending' | 'completed' | 'cancelled' | 'failed';
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
  recipients: { phoneNumber: string; parametersJson: string | null }[];
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
  claimRecipients(
    campaignId: string,
    workerId: string,
    limit: number,
    leaseMs: number,
    now: number,
  ): Promise<CampaignRecipientRecord[]>;
  /** Extends this worker's leases on recipients it still holds (a send in flight is never reclaimed). */
  renewLeases(workerId: string, recipientIds: readonly number[], until: number): Promise<void>;
  recordSent(recipientId: number, providerMessageId: string, now: number): Promise<void>;
  recordFailed(recipientId: number, code: string, detail: string, now: number): Promise<void>;
  /** Back to queued, not to be claimed before `retryAt`. */
  requeue(recipientId: number, retryAt: number, now: number): Promise<void>;
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

/**
 * The shared send budget is kept in buckets of this many milliseconds; a grant never lets the
 * buckets of the last 1,050 ms add up to more than the per-second limit, so any sliding second
 * (which overlaps at most 21 buckets) stays within it.
 */
export const BUDGET_BUCKET_MS = 50;
export const BUDGET_WINDOW_MS = 1050;

export interface SendBudget {
  take(
    sendingNumberId: string,
    wanted: number,
    limitPerSecond: number,
    now: number,
  ): Promise<{ granted: number; windowEndsAt: number }>;
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
