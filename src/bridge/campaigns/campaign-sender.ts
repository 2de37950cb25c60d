import { setTimeout as delay } from 'node:timers/promises';
import { createGroupCommit } from '../../shared/group-commit.js';
import type { Logger } from '../../shared/logger.js';
import { timeOrderedId } from '../../shared/time-ordered-id.js';
import { describeFailure, ProviderError } from '../../whatsapp/provider-errors.js';
import type { WhatsAppProvider } from '../../whatsapp/whatsapp-provider.js';
import { STOPPED_MARKETING_ERROR } from '../opt-outs.js';
import type { PreparedRecipient } from './campaign-messages.js';
import {
  type CampaignConversationEntry,
  type CampaignRecipientRecord,
  type CampaignRecord,
  type CampaignRepository,
  isApiTriggered,
} from './campaign-ports.js';
import { exhaustedReason, isRetryableSendError, retryDelayMs, sendErrorCode } from './campaign-retry.js';

/** A sending number's pause after retryable failures (it backs off as they keep coming). */
export type SendingNumberPause = {
  pausedUntil: number;
  /** Retryable failures in a row, for the pause. */
  failureStreak: number;
};

type SentRecipient = { recipientId: number; providerMessageId: string; conversation: CampaignConversationEntry };

/**
 * Sends prepared campaign recipients and settles each outcome in the database: recorded as sent
 * (in group commits), put back for a retry, or failed.
 */
export function createCampaignSender(deps: {
  campaigns: CampaignRepository;
  provider: WhatsAppProvider;
  logger: Logger;
  now: () => number;
  /** Tries per recipient before it is failed. */
  maxAttempts: number;
  /** First retry delay; it doubles per failure. */
  retryBaseDelayMs: number;
  /**
   * WhatsApp refused a send for the sending number's spam rate (131048): the campaign is paused
   * (resolves once it is), the recipient stays queued.
   */
  onSpamRateLimit?(campaign: CampaignRecord, error: ProviderError): Promise<void>;
  /** Meta refused the template because the customer stopped marketing messages (131050). */
  onStoppedMarketing?(campaign: CampaignRecord, recipient: CampaignRecipientRecord): Promise<void>;
}) {
  const { campaigns, logger } = deps;
  const recorder = createSentRecorder(campaigns, logger, deps.now);

  /** Sends one recipient and records the outcome; resolves once it is recorded. */
  async function sendAndRecord(number: SendingNumberPause, prepared: PreparedRecipient): Promise<void> {
    const { campaign, recipient } = prepared;
    let providerMessageId: string;
    try {
      const result = await deps.provider.send(campaign.sending_number_id, prepared.message, {
        correlationId: `campaign:${campaign.id}:${recipient.id}`,
        singleAttempt: true,
      });
      providerMessageId = result.providerMessageId;
    } catch (error) {
      await settleFailedSend(number, campaign, recipient, error);
      return;
    }
    number.failureStreak = 0;
    // Sent: from here on nothing may put the recipient back in the queue (it would be sent twice).
    await recorder.add({
      recipientId: recipient.id,
      providerMessageId,
      conversation: { ...prepared.conversation, messageId: timeOrderedId(deps.now()), providerMessageId },
    });
  }

  /**
   * A send that failed: retried later with exponential backoff (at least the provider's
   * Retry-After) while it certainly wasn't sent and may work later, up to `maxAttempts`; failed
   * with a readable reason otherwise. Retryable failures also pause the sending number.
   */
  async function settleFailedSend(
    number: SendingNumberPause,
    campaign: CampaignRecord,
    recipient: CampaignRecipientRecord,
    error: unknown,
  ): Promise<void> {
    const now = deps.now();
    if (!(error instanceof ProviderError))
      logger.warn({ err: String(error), campaignId: campaign.id }, 'campaign send failed unexpectedly');
    if (error instanceof ProviderError && isSpamRateLimit(error) && deps.onSpamRateLimit && !isApiTriggered(campaign)) {
      // Not this recipient's fault, and sending on would make it worse: it waits, untried, for the
      // marketer to resume the campaign.
      await deps.onSpamRateLimit(campaign, error);
      await campaigns.release(recipient.id, now);
      return;
    }
    if (error instanceof ProviderError && error.providerCode === STOPPED_MARKETING_ERROR && deps.onStoppedMarketing) {
      await deps.onStoppedMarketing(campaign, recipient);
      return;
    }
    if (error instanceof ProviderError && !isRetryableSendError(error)) {
      const detail = error.mayHaveBeenSent
        ? 'the provider did not answer in time; the message may have been delivered, so it was not sent again'
        : describeFailure(error.code, error.providerCode ?? null, error.message);
      await campaigns.recordFailed(recipient.id, sendErrorCode(error), detail, now);
      return;
    }
    const retryAfterMs = error instanceof ProviderError ? error.retryAfterMs : null;
    const pairRate = error instanceof ProviderError && error.code === 'pair_rate_limited';
    // Throughput (130429) slows the whole number down; the pair rate (131056) only this customer.
    if (!pairRate) {
      number.failureStreak++;
      const pause = retryDelayMs(number.failureStreak, retryAfterMs, { baseMs: deps.retryBaseDelayMs });
      number.pausedUntil = Math.max(number.pausedUntil, now + pause);
    }
    // A throttled recipient is sent later, never failed: the limit is the campaign's pace, not the recipient.
    if (!isThrottled(error) && recipient.attempts >= deps.maxAttempts) {
      await campaigns.recordFailed(
        recipient.id,
        sendErrorCode(error),
        exhaustedReason(error, recipient.attempts, logger, {
          campaignId: campaign.id,
          recipientId: recipient.id,
        }),
        now,
      );
      return;
    }
    const backoff = retryDelayMs(Math.min(recipient.attempts, deps.maxAttempts), retryAfterMs, {
      baseMs: deps.retryBaseDelayMs,
    });
    const wait = pairRate ? Math.max(PAIR_RATE_GAP_MS, backoff) : backoff;
    await campaigns.requeue(recipient.id, now + wait, now);
  }

  return {
    sendAndRecord,
    /** Resolves once every send handed in so far is recorded. */
    idle: () => recorder.idle(),
  };
}

export type CampaignSender = ReturnType<typeof createCampaignSender>;

/** WhatsApp allows about one message every 6 seconds to the same customer (the pair rate). */
const PAIR_RATE_GAP_MS = 6_000;

/** Meta's spam rate limit: the number sent too many messages customers did not want. */
export const isSpamRateLimit = (error: ProviderError) => error.providerCode === '131048';

/** Throughput and pair-rate limits: the campaign must go slower, nothing is wrong with the recipient. */
const isThrottled = (error: unknown) =>
  error instanceof ProviderError && (error.code === 'rate_limited' || error.code === 'pair_rate_limited');

// Sends that finish close together are recorded together, with their conversation messages, in
// one transaction. A send counts as in flight until its record is written, so sends not yet
// recorded never exceed the concurrency (the duplicate bound after a crash).
function createSentRecorder(campaigns: CampaignRepository, logger: Logger, now: () => number) {
  return createGroupCommit<SentRecipient>(
    async (batch) => {
      const at = now();
      try {
        await campaigns.recordSentWithConversations(batch, at);
        return;
      } catch (error) {
        logger.warn({ err: String(error) }, 'recording campaign messages in their conversations failed');
      }
      // The conversation record is secondary: make sure at least the sends are recorded.
      for (let attempt = 1; ; attempt++) {
        try {
          await campaigns.recordSentMany(batch, at);
          return;
        } catch (error) {
          if (attempt >= 3) throw error;
          await delay(100 * attempt);
        }
      }
    },
    { lingerMs: 4 },
  );
}
