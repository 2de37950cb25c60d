import type {
  AccountHealthEvent,
  InboundMessageEvent,
  StatusEvent,
  WebhookEvent,
} from '../whatsapp/whatsapp-provider.js';
import { JobKind } from './job-kinds.js';

export type IntakeJob = {
  kind: string;
  payload: unknown;
  orderingKey: string;
  idempotencyKey: string;
  maxAttempts: number;
};

export const INBOUND_MAX_ATTEMPTS = 300;

/** Ordering key of a conversation's inbound side: the contact's messages reach Slack in order. */
export function conversationKey(sendingNumberId: string, contact: InboundMessageEvent['contact']): string {
  return `conversation:${sendingNumberId}:${contact.phoneNumber ?? contact.userId ?? 'unknown'}`;
}

/**
 * Ordering key of a conversation's outbound side: agents' replies and templates reach WhatsApp in
 * order. Separate from the inbound side, so a reply waiting out a provider outage never holds
 * back the customer's new messages (and a slow media download never holds back a reply).
 */
export function outboundConversationKey(contactId: string): string {
  return `outbound:${contactId}`;
}

/**
 * Turns verified webhook events into durable jobs. A provider delivering the same message or
 * status again maps to the same idempotency key, so it is stored (and later posted) once.
 */
export function jobsForWebhookEvents(events: readonly WebhookEvent[]): IntakeJob[] {
  return events.map((event) =>
    event.kind === 'message' ? inboundJob(event) : event.kind === 'status' ? statusJob(event) : healthJob(event),
  );
}

function healthJob(event: AccountHealthEvent): IntakeJob {
  return {
    kind: JobKind.accountHealth,
    payload: event,
    // One account's changes apply in the order they arrived (a pause before its unpause).
    orderingKey: `health:${event.accountId ?? 'account'}`,
    idempotencyKey: `health:${event.eventId}`,
    maxAttempts: 50,
  };
}

function inboundJob(event: InboundMessageEvent): IntakeJob {
  return {
    kind: JobKind.inboundMessage,
    payload: event,
    orderingKey: conversationKey(event.sendingNumberId, event.contact),
    idempotencyKey: `inbound:${event.providerMessageId}`,
    // Backoff is capped at 5 minutes: about a day of Slack being unreachable before giving up.
    maxAttempts: INBOUND_MAX_ATTEMPTS,
  };
}

function statusJob(event: StatusEvent): IntakeJob {
  return {
    kind: JobKind.deliveryStatus,
    payload: event,
    // Statuses of one message apply in arrival order; the handler also refuses to move backwards.
    orderingKey: `status:${event.providerMessageId}`,
    idempotencyKey: `status:${event.providerMessageId}:${event.status}`,
    maxAttempts: 50,
  };
}
