import { randomUUID } from 'node:crypto';
import { isMarketingCategory } from '../opt-outs.js';
import { parseInternationalNumber } from '../phone-number.js';
import type { SendingNumberRecord } from '../records.js';
import { type TemplateCatalog, templateVariables } from '../templates.js';
import {
  apiCreator,
  type CampaignParameters,
  type CampaignRepository,
  type RecipientStatus,
} from './campaign-ports.js';

export type TriggeredTemplateRequest = {
  apiKeyId: string;
  from: string;
  to: string;
  template: string;
  language: string;
  variables: Record<string, string>;
  header: { type: 'image' | 'video' | 'document'; url: string; filename?: string } | null;
  idempotencyKey: string;
};

export type TriggeredTemplateResult =
  | { ok: true; id: string; status: RecipientStatus | 'queued'; duplicate: boolean }
  | { ok: false; status: 400 | 409 | 422; error: string; code?: 'opted_out' };

/**
 * A template triggered by another system: a one-recipient campaign, so it goes through the same
 * durable, rate-limited sending and status tracking as campaigns from Slack.
 */
export function createTriggeredTemplates(deps: {
  campaigns: CampaignRepository;
  catalog: TemplateCatalog;
  sendingNumbers(): Promise<SendingNumberRecord[]>;
  requests: {
    find(apiKeyId: string, idempotencyKey: string): Promise<{ message_id: string } | undefined>;
  };
  reportChannelId: string;
  now: () => number;
  wake(): void;
  /** The number's marketing opt-out (since when), if it is on the suppression list. */
  optedOut?(phoneNumber: string): Promise<{ at: number } | null>;
}) {
  async function status(
    id: string,
    apiKeyId: string,
  ): Promise<{ status: RecipientStatus | 'queued'; error: string | null } | null> {
    const campaign = await deps.campaigns.get(id);
    if (!campaign || campaign.created_by !== apiCreator(apiKeyId)) return null;
    const counts = await deps.campaigns.counts(id);
    const order: RecipientStatus[] = [
      'failed',
      'opted_out',
      'cancelled',
      'read',
      'delivered',
      'sent',
      'sending',
      'queued',
    ];
    const current = order.find((s) => counts[s] > 0) ?? 'queued';
    const reason = current === 'failed' ? ((await deps.campaigns.failureReasons(id, 1))[0]?.reason ?? null) : null;
    return { status: current, error: reason };
  }

  async function send(request: TriggeredTemplateRequest): Promise<TriggeredTemplateResult> {
    const existing = await deps.requests.find(request.apiKeyId, request.idempotencyKey);
    if (existing) {
      const current = await status(existing.message_id, request.apiKeyId);
      return { ok: true, id: existing.message_id, status: current?.status ?? 'queued', duplicate: true };
    }
    const to = parseInternationalNumber(request.to);
    if (!to.ok) return { ok: false, status: 422, error: `to: ${to.reason}` };
    // Our own sending numbers are matched by digits: they are known, not validated.
    const fromDigits = request.from.replace(/[^\d]/g, '');
    const numbers = await deps.sendingNumbers();
    const sending = numbers.find(
      (n) => n.id === request.from || (fromDigits !== '' && n.phone_number === `+${fromDigits}`),
    );
    if (!sending)
      return {
        ok: false,
        status: 422,
        error: `from: ${request.from} is not one of the sending numbers (${numbers.map((n) => n.phone_number).join(', ')})`,
      };
    if (sending.health !== 'connected')
      return {
        ok: false,
        status: 422,
        error: `from: ${sending.phone_number} is unavailable (${sending.health_reason ?? 'not connected'})`,
      };
    const template = await deps.catalog.find(request.template, request.language);
    if (!template)
      return {
        ok: false,
        status: 422,
        error: `template: ${request.template} (${request.language}) is not an approved template`,
      };

    if (isMarketingCategory(template.category)) {
      const optOut = await deps.optedOut?.(to.e164);
      if (optOut)
        return {
          ok: false,
          status: 409,
          code: 'opted_out',
          error: `to: ${to.e164} opted out of marketing messages on ${new Date(optOut.at).toISOString()}; ${template.name} is a ${template.category} template, so it was not sent (UTILITY and AUTHENTICATION templates still are)`,
        };
    }

    const values: Record<string, string> = {};
    for (const [key, value] of Object.entries(request.variables))
      values[/^\w+$/.test(key) ? `body.${key}` : key] = value;
    const missing = templateVariables(template).filter((v) => !values[v.key]?.trim());
    if (missing.length > 0)
      return { ok: false, status: 422, error: `variables: missing ${missing.map((v) => v.key).join(', ')}` };
    if (template.header.format !== 'TEXT' && template.header.format !== 'NONE' && !request.header) {
      return {
        ok: false,
        status: 422,
        error: `header: this template needs a header ${template.header.format.toLowerCase()} (url)`,
      };
    }

    const id = randomUUID();
    const parameters: CampaignParameters = {
      values,
      headerMedia: request.header
        ? {
            type: request.header.type,
            mediaRef: { kind: 'link', url: request.header.url },
            ...(request.header.filename ? { filename: request.header.filename } : {}),
          }
        : null,
    };
    const stored = await deps.campaigns.createTriggered(
      {
        id,
        createdBy: apiCreator(request.apiKeyId),
        slackChannelId: deps.reportChannelId,
        sendingNumberId: sending.id,
        templateName: template.name,
        templateLanguage: template.language,
        templateCategory: template.category,
        parametersJson: JSON.stringify(parameters),
        scheduledAt: null,
        invalidCount: 0,
        recipients: [{ phoneNumber: to.e164, parametersJson: null }],
      },
      { apiKeyId: request.apiKeyId, idempotencyKey: request.idempotencyKey },
      deps.now(),
    );
    if (!stored.created) {
      // A concurrent request with the same key won the race.
      const current = await status(stored.existingId, request.apiKeyId);
      return { ok: true, id: stored.existingId, status: current?.status ?? 'queued', duplicate: true };
    }
    deps.wake();
    return { ok: true, id, status: 'queued', duplicate: false };
  }

  return { send, status };
}
export type TriggeredTemplates = ReturnType<typeof createTriggeredTemplates>;
