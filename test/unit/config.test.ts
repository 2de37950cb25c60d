import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDatabaseUrl, parseDotEnv } from '../../src/config.js';

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
    expect(config.marketers).toBeUndefined();
    expect(config.leads).toBeUndefined();
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

  it('parses every DATABASE_URL form', () => {
    expect(parseDatabaseUrl(undefined)).toEqual({ kind: 'sqlite', path: './data/bridge.sqlite' });
    expect(parseDatabaseUrl('sqlite:/var/lib/bridge.db')).toEqual({ kind: 'sqlite', path: '/var/lib/bridge.db' });
    expect(parseDatabaseUrl('file:./x.db')).toEqual({ kind: 'sqlite', path: './x.db' });
    expect(parseDatabaseUrl('./plain.sqlite')).toEqual({ kind: 'sqlite', path: './plain.sqlite' });
    expect(parseDatabaseUrl('postgres://u@h/db')).toEqual({ kind: 'postgres', url: 'postgres://u@h/db' });
    expect(parseDatabaseUrl('postgresql://u@h/db')).toEqual({ kind: 'postgres', url: 'postgresql://u@h/db' });
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
