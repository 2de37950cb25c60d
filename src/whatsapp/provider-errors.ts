/**
 * Typed provider errors. Adapters map their error envelopes (Meta's Graph error codes, EngageLab's
 * codes) to one of these codes, so the bridge decides retry / tell-the-agent / alert-ops from the
 * code alone.
 */

export type ProviderErrorCode =
  | 'window_closed' // 131047: more than 24 h since the contact last wrote; only templates allowed
  | 'rate_limited' // 130429, 80007, 4: throughput limit, retry later
  | 'pair_rate_limited' // 131056: too many messages to this one recipient
  | 'template_error' // 132000, 132001, 1320xx: parameters / template missing / paused
  | 'media_error' // 131053, 131052: media could not be uploaded / downloaded
  | 'media_download_unsupported' // the provider documents no way to fetch inbound media
  | 'unsupported' // the provider has no API for this at all (EngageLab: reactions)
  | 'auth_failed' // 190, 0, EngageLab 2001/2002: token expired or wrong
  | 'permission_denied' // 10, 200-299, 131005, EngageLab 2004
  | 'invalid_request' // 100, 131008, 131009, EngageLab 3001-3003
  | 'undeliverable' // 131026, 131050, 130403, 131049
  | 'account_restricted' // 368, 131031, 130497, 131042
  | 'unavailable' // 1, 2, 131000, 131016, 131057, 5xx, network failures: retry later
  | 'unknown';

const retryableCodes: ReadonlySet<ProviderErrorCode> = new Set(['rate_limited', 'pair_rate_limited', 'unavailable']);

export class ProviderError extends Error {
  readonly code: ProviderErrorCode;
  /** The provider's own code, e.g. 131047 or EngageLab's 3002. */
  readonly providerCode: string | null;
  readonly httpStatus: number | null;
  /** From Retry-After or the provider's guidance. */
  readonly retryAfterMs: number | null;
  /**
   * true when the request may have reached the provider (a timeout or a dropped connection after
   * sending): repeating it could deliver the message twice.
   */
  readonly mayHaveBeenSent: boolean;

  constructor(
    code: ProviderErrorCode,
    message: string,
    details: {
      providerCode?: string | number | null;
      httpStatus?: number | null;
      retryAfterMs?: number | null;
      mayHaveBeenSent?: boolean;
    } = {},
  ) {
    super(message);
    this.name = 'ProviderError';
    this.code = code;
    this.providerCode =
      details.providerCode === undefined || details.providerCode === null ? null : String(details.providerCode);
    this.httpStatus = details.httpStatus ?? null;
    this.retryAfterMs = details.retryAfterMs ?? null;
    this.mayHaveBeenSent = details.mayHaveBeenSent ?? false;
  }

  get retryable(): boolean {
    return retryableCodes.has(this.code);
  }
}

/** Refused webhook: wrong or missing signature/token. The HTTP layer answers 401/403. */
export class WebhookAuthError extends Error {
  readonly status: 401 | 403;
  constructor(message: string, status: 401 | 403 = 401) {
    super(message);
    this.name = 'WebhookAuthError';
    this.status = status;
  }
}

/** Authentic but unusable webhook body. The HTTP layer answers 400. */
export class WebhookPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookPayloadError';
  }
}

/** Meta Graph API / Cloud API error codes → our codes. */
export function classifyMetaErrorCode(code: number): ProviderErrorCode {
  if (code === 131047) return 'window_closed';
  if (code === 130429 || code === 80007 || code === 4) return 'rate_limited';
  if (code === 131056) return 'pair_rate_limited';
  if (code >= 132000 && code <= 132999) return 'template_error';
  if (code === 131053 || code === 131052) return 'media_error';
  if (code === 190 || code === 0) return 'auth_failed';
  if (code === 3 || code === 10 || (code >= 200 && code <= 299) || code === 131005) return 'permission_denied';
  if (code === 100 || code === 131008 || code === 131009 || code === 131051 || code === 131021)
    return 'invalid_request';
  if (code === 131026 || code === 131050 || code === 130403 || code === 131049 || code === 131048)
    return 'undeliverable';
  if (code === 368 || code === 131031 || code === 130497 || code === 131042) return 'account_restricted';
  if (code === 1 || code === 2 || code === 131000 || code === 131016 || code === 131057) return 'unavailable';
  return 'unknown';
}

/** A sentence an agent can act on, shown in the Slack thread when a send fails. */
export function describeFailure(
  code: ProviderErrorCode | null,
  providerCode: string | null,
  fallback?: string,
): string {
  const suffix = providerCode ? ` (${providerCode})` : '';
  switch (code) {
    case 'window_closed':
      return `outside the 24-hour window — send a template${suffix}`;
    case 'rate_limited':
      return `WhatsApp throughput limit reached; it will be retried${suffix}`;
    case 'pair_rate_limited':
      return `too many messages to this contact in a short time; slow down${suffix}`;
    case 'template_error':
      return `the template or its variables were rejected${suffix}${fallback ? `: ${fallback}` : ''}`;
    case 'media_error':
      return `the file could not be processed by WhatsApp (type or size)${suffix}`;
    case 'media_download_unsupported':
      return 'the provider offers no way to download this media';
    case 'unsupported':
      return fallback ?? 'the WhatsApp provider does not support this';
    case 'auth_failed':
      return `the WhatsApp access token was refused or has expired — an operator must renew it${suffix}`;
    case 'permission_denied':
      return `the WhatsApp account lacks permission for this${suffix}`;
    case 'invalid_request':
      return `WhatsApp rejected the message as invalid${suffix}${fallback ? `: ${fallback}` : ''}`;
    case 'undeliverable':
      return `WhatsApp could not deliver to this number (not on WhatsApp, blocked or opted out)${suffix}`;
    case 'account_restricted':
      return `the WhatsApp Business account is restricted${suffix}`;
    case 'unavailable':
      return `WhatsApp is temporarily unavailable${suffix}`;
    default:
      return fallback ? `${fallback}${suffix}` : `the message failed${suffix}`;
  }
}
