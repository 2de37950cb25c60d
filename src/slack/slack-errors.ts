/** Reads @slack/web-api errors without depending on their classes (they differ across versions). */

export type SlackErrorInfo =
  | { kind: 'rate_limited'; retryAfterMs: number }
  | { kind: 'http'; status: number }
  | { kind: 'network' }
  | { kind: 'platform'; error: string }
  | { kind: 'other' };

export function describeSlackError(error: unknown): SlackErrorInfo {
  if (typeof error !== 'object' || error === null) return { kind: 'other' };
  const e = error as { code?: unknown; retryAfter?: unknown; statusCode?: unknown; data?: { error?: unknown } };
  switch (e.code) {
    case 'slack_webapi_rate_limited_error':
      return { kind: 'rate_limited', retryAfterMs: typeof e.retryAfter === 'number' ? e.retryAfter * 1000 : 1000 };
    case 'slack_webapi_http_error':
      return { kind: 'http', status: typeof e.statusCode === 'number' ? e.statusCode : 0 };
    case 'slack_webapi_request_error':
      return { kind: 'network' };
    case 'slack_webapi_platform_error':
      return { kind: 'platform', error: typeof e.data?.error === 'string' ? e.data.error : 'unknown_error' };
    default:
      return { kind: 'other' };
  }
}

/** Errors worth retrying later: Slack is rate limiting, down or unreachable. */
export function isTransientSlackError(error: unknown): boolean {
  const info = describeSlackError(error);
  if (info.kind === 'rate_limited' || info.kind === 'network') return true;
  if (info.kind === 'http') return info.status >= 500 || info.status === 429 || info.status === 408;
  if (info.kind === 'platform')
    return ['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'ratelimited'].includes(
      info.error,
    );
  return false;
}
