import type { Config } from '../config.js';
import type { HttpClient } from '../shared/http-client.js';
import { createEngageLabProvider } from './engagelab/engagelab-provider.js';
import type { MediaLinkSigner } from './media-links.js';
import { createMetaProvider } from './meta/meta-provider.js';
import { createSandboxProvider, sandboxWebhookSecret } from './sandbox/sandbox-provider.js';
import type { MediaStore, WhatsAppProvider } from './whatsapp-provider.js';

export function createProvider(options: {
  config: Config;
  http: HttpClient;
  mediaStore: MediaStore;
  mediaLinks: MediaLinkSigner;
  now: () => number;
}): WhatsAppProvider {
  const { whatsapp } = options.config;
  switch (whatsapp.provider) {
    case 'meta':
      return createMetaProvider({ settings: whatsapp.meta, http: options.http, now: options.now });
    case 'sandbox':
      return createSandboxProvider({
        webhookSecret: sandboxWebhookSecret(options.config.slack.signingSecret, whatsapp.sandbox.webhookSecret),
        mediaStore: options.mediaStore,
        mediaLinks: options.mediaLinks,
        now: options.now,
      });
    case 'engagelab':
      return createEngageLabProvider({
        settings: whatsapp.engagelab,
        http: options.http,
        mediaStore: options.mediaStore,
        mediaLinks: options.mediaLinks,
        now: options.now,
      });
  }
}
