import { type Logger as PinoLogger, pino } from 'pino';

export type Logger = PinoLogger;

/** Keys whose values never reach a log line, at any depth pino can address. */
export const REDACTED_PATHS = [
  'token',
  'botToken',
  'appToken',
  'accessToken',
  'signingSecret',
  'appSecret',
  'verifyToken',
  'devKey',
  'devSecret',
  'callbackToken',
  'apiKey',
  'password',
  'authorization',
  '*.token',
  '*.botToken',
  '*.appToken',
  '*.accessToken',
  '*.signingSecret',
  '*.appSecret',
  '*.verifyToken',
  '*.devKey',
  '*.devSecret',
  '*.callbackToken',
  '*.apiKey',
  '*.password',
  '*.authorization',
  'headers.authorization',
  'headers["x-hub-signature-256"]',
  'headers["x-slack-signature"]',
  'req.headers.authorization',
  'config.slack.botToken',
  'config.slack.signingSecret',
];

export function createLogger(
  level: string,
  options: { destination?: NodeJS.WritableStream; secrets?: readonly string[] } = {},
): Logger {
  const secrets = (options.secrets ?? []).filter((secret) => secret.length >= 6);
  return pino(
    {
      level,
      base: { app: 'slack-whatsapp-bridge' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: {
        // Defence in depth: a secret that slipped into a free-text message is masked too.
        log(object) {
          if (secrets.length === 0) return object;
          return JSON.parse(maskSecrets(JSON.stringify(object), secrets)) as Record<string, unknown>;
        },
      },
      hooks: {
        logMethod(args, method) {
          if (secrets.length > 0) {
            for (let i = 0; i < args.length; i++) {
              const arg = args[i];
              if (typeof arg === 'string') args[i] = maskSecrets(arg, secrets);
            }
          }
          method.apply(this, args);
        },
      },
    },
    (options.destination as pino.DestinationStream | undefined) ?? pino.destination(1),
  );
}

export function maskSecrets(text: string, secrets: readonly string[]): string {
  let masked = text;
  for (const secret of secrets) {
    if (masked.includes(secret)) masked = masked.split(secret).join('[redacted]');
  }
  return masked;
}
