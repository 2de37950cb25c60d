import { randomUUID } from 'node:crypto';
import type { BudgetHold, ByteBudget } from '../../shared/byte-budget.js';
import type { Logger } from '../../shared/logger.js';
import type { OutboundMediaRef, WhatsAppProvider } from '../../whatsapp/whatsapp-provider.js';
import type { HeaderFile } from '../conversation-templates.js';
import { outboundMediaRule } from '../outbound-media.js';
import { createNumberValidatorPool, type NumberValidator } from '../phone-number-pool.js';
import { parseRecipientsFile, parseTypedRecipients } from '../recipients.js';
import { headerMediaKind, type TemplateCatalog, templateVariables } from '../templates.js';
import type { CampaignParameters, CampaignRepository } from './campaign-ports.js';

export const MAX_TYPED_RECIPIENTS = 50;
export const MAX_RECIPIENTS_FILE_BYTES = 10 * 1024 * 1024;

const perRecipientJson = (values: Record<string, string> | null | undefined) =>
  values ? JSON.stringify(values) : null;

export type RecipientsFile = { name: string; mimeType: string; size: number; urlPrivate: string };

export type InvalidLine = { line: number; input: string; reason: string };

export type DraftRequest = {
  createdBy: string;
  channelId: string;
  /** Where to reach the marketer if Slack takes the progress neither in the channel nor in their DM. */
  slackResponseUrl?: string | null;
  sendingNumberId: string;
  templateName: string;
  language: string;
  values: Record<string, string>;
  headerFile: HeaderFile | null;
  typedRecipients: string | null;
  recipientsFile: RecipientsFile | null;
  scheduledAt: number | null;
};

export type DraftSummary = {
  draftId: string;
  recipients: number;
  invalid: InvalidLine[];
  duplicates: number;
  sendingNumberId: string;
  templateName: string;
  language: string;
  category: string;
  scheduledAt: number | null;
  perRecipientVariables: boolean;
  /** Columns of the recipients CSV that fill no variable of the template: not read. */
  ignoredColumns: string[];
};

export type DraftResult =
  | { ok: true; summary: DraftSummary }
  | { ok: false; error: string; field: 'recipients' | 'file' | 'template' | 'header' };

/**
 * Turns a filled-in campaign form into a stored draft: recipients parsed and validated, header
 * media uploaded to the provider. Nothing is sent until the draft is confirmed.
 */
export function createCampaignDrafts(deps: {
  campaigns: CampaignRepository;
  catalog: TemplateCatalog;
  provider: WhatsAppProvider;
  downloadSlackFile(url: string, maxBytes: number, memory?: BudgetHold): Promise<Buffer>;
  mediaBudget?: ByteBudget;
  now: () => number;
  logger: Logger;
  /** Validates a file's numbers in bulk (default: a worker pool, off the event loop). */
  validateNumbers?: NumberValidator;
}) {
  const validateNumbers =
    deps.validateNumbers ??
    createNumberValidatorPool({
      onFallback: (error) =>
        deps.logger.warn({ err: String(error) }, 'phone number workers failed; validated in-thread instead'),
    });
  async function prepare(request: DraftRequest): Promise<DraftResult> {
    const template = await deps.catalog.find(request.templateName, request.language);
    if (!template)
      return {
        ok: false,
        field: 'template',
        error: `Template ${request.templateName} (${request.language}) is not approved.`,
      };

    let numbers: string[];
    let invalid: InvalidLine[];
    let duplicates: number;
    let perRecipient: (Record<string, string> | null)[] | null = null;
    let ignoredColumns: string[] = [];
    if (request.recipientsFile) {
      const file = request.recipientsFile;
      const extension = file.name.toLowerCase().split('.').pop() ?? '';
      if (!['txt', 'csv'].includes(extension)) {
        return {
          ok: false,
          field: 'file',
          error: `\`${file.name}\` is not a .txt (one number per line) or .csv file.`,
        };
      }
      if (file.size > MAX_RECIPIENTS_FILE_BYTES) {
        return { ok: false, field: 'file', error: `\`${file.name}\` is larger than 10 MB.` };
      }
      const bytes = await deps.downloadSlackFile(file.urlPrivate, MAX_RECIPIENTS_FILE_BYTES);
      const parsed = await parseRecipientsFile(bytes, {
        variableKeys: templateVariables(template).map((v) => v.key),
        maxBytes: MAX_RECIPIENTS_FILE_BYTES,
        validate: validateNumbers,
      });
      if (!parsed.ok) return { ok: false, field: 'file', error: parsed.error };
      numbers = parsed.numbers;
      invalid = parsed.invalid;
      duplicates = parsed.duplicates;
      ignoredColumns = parsed.ignoredColumns;
      if (parsed.variables?.some((values) => values !== null)) perRecipient = parsed.variables;
    } else {
      const parsed = parseTypedRecipients(request.typedRecipients ?? '', { max: MAX_TYPED_RECIPIENTS });
      if (parsed.tooMany) {
        return {
          ok: false,
          field: 'recipients',
          error: `At most ${MAX_TYPED_RECIPIENTS} numbers can be typed; upload a .txt file for more.`,
        };
      }
      numbers = parsed.numbers;
      invalid = parsed.invalid;
      duplicates = parsed.duplicates;
    }
    if (numbers.length === 0) {
      const first = invalid[0];
      return {
        ok: false,
        field: request.recipientsFile ? 'file' : 'recipients',
        error: first
          ? `No valid number found (line ${first.line}: ${first.reason}).`
          : 'Add at least one recipient number.',
      };
    }

    let headerMedia: CampaignParameters['headerMedia'] = null;
    const mediaKind = headerMediaKind(template);
    if (mediaKind) {
      if (!request.headerFile)
        return { ok: false, field: 'header', error: `This template needs a header ${mediaKind}.` };
      const file = request.headerFile;
      const rule = outboundMediaRule(file.mimeType);
      // The header file counts against the media memory budget until it is uploaded.
      const memory = deps.mediaBudget?.hold();
      let mediaRef: OutboundMediaRef;
      try {
        await memory?.reserve(file.size > 0 ? Math.min(file.size, rule.maxBytes) : rule.maxBytes);
        const bytes = await deps.downloadSlackFile(file.urlPrivate, rule.maxBytes, memory);
        mediaRef = await deps.provider.uploadMedia(request.sendingNumberId, {
          bytes,
          mimeType: file.mimeType,
          filename: file.name,
        });
      } finally {
        memory?.release();
      }
      headerMedia = {
        type: mediaKind,
        mediaRef,
        ...(mediaKind === 'document' ? { filename: request.headerFile.name } : {}),
      };
    }

    const draftId = randomUUID();
    const parameters: CampaignParameters = { values: request.values, headerMedia };
    await deps.campaigns.create(
      {
        id: draftId,
        createdBy: request.createdBy,
        slackChannelId: request.channelId,
        slackResponseUrl: request.slackResponseUrl ?? null,
        sendingNumberId: request.sendingNumberId,
        templateName: template.name,
        templateLanguage: template.language,
        templateCategory: template.category,
        parametersJson: JSON.stringify(parameters),
        scheduledAt: request.scheduledAt,
        invalidCount: invalid.length,
        recipients: numbers.map((phoneNumber, index) => ({
          phoneNumber,
          parametersJson: perRecipientJson(perRecipient?.[index]),
        })),
      },
      deps.now(),
      { draft: true },
    );
    return {
      ok: true,
      summary: {
        draftId,
        recipients: numbers.length,
        invalid,
        duplicates,
        sendingNumberId: request.sendingNumberId,
        templateName: template.name,
        language: template.language,
        category: template.category,
        scheduledAt: request.scheduledAt,
        perRecipientVariables: perRecipient !== null,
        ignoredColumns,
      },
    };
  }

  return { prepare, confirm: (draftId: string) => deps.campaigns.confirm(draftId, deps.now()) };
}
export type CampaignDrafts = ReturnType<typeof createCampaignDrafts>;
