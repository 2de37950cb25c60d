import { createHmac, randomUUID } from 'node:crypto';
import type { MediaLinkSigner } from '../media-links.js';
import { checkMetaSubscription, parseMetaWebhook } from '../meta/meta-webhook.js';
import { ProviderError } from '../provider-errors.js';
import type {
  MediaStore,
  MessageTemplate,
  SendingNumber,
  StatusEvent,
  WebhookEvent,
  WhatsAppProvider,
} from '../whatsapp-provider.js';

/**
 * A simulated WhatsApp account for trying the bridge with only a Slack app: two sending numbers, a
 * few templates, sends that "deliver" and get "read" a moment later, and inbound messages sent by
 * `npm run simulate` as Meta-format webhooks signed with the sandbox secret. No external calls.
 */

export const SANDBOX_NUMBERS: SendingNumber[] = [
  {
    id: 'sandbox-support',
    phoneNumber: '+15550100001',
    displayName: 'Sandbox Support',
    health: 'connected',
    healthReason: null,
    qualityRating: 'GREEN',
  },
  {
    id: 'sandbox-sales',
    phoneNumber: '+15550100002',
    displayName: 'Sandbox Sales',
    health: 'connected',
    healthReason: null,
    qualityRating: 'GREEN',
  },
];

const template = (
  t: Partial<MessageTemplate> & Pick<MessageTemplate, 'name' | 'language' | 'body'>,
): MessageTemplate => ({
  providerTemplateId: null,
  status: 'APPROVED',
  category: 'UTILITY',
  header: { format: 'NONE', text: null },
  footer: null,
  buttons: [],
  ...t,
});

export const SANDBOX_TEMPLATES: MessageTemplate[] = [
  template({
    name: 'hello_world',
    language: 'en_US',
    body: 'Hello {{1}}, thanks for trying the WhatsApp bridge sandbox!',
  }),
  template({
    name: 'order_update',
    language: 'en_US',
    header: { format: 'TEXT', text: 'Order {{1}}' },
    body: 'Hi {{1}}, your order {{2}} has shipped.',
    footer: 'Sandbox',
    buttons: [{ index: 0, type: 'URL', text: 'Track', url: 'https://example.com/track/{{1}}' }],
  }),
  template({ name: 'order_update', language: 'pt_BR', body: 'Olá {{1}}, seu pedido {{2}} foi enviado.' }),
  template({
    name: 'spring_sale',
    language: 'en_US',
    category: 'MARKETING',
    header: { format: 'IMAGE', text: null },
    body: 'Spring sale: {{1}} off everything!',
  }),
];

/** The secret `npm run simulate` signs with: derived from the signing secret unless set. */
export function sandboxWebhookSecret(slackSigningSecret: string, explicit?: string): string {
  return explicit ?? createHmac('sha256', slackSigningSecret).update('sandbox-webhooks').digest('hex');
}

export type SandboxProvider = WhatsAppProvider & {
  /** Where simulated delivery statuses go (the same durable intake as real webhooks). */
  connect(deliver: (events: WebhookEvent[]) => Promise<void>): void;
};

export function createSandboxProvider(options: {
  webhookSecret: string;
  mediaStore: MediaStore;
  mediaLinks: MediaLinkSigner;
  now?: () => number;
  statusDelaysMs?: { sent: number; delivered: number; read: number };
}): SandboxProvider {
  const now = options.now ?? Date.now;
  const delays = options.statusDelaysMs ?? { sent: 300, delivered: 1200, read: 3000 };
  let deliver: ((events: WebhookEvent[]) => Promise<void>) | null = null;

  const schedule = (providerMessageId: string, sendingNumberId: string, to: string) => {
    for (const status of ['sent', 'delivered', 'read'] as const) {
      const timer = setTimeout(() => {
        const event: StatusEvent = {
          kind: 'status',
          providerMessageId,
          alternateIds: [],
          status,
          sendingNumberId,
          recipient: to,
          timestamp: now(),
          errors: [],
        };
        void deliver?.([event]).catch(() => {});
      }, delays[status]);
      timer.unref();
    }
  };

  return {
    name: 'sandbox',
    connect(handler) {
      deliver = handler;
    },
    async listSendingNumbers() {
      return SANDBOX_NUMBERS;
    },
    async listTemplates() {
      return SANDBOX_TEMPLATES;
    },
    async send(fromNumberId, message) {
      if (!SANDBOX_NUMBERS.some((n) => n.id === fromNumberId))
        throw new ProviderError('invalid_request', `unknown sandbox number ${fromNumberId}`);
      const id = `wamid.SANDBOX.${randomUUID()}`;
      schedule(id, fromNumberId, message.to);
      return { providerMessageId: id };
    },
    async sendReaction(fromNumberId, reaction) {
      if (!SANDBOX_NUMBERS.some((n) => n.id === fromNumberId))
        throw new ProviderError('invalid_request', `unknown sandbox number ${fromNumberId}`);
      const id = `wamid.SANDBOX.${randomUUID()}`;
      schedule(id, fromNumberId, reaction.to);
      return { providerMessageId: id };
    },
    // The simulated customer has no phone to show a read receipt or a typing indicator on.
    async markRead() {},
    async uploadMedia(_from, media) {
      const id = await options.mediaStore.save(media);
      return { kind: 'link', url: options.mediaLinks.linkFor(id) };
    },
    async downloadMedia(ref, maxBytes) {
      const match = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(ref.url ?? '');
      if (!match) throw new ProviderError('media_error', 'the simulated message carries no file data');
      const bytes = match[2] ? Buffer.from(match[3] ?? '', 'base64') : Buffer.from(decodeURIComponent(match[3] ?? ''));
      if (bytes.length > maxBytes)
        throw new ProviderError('media_error', `the file is ${bytes.length} bytes, above the limit`);
      return { bytes, mimeType: match[1] ?? ref.mimeType ?? 'application/octet-stream' };
    },
    parseWebhook: (request) => parseMetaWebhook(request, options.webhookSecret),
    checkSubscription: (query) => checkMetaSubscription(query, options.webhookSecret),
  };
}
