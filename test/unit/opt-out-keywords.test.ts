import { describe, expect, it } from 'vitest';
import { consentSignal, foldKeyword, isMarketingCategory } from '../../src/bridge/opt-outs.js';
import { DEFAULT_OPT_IN_KEYWORDS, DEFAULT_OPT_OUT_KEYWORDS, loadConfig } from '../../src/config.js';

const settings = {
  optOutKeywords: DEFAULT_OPT_OUT_KEYWORDS,
  optInKeywords: DEFAULT_OPT_IN_KEYWORDS,
  optOutButtonPayloads: ['STOP_PROMOS'],
};
const text = (body: string) => consentSignal({ type: 'text', text: body }, settings);

describe('bridge/opt-outs', () => {
  it.each([
    'STOP',
    'stop',
    ' Stop! ',
    'stop.',
    'ARRÊT',
    'arret',
    'Arrêt',
    'BAJA',
    'Parar',
    'STOPP',
    'unsubscribe',
    'opt-out',
    'Opt out',
    '🛑 STOP 🛑',
  ])('takes %j as an opt-out', (body) => {
    expect(text(body)).toMatchObject({ optedOut: true, reason: 'keyword' });
  });

  it.each(['please stop calling', 'stop it', 'stopping', 'STOP STOP', 'non-stop', '', '!!!', 'baja california'])(
    'does not take %j as an opt-out',
    (body) => {
      expect(text(body)).toBeNull();
    },
  );

  it.each(['START', 'start', 'Unstop', 'subscribe', 'opt in'])('takes %j as an opt-in', (body) => {
    expect(text(body)).toMatchObject({ optedOut: false, reason: 'opt_in_keyword' });
  });

  it('takes a configured button payload, whatever its text, and only that payload', () => {
    expect(
      consentSignal({ type: 'reply', text: 'No more offers', payload: 'STOP_PROMOS', description: null }, settings),
    ).toEqual({
      optedOut: true,
      reason: 'button',
      detail: 'STOP_PROMOS',
    });
    expect(
      consentSignal({ type: 'reply', text: 'Tell me more', payload: 'MORE', description: null }, settings),
    ).toBeNull();
  });

  it('folds case, accents, surrounding punctuation and inner separators', () => {
    expect(foldKeyword('  arrêt !')).toBe('ARRET');
    expect(foldKeyword('Opt_out')).toBe('OPT OUT');
  });

  it('holds back MARKETING and unknown categories, not UTILITY or AUTHENTICATION', () => {
    expect(isMarketingCategory('MARKETING')).toBe(true);
    expect(isMarketingCategory(null)).toBe(true);
    expect(isMarketingCategory('utility')).toBe(false);
    expect(isMarketingCategory('AUTHENTICATION')).toBe(false);
  });

  it('reads OPT_OUT_KEYWORDS, OPT_IN_KEYWORDS and OPT_OUT_BUTTON_PAYLOADS, with the defaults when unset', () => {
    const base = {
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 's',
      SLACK_CHANNEL_ID: 'C0123',
      WHATSAPP_PROVIDER: 'sandbox',
    };
    expect(loadConfig(base).optOuts.optOutKeywords).toContain('ARRÊT');
    const custom = loadConfig({
      ...base,
      OPT_OUT_KEYWORDS: 'HALT, Schluss',
      OPT_IN_KEYWORDS: 'GO',
      OPT_OUT_BUTTON_PAYLOADS: 'P1,P2',
    });
    expect(custom.optOuts).toEqual({
      optOutKeywords: ['HALT', 'Schluss'],
      optInKeywords: ['GO'],
      optOutButtonPayloads: ['P1', 'P2'],
    });
  });
});
