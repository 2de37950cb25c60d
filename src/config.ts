import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * Configuration comes only from the environment (plus an optional `.env` file that never
 * overrides a variable already set). Everything is validated once, here, and every problem is
 * reported together so an operator fixes them in one go.
 */

export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/**
 * Who holds a role (MARKETERS, LEADS). Unset: workspace admins and owners only. `*`: every full
 * member (guests excluded). Otherwise the listed users and members of the listed user groups.
 * Deactivated accounts and bots never hold a role.
 */
export type RoleMembers = { kind: 'admins' } | { kind: 'everyone' } | { kind: 'listed'; ids: readonly string[] };

function roleMembers(ids: readonly string[] | undefined): RoleMembers {
  if (ids === undefined) return Object.freeze({ kind: 'admins' });
  if (ids.includes('*')) return Object.freeze({ kind: 'everyone' });
  return Object.freeze({ kind: 'listed', ids: Object.freeze([...ids]) });
}

const emptyToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const optionalString = z.preprocess(emptyToUndefined, z.string().trim().optional());
const requiredString = (what: string) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string({ error: `is required: ${what}` })
      .trim()
      .min(1),
  );
const intWithDefault = (fallback: number, min: number, max: number) =>
  z.preprocess(
    emptyToUndefined,
    z.coerce
      .number({ error: 'must be a whole number' })
      .int('must be a whole number')
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`)
      .default(fallback),
  );
const url = (fallback: string) =>
  z.preprocess(emptyToUndefined, z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default(fallback));

const internationalNumber = /^\+[1-9]\d{6,14}$/;
const slackPrincipalOrEveryone = /^(\*|[US][A-Z0-9]{2,})$/;

const commaList = <T extends z.ZodType<string>>(item: T) =>
  z.preprocess(
    (value) =>
      typeof value === 'string' && value.trim() !== ''
        ? value
            .split(',')
            .map((part) => part.trim())
            .filter((part) => part !== '')
        : undefined,
    z.array(item).optional(),
  );

/** Opt-out / opt-in keywords: whole messages, matched without case or accents (see bridge/opt-outs.ts). */
const keywordList = commaList(z.string().max(100, 'keywords are at most 100 characters'));

/** What a customer writes to stop marketing messages, in the languages the bridge's customers write. */
export const DEFAULT_OPT_OUT_KEYWORDS = [
  'STOP',
  'STOPP',
  'UNSUBSCRIBE',
  'OPT OUT',
  'OPTOUT',
  'ARRÊT',
  'ARRET',
  'BAJA',
  'PARAR',
] as const;
/** What a customer writes to get marketing messages again (START, as the SMS and BSP convention). */
export const DEFAULT_OPT_IN_KEYWORDS = ['START', 'UNSTOP', 'SUBSCRIBE', 'OPT IN'] as const;

/** MARKETERS / LEADS: `*`, or Slack user (U…) and user-group (S…) ids; unset is handled in loadConfig. */
const roleList = commaList(
  z.string().regex(slackPrincipalOrEveryone, 'must be * or Slack user (U…) or user-group (S…) ids'),
).refine((ids) => ids === undefined || !ids.includes('*') || ids.length === 1, '* cannot be combined with ids');

const channelMap = z.preprocess((value) => {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  return Object.fromEntries(
    value
      .split(',')
      .map((pair) => pair.trim())
      .filter((pair) => pair !== '')
      .map((pair) => {
        const [number, channel] = pair.split('=').map((part) => part.trim());
        return [number ?? '', channel ?? ''];
      }),
  );
}, z
  .record(
    z.string().regex(internationalNumber, 'keys must be sending numbers like +15550001111'),
    z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'values must be Slack channel ids like C0123ABCD'),
  )
  .optional());

const UNSUPPORTED_DATABASE_SCHEME =
  'uses an unsupported scheme: use postgres://…, sqlite:PATH, file:PATH or a plain path';

/** Anything with a `scheme://` that is not PostgreSQL; `sqlite:`, `file:` and plain paths are SQLite. */
const isUnsupportedDatabaseUrl = (raw: string) =>
  !/^postgres(ql)?:\/\//i.test(raw) &&
  !raw.startsWith('sqlite:') &&
  !raw.startsWith('file:') &&
  /^[a-z][a-z0-9+.-]*:\/\//i.test(raw);

const environmentSchema = z.object({
  PORT: intWithDefault(3000, 0, 65535),
  DATABASE_URL: optionalString.refine(
    (value) => value === undefined || !isUnsupportedDatabaseUrl(value),
    UNSUPPORTED_DATABASE_SCHEME,
  ),
  LOG_LEVEL: z.preprocess(
    emptyToUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),

  SLACK_BOT_TOKEN: requiredString('the bot token (xoxb-…) from OAuth & Permissions').pipe(
    z.string().startsWith('xoxb-', 'must be a bot token starting with xoxb-'),
  ),
  SLACK_SIGNING_SECRET: requiredString('the signing secret from Basic Information → App Credentials'),
  SLACK_API_URL: url('https://slack.com/api/'),
  SLACK_CHANNEL_ID: requiredString('the id of the channel that receives conversation threads (C…)').pipe(
    z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a channel id like C0123ABCD'),
  ),
  SLACK_CHANNEL_BY_NUMBER: channelMap,
  SLACK_ALERTS_CHANNEL_ID: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[CG][A-Z0-9]{2,}$/, 'must be a channel id like C0123ABCD')
      .optional(),
  ),
  SLACK_APP_TOKEN: z.preprocess(
    emptyToUndefined,
    z.string().startsWith('xapp-', 'must be an app-level token starting with xapp-').optional(),
  ),
  INTERNAL_NOTE_PREFIX: z.preprocess(emptyToUndefined, z.string().default('note:')),
  SIGN_AGENT_NAME: z.preprocess(emptyToUndefined, z.enum(['true', 'false']).default('false')),
  AUTO_ASSIGN_ON_REPLY: z.preprocess(emptyToUndefined, z.enum(['true', 'false']).default('true')),
  QUIET_AFTER_MINUTES: intWithDefault(30, 1, 7 * 24 * 60),
  UNFURL_CUSTOMER_LINKS: z.preprocess(emptyToUndefined, z.enum(['true', 'false']).default('false')),

  WHATSAPP_PROVIDER: z.preprocess(
    (value) => (typeof value === 'string' ? emptyToUndefined(value.trim().toLowerCase()) : value),
    z.enum(['meta', 'engagelab', 'sandbox'], { error: 'must be "meta", "engagelab" or "sandbox"' }).default('meta'),
  ),

  META_ACCESS_TOKEN: optionalString,
  META_APP_SECRET: optionalString,
  META_VERIFY_TOKEN: optionalString,
  META_WABA_ID: optionalString,
  META_GRAPH_URL: url('https://graph.facebook.com/v23.0'),

  ENGAGELAB_DEV_KEY: optionalString,
  ENGAGELAB_DEV_SECRET: optionalString,
  ENGAGELAB_API_URL: url('https://wa.api.engagelab.cc'),
  ENGAGELAB_SENDING_NUMBERS: commaList(
    z.string().regex(internationalNumber, 'must be international numbers like +15550001111'),
  ),
  ENGAGELAB_CALLBACK_TOKEN: optionalString,

  PUBLIC_URL: z.preprocess(
    emptyToUndefined,
    z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  ),
  WHATSAPP_MAX_MPS: intWithDefault(80, 1, 1000),
  RETENTION_DAYS: intWithDefault(30, 1, 3650),
  RETENTION_CRON: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default('17 3 * * *')
      .refine((value) => /^\S+(\s+\S+){4,5}$/.test(value.trim()), 'must be a cron expression like "17 3 * * *"'),
  ),
  SQLITE_SYNCHRONOUS: z.preprocess(
    (value) => (typeof value === 'string' && value.trim() !== '' ? value.trim().toUpperCase() : undefined),
    z.enum(['NORMAL', 'FULL'], { error: 'must be NORMAL or FULL' }).default('NORMAL'),
  ),
  SLACK_CHANNEL_POST_INTERVAL_MS: intWithDefault(1000, 1, 60_000),
  WORK_LEASE_MS: intWithDefault(15_000, 2_000, 600_000),
  MEDIA_MEMORY_BUDGET_MB: intWithDefault(96, 16, 4096),
  SANDBOX_WEBHOOK_SECRET: optionalString,
  METRICS_TOKEN: z.preprocess(emptyToUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
  MARKETERS: roleList,
  LEADS: roleList,
  API_KEY_TTL_DAYS: intWithDefault(90, 1, 365),
  OPT_OUT_KEYWORDS: keywordList,
  OPT_IN_KEYWORDS: keywordList,
  OPT_OUT_BUTTON_PAYLOADS: commaList(z.string().max(256, 'payloads are at most 256 characters')),
});

/** Every variable the bridge reads (docs/operations.md and .env.example document each one). */
export const ENVIRONMENT_VARIABLES: readonly string[] = Object.keys(environmentSchema.shape);

type ProviderRequirement = { key: string; why: string };

const PROVIDER_REQUIREMENTS: Record<'meta' | 'engagelab', ProviderRequirement[]> = {
  meta: [
    {
      key: 'META_ACCESS_TOKEN',
      why: 'for WHATSAPP_PROVIDER=meta: a system-user access token with whatsapp_business_messaging',
    },
    {
      key: 'META_APP_SECRET',
      why: 'for WHATSAPP_PROVIDER=meta: App Settings → Basic → App secret (verifies webhooks)',
    },
    {
      key: 'META_VERIFY_TOKEN',
      why: 'for WHATSAPP_PROVIDER=meta: any secret string, entered again in the webhook setup',
    },
    { key: 'META_WABA_ID', why: 'for WHATSAPP_PROVIDER=meta: the WhatsApp Business Account id' },
  ],
  engagelab: [
    { key: 'ENGAGELAB_DEV_KEY', why: 'for WHATSAPP_PROVIDER=engagelab: the API key from the EngageLab console' },
    { key: 'ENGAGELAB_DEV_SECRET', why: 'for WHATSAPP_PROVIDER=engagelab: the API secret from the EngageLab console' },
    { key: 'ENGAGELAB_SENDING_NUMBERS', why: 'for WHATSAPP_PROVIDER=engagelab: your sending numbers, comma-separated' },
    {
      key: 'ENGAGELAB_CALLBACK_TOKEN',
      why: 'for WHATSAPP_PROVIDER=engagelab: a long random string; callbacks carry it as ?token=',
    },
    {
      key: 'PUBLIC_URL',
      why: 'for WHATSAPP_PROVIDER=engagelab: EngageLab fetches outgoing media from this public URL',
    },
  ],
};

/**
 * Settings required by the chosen provider. Checked on the raw environment (not inside the zod
 * schema) so they are reported together with every other problem, even when other fields fail.
 */
function providerProblems(env: Record<string, string | undefined>): string[] {
  const provider = (env.WHATSAPP_PROVIDER ?? '').trim().toLowerCase() || 'meta';
  if (provider !== 'meta' && provider !== 'engagelab') return [];
  const problems = PROVIDER_REQUIREMENTS[provider]
    .filter(({ key }) => (env[key] ?? '').trim() === '')
    .map(({ key, why }) => `${key} is required ${why}`);
  const token = env.ENGAGELAB_CALLBACK_TOKEN?.trim();
  if (provider === 'engagelab' && token && token.length < 16)
    problems.push('ENGAGELAB_CALLBACK_TOKEN must be at least 16 characters');
  return problems;
}

export type Config = Readonly<{
  port: number;
  database: DatabaseTarget;
  /** SQLite only: FULL also survives an OS crash or power loss, at an fsync per commit. */
  sqliteSynchronous: 'NORMAL' | 'FULL';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  slack: Readonly<{
    botToken: string;
    signingSecret: string;
    apiUrl: string;
    defaultChannelId: string;
    channelBySendingNumber: Readonly<Record<string, string>>;
    /** Where account health alerts go (SLACK_ALERTS_CHANNEL_ID, default the conversations channel). */
    alertsChannelId: string;
    appToken: string | undefined;
    channelPostIntervalMs: number;
  }>;
  chat: Readonly<{ internalNotePrefix: string; signAgentName: boolean; unfurlCustomerLinks: boolean }>;
  /** The team inbox: auto-assign on an agent's first reply, and when a conversation counts as quiet. */
  inbox: Readonly<{ autoAssignOnReply: boolean; quietAfterMs: number }>;
  whatsapp: Readonly<
    | { provider: 'meta'; meta: Readonly<MetaSettings> }
    | { provider: 'engagelab'; engagelab: Readonly<EngageLabSettings> }
    | { provider: 'sandbox'; sandbox: Readonly<{ webhookSecret: string | undefined }> }
  >;
  publicUrl: string | undefined;
  maxMessagesPerSecond: number;
  retentionDays: number;
  retentionCron: string;
  /** How long a claimed job or campaign recipient stays owned by a replica that stopped renewing it. */
  workLeaseMs: number;
  /** Bytes media transfers may hold in memory at once (MEDIA_MEMORY_BUDGET_MB). */
  mediaMemoryBudgetBytes: number;
  /** Bearer token for GET /metrics (API keys work too). */
  metricsToken: string | undefined;
  marketers: RoleMembers;
  leads: RoleMembers;
  /** How long a new API key stays valid. */
  apiKeyTtlMs: number;
  optOuts: Readonly<{
    optOutKeywords: readonly string[];
    optInKeywords: readonly string[];
    optOutButtonPayloads: readonly string[];
  }>;
}>;

export type MetaSettings = {
  accessToken: string;
  appSecret: string;
  verifyToken: string;
  wabaId: string;
  graphUrl: string;
};

export type EngageLabSettings = {
  devKey: string;
  devSecret: string;
  apiUrl: string;
  sendingNumbers: readonly string[];
  callbackToken: string;
};

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      `Configuration is incomplete or invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((problem) => `  - ${problem}`).join('\n') +
        '\nSet these environment variables (or put them in .env); see .env.example and docs/operations.md.',
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function parseDatabaseUrl(raw: string | undefined): DatabaseTarget {
  if (raw === undefined) return { kind: 'sqlite', path: './data/bridge.sqlite' };
  if (/^postgres(ql)?:\/\//i.test(raw)) return { kind: 'postgres', url: raw };
  if (raw.startsWith('sqlite:'))
    return { kind: 'sqlite', path: raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') };
  if (raw.startsWith('file:')) return { kind: 'sqlite', path: raw.slice('file:'.length).replace(/^\/\/(?=\/)/, '') };
  if (isUnsupportedDatabaseUrl(raw)) throw new ConfigError([`DATABASE_URL ${UNSUPPORTED_DATABASE_SCHEME}`]);
  return { kind: 'sqlite', path: raw };
}

/** The password inside a PostgreSQL DATABASE_URL (a secret to keep out of logs); '' when there is none. */
export function databasePassword(target: DatabaseTarget): string {
  if (target.kind !== 'postgres') return '';
  try {
    return decodeURIComponent(new URL(target.url).password);
  } catch {
    return '';
  }
}

/** Reads KEY=VALUE lines; ignores comments and blank lines; strips matching quotes. */
export function parseDotEnv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match?.[1] || line.trim().startsWith('#')) continue;
    let value = match[2] ?? '';
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2] ?? '';
    else value = value.replace(/\s+#.*$/, '');
    values[match[1]] = value;
  }
  return values;
}

export function readEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  dotEnvPath = '.env',
): Record<string, string | undefined> {
  const fromFile = existsSync(dotEnvPath) ? parseDotEnv(readFileSync(dotEnvPath, 'utf8')) : {};
  return { ...fromFile, ...env };
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = environmentSchema.safeParse(env);
  const requirements = providerProblems(env);
  if (!parsed.success || requirements.length > 0) {
    // Messages name the variable and the rule, never the offending value: values may be secrets.
    const problems = (parsed.success ? [] : parsed.error.issues).map(
      (issue) => `${issue.path.join('.') || 'environment'} ${issue.message}`,
    );
    throw new ConfigError([...new Set([...problems, ...requirements])]);
  }
  const e = parsed.data;
  const whatsapp: Config['whatsapp'] =
    e.WHATSAPP_PROVIDER === 'meta'
      ? {
          provider: 'meta',
          meta: Object.freeze({
            accessToken: e.META_ACCESS_TOKEN ?? '',
            appSecret: e.META_APP_SECRET ?? '',
            verifyToken: e.META_VERIFY_TOKEN ?? '',
            wabaId: e.META_WABA_ID ?? '',
            graphUrl: e.META_GRAPH_URL.replace(/\/+$/, ''),
          }),
        }
      : e.WHATSAPP_PROVIDER === 'engagelab'
        ? {
            provider: 'engagelab',
            engagelab: Object.freeze({
              devKey: e.ENGAGELAB_DEV_KEY ?? '',
              devSecret: e.ENGAGELAB_DEV_SECRET ?? '',
              apiUrl: e.ENGAGELAB_API_URL.replace(/\/+$/, ''),
              sendingNumbers: Object.freeze([...(e.ENGAGELAB_SENDING_NUMBERS ?? [])]),
              callbackToken: e.ENGAGELAB_CALLBACK_TOKEN ?? '',
            }),
          }
        : { provider: 'sandbox', sandbox: Object.freeze({ webhookSecret: e.SANDBOX_WEBHOOK_SECRET }) };
  return Object.freeze({
    port: e.PORT,
    database: parseDatabaseUrl(e.DATABASE_URL),
    sqliteSynchronous: e.SQLITE_SYNCHRONOUS,
    logLevel: e.LOG_LEVEL,
    slack: Object.freeze({
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      apiUrl: e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
      defaultChannelId: e.SLACK_CHANNEL_ID,
      channelBySendingNumber: Object.freeze({ ...(e.SLACK_CHANNEL_BY_NUMBER ?? {}) }),
      alertsChannelId: e.SLACK_ALERTS_CHANNEL_ID ?? e.SLACK_CHANNEL_ID,
      appToken: e.SLACK_APP_TOKEN,
      channelPostIntervalMs: e.SLACK_CHANNEL_POST_INTERVAL_MS,
    }),
    chat: Object.freeze({
      internalNotePrefix: e.INTERNAL_NOTE_PREFIX,
      signAgentName: e.SIGN_AGENT_NAME === 'true',
      unfurlCustomerLinks: e.UNFURL_CUSTOMER_LINKS === 'true',
    }),
    inbox: Object.freeze({
      autoAssignOnReply: e.AUTO_ASSIGN_ON_REPLY === 'true',
      quietAfterMs: e.QUIET_AFTER_MINUTES * 60_000,
    }),
    whatsapp: Object.freeze(whatsapp),
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ''),
    maxMessagesPerSecond: e.WHATSAPP_MAX_MPS,
    retentionDays: e.RETENTION_DAYS,
    retentionCron: e.RETENTION_CRON,
    workLeaseMs: e.WORK_LEASE_MS,
    mediaMemoryBudgetBytes: e.MEDIA_MEMORY_BUDGET_MB * 1024 * 1024,
    metricsToken: e.METRICS_TOKEN,
    marketers: roleMembers(e.MARKETERS),
    leads: roleMembers(e.LEADS),
    apiKeyTtlMs: e.API_KEY_TTL_DAYS * 24 * 60 * 60 * 1000,
    optOuts: Object.freeze({
      optOutKeywords: Object.freeze([...(e.OPT_OUT_KEYWORDS ?? DEFAULT_OPT_OUT_KEYWORDS)]),
      optInKeywords: Object.freeze([...(e.OPT_IN_KEYWORDS ?? DEFAULT_OPT_IN_KEYWORDS)]),
      optOutButtonPayloads: Object.freeze([...(e.OPT_OUT_BUTTON_PAYLOADS ?? [])]),
    }),
  });
}

/** Every secret in the configuration: the logger masks each wherever it appears. */
export function secretsOf(config: Config): string[] {
  const secrets = [config.slack.botToken, config.slack.signingSecret, config.slack.appToken ?? ''];
  secrets.push(config.metricsToken ?? '', databasePassword(config.database));
  if (config.whatsapp.provider === 'meta') {
    const m = config.whatsapp.meta;
    secrets.push(m.accessToken, m.appSecret, m.verifyToken);
  } else if (config.whatsapp.provider === 'engagelab') {
    const e = config.whatsapp.engagelab;
    secrets.push(e.devKey, e.devSecret, e.callbackToken);
  } else if (config.whatsapp.sandbox.webhookSecret) {
    secrets.push(config.whatsapp.sandbox.webhookSecret);
  }
  return secrets.filter((s) => s.length > 0);
}
