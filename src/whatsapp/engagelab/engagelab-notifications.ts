import { createHash } from 'node:crypto';
import { z } from 'zod';
import { e164 } from '../meta/meta-message.js';
import type { AccountHealthChange, AccountHealthEvent } from '../whatsapp-provider.js';

/**
 * EngageLab's `notification` callback rows (../shared/docs/whatsapp.md §2.5) that carry account
 * health: `template_update`, `phone_number_update` (the messaging limit) and
 * `whatsapp_business_update` (the account disabled or in violation). Their fields sit in
 * `notification_data` (read from the notification itself too, as the nesting is only inferred).
 * Other notifications (the balance) are not health changes: null.
 */
export const ENGAGELAB_HEALTH_EVENTS = ['template_update', 'phone_number_update', 'whatsapp_business_update'] as const;

const text = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((value) => (value === null || value === undefined || value === '' ? null : String(value)));

const notificationSchema = z.object({
  event: z.string(),
  notification_data: z.record(z.string(), z.unknown()).nullish(),
});

const templateSchema = z.object({
  template_id: text,
  template_name: z.string().min(1),
  template_language: z.string().min(1),
  template_status: z.string().min(1),
  template_status_reason: text,
});
const numberSchema = z.object({ display_phone_number: text, phone_number_id: text, current_limit: text });
const accountSchema = z.object({ waba_event: z.string().min(1), ban_state: text, violation_type: text });

function changeOf(event: string, data: Record<string, unknown>): AccountHealthChange {
  const unreadable = (error: z.ZodError): AccountHealthChange => ({
    type: 'unreadable',
    field: event,
    problem: `${error.issues[0]?.path.join('.') || 'value'}: ${error.issues[0]?.message ?? 'invalid'}`.slice(0, 200),
  });
  if (event === 'template_update') {
    const parsed = templateSchema.safeParse(data);
    if (!parsed.success) return unreadable(parsed.error);
    const v = parsed.data;
    return {
      type: 'template_status',
      templateId: v.template_id,
      name: v.template_name,
      language: v.template_language,
      status: v.template_status.toUpperCase(),
      reason:
        v.template_status_reason && v.template_status_reason.toUpperCase() !== 'NONE' ? v.template_status_reason : null,
      disableDate: null,
      detail: null,
    };
  }
  if (event === 'phone_number_update') {
    const parsed = numberSchema.safeParse(data);
    if (!parsed.success) return unreadable(parsed.error);
    const v = parsed.data;
    return {
      type: 'number_quality',
      phoneNumber: e164(v.display_phone_number ?? v.phone_number_id),
      event: 'MESSAGING_LIMIT',
      currentLimit: v.current_limit,
      oldLimit: null,
    };
  }
  const parsed = accountSchema.safeParse(data);
  if (!parsed.success) return unreadable(parsed.error);
  const v = parsed.data;
  return {
    type: 'account',
    event: v.waba_event.toUpperCase(),
    phoneNumber: null,
    banState: v.ban_state,
    banDate: null,
    violationType: v.violation_type,
    restrictions: [],
  };
}

/** The health change a notification row carries; null for notifications that are not about health. */
export function engageLabHealthEvent(notification: unknown, callbackTime: number): AccountHealthEvent | null {
  const parsed = notificationSchema.safeParse(notification);
  if (!parsed.success) return null;
  const { event } = parsed.data;
  if (!(ENGAGELAB_HEALTH_EVENTS as readonly string[]).includes(event)) return null;
  const outer = notification as Record<string, unknown>;
  const data = { ...outer, ...(parsed.data.notification_data ?? {}) };
  const accountId = data.whatsapp_business_account_id;
  return {
    kind: 'health',
    // A redelivered row carries the same bytes: the same id, so it is handled once.
    eventId: createHash('sha256')
      .update(JSON.stringify([callbackTime, notification]))
      .digest('hex')
      .slice(0, 32),
    accountId:
      (typeof accountId === 'string' || typeof accountId === 'number') && /^[\w.-]{1,100}$/.test(String(accountId))
        ? String(accountId)
        : null,
    timestamp: callbackTime,
    change: changeOf(event, data),
  };
}
