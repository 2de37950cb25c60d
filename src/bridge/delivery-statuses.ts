import type { Logger } from '../shared/logger.js';
import { escapeSlackText } from '../shared/slack-text.js';
import { classifyMetaErrorCode, describeFailure } from '../whatsapp/provider-errors.js';
import type { StatusEvent } from '../whatsapp/whatsapp-provider.js';
import type {
  ConversationRepository,
  DeliveryLog,
  MessageRepository,
  PostIntentRepository,
  SlackConversationPort,
} from './ports.js';
import { postInThreadOnce } from './post-once.js';

export class StatusForUnknownMessageError extends Error {
  constructor(providerMessageId: string) {
    super(`no message recorded yet for provider id ${providerMessageId}`);
    this.name = 'StatusForUnknownMessageError';
  }
}

export type DeliveryStatusHandler = (
  event: StatusEvent,
  attempt: { attempts: number; isLastAttempt: boolean },
) => Promise<void>;

/** Other consumers of statuses (campaign recipients) see every status the conversation did not. */
export type StatusListener = (event: StatusEvent) => Promise<boolean>;

/**
 * Shows sent / delivered / read / failed on the Slack message it belongs to. Duplicates and
 * out-of-order arrivals are harmless: the stored status only ever moves forward.
 */
export function createDeliveryStatusHandler(deps: {
  messages: MessageRepository;
  conversations: ConversationRepository;
  slack: SlackConversationPort;
  intents: PostIntentRepository;
  deliveries: DeliveryLog;
  now: () => number;
  logger: Logger;
  otherListeners?: StatusListener[];
}): DeliveryStatusHandler {
  const { messages, slack } = deps;
  return async (event, attempt) => {
    let message = await messages.byProviderId(event.providerMessageId);
    for (const alternate of event.alternateIds) {
      if (message) break;
      message = await messages.byProviderId(alternate);
    }
    if (!message) {
      let handled = false;
      for (const listener of deps.otherListeners ?? []) handled = (await listener(event)) || handled;
      if (handled) return;
      // The status can overtake our own record of the send: try again shortly, then let it go.
      if (attempt.attempts < 4) throw new StatusForUnknownMessageError(event.providerMessageId);
      deps.logger.info(
        { providerMessageId: event.providerMessageId, status: event.status },
        'status for a message we never sent; ignored',
      );
      return;
    }
    for (const alternate of event.alternateIds) {
      if (alternate !== message.provider_message_id) await messages.setAlternateId(message.id, alternate);
    }
    for (const listener of deps.otherListeners ?? []) await listener(event);

    const firstError = event.errors[0];
    const error =
      event.status === 'failed'
        ? {
            code: firstError?.code ?? 'unknown',
            detail: describeFailure(
              firstError && /^\d+$/.test(firstError.code) ? classifyMetaErrorCode(Number(firstError.code)) : null,
              firstError?.code ?? null,
              firstError?.detail ?? firstError?.title ?? 'delivery failed',
            ),
          }
        : null;
    const previous = message.status;
    const updated = await messages.advanceStatus(message.id, event.status, error, deps.now());
    // The same status again is a provider duplicate or our own retry after Slack failed: make sure
    // Slack shows it (both calls below are idempotent). Meta's "sent" also lands here, because the
    // send itself already recorded the message as sent.
    const shown = updated ?? (message.status === event.status ? message : undefined);
    if (!shown?.slack_channel_id || !shown.slack_ts) return;

    await slack.setStatusReaction(shown.slack_channel_id, shown.slack_ts, event.status, updated ? previous : null);
    if (event.status === 'failed') {
      const noticeKey = `failed-notice:${message.id}`;
      if (await deps.deliveries.has(noticeKey)) return;
      const active = await deps.conversations.activeThread(shown.contact_id);
      const threadTs = active?.slack_channel_id === shown.slack_channel_id ? active.thread_ts : shown.slack_ts;
      const detail = shown.error_detail ?? error?.detail ?? 'delivery failed';
      await postInThreadOnce(
        { slack, intents: deps.intents, now: deps.now },
        {
          key: noticeKey,
          thread: { slack_channel_id: shown.slack_channel_id, thread_ts: threadTs },
          content: { text: `:x: Not delivered to the customer: ${escapeSlackText(detail)}` },
          marker: { type: 'wa_failed', key: message.id },
        },
      );
      await deps.deliveries.markFirstSeen(noticeKey, deps.now());
      await deps.intents.clear([noticeKey]);
    }
  };
}
