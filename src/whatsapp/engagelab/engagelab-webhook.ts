import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { e164, metaInboundMessageSchema, toInboundContent } from '../meta/meta-message.js';
import { WebhookAuthError, WebhookPayloadError } from '../provider-errors.js';
import type { DeliveryStatus, WebhookEvent, WebhookRequest } from '../whatsapp-provider.js';
import { engageLabHealthEvent } from './engagelab-notifications.js';

/**
 * EngageLab callbacks (../shared/docs/whatsapp.md §2.5): `{ total, rows: [...] }`, each row carrying
 * exactly one of `status` (delivery progress of a message we sent), `response` (something a contact
 * sent) or `notification` (account events: template, number and account changes become health events).
 */

const timeSchema = z.union([z.number(), z.string()]);

const rowSchema = z.object({
  message_id: z.union([z.string(), z.number()]).optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  server: z.string().optional(),
  itime: timeSchema.optional(),
  status: z
    .object({
      message_status: z.string(),
      status_data: z
        .object({
          msg_time: timeSchema,
          channel_message_id: z.string(),
          from_phone_id: z.string(),
        })
        .partial()
        .nullish(),
      error_code: z.union([z.number(), z.string()]).nullish(),
      error_detail: z.object({ message: z.string().nullish() }).partial().nullish(),
      loss: z.object({ loss_step: z.number(), loss_source: z.string() }).partial().nullish(),
    })
    .optional(),
  response: z
    .object({
      event: z.string(),
      response_data: z
        .object({
          channel_message_id: z.string(),
          contact: z
            .object({
              wa_id: z.string(),
              user_id: z.string(),
              profile: z.object({ name: z.string() }).partial().nullish(),
            })
            .partial()
            .nullish(),
          message: z.unknown(),
          message_context: z
            .object({
              origin_from_phone: z.string(),
              origin_channel_message_id: z.string(),
              origin_message_id: z.string(),
            })
            .partial()
            .nullish(),
        })
        .partial()
        .default({}),
    })
    .optional(),
  notification: z.unknown().optional(),
});

const envelopeSchema = z.object({ total: z.number().optional(), rows: z.array(z.unknown()) });

/** EngageLab statuses → ours; plan/target_valid are progress we don't show, delivered_timeout is not final. */
const STATUS_MAP: Readonly<Record<string, DeliveryStatus | null>> = {
  plan: null,
  target_valid: null,
  target_invalid: 'failed',
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  sent_failed: 'failed',
  delivered_failed: 'failed',
  delivered_timeout: null,
};

const FAILURE_TITLES: Readonly<Record<string, string>> = {
  target_invalid: 'the number is not a valid WhatsApp recipient',
  sent_failed: 'EngageLab could not hand the message to WhatsApp',
  delivered_failed: 'WhatsApp accepted the message but could not deliver it',
};

/** Inbound rows that are a contact's message; `deleted` (and anything unknown) is skipped. */
const MESSAGE_EVENTS = new Set(['received', 'reply', 'order']);

const MEDIA_KINDS = ['image', 'video', 'audio', 'document', 'sticker'] as const;

/**
 * EngageLab signs nothing, so the unguessable `?token=` in the callback URL is the only proof of
 * origin: missing → 401, wrong → 403, compared in constant time.
 */
export function checkCallbackToken(query: Record<string, string | undefined>, expected: string): void {
  const token = query.token;
  if (typeof token !== 'string' || token === '')
    throw new WebhookAuthError('missing EngageLab callback token (?token=)', 401);
  const given = Buffer.from(token);
  const wanted = Buffer.from(expected);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted))
    throw new WebhookAuthError('wrong EngageLab callback token', 403);
}

/** Epoch seconds, milliseconds or an ISO date → epoch milliseconds. */
function toMs(value: number | string | null | undefined, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = Number(value);
  if (Number.isFinite(n) && n > 0) return n > 1e12 ? Math.round(n) : Math.round(n * 1000);
  const parsed = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(parsed) ? fallback : parsed;
}

/**
 * Only the text example of EngageLab's inner `message` is documented; the rest is Meta's object passed
 * through. Media may carry a `url`/`link` instead of an `id`: whichever is given becomes the id, and a
 * media object with neither is dropped so the message shows as unsupported instead of failing the batch.
 */
function normalizeInboundMessage(message: unknown): unknown {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return message;
  const copy: Record<string, unknown> = { ...(message as Record<string, unknown>) };
  for (const kind of MEDIA_KINDS) {
    const media = copy[kind];
    if (typeof media !== 'object' || media === null) continue;
    const m = media as Record<string, unknown>;
    const url = typeof m.url === 'string' ? m.url : typeof m.link === 'string' ? m.link : undefined;
    const id = typeof m.id === 'string' || typeof m.id === 'number' ? String(m.id) : url;
    if (id === undefined) delete copy[kind];
    else copy[kind] = { ...m, id, ...(url !== undefined ? { url } : {}) };
  }
  return copy;
}

export function parseEngageLabWebhook(
  request: WebhookRequest,
  settings: { callbackToken: string; sendingNumbers: readonly string[] },
  now: () => number,
): WebhookEvent[] {
  checkCallbackToken(request.query, settings.callbackToken);
  let json: unknown;
  try {
    json = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookPayloadError('EngageLab callback body is not valid JSON');
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) throw new WebhookPayloadError('not an EngageLab callback (expected {"rows": [...]})');

  const businessNumber = (candidate: string | null | undefined): string | null => {
    const normalized = e164(candidate);
    return normalized && settings.sendingNumbers.includes(normalized) ? normalized : null;
  };

  const events: WebhookEvent[] = [];
  envelope.data.rows.forEach((rawRow, index) => {
    const parsed = rowSchema.safeParse(rawRow);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new WebhookPayloadError(
        `malformed EngageLab callback row ${index}: ${issue?.path.join('.') || '(row)'} ${issue?.message ?? ''}`.trim(),
      );
    }
    const row = parsed.data;
    const callbackTime = toMs(row.itime, now());

    if (row.status) {
      const state = row.status.message_status;
      const status = Object.hasOwn(STATUS_MAP, state) ? STATUS_MAP[state] : null;
      if (!status) return; // progress we don't show, or a status this adapter doesn't know
      if (row.message_id === undefined || row.message_id === '')
        throw new WebhookPayloadError(`EngageLab status row ${index} has no message_id`);
      const data = row.status.status_data;
      const wamid = data?.channel_message_id;
      const providerMessageId = String(row.message_id);
      // Status rows go business → contact; tolerate them the other way round.
      const sendingNumberId = businessNumber(row.from) ?? businessNumber(row.to);
      const recipient = sendingNumberId === businessNumber(row.to) ? e164(row.from) : e164(row.to);
      const errorCode =
        row.status.error_code !== undefined && row.status.error_code !== null && String(row.status.error_code) !== '0'
          ? String(row.status.error_code)
          : null;
      const loss = row.status.loss;
      const lossText =
        loss?.loss_step !== undefined || loss?.loss_source
          ? `lost at step ${loss?.loss_step ?? '?'}${loss?.loss_source ? ` (${loss.loss_source})` : ''}`
          : null;
      events.push({
        kind: 'status',
        providerMessageId,
        alternateIds: wamid && wamid !== providerMessageId ? [wamid] : [],
        status,
        sendingNumberId,
        recipient,
        timestamp: toMs(data?.msg_time, callbackTime),
        errors:
          status === 'failed'
            ? [
                {
                  code: errorCode ?? state,
                  title: FAILURE_TITLES[state] ?? state.replace(/_/g, ' '),
                  detail: row.status.error_detail?.message || lossText,
                },
              ]
            : [],
      });
      return;
    }

    if (row.response) {
      if (!MESSAGE_EVENTS.has(row.response.event)) return;
      const data = row.response.response_data;
      const message = metaInboundMessageSchema
        .partial({ id: true, timestamp: true })
        .safeParse(normalizeInboundMessage(data.message));
      if (!message.success)
        throw new WebhookPayloadError(
          `EngageLab inbound row ${index} has no readable message: ${message.error.issues[0]?.path.join('.') ?? ''} ${
            message.error.issues[0]?.message ?? ''
          }`.trim(),
        );
      const providerMessageId =
        data.channel_message_id || message.data.id || (row.message_id !== undefined ? String(row.message_id) : '');
      if (!providerMessageId) throw new WebhookPayloadError(`EngageLab inbound row ${index} has no message id`);
      const context = data.message_context;
      const sendingNumberId =
        businessNumber(row.to) ??
        businessNumber(row.from) ??
        businessNumber(context?.origin_from_phone) ??
        // Which row field names the business number is inconsistent between sources (§2.5); with
        // one configured number there is no doubt, with several the first is the best guess.
        settings.sendingNumbers[0] ??
        null;
      if (!sendingNumberId) throw new WebhookPayloadError('EngageLab inbound callback for an unknown sending number');
      const contactNumber =
        e164(data.contact?.wa_id) ??
        e164(message.data.from) ??
        (businessNumber(row.to) ? e164(row.from) : businessNumber(row.from) ? e164(row.to) : null);
      const userId = data.contact?.user_id ?? message.data.from_user_id ?? null;
      if (!contactNumber && !userId)
        throw new WebhookPayloadError(`EngageLab inbound row ${index} does not say who sent it`);
      events.push({
        kind: 'message',
        providerMessageId,
        sendingNumberId,
        contact: { phoneNumber: contactNumber, userId, profileName: data.contact?.profile?.name ?? null },
        timestamp: toMs(message.data.timestamp, callbackTime),
        // EngageLab's own id of the quoted message is what our send recorded; the wamid only once a status named it.
        replyToProviderMessageId:
          context?.origin_message_id || context?.origin_channel_message_id || message.data.context?.id || null,
        content: toInboundContent({ ...message.data, id: providerMessageId, timestamp: message.data.timestamp ?? 0 }),
      });
    }
    // Template, number and account notifications are account health changes; the balance is not shown.
    if (row.notification !== undefined) {
      const health = engageLabHealthEvent(row.notification, callbackTime);
      if (health) events.push(health);
    }
  });
  return events;
}
