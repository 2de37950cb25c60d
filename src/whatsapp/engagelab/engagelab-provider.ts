import { z } from 'zod';
import type { EngageLabSettings } from '../../config.js';
import { type HttpClient, HttpError, type HttpRequest, type HttpResponse } from '../../shared/http-client.js';
import type { MediaLinkSigner } from '../media-links.js';
import { mediaObject, templateComponents } from '../message-objects.js';
import { normalizeTemplate, templateComponentSchema } from '../meta/meta-provider.js';
import { ProviderError, type ProviderErrorCode } from '../provider-errors.js';
import type {
  MediaStore,
  MessageTemplate,
  OutboundMediaRef,
  OutboundMessage,
  SendingNumber,
  WhatsAppProvider,
} from '../whatsapp-provider.js';
import { parseEngageLabWebhook } from './engagelab-webhook.js';

/**
 * EngageLab WhatsApp API adapter (../shared/docs/whatsapp.md §2): `POST /v1/messages` with HTTP
 * Basic dev key/secret, media by public link only, `GET /v1/templates` (a bare array), callbacks
 * authenticated by the secret `?token=` in the callback URL (EngageLab signs nothing).
 */

/** Error envelope `{ code, message }` (whatsapp.md §2.4). */
const errorSchema = z.object({ code: z.coerce.number(), message: z.string().optional() });
/** Success `{ message_id, request_id }` (whatsapp.md §2.3). */
const sendResponseSchema = z.object({ message_id: z.union([z.string().min(1), z.number()]) });
const templateListSchema = z.array(
  z.object({
    id: z.union([z.string(), z.number()]).optional(),
    name: z.string(),
    language: z.string(),
    status: z.string(),
    category: z.string().optional(),
    // Meta's template components, passed through (examples included).
    components: z.array(templateComponentSchema).default([]),
  }),
);

/** The 24-hour rule surfaces as 3003 "business validation failed" with a message that says so (UNCERTAIN in the doc). */
const WINDOW_CLOSED_MESSAGE = /24[ -]?h|24[ -]?hour|window|session (has )?(expired|closed)|re-?engagement|131047/i;

/** EngageLab error code (§2.4) + HTTP status → our code. `code` is null when the body had no envelope. */
export function classifyEngageLabError(code: number | null, httpStatus: number, message = ''): ProviderErrorCode {
  if (httpStatus === 429) return 'rate_limited';
  if (code === 1000 || httpStatus >= 500) return 'unavailable';
  if (code === 2001 || code === 2002 || code === 2003) return 'auth_failed';
  if (code === 2004) return 'permission_denied';
  if (code === 3003 && WINDOW_CLOSED_MESSAGE.test(message)) return 'window_closed';
  if (code !== null && code >= 3001 && code <= 3003) return 'invalid_request';
  if (code === 4001 || code === 5002) return 'template_error';
  if (code === null) {
    if (httpStatus === 401) return 'auth_failed';
    if (httpStatus === 403) return 'permission_denied';
    if (httpStatus === 400 || httpStatus === 404 || httpStatus === 422) return 'invalid_request';
  }
  return 'unknown';
}

const link = (ref: OutboundMediaRef): Record<string, string> => {
  if (ref.kind !== 'link')
    throw new ProviderError(
      'invalid_request',
      'EngageLab sends media by public link only; upload the file with uploadMedia to get a link',
    );
  return { link: ref.url };
};

/** `POST /v1/messages` body: one recipient per request, `language` a plain string (EngageLab differs from Meta here). */
export function buildEngageLabBody(
  from: string,
  message: OutboundMessage,
  requestId: string | undefined,
): Record<string, unknown> {
  let body: Record<string, unknown>;
  switch (message.type) {
    case 'text':
      body = { type: 'text', text: { body: message.text } };
      break;
    case 'media':
      body = {
        type: message.mediaKind,
        [message.mediaKind]: mediaObject(message.mediaKind, message.media, message, link),
      };
      break;
    case 'template': {
      const components = templateComponents(message.template.parameters, link);
      body = {
        type: 'template',
        template: {
          name: message.template.name,
          language: message.template.language,
          ...(components.length ? { components } : {}),
        },
      };
      break;
    }
  }
  return {
    from,
    to: [message.to.replace(/^\+/, '')],
    body,
    ...(requestId ? { request_id: requestId, custom_args: { bridge_ref: requestId } } : {}),
  };
}

/** Errors raised before any byte reached EngageLab: repeating the request can't send twice. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

export function createEngageLabProvider(options: {
  settings: EngageLabSettings;
  http: HttpClient;
  mediaStore: MediaStore;
  mediaLinks: MediaLinkSigner;
  now?: () => number;
}): WhatsAppProvider {
  const { settings, http } = options;
  const now = options.now ?? Date.now;
  const apiUrl = settings.apiUrl.replace(/\/+$/, '');
  const authorization = `Basic ${Buffer.from(`${settings.devKey}:${settings.devSecret}`).toString('base64')}`;

  function toProviderError(response: HttpResponse, what: string): ProviderError {
    const envelope = errorSchema.safeParse(parseJson(response.body));
    const parsed = envelope.success ? envelope.data : null;
    const code = classifyEngageLabError(parsed?.code ?? null, response.status, parsed?.message ?? '');
    const reason = parsed ? `EngageLab ${parsed.code}${parsed.message ? `: ${parsed.message}` : ''}` : null;
    return new ProviderError(code, `${what} failed: HTTP ${response.status}${reason ? ` (${reason})` : ''}`, {
      providerCode: parsed?.code ?? null,
      httpStatus: response.status,
      retryAfterMs: response.retryAfterMs,
    });
  }

  async function call(request: HttpRequest, what: string, sending: boolean): Promise<HttpResponse> {
    try {
      return await http.request(request);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      const cause = (error.cause as { code?: string } | undefined)?.code;
      // A timeout or a dropped connection may come after EngageLab accepted the message; a body too
      // large to read means it answered. Only failures to connect at all are certainly unsent.
      const mayHaveBeenSent = sending && !(error.kind === 'network' && cause !== undefined && NOT_CONNECTED.has(cause));
      throw new ProviderError('unavailable', `${what} failed: ${error.message}`, { mayHaveBeenSent });
    }
  }

  return {
    name: 'engagelab',

    async listSendingNumbers(): Promise<SendingNumber[]> {
      // EngageLab documents no number listing or health API (§2.7): the configured list is the truth.
      return settings.sendingNumbers.map((number) => ({
        id: number,
        phoneNumber: number,
        displayName: null,
        health: 'connected',
        healthReason: 'configured in ENGAGELAB_SENDING_NUMBERS (EngageLab offers no number health API)',
        qualityRating: null,
      }));
    },

    async listTemplates(): Promise<MessageTemplate[]> {
      const what = 'listing EngageLab templates';
      const response = await call(
        { method: 'GET', url: `${apiUrl}/v1/templates`, headers: { authorization, accept: 'application/json' } },
        what,
        false,
      );
      if (response.status < 200 || response.status >= 300) throw toProviderError(response, what);
      const parsed = templateListSchema.safeParse(parseJson(response.body));
      if (!parsed.success)
        throw new ProviderError('unknown', `${what}: EngageLab answered something other than a template array`, {
          httpStatus: response.status,
        });
      return parsed.data.map((raw) =>
        normalizeTemplate({ ...raw, id: raw.id === undefined ? undefined : String(raw.id) }),
      );
    },

    async send(fromNumberId, message, sendOptions) {
      const what = 'sending the message through EngageLab';
      // Built before the request so a refused media id never reaches the network.
      const body = JSON.stringify(buildEngageLabBody(fromNumberId, message, sendOptions?.correlationId));
      const response = await call(
        {
          method: 'POST',
          url: `${apiUrl}/v1/messages`,
          headers: { authorization, 'content-type': 'application/json', accept: 'application/json' },
          body,
          ...(sendOptions?.singleAttempt ? { retries: 0 } : {}),
        },
        what,
        true,
      );
      if (response.status < 200 || response.status >= 300) throw toProviderError(response, what);
      const json = parseJson(response.body);
      const parsed = sendResponseSchema.safeParse(json);
      if (parsed.success) return { providerMessageId: String(parsed.data.message_id) };
      // A 200 carrying an error envelope instead of a message id is still a refusal.
      const envelope = errorSchema.safeParse(json);
      if (envelope.success && envelope.data.code !== 0) throw toProviderError(response, what);
      throw new ProviderError('unknown', `${what}: EngageLab answered ${response.status} without a message_id`, {
        httpStatus: response.status,
        mayHaveBeenSent: true,
      });
    },

    async sendReaction() {
      throw new ProviderError(
        'unsupported',
        'EngageLab documents no way to send a reaction, so reactions made in Slack are not sent to WhatsApp through it.',
      );
    },

    // EngageLab documents no read receipts or typing indicator: the customer sees only the reply.
    async markRead() {},

    async uploadMedia(_fromNumberId, media) {
      // EngageLab fetches media by URL: keep the bytes here and hand out an expiring signed link.
      const id = await options.mediaStore.save(media);
      return { kind: 'link', url: options.mediaLinks.linkFor(id) };
    },

    async downloadMedia() {
      throw new ProviderError(
        'media_download_unsupported',
        'EngageLab documents no API to download files a contact sends, so this file could not be fetched. ' +
          'Ask the contact to send it again as a link, or open it in the EngageLab console.',
      );
    },

    parseWebhook: (request) => parseEngageLabWebhook(request, settings, now),
    checkSubscription: () => ({ ok: false }),
  };
}
