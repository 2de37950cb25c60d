import type { BudgetHold } from '../shared/byte-budget.js';

/**
 * The one interface every WhatsApp provider adapter implements (Meta Cloud API, EngageLab, …).
 * Types here are provider-neutral: the bridge core and the Slack side only ever see these.
 */

export type ProviderName = 'meta' | 'engagelab' | 'sandbox';

/** A business phone number the app can send from. */
export type SendingNumber = {
  /** Provider's id for the number: Meta's phone_number_id; EngageLab: the number itself (E.164). */
  id: string;
  /** E.164, e.g. "+15550001111". */
  phoneNumber: string;
  displayName: string | null;
  /** Only `connected` numbers may be picked for sending. */
  health: 'connected' | 'unavailable';
  /** Why the number is unavailable (or a quality warning), readable by a person. */
  healthReason: string | null;
  qualityRating: string | null;
  /**
   * Meta's messaging limit tier (TIER_250, TIER_1K, … TIER_UNLIMITED): how many customers a day may
   * get business-initiated messages. Undefined or null: the provider does not report it.
   */
  messagingLimitTier?: string | null;
};

export type TemplateCategory = 'MARKETING' | 'UTILITY' | 'AUTHENTICATION' | string;

export type TemplateHeaderFormat = 'NONE' | 'TEXT' | 'IMAGE' | 'VIDEO' | 'DOCUMENT' | 'LOCATION';

/** One language version of a template, normalised from the provider's listing. */
export type MessageTemplate = {
  providerTemplateId: string | null;
  name: string;
  language: string;
  /** APPROVED, PENDING, REJECTED, … in upper case. Only APPROVED may be sent. */
  status: string;
  category: TemplateCategory;
  header: { format: TemplateHeaderFormat; text: string | null };
  body: string;
  footer: string | null;
  buttons: TemplateButton[];
  /**
   * The example values the template was approved with, by variable key (`header.1`, `body.2`,
   * `body.first_name`, `button.0.1`); absent when the provider gives none.
   */
  examples?: Readonly<Record<string, string>>;
};

export type TemplateButton = {
  index: number;
  type: 'QUICK_REPLY' | 'URL' | 'PHONE_NUMBER' | 'COPY_CODE' | 'OTP' | string;
  text: string;
  /** URL buttons: the URL, possibly with one {{1}} placeholder. */
  url: string | null;
};

/** Media the provider can send: an uploaded media id (Meta) or a public link (EngageLab). */
export type OutboundMediaRef = { kind: 'id'; id: string } | { kind: 'link'; url: string };

export type MediaKind = 'image' | 'video' | 'audio' | 'document' | 'sticker';

export type TemplateParameters = {
  header?:
    | { type: 'text'; text: string }
    | { type: 'image' | 'video' | 'document'; media: OutboundMediaRef; filename?: string };
  body: string[];
  buttons: { index: number; subType: 'quick_reply' | 'url'; value: string }[];
};

export type OutboundMessage =
  | { type: 'text'; to: string; text: string; previewUrl?: boolean }
  | {
      type: 'media';
      to: string;
      mediaKind: MediaKind;
      media: OutboundMediaRef;
      /** Only image, video and document carry a caption (WhatsApp rule). */
      caption?: string;
      filename?: string;
    }
  | { type: 'template'; to: string; template: { name: string; language: string; parameters: TemplateParameters } };

/** The business's reaction to a message the customer sent. */
export type OutboundReaction = {
  to: string;
  /** The provider's id of the message reacted to (Meta's wamid). */
  messageId: string;
  /** One emoji; "" takes the business's reaction away. */
  emoji: string;
};

export type SendOptions = {
  /** Echoed back by providers that support it (EngageLab request_id / custom_args). */
  correlationId?: string;
  /**
   * One request, no quick retry inside the HTTP client: for paced (campaign) sends, whose retry
   * must wait for a send slot of its own, or it would go out off the schedule.
   */
  singleAttempt?: boolean;
};

export type SendResult = {
  /** The id that status callbacks will carry for this message. */
  providerMessageId: string;
};

export type MediaUpload = { bytes: Buffer; mimeType: string; filename: string };

export type InboundMediaRef = {
  /** Provider media id (Meta media id). */
  id: string;
  mimeType: string | null;
  sha256: string | null;
  /** Some Meta webhooks already carry the download URL (still needs the bearer token). */
  url: string | null;
};

export type DownloadedMedia = { bytes: Buffer; mimeType: string };

export type InboundContent =
  | { type: 'text'; text: string }
  | {
      type: 'media';
      mediaKind: MediaKind;
      media: InboundMediaRef;
      caption: string | null;
      filename: string | null;
      /** true for voice notes (audio recorded in WhatsApp). */
      voice: boolean;
    }
  | {
      type: 'location';
      latitude: number;
      longitude: number;
      name: string | null;
      address: string | null;
      url: string | null;
    }
  | {
      type: 'contacts';
      contacts: { name: string; phones: { phone: string; waId: string | null; type: string | null }[] }[];
    }
  /** Interactive button/list replies and template quick-reply taps: the text the contact chose. */
  | { type: 'reply'; text: string; payload: string | null; description: string | null }
  | { type: 'reaction'; emoji: string | null; targetProviderMessageId: string }
  | { type: 'unsupported'; description: string };

export type InboundContact = {
  /** Phone number in E.164 ("+15551234567") when the provider gives one. */
  phoneNumber: string | null;
  /** Meta's business-scoped user id (BSUID), when present. */
  userId: string | null;
  profileName: string | null;
};

export type InboundMessageEvent = {
  kind: 'message';
  providerMessageId: string;
  /** SendingNumber.id of the business number that received it. */
  sendingNumberId: string;
  /** That number in E.164, when the webhook says (Meta's display_phone_number). */
  sendingNumberPhone?: string | null;
  contact: InboundContact;
  /** Provider's timestamp, epoch milliseconds. */
  timestamp: number;
  /** The business message this one replies to or reacts to, when given. */
  replyToProviderMessageId: string | null;
  content: InboundContent;
};

export type DeliveryStatus = 'sent' | 'delivered' | 'read' | 'failed';

export type ProviderErrorDetail = { code: string; title: string; detail: string | null };

export type StatusEvent = {
  kind: 'status';
  /** Matches SendResult.providerMessageId of the message this status is about. */
  providerMessageId: string;
  /** Other ids the same message is known by (EngageLab also reports Meta's wamid). */
  alternateIds: string[];
  status: DeliveryStatus;
  sendingNumberId: string | null;
  recipient: string | null;
  timestamp: number;
  errors: ProviderErrorDetail[];
};

/**
 * What changed about the account's health, as the provider told it: a number's quality or
 * messaging limit, a template's status, the account's standing. Fields the bridge does not use are
 * dropped; a change it cannot read is kept as `unreadable` (logged, never refused: the provider
 * would otherwise redeliver it for days).
 */
export type AccountHealthChange =
  | {
      type: 'number_quality';
      /** The number in E.164 (the webhook names it by its digits, not by its id). */
      phoneNumber: string | null;
      /** FLAGGED, UNFLAGGED, DOWNGRADE, UPGRADE, ONBOARDING, THROUGHPUT_UPGRADE, … */
      event: string;
      currentLimit: string | null;
      oldLimit: string | null;
    }
  | {
      type: 'template_status';
      templateId: string | null;
      name: string;
      language: string;
      /** APPROVED, REJECTED, PAUSED, DISABLED, FLAGGED, REINSTATED, … in upper case. */
      status: string;
      reason: string | null;
      /** When a FLAGGED template will be disabled, as Meta words it. */
      disableDate: string | null;
      /** Meta's own words about a pause or an unpause (`other_info`). */
      detail: string | null;
    }
  | {
      type: 'account';
      /** VERIFIED_ACCOUNT, DISABLED_UPDATE, ACCOUNT_RESTRICTION, ACCOUNT_VIOLATION, … */
      event: string;
      phoneNumber: string | null;
      banState: string | null;
      banDate: string | null;
      violationType: string | null;
      restrictions: { type: string; expiration: string | null }[];
    }
  | { type: 'account_review'; decision: string }
  | {
      type: 'number_name';
      phoneNumber: string | null;
      decision: string;
      requestedName: string | null;
      rejectionReason: string | null;
    }
  | { type: 'unreadable'; field: string; problem: string };

export type AccountHealthEvent = {
  kind: 'health';
  /** The same change delivered again has the same id (it is handled once). */
  eventId: string;
  /** The WhatsApp Business Account it is about, when the provider says. */
  accountId: string | null;
  /** Provider's timestamp, epoch milliseconds. */
  timestamp: number;
  change: AccountHealthChange;
};

export type WebhookEvent = InboundMessageEvent | StatusEvent | AccountHealthEvent;

export type WebhookRequest = {
  rawBody: Buffer;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
};

/** Result of the GET subscription handshake: `challenge` to echo, or refused. */
export type SubscriptionCheck = { ok: true; challenge: string } | { ok: false };

export interface WhatsAppProvider {
  readonly name: ProviderName;
  listSendingNumbers(): Promise<SendingNumber[]>;
  /** All templates in every language and status; callers filter to APPROVED. */
  listTemplates(): Promise<MessageTemplate[]>;
  send(fromNumberId: string, message: OutboundMessage, options?: SendOptions): Promise<SendResult>;
  /** Throws ProviderError code `unsupported` when the provider has no way to send reactions. */
  sendReaction(fromNumberId: string, reaction: OutboundReaction): Promise<SendResult>;
  /**
   * Marks a message the customer sent (and the ones before it) read; with `typing`, the customer
   * also sees that a reply is being typed, until it arrives (25 seconds at most). A provider that
   * offers neither does nothing.
   */
  markRead(fromNumberId: string, providerMessageId: string, options: { typing: boolean }): Promise<void>;
  uploadMedia(fromNumberId: string, media: MediaUpload): Promise<OutboundMediaRef>;
  /**
   * Throws ProviderError code `media_download_unsupported` when the provider has no way to do it.
   * `memory` is reserved for the file's size before its bytes are read (and stays held: the caller
   * releases it once the bytes are passed on).
   */
  downloadMedia(media: InboundMediaRef, maxBytes: number, memory?: BudgetHold): Promise<DownloadedMedia>;
  /**
   * Verifies authenticity (throws WebhookAuthError) and shape (throws WebhookPayloadError),
   * then returns every message, status and account health change in the request. Unknown event
   * kinds are skipped.
   */
  parseWebhook(request: WebhookRequest): WebhookEvent[];
  /** GET handshake (Meta's hub.challenge); providers without one refuse. */
  checkSubscription(query: Record<string, string | undefined>): SubscriptionCheck;
}

/**
 * Where bytes a provider must fetch by URL are kept (EngageLab sends media by link only). The
 * bridge serves them at PUBLIC_URL/media/:id under an expiring signed link.
 */
export interface MediaStore {
  save(media: MediaUpload): Promise<string>;
}
