import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { readEnvironment } from '../config.js';
import { SANDBOX_NUMBERS, sandboxWebhookSecret } from '../whatsapp/sandbox/sandbox-provider.js';

/**
 * `npm run simulate -- <number> "<text>" [--image file] [--file file] [--name "Ana"] [--to +15550100001]`
 * sends a signed inbound webhook to a bridge running with WHATSAPP_PROVIDER=sandbox, as if a
 * customer had written on WhatsApp.
 */

const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.pdf': 'application/pdf',
  '.mp4': 'video/mp4',
  '.ogg': 'audio/ogg',
  '.txt': 'text/plain',
};

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      image: { type: 'string' },
      file: { type: 'string' },
      name: { type: 'string' },
      to: { type: 'string' },
      url: { type: 'string' },
    },
  });
  const [from, text = ''] = positionals;
  if (!from || (!text && !values.image && !values.file)) {
    process.stderr.write(
      'usage: npm run simulate -- <customer number> "<text>" [--image path] [--file path] [--name "Ana"] [--to <sandbox number>]\n',
    );
    process.exit(2);
  }
  const env = readEnvironment(process.env, '.env');
  const signingSecret = env.SLACK_SIGNING_SECRET;
  if (!signingSecret) throw new Error('SLACK_SIGNING_SECRET is not set (the sandbox secret is derived from it)');
  const secret = sandboxWebhookSecret(signingSecret, env.SANDBOX_WEBHOOK_SECRET || undefined);
  const business =
    SANDBOX_NUMBERS.find((n) => n.phoneNumber === (values.to ?? SANDBOX_NUMBERS[0]?.phoneNumber)) ?? SANDBOX_NUMBERS[0];
  const waId = from.replace(/[^\d]/g, '');
  const media = (path: string, kind: 'image' | 'document') => {
    const bytes = readFileSync(path);
    const mime = MIME[extname(path).toLowerCase()] ?? 'application/octet-stream';
    return {
      id: `sim-${randomUUID()}`,
      mime_type: mime,
      sha256: 'simulated',
      url: `data:${mime};base64,${bytes.toString('base64')}`,
      ...(text ? { caption: text } : {}),
      ...(kind === 'document' ? { filename: basename(path) } : {}),
    };
  };
  const message = values.image
    ? { type: 'image', image: media(values.image, 'image') }
    : values.file
      ? { type: 'document', document: media(values.file, 'document') }
      : { type: 'text', text: { body: text } };
  const body = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'sandbox',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: business?.phoneNumber.slice(1), phone_number_id: business?.id },
              contacts: [{ profile: { name: values.name ?? 'Sandbox Customer' }, wa_id: waId }],
              messages: [
                {
                  from: waId,
                  id: `wamid.SIM.${randomUUID()}`,
                  timestamp: String(Math.floor(Date.now() / 1000)),
                  ...message,
                },
              ],
            },
          },
        ],
      },
    ],
  });
  const url = values.url ?? `http://localhost:${env.PORT ?? '3000'}/webhooks/whatsapp`;
  const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
    body,
  });
  process.stdout.write(`${response.status} ${await response.text()}\n`);
  if (!response.ok) process.exit(1);
}

main().catch((error: unknown) => {
  process.stderr.write(`simulate failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
