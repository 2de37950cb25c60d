import { z } from 'zod';
import type { MetaSettings } from '../../config.js';
import { type BudgetHold, reserveBeforeBody } from '../../shared/byte-budget.js';
import { type HttpClient, HttpError, type HttpResponse } from '../../shared/http-client.js';
import { classifyMetaErrorCode, ProviderError } from '../provider-errors.js';
import type {
  DownloadedMedia,
  InboundMediaRef,
  MessageTemplate,
  OutboundMediaRef,
  SendingNumber,
  TemplateButton,
  TemplateHeaderFormat,
  WhatsAppProvider,
} from '../whatsapp-provider.js';
import { buildMetaMarkReadBody, buildMetaMessageBody, buildMetaReactionBody, multipartBody } from './meta-requests.js';
import { checkMetaSubscription, parseMetaWebhook } from './meta-webhook.js';

const errorEnvelopeSchema = z.object({
  error: z.object({
    message: z.string().optional(),
    code: z.number().optional(),
    error_subcode: z.number().optional(),
    error_data: z.object({ details: z.string().optional() }).partial().optional(),
  }),
});

const sendResponseSchema = z.object({ messages: z.array(z.object({ id: z.string() })).min(1) });
const markReadResponseSchema = z.object({ success: z.literal(true) });
const mediaInfoSchema = z.object({
  url: z.string(),
  mime_type: z.string().optional(),
  file_size: z.union([z.string(), z.number()]).optional(),
});
const pagingSchema = z.object({ next: z.string().optional() }).partial().optional();
const phoneNumbersSchema = z.object({
  data: z.array(
    z.object({
      id: z.string(),
      display_phone_number: z.string(),
      verified_name: z.string().optional(),
      quality_rating: z.string().optional(),
      messaging_limit_tier: z.string().nullable().optional(),
      status: z.string().optional(),
      code_verification_status: z.string().optional(),
      name_status: z.string().optional(),
      health_status: z.object({ can_send_message: z.string().optional() }).partial().optional(),
    }),
  ),
  paging: pagingSchema,
});
const namedExamples = z.array(z.object({ param_name: z.string(), example: z.string() }));
/**
 * A template component as Meta lists it. `example` holds the values the template was approved with:
 * `header_text` and `body_text` (one array per example set) for `{{1}}`-style variables, the
 * `…_named_params` lists for named ones, and a URL button's whole example URL. A malformed example
 * is dropped, never a reason to refuse the list.
 */
export const templateComponentSchema = z.object({
  type: z.string(),
  format: z.string().optional(),
  text: z.string().optional(),
  example: z
    .object({
      header_text: z.array(z.string()).optional(),
      body_text: z.array(z.array(z.string())).optional(),
      header_text_named_params: namedExamples.optional(),
      body_text_named_params: namedExamples.optional(),
    })
    .optional()
    .catch(undefined),
  buttons: z
    .array(
      z.object({
        type: z.string(),
        text: z.string().optional(),
        url: z.string().optional(),
        example: z.array(z.string()).optional().catch(undefined),
      }),
    )
    .optional(),
});
type TemplateComponent = z.infer<typeof templateComponentSchema>;

const templatesSchema = z.object({
  data: z.array(
    z.object({
      id: z.string().optional(),
      name: z.string(),
      language: z.string(),
      status: z.string(),
      category: z.string().optional(),
      components: z.array(templateComponentSchema).default([]),
    }),
  ),
  paging: pagingSchema,
});

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
}

/** Hosts Meta serves media from; anything else in a media URL is refused. */
const META_MEDIA_HOSTS = [
  /\.fbcdn\.net$/,
  /\.whatsapp\.net$/,
  /(^|\.)facebook\.com$/,
  /^lookaside\.fbsbx\.com$/,
  /(^|\.)fbsbx\.com$/,
];

export function normalizeTemplate(raw: z.infer<typeof templatesSchema>['data'][number]): MessageTemplate {
  const header = raw.components.find((c) => c.type.toUpperCase() === 'HEADER');
  const body = raw.components.find((c) => c.type.toUpperCase() === 'BODY');
  const footer = raw.components.find((c) => c.type.toUpperCase() === 'FOOTER');
  const buttons = raw.components.find((c) => c.type.toUpperCase() === 'BUTTONS');
  return {
    providerTemplateId: raw.id ?? null,
    name: raw.name,
    language: raw.language,
    status: raw.status.toUpperCase(),
    category: (raw.category ?? 'UTILITY').toUpperCase(),
    header: { format: (header?.format?.toUpperCase() ?? 'NONE') as TemplateHeaderFormat, text: header?.text ?? null },
    body: body?.text ?? '',
    footer: footer?.text ?? null,
    buttons: (buttons?.buttons ?? []).map(
      (b, index): TemplateButton => ({ index, type: b.type.toUpperCase(), text: b.text ?? '', url: b.url ?? null }),
    ),
    ...examplesOf(header, body, buttons),
  };
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]{1,40})\s*\}\}/g;

/** `examples` when the template came with any. */
function examplesOf(...components: Parameters<typeof templateExamples>): Pick<MessageTemplate, 'examples'> {
  const examples = templateExamples(...components);
  return Object.keys(examples).length > 0 ? { examples } : {};
}

/** The approved example of each variable, keyed as the form keys its fields (`body.1`, `button.0.1`). */
function templateExamples(
  header: TemplateComponent | undefined,
  body: TemplateComponent | undefined,
  buttons: TemplateComponent | undefined,
): Record<string, string> {
  const examples: Record<string, string> = {};
  const positional = (prefix: string, text: string | undefined, values: string[] | undefined) => {
    for (const [, name = ''] of (text ?? '').matchAll(PLACEHOLDER)) {
      const value = /^\d+$/.test(name) ? values?.[Number(name) - 1] : undefined;
      if (value) examples[`${prefix}.${name}`] = value;
    }
  };
  positional('header', header?.text, header?.example?.header_text);
  positional('body', body?.text, body?.example?.body_text?.[0]);
  for (const param of header?.example?.header_text_named_params ?? [])
    examples[`header.${param.param_name}`] = param.example;
  for (const param of body?.example?.body_text_named_params ?? []) examples[`body.${param.param_name}`] = param.example;
  (buttons?.buttons ?? []).forEach((button, index) => {
    const url = button.url ?? '';
    const name = [...url.matchAll(PLACEHOLDER)][0]?.[1];
    const example = button.example?.[0];
    if (!example || !name) return;
    // Meta's example is the whole URL: the variable is the part that replaces the placeholder.
    const [prefix = '', suffix = ''] = url.split(/\{\{\s*[A-Za-z0-9_]{1,40}\s*\}\}/);
    const fits =
      example.startsWith(prefix) && example.endsWith(suffix) && example.length > prefix.length + suffix.length;
    examples[`button.${index}.${name}`] = fits ? example.slice(prefix.length, example.length - suffix.length) : example;
  });
  return examples;
}

/**
 * Longer than 150 lines on purpose: the adapter is one closure of short methods, one per operation
 * of the interface it implements, sharing its client and caches.
 */
export function createMetaProvider(options: {
  settings: MetaSettings;
  http: HttpClient;
  now?: () => number;
}): WhatsAppProvider {
  const { settings, http } = options;
  const graphHost = new URL(settings.graphUrl).hostname;
  const auth = { authorization: `Bearer ${settings.accessToken}` };

  function toProviderError(response: HttpResponse, what: string): ProviderError {
    let parsed: z.infer<typeof errorEnvelopeSchema> | null = null;
    try {
      const result = errorEnvelopeSchema.safeParse(JSON.parse(response.body.toString('utf8')));
      parsed = result.success ? result.data : null;
    } catch {
      parsed = null;
    }
    const code = parsed?.error.code;
    const classified =
      code !== undefined
        ? classifyMetaErrorCode(code)
        : response.status >= 500
          ? 'unavailable'
          : response.status === 429
            ? 'rate_limited'
            : 'unknown';
    const detail = parsed?.error.error_data?.details ?? parsed?.error.message ?? `HTTP ${response.status}`;
    return new ProviderError(classified, `${what} failed: ${detail}`, {
      ...(code !== undefined ? { providerCode: String(code) } : {}),
      httpStatus: response.status,
      ...(response.retryAfterMs !== null ? { retryAfterMs: response.retryAfterMs } : {}),
      mayHaveBeenSent: false,
    });
  }

  async function call(
    request: Parameters<HttpClient['request']>[0],
    what: string,
    sending = false,
  ): Promise<HttpResponse> {
    try {
      return await http.request(request);
    } catch (error) {
      if (error instanceof HttpError) {
        // A POST that timed out may still have been delivered: callers must not resend blindly.
        const mayHaveBeenSent = sending && error.kind !== 'too_large' && !/ECONNREFUSED/.test(error.message);
        throw new ProviderError(
          error.kind === 'too_large' ? 'media_error' : 'unavailable',
          `${what} failed: ${error.message}`,
          { mayHaveBeenSent },
        );
      }
      throw error;
    }
  }

  async function getJson<T>(url: string, schema: z.ZodType<T>, what: string): Promise<T> {
    const response = await call({ method: 'GET', url, headers: auth }, what);
    if (response.status !== 200) throw toProviderError(response, what);
    const parsed = schema.safeParse(JSON.parse(response.body.toString('utf8')));
    if (!parsed.success) throw new ProviderError('unknown', `${what}: unexpected response from Meta`);
    return parsed.data;
  }

  /** Follows Graph API cursor paging, but only within the configured Graph host. */
  async function allPages<T extends { paging?: { next?: string | undefined } | undefined }>(
    first: string,
    schema: z.ZodType<T>,
    what: string,
  ): Promise<T[]> {
    const pages: T[] = [];
    let url: string | undefined = first;
    for (let i = 0; url && i < 50; i++) {
      const page: T = await getJson(url, schema, what);
      pages.push(page);
      const next: string | undefined = page.paging?.next;
      url = next && new URL(next).hostname === graphHost ? next : undefined;
    }
    return pages;
  }

  const messagesUrl = (fromNumberId: string) => `${settings.graphUrl}/${encodeURIComponent(fromNumberId)}/messages`;

  /** POST /messages for anything that becomes a WhatsApp message; returns its wamid. */
  async function postMessage(
    fromNumberId: string,
    body: Record<string, unknown>,
    what: string,
    singleAttempt = false,
  ): Promise<{ providerMessageId: string }> {
    const response = await call(
      {
        method: 'POST',
        url: messagesUrl(fromNumberId),
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        ...(singleAttempt ? { retries: 0 } : {}),
      },
      what,
      true,
    );
    if (response.status !== 200) throw toProviderError(response, what);
    const parsed = sendResponseSchema.safeParse(parseJson(response.body));
    if (!parsed.success)
      throw new ProviderError('unknown', 'Meta accepted the message but returned no message id', {
        mayHaveBeenSent: true,
      });
    return { providerMessageId: parsed.data.messages[0]?.id ?? '' };
  }

  return {
    name: 'meta',

    async listSendingNumbers(): Promise<SendingNumber[]> {
      const fields =
        'id,display_phone_number,verified_name,quality_rating,messaging_limit_tier,status,code_verification_status,name_status,health_status';
      const pages = await allPages(
        `${settings.graphUrl}/${settings.wabaId}/phone_numbers?fields=${fields}&limit=100`,
        phoneNumbersSchema,
        'listing phone numbers',
      );
      return pages.flatMap((page) =>
        page.data.map((n) => {
          const blocked = n.health_status?.can_send_message === 'BLOCKED';
          const status = n.status?.toUpperCase();
          const connected = !blocked && (status === undefined || status === 'CONNECTED');
          const digits = n.display_phone_number.replace(/[^\d]/g, '');
          return {
            id: n.id,
            phoneNumber: `+${digits}`,
            displayName: n.verified_name ?? null,
            health: connected ? 'connected' : 'unavailable',
            healthReason: connected
              ? n.quality_rating && n.quality_rating !== 'GREEN'
                ? `quality rating ${n.quality_rating}`
                : null
              : blocked
                ? 'Meta reports this number cannot send messages'
                : `status ${status ?? 'unknown'}`,
            qualityRating: n.quality_rating ?? null,
            messagingLimitTier: n.messaging_limit_tier ?? null,
          } satisfies SendingNumber;
        }),
      );
    },

    async listTemplates(): Promise<MessageTemplate[]> {
      const pages = await allPages(
        `${settings.graphUrl}/${settings.wabaId}/message_templates?fields=id,name,language,status,category,components&limit=100`,
        templatesSchema,
        'listing templates',
      );
      return pages.flatMap((page) => page.data.map(normalizeTemplate));
    },

    send: (fromNumberId, message, sendOptions) =>
      postMessage(fromNumberId, buildMetaMessageBody(message), 'sending the message', sendOptions?.singleAttempt),

    sendReaction: (fromNumberId, reaction) =>
      postMessage(fromNumberId, buildMetaReactionBody(reaction), 'sending the reaction'),

    async markRead(fromNumberId, providerMessageId, markOptions) {
      const what = 'marking the message read';
      // Best effort on the way to a reply: one attempt, and a short one.
      const response = await call(
        {
          method: 'POST',
          url: messagesUrl(fromNumberId),
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify(buildMetaMarkReadBody(providerMessageId, markOptions)),
          retries: 0,
          timeoutMs: 5_000,
        },
        what,
      );
      if (response.status !== 200) throw toProviderError(response, what);
      if (!markReadResponseSchema.safeParse(parseJson(response.body)).success)
        throw new ProviderError('unknown', `${what}: unexpected response from Meta`);
    },

    async uploadMedia(fromNumberId, media): Promise<OutboundMediaRef> {
      const multipart = multipartBody(
        { messaging_product: 'whatsapp', type: media.mimeType },
        { name: 'file', filename: media.filename, mimeType: media.mimeType, bytes: media.bytes },
      );
      const response = await call(
        {
          method: 'POST',
          url: `${settings.graphUrl}/${encodeURIComponent(fromNumberId)}/media`,
          headers: { ...auth, 'content-type': multipart.contentType, 'content-length': String(multipart.length) },
          body: multipart.body,
          timeoutMs: 120_000,
        },
        'uploading media',
      );
      if (response.status !== 200) throw toProviderError(response, 'uploading media');
      const parsed = z.object({ id: z.string() }).safeParse(JSON.parse(response.body.toString('utf8')));
      if (!parsed.success) throw new ProviderError('media_error', 'Meta returned no media id for the upload');
      return { kind: 'id', id: parsed.data.id };
    },

    async downloadMedia(ref: InboundMediaRef, maxBytes: number, memory?: BudgetHold): Promise<DownloadedMedia> {
      const info = await getJson(
        `${settings.graphUrl}/${encodeURIComponent(ref.id)}`,
        mediaInfoSchema,
        'looking up media',
      );
      const size = info.file_size !== undefined ? Number(info.file_size) : null;
      if (size !== null && size > maxBytes)
        throw new ProviderError('media_error', `the file is ${size} bytes, above the ${maxBytes}-byte limit`);
      const host = new URL(info.url).hostname;
      if (host !== graphHost && !META_MEDIA_HOSTS.some((pattern) => pattern.test(host))) {
        throw new ProviderError('media_error', `refusing to download media from ${host}`);
      }
      await memory?.reserve(size ?? maxBytes);
      const response = await call(
        {
          method: 'GET',
          url: info.url,
          headers: auth,
          maxResponseBytes: maxBytes,
          timeoutMs: 120_000,
          ...reserveBeforeBody(memory, maxBytes),
        },
        'downloading media',
      );
      if (response.status !== 200) throw toProviderError(response, 'downloading media');
      return {
        bytes: response.body,
        mimeType: info.mime_type ?? response.headers['content-type'] ?? ref.mimeType ?? 'application/octet-stream',
      };
    },

    parseWebhook: (request) => parseMetaWebhook(request, settings.appSecret),
    checkSubscription: (query) => checkMetaSubscription(query, settings.verifyToken),
  };
}
