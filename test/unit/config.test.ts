import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { secretsOf } from '../../src/app.js';
import {
  ConfigError,
  ENVIRONMENT_VARIABLES,
  loadConfig,
  parseDatabaseUrl,
  parseDotEnv,
  readEnvironment,
} from '../../src/config.js';
import { createDatabase } from '../../src/db/create-db.js';

const repo = resolve(import.meta.dirname, '../..');

const metaEnv = {
  SLACK_BOT_TOKEN: 'xoxb-1-secret-bot-token',
  SLACK_SIGNING_SECRET: 'signing-secret-value',
  SLACK_CHANNEL_ID: 'C0123ABCD',
  META_ACCESS_TOKEN: 'EAAG-secret-access',
  META_APP_SECRET: 'meta-app-secret-value',
  META_VERIFY_TOKEN: 'verify-token-value',
  META_WABA_ID: '102290129340398',
};

const problemsOf = (env: Record<string, string | undefined>): readonly string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('configuration', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(metaEnv);
    expect(config.port).toBe(3000);
    expect(config.database).toEqual({ kind: 'sqlite', path: './data/bridge.sqlite' });
    expect(config.slack.apiUrl).toBe('https://slack.com/api/');
    expect(config.whatsapp.provider).toBe('meta');
    if (config.whatsapp.provider === 'meta')
      expect(config.whatsapp.meta.graphUrl).toBe('https://graph.facebook.com/v23.0');
    expect(config.maxMessagesPerSecond).toBe(80);
    expect(config.retentionDays).toBe(30);
    expect(config.sqliteSynchronous).toBe('NORMAL');
    // Roles are closed by default: workspace admins and owners only.
    expect(config.marketers).toEqual({ kind: 'admins' });
    expect(config.leads).toEqual({ kind: 'admins' });
    expect(config.apiKeyTtlMs).toBe(90 * 24 * 60 * 60 * 1000);
  });

  it('takes SQLITE_SYNCHRONOUS=full for power-cut durability, and refuses anything else', async () => {
    expect(loadConfig({ ...metaEnv, SQLITE_SYNCHRONOUS: 'full' }).sqliteSynchronous).toBe('FULL');
    expect(problemsOf({ ...metaEnv, SQLITE_SYNCHRONOUS: 'sometimes' })).toEqual([
      expect.stringMatching(/^SQLITE_SYNCHRONOUS.*NORMAL or FULL/),
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'sync-'));
    for (const [setting, level] of [
      ['FULL', 2],
      ['NORMAL', 1],
    ] as const) {
      const handle = createDatabase({ kind: 'sqlite', path: join(dir, `${setting}.sqlite`) }, { synchronous: setting });
      const rows = await sql<{ synchronous: number }>`pragma synchronous`.execute(handle.db);
      expect(rows.rows[0]?.synchronous).toBe(level);
      await handle.close();
    }
  });

  it('lists every missing setting at once, with what to set', () => {
    const problems = problemsOf({});
    for (const name of ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_CHANNEL_ID']) {
      expect(problems.some((p) => p.startsWith(name))).toBe(true);
    }
    expect(problems.join('\n')).toMatch(/xoxb-/);
  });

  it('requires the settings of the chosen provider', () => {
    const meta = problemsOf({ ...metaEnv, META_APP_SECRET: undefined, META_WABA_ID: '' });
    expect(meta).toEqual([
      expect.stringMatching(/^META_APP_SECRET is required/),
      expect.stringMatching(/^META_WABA_ID is required/),
    ]);
    const engagelab = problemsOf({ ...metaEnv, WHATSAPP_PROVIDER: 'engagelab' });
    expect(engagelab.map((p) => p.split(' ')[0])).toEqual(
      expect.arrayContaining([
        'ENGAGELAB_DEV_KEY',
        'ENGAGELAB_DEV_SECRET',
        'ENGAGELAB_SENDING_NUMBERS',
        'ENGAGELAB_CALLBACK_TOKEN',
        'PUBLIC_URL',
      ]),
    );
  });

  it('never prints secret values in its error message', () => {
    try {
      loadConfig({ ...metaEnv, SLACK_BOT_TOKEN: 'not-a-bot-token-SECRET123', PORT: 'abc' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toMatch(/SLACK_BOT_TOKEN must be a bot token/);
      expect(message).toMatch(/PORT must be a whole number/);
      expect(message).not.toContain('SECRET123');
    }
  });

  it('rejects malformed lists and numbers', () => {
    const problems = problemsOf({
      ...metaEnv,
      MARKETERS: 'U123ABC,bob',
      WHATSAPP_MAX_MPS: '5000',
      WHATSAPP_PROVIDER: 'twilio',
    });
    expect(problems.some((p) => p.startsWith('MARKETERS'))).toBe(true);
    expect(problems.some((p) => p.startsWith('WHATSAPP_MAX_MPS must be at most 1000'))).toBe(true);
    expect(problems.some((p) => p.startsWith('WHATSAPP_PROVIDER'))).toBe(true);
  });

  it('reads MARKETERS and LEADS as admins only (unset), everyone (*) or a list, and API_KEY_TTL_DAYS', () => {
    const config = loadConfig({ ...metaEnv, MARKETERS: ' * ', LEADS: 'U123ABC, S0LEADS', API_KEY_TTL_DAYS: '30' });
    expect(config.marketers).toEqual({ kind: 'everyone' });
    expect(config.leads).toEqual({ kind: 'listed', ids: ['U123ABC', 'S0LEADS'] });
    expect(config.apiKeyTtlMs).toBe(30 * 24 * 60 * 60 * 1000);
    expect(loadConfig({ ...metaEnv, MARKETERS: '  ' }).marketers).toEqual({ kind: 'admins' });
    expect(problemsOf({ ...metaEnv, MARKETERS: '*,U123ABC', API_KEY_TTL_DAYS: '0' })).toEqual([
      'MARKETERS * cannot be combined with ids',
      'API_KEY_TTL_DAYS must be at least 1',
    ]);
    expect(problemsOf({ ...metaEnv, API_KEY_TTL_DAYS: '366' })).toEqual(['API_KEY_TTL_DAYS must be at most 365']);
  });

  it('sizes the media memory budget from MEDIA_MEMORY_BUDGET_MB (96 MB unless set), within 16–4096', () => {
    expect(loadConfig(metaEnv).mediaMemoryBudgetBytes).toBe(96 * 1024 * 1024);
    expect(loadConfig({ ...metaEnv, MEDIA_MEMORY_BUDGET_MB: '256' }).mediaMemoryBudgetBytes).toBe(256 * 1024 * 1024);
    for (const value of ['0', '15', '4097', '1.5', 'lots'])
      expect(
        problemsOf({ ...metaEnv, MEDIA_MEMORY_BUDGET_MB: value }).some((p) => p.startsWith('MEDIA_MEMORY_BUDGET_MB')),
        value,
      ).toBe(true);
  });

  it('parses every DATABASE_URL form', () => {
    expect(parseDatabaseUrl(undefined)).toEqual({ kind: 'sqlite', path: './data/bridge.sqlite' });
    expect(parseDatabaseUrl('sqlite:/var/lib/bridge.db')).toEqual({ kind: 'sqlite', path: '/var/lib/bridge.db' });
    expect(parseDatabaseUrl('file:./x.db')).toEqual({ kind: 'sqlite', path: './x.db' });
    expect(parseDatabaseUrl('./plain.sqlite')).toEqual({ kind: 'sqlite', path: './plain.sqlite' });
    expect(parseDatabaseUrl('postgres://u@h/db')).toEqual({ kind: 'postgres', url: 'postgres://u@h/db' });
    expect(parseDatabaseUrl('postgresql://u@h/db')).toEqual({ kind: 'postgres', url: 'postgresql://u@h/db' });
  });

  it('lists an unsupported DATABASE_URL scheme together with every other problem', () => {
    const problems = problemsOf({ ...metaEnv, DATABASE_URL: 'mysql://root@db/bridge', PORT: 'abc', META_WABA_ID: '' });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^DATABASE_URL uses an unsupported scheme: use postgres:\/\/…/),
        expect.stringMatching(/^PORT must be a whole number/),
        expect.stringMatching(/^META_WABA_ID is required/),
      ]),
    );
    expect(problems.join('\n')).not.toContain('root@db');
    expect(() => parseDatabaseUrl('mysql://root@db/bridge')).toThrow(ConfigError);
  });

  it('reads .env from the working directory, and the real environment wins over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-dotenv-'));
    const path = join(dir, '.env');
    writeFileSync(path, 'SLACK_CHANNEL_ID=C0FROMFILE\nPORT=4000\n# comment\nLOG_LEVEL="debug"\n');
    const env = readEnvironment({ ...metaEnv, SLACK_CHANNEL_ID: 'C0FROMENV' }, path);
    expect(env.SLACK_CHANNEL_ID).toBe('C0FROMENV');
    expect(env.PORT).toBe('4000');
    const config = loadConfig(env);
    expect(config.slack.defaultChannelId).toBe('C0FROMENV');
    expect(config.port).toBe(4000);
    expect(config.logLevel).toBe('debug');
    // No .env file: only the environment.
    expect(readEnvironment({ PORT: '1' }, join(dir, 'missing.env'))).toEqual({ PORT: '1' });
  });

  it('documents every variable in docs/operations.md and .env.example', () => {
    const readme = readFileSync(join(repo, 'docs', 'operations.md'), 'utf8');
    const example = readFileSync(join(repo, '.env.example'), 'utf8');
    const undocumented = ENVIRONMENT_VARIABLES.filter(
      (name) => !readme.includes(`\`${name}\``) || !new RegExp(`^${name}=`, 'm').test(example),
    );
    expect(ENVIRONMENT_VARIABLES.length).toBeGreaterThan(30);
    expect(undocumented).toEqual([]);
    expect(readme).toMatch(/\| `WHATSAPP_PROVIDER` .*`sandbox`/);
  });

  it('masks every configured secret in logs, the metrics token and a database password included', () => {
    const meta = loadConfig({
      ...metaEnv,
      METRICS_TOKEN: 'metrics-token-0123456789',
      DATABASE_URL: 'postgres://bridge:db%2Fpassword-123@db:5432/bridge',
    });
    expect(secretsOf(meta)).toEqual(
      expect.arrayContaining([
        'xoxb-1-secret-bot-token',
        'signing-secret-value',
        'EAAG-secret-access',
        'meta-app-secret-value',
        'verify-token-value',
        'metrics-token-0123456789',
        'db/password-123',
      ]),
    );
    const engagelab = loadConfig({
      ...metaEnv,
      WHATSAPP_PROVIDER: 'engagelab',
      ENGAGELAB_DEV_KEY: 'el-dev-key-000',
      ENGAGELAB_DEV_SECRET: 'el-dev-secret-000',
      ENGAGELAB_SENDING_NUMBERS: '+15550001111',
      ENGAGELAB_CALLBACK_TOKEN: 'el-callback-token-0123456789',
      PUBLIC_URL: 'https://bridge.example.com',
      SLACK_APP_TOKEN: 'xapp-1-app-token-000',
    });
    expect(secretsOf(engagelab)).toEqual(
      expect.arrayContaining([
        'el-dev-key-000',
        'el-dev-secret-000',
        'el-callback-token-0123456789',
        'xapp-1-app-token-000',
      ]),
    );
    const sandbox = loadConfig({
      ...metaEnv,
      WHATSAPP_PROVIDER: 'sandbox',
      SANDBOX_WEBHOOK_SECRET: 'sandbox-secret-0',
    });
    expect(secretsOf(sandbox)).toContain('sandbox-secret-0');
  });

  it('reads .env syntax with quotes, comments and export', () => {
    expect(parseDotEnv('# c\nexport A=1\nB="two words"\nC=\'x=y\'\n\nD=')).toEqual({
      A: '1',
      B: 'two words',
      C: 'x=y',
      D: '',
    });
  });
});
