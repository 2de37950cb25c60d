import { randomUUID } from 'node:crypto';
import type { BudgetHold, ByteBudget } from '../../shared/byte-budget.js';
import type { Logger } from '../../shared/logger.js';
import type { MessageTemplate, OutboundMediaRef, WhatsAppProvider } from '../../whatsapp/whatsapp-provider.js';
import type { HeaderFile } from '../conversation-templates.js';
import { isMarketingCategory } from '../opt-outs.js';
import { outboundMediaRule } from '../outbound-media.js';
import { parseRecipientsFile, parseTypedRecipients } from '../recipients.js';
import { headerMediaKind, type TemplateCatalog, templateVariables } from '../templates.js';
import type { CampaignParameters, CampaignRepository } from './campaign-ports.js';
import { type MessagePreview, previewMessage } from './campaign-preview.js';

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
  /** Recipients on the suppression list: a MARKETING template is not sent to them. */
  optedOut: number;
  /** The message as the first recipient will see it (their variables), and who that is. */
  preview: MessagePreview;
  previewRecipient: string;
};

export type DraftResult =
  | { ok: true; summary: DraftSummary }
  | { ok: false; error: string; field: 'recipients' | 'file' | 'template' | 'header' };

/** A form the draft cannot be made from, with the field to fix. */
type DraftRefusal = Extract<DraftResult, { ok: false }>;
type Accepted<T> = { ok: true } & T;

/** A draft's recipients, parsed and validated. */
type DraftRecipients = {
  numbers: string[];
  invalid: InvalidLine[];
  duplicates: number;
  /** A CSV's per-recipient variables, in the order of `numbers`; null when it fills none. */
  perRecipient: (Record<string, string> | null)[] | null;
  ignoredColumns: string[];
};

export type CampaignDraftsDeps = {
  campaigns: CampaignRepository;
  catalog: TemplateCatalog;
  provider: WhatsAppProvider;
  downloadSlackFile(url: string, maxBytes: number, memory?: BudgetHold): Promise<Buffer>;
  mediaBudget?: ByteBudget;
  now: () => number;
  logger: Logger;
  /** Marks the draft's opted-out recipients as such (MARKETING templates only); returns how many. */
  skipOptedOut?(draftId: string): Promise<number>;
};

/**
 * Turns a filled-in campaign form into a stored draft: recipients parsed and validated, header
 * media uploaded to the provider. Nothing is sent until the draft is confirmed.
 */
export function createCampaignDrafts(deps: CampaignDraftsDeps) {
  async function prepare(request: DraftRequest): Promise<DraftResult> {
    const template = await deps.catalog.find(request.templateName, request.language);
    if (!template)
      return {
        ok: false,
        field: 'template',
        error: `Template ${request.templateName} (${request.language}) is not approved.`,
      };
    const recipients = request.recipientsFile
      ? await readRecipientsFile(request.recipientsFile, template, deps)
      : readTypedRecipients(request.typedRecipients);
    if (!recipients.ok) return recipients;
    const header = await uploadHeaderMedia(request, template, deps);
    if (!header.ok) return header;

    const draftId = randomUUID();
    await storeDraft(deps, draftId, request, template, recipients, header.headerMedia);
    const optedOut = isMarketingCategory(template.category) ? ((await deps.skipOptedOut?.(draftId)) ?? 0) : 0;
    return {
      ok: true,
      summary: {
        draftId,
        recipients: recipients.numbers.length,
        invalid: recipients.invalid,
        duplicates: recipients.duplicates,
        sendingNumberId: request.sendingNumberId,
        templateName: template.name,
        language: template.language,
        category: template.category,
        scheduledAt: request.scheduledAt,
        perRecipientVariables: recipients.perRecipient !== null,
        ignoredColumns: recipients.ignoredColumns,
        optedOut,
        preview: previewMessage(
          template,
          { ...request.values, ...(recipients.perRecipient?.[0] ?? {}) },
          request.headerFile?.name ?? null,
        ),
        previewRecipient: recipients.numbers[0] ?? '',
      },
    };
  }

  return { prepare, confirm: (draftId: string) => deps.campaigns.confirm(draftId, deps.now()) };
}
export type CampaignDrafts = ReturnType<typeof createCampaignDrafts>;

/** The numbers of an uploaded .txt or .csv file (with a CSV's per-recipient variables). */
async function readRecipientsFile(
  file: RecipientsFile,
  template: MessageTemplate,
  deps: Pick<CampaignDraftsDeps, 'downloadSlackFile'>,
): Promise<Accepted<DraftRecipients> | DraftRefusal> {
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
  });
  if (!parsed.ok) return { ok: false, field: 'file', error: parsed.error };
  return atLeastOneNumber('file', {
    numbers: parsed.numbers,
    invalid: parsed.invalid,
    duplicates: parsed.duplicates,
    perRecipient: parsed.variables?.some((values) => values !== null) ? parsed.variables : null,
    ignoredColumns: parsed.ignoredColumns,
  });
}

/** The numbers typed into the form (at most MAX_TYPED_RECIPIENTS). */
function readTypedRecipients(typed: string | null): Accepted<DraftRecipients> | DraftRefusal {
  const parsed = parseTypedRecipients(typed ?? '', { max: MAX_TYPED_RECIPIENTS });
  if (parsed.tooMany) {
    return {
      ok: false,
      field: 'recipients',
      error: `At most ${MAX_TYPED_RECIPIENTS} numbers can be typed; upload a .txt file for more.`,
    };
  }
  return atLeastOneNumber('recipients', {
    numbers: parsed.numbers,
    invalid: parsed.invalid,
    duplicates: parsed.duplicates,
    perRecipient: null,
    ignoredColumns: [],
  });
}

function atLeastOneNumber(
  field: 'file' | 'recipients',
  recipients: DraftRecipients,
): Accepted<DraftRecipients> | DraftRefusal {
  if (recipients.numbers.length > 0) return { ok: true, ...recipients };
  const first = recipients.invalid[0];
  return {
    ok: false,
    field,
    error: first
      ? `No valid number found (line ${first.line}: ${first.reason}).`
      : 'Add at least one recipient number.',
  };
}

/** The header file a media-header template needs, uploaded to the provider (none for other templates). */
async function uploadHeaderMedia(
  request: DraftRequest,
  template: MessageTemplate,
  deps: Pick<CampaignDraftsDeps, 'downloadSlackFile' | 'mediaBudget' | 'provider'>,
): Promise<Accepted<{ headerMedia: CampaignParameters['headerMedia'] }> | DraftRefusal> {
  const mediaKind = headerMediaKind(template);
  if (!mediaKind) return { ok: true, headerMedia: null };
  if (!request.headerFile) return { ok: false, field: 'header', error: `This template needs a header ${mediaKind}.` };
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
  return {
    ok: true,
    headerMedia: { type: mediaKind, mediaRef, ...(mediaKind === 'document' ? { filename: file.name } : {}) },
  };
}

async function storeDraft(
  deps: Pick<CampaignDraftsDeps, 'campaigns' | 'now'>,
  draftId: string,
  request: DraftRequest,
  template: MessageTemplate,
  recipients: DraftRecipients,
  headerMedia: CampaignParameters['headerMedia'],
): Promise<void> {
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
      invalidCount: recipients.invalid.length,
      recipients: {
        length: recipients.numbers.length,
        slice: (start, end) =>
          recipients.numbers.slice(start, end).map((phoneNumber, index) => ({
            phoneNumber,
            parametersJson: perRecipientJson(recipients.perRecipient?.[start + index]),
          })),
      },
    },
    deps.now(),
    { draft: true },
  );
}
