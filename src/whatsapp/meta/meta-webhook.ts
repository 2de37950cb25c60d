import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { WebhookAuthError, WebhookPayloadError } from '../provider-errors.js';
import type {
  DeliveryStatus,
  InboundMessageEvent,
  StatusEvent,
  WebhookEvent,
  WebhookRequest,
} from '../whatsapp-provider.js';
import { isMetaHealthField, metaHealthEvent } from './meta-account-webhook.js';
import { e164, type MetaInboundMessage, metaInboundMessageSchema, toInboundContent } from './meta-message.js';

const statusSchema = z.object({
  id: z.string().min(1),
  status: z.string(),
  timestamp: z.union([z.string(), z.number()]),
  recipient_id: z.string().optional(),
  recipient_user_id: z.string().optional(),
  errors: z
    .array(
      z.object({
        code: z.union([z.number(), z.string()]).optional(),
        title: z.string().optional(),
        message: z.string().optional(),
        error_data: z.object({ details: z.string().optional() }).optional(),
      }),
    )
    .optional(),
});

const messagesValueSchema = z.object({
  metadata: z.object({ phone_number_id: z.string(), display_phone_number: z.string().optional() }),
  contacts: z
    .array(
      z.object({
        wa_id: z.string().optional(),
        user_id: z.string().optional(),
        profile: z.object({ name: z.string().optional() }).optional(),
      }),
    )
    .optional(),
  // Each message and status is validated on its own below, so one odd item can't hide the others.
  messages: z.array(z.unknown()).optional(),
  statuses: z.array(z.unknown()).optional(),
});

const envelopeSchema = z.object({
  object: z.string(),
  entry: z.array(
    z.object({
      id: z.string().optional(),
      time: z.unknown().optional(),
      changes: z.array(z.object({ field: z.string(), value: z.unknown() })),
    }),
  ),
});

/** Just enough of a message to show that it arrived, and from whom. */
const salvageableMessageSchema = z.object({
  id: z.string().min(1),
  from: z.string().optional(),
  from_user_id: z.string().optional(),
  timestamp: z.union([z.string(), z.number()]).catch(() => String(Math.floor(Date.now() / 1000))),
  type: z.string().optional().catch(undefined),
});

const DELIVERY_STATUSES: readonly string[] = ['sent', 'delivered', 'read', 'failed'];

export function verifyMetaSignature(rawBody: Buffer, header: string | undefined, appSecret: string): void {
  if (!header) throw new WebhookAuthError('missing X-Hub-Signature-256', 401);
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  const given = match?.[1] ? Buffer.from(match[1], 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new WebhookAuthError('invalid X-Hub-Signature-256', 403);
  }
}

export const epochMs = (value: string | number): number => {
  const seconds = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(seconds) ? Math.round(seconds * 1000) : Date.now();
};

/**
 * Verified Meta webhook → normalized events: messages, statuses and account health changes (see
 * meta-account-webhook.ts); other fields are skipped.
 */
export function parseMetaWebhook(request: WebhookRequest, appSecret: string): WebhookEvent[] {
  verifyMetaSignature(request.rawBody, request.headers['x-hub-signature-256'], appSecret);
  let json: unknown;
  try {
    json = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookPayloadError('body is not valid JSON');
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success)
    throw new WebhookPayloadError(`not a WhatsApp Business webhook: ${envelope.error.issues[0]?.message ?? 'invalid'}`);
  if (envelope.data.object !== 'whatsapp_business_account')
    throw new WebhookPayloadError(`unexpected object "${envelope.data.object.slice(0, 40)}"`);

  const events: WebhookEvent[] = [];
  for (const entry of envelope.data.entry) {
    for (const change of entry.changes) {
      if (isMetaHealthField(change.field)) {
        events.push(metaHealthEvent(entry, change));
        continue;
      }
      if (change.field !== 'messages') continue;
      const value = messagesValueSchema.safeParse(change.value);
      if (!value.success)
        throw new WebhookPayloadError(`malformed messages change: ${value.error.issues[0]?.message ?? 'invalid'}`);
      const { metadata, contacts = [] } = value.data;
      for (const raw of value.data.messages ?? []) {
        const parsed = metaInboundMessageSchema.safeParse(raw);
        let message: MetaInboundMessage;
        if (parsed.success) message = parsed.data;
        else {
          // A message Meta sent (the signature says so) in a shape we don't know: refusing the
          // webhook would make Meta redeliver the whole batch for days and lose the others. Keep
          // it as a placeholder the agent sees, as long as it says who sent it.
          const salvaged = salvageableMessageSchema.safeParse(raw);
          if (!salvaged.success)
            throw new WebhookPayloadError(
              `malformed message: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`,
            );
          message = {
            ...salvaged.data,
            type: 'unreadable',
            system: {
              body: `a message${salvaged.data.type ? ` (type ${salvaged.data.type.slice(0, 40)})` : ''} the bridge could not read`,
            },
          };
        }
        const profile =
          contacts.find(
            (c) =>
              (message.from && c.wa_id === message.from) ||
              (message.from_user_id && c.user_id === message.from_user_id),
          ) ?? contacts[0];
        const event: InboundMessageEvent = {
          kind: 'message',
          providerMessageId: message.id,
          sendingNumberId: metadata.phone_number_id,
          sendingNumberPhone: e164(metadata.display_phone_number),
          contact: {
            phoneNumber: e164(message.from ?? profile?.wa_id),
            userId: message.from_user_id ?? profile?.user_id ?? null,
            profileName: profile?.profile?.name ?? null,
          },
          timestamp: epochMs(message.timestamp),
          replyToProviderMessageId:
            message.context?.id ?? (message.type === 'reaction' ? (message.reaction?.message_id ?? null) : null),
          content: toInboundContent(message),
        };
        if (!event.contact.phoneNumber && !event.contact.userId)
          throw new WebhookPayloadError('message without a sender');
        events.push(event);
      }
      for (const raw of value.data.statuses ?? []) {
        const parsed = statusSchema.safeParse(raw);
        if (!parsed.success)
          throw new WebhookPayloadError(`malformed status: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
        const status = parsed.data;
        if (!DELIVERY_STATUSES.includes(status.status)) continue; // e.g. "played", "deleted": informational
        const event: StatusEvent = {
          kind: 'status',
          providerMessageId: status.id,
          alternateIds: [],
          status: status.status as DeliveryStatus,
          sendingNumberId: metadata.phone_number_id,
          recipient: e164(status.recipient_id),
          timestamp: epochMs(status.timestamp),
          errors: (status.errors ?? []).map((e) => ({
            code: String(e.code ?? 'unknown'),
            title: e.title ?? e.message ?? 'error',
            detail: e.error_data?.details ?? e.message ?? null,
          })),
        };
        events.push(event);
      }
    }
  }
  return events;
}

export function checkMetaSubscription(
  query: Record<string, string | undefined>,
  verifyToken: string,
): { ok: true; challenge: string } | { ok: false } {
  const token = query['hub.verify_token'];
  const challenge = query['hub.challenge'];
  if (query['hub.mode'] !== 'subscribe' || !token || challenge === undefined) return { ok: false };
  const a = Buffer.from(token);
  const b = Buffer.from(verifyToken);
  return a.length === b.length && timingSafeEqual(a, b) ? { ok: true, challenge } : { ok: false };
}
