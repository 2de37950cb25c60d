import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AccountHealthChange, AccountHealthEvent } from '../whatsapp-provider.js';
import { e164 } from './meta-message.js';

/**
 * Meta's account health webhooks (the WhatsApp Business Account's fields other than `messages`):
 * a number's quality and messaging limit, a template's status, the account's standing and review,
 * a display name decision. Shapes from Meta's webhook reference and the samples in
 * test/fixtures/meta-samples/webhooks/; every field the bridge does not use is optional, and
 * unknown fields are ignored.
 */
export const META_HEALTH_FIELDS = [
  'phone_number_quality_update',
  'message_template_status_update',
  'account_update',
  'account_review_update',
  'phone_number_name_update',
] as const;

export const isMetaHealthField = (field: string): boolean => (META_HEALTH_FIELDS as readonly string[]).includes(field);

/** Meta sends some of these as numbers, some as strings, and some as null. */
const text = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((value) => (value === null || value === undefined || value === '' ? null : String(value)));

const qualitySchema = z.object({
  display_phone_number: text,
  event: z.string().min(1),
  current_limit: text,
  old_limit: text,
});

const templateSchema = z.object({
  event: z.string().min(1),
  message_template_id: text,
  message_template_name: z.string().min(1),
  message_template_language: z.string().min(1),
  reason: text,
  disable_info: z.object({ disable_date: text }).partial().nullish(),
  other_info: z.object({ title: text, description: text }).partial().nullish(),
});

const accountSchema = z.object({
  event: z.string().min(1),
  phone_number: text,
  ban_info: z.object({ waba_ban_state: text, waba_ban_date: text }).partial().nullish(),
  violation_info: z.object({ violation_type: text }).partial().nullish(),
  restriction_info: z
    .array(z.object({ restriction_type: z.string(), expiration: text }))
    .nullish()
    .catch(null),
});

const reviewSchema = z.object({ decision: z.string().min(1) });

const nameSchema = z.object({
  display_phone_number: text,
  decision: z.string().min(1),
  requested_verified_name: text,
  rejection_reason: text,
});

function changeOf(field: string, value: unknown): AccountHealthChange {
  const problem = (error: z.ZodError) =>
    `${error.issues[0]?.path.join('.') || 'value'}: ${error.issues[0]?.message ?? 'invalid'}`.slice(0, 200);
  switch (field) {
    case 'phone_number_quality_update': {
      const parsed = qualitySchema.safeParse(value);
      if (!parsed.success) return { type: 'unreadable', field, problem: problem(parsed.error) };
      const v = parsed.data;
      return {
        type: 'number_quality',
        phoneNumber: e164(v.display_phone_number),
        event: v.event.toUpperCase(),
        currentLimit: v.current_limit,
        oldLimit: v.old_limit,
      };
    }
    case 'message_template_status_update': {
      const parsed = templateSchema.safeParse(value);
      if (!parsed.success) return { type: 'unreadable', field, problem: problem(parsed.error) };
      const v = parsed.data;
      return {
        type: 'template_status',
        templateId: v.message_template_id,
        name: v.message_template_name,
        language: v.message_template_language,
        status: v.event.toUpperCase(),
        reason: v.reason && v.reason.toUpperCase() !== 'NONE' ? v.reason : null,
        disableDate: v.disable_info?.disable_date ?? null,
        detail: v.other_info?.description ?? v.other_info?.title ?? null,
      };
    }
    case 'account_update': {
      const parsed = accountSchema.safeParse(value);
      if (!parsed.success) return { type: 'unreadable', field, problem: problem(parsed.error) };
      const v = parsed.data;
      return {
        type: 'account',
        event: v.event.toUpperCase(),
        phoneNumber: e164(v.phone_number),
        banState: v.ban_info?.waba_ban_state ?? null,
        banDate: v.ban_info?.waba_ban_date ?? null,
        violationType: v.violation_info?.violation_type ?? null,
        restrictions: (v.restriction_info ?? []).map((r) => ({ type: r.restriction_type, expiration: r.expiration })),
      };
    }
    case 'account_review_update': {
      const parsed = reviewSchema.safeParse(value);
      if (!parsed.success) return { type: 'unreadable', field, problem: problem(parsed.error) };
      return { type: 'account_review', decision: parsed.data.decision.toUpperCase() };
    }
    default: {
      const parsed = nameSchema.safeParse(value);
      if (!parsed.success) return { type: 'unreadable', field, problem: problem(parsed.error) };
      const v = parsed.data;
      return {
        type: 'number_name',
        phoneNumber: e164(v.display_phone_number),
        decision: v.decision.toUpperCase(),
        requestedName: v.requested_verified_name,
        rejectionReason: v.rejection_reason && v.rejection_reason.toUpperCase() !== 'NONE' ? v.rejection_reason : null,
      };
    }
  }
}

/**
 * One health change of a verified webhook. Never throws: a change the bridge cannot read becomes
 * `unreadable`, so the webhook is still acknowledged (and the problem logged when it is handled).
 */
export function metaHealthEvent(
  entry: { id?: string | undefined; time?: unknown },
  change: { field: string; value: unknown },
): AccountHealthEvent {
  const time = typeof entry.time === 'number' && Number.isFinite(entry.time) ? entry.time * 1000 : null;
  // A redelivery carries the same bytes: the same id, so the change is handled once.
  const eventId = createHash('sha256')
    .update(JSON.stringify([entry.id ?? null, entry.time ?? null, change.field, change.value ?? null]))
    .digest('hex')
    .slice(0, 32);
  return {
    kind: 'health',
    eventId,
    // Keys the job's ordering: only an id that looks like one (a NUL byte cannot be stored in PostgreSQL).
    accountId: entry.id && /^[\w.-]{1,100}$/.test(entry.id) ? entry.id : null,
    timestamp: time ?? Date.now(),
    change: changeOf(change.field, change.value),
  };
}
