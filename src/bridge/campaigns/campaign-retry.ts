import { errorIdNote, logErrorWithId } from '../../shared/error-id.js';
import type { Logger } from '../../shared/logger.js';
import { describeFailure, ProviderError } from '../../whatsapp/provider-errors.js';

/** Tries of one recipient before it is failed (a reclaim after a crash counts as one). */
export const MAX_SEND_ATTEMPTS = 8;
export const RETRY_BASE_DELAY_MS = 1_000;
export const RETRY_MAX_DELAY_MS = 60_000;

/**
 * How long to wait after the `failures`-th retryable failure in a row: exponential (base × 2^(n-1),
 * capped), with "equal jitter" — half fixed, half random — so recipients that failed together
 * don't all come back in the same instant; never sooner than the provider's Retry-After.
 */
export function retryDelayMs(
  failures: number,
  retryAfterMs: number | null,
  options: { baseMs?: number; maxMs?: number; random?: () => number } = {},
): number {
  const base = options.baseMs ?? RETRY_BASE_DELAY_MS;
  const max = options.maxMs ?? RETRY_MAX_DELAY_MS;
  const random = options.random ?? Math.random;
  const exponential = Math.min(max, base * 2 ** Math.max(0, failures - 1));
  const jittered = exponential / 2 + random() * (exponential / 2);
  return Math.round(Math.max(retryAfterMs ?? 0, jittered));
}

/** Certainly not sent, and may work later: worth another try. */
export function isRetryableSendError(error: unknown): boolean {
  if (error instanceof ProviderError) return error.retryable && !error.mayHaveBeenSent;
  // Anything else was thrown before the request could complete (a bug, a local failure).
  return true;
}

export function sendErrorCode(error: unknown): string {
  return error instanceof ProviderError ? (error.providerCode ?? error.code) : 'unexpected';
}

/**
 * The reason a person reads in the report when a recipient keeps failing: the provider's answer in
 * plain words, or, for anything else, an error id of the log line that holds the exception.
 */
export function exhaustedReason(error: unknown, attempts: number, logger: Logger, context: object = {}): string {
  let cause: string;
  if (error instanceof ProviderError) {
    const code = error.providerCode ?? (error.httpStatus ? `HTTP ${error.httpStatus}` : null);
    cause =
      error.code === 'rate_limited'
        ? `WhatsApp's throughput limit kept refusing it${code ? ` (${code})` : ''}`
        : describeFailure(error.code, code, error.message);
  } else {
    const errorId = logErrorWithId(logger, error, 'a campaign recipient kept failing; given up', context);
    cause = `the bridge hit an unexpected error ${errorIdNote(errorId)}`;
  }
  return `gave up after ${attempts} attempts: ${cause}`;
}
