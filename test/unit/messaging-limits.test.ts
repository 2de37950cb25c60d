import { describe, expect, it } from 'vitest';
import {
  checkAllowance,
  describeQuality,
  messagingTier,
  shortTier,
} from '../../src/bridge/campaigns/messaging-limits.js';

describe('bridge/campaigns/messaging-limits', () => {
  it('reads Meta’s tiers, and treats anything else as unknown', () => {
    expect(messagingTier('TIER_250')).toEqual({ kind: 'limited', tier: 'TIER_250', perDay: 250 });
    expect(messagingTier('TIER_2K')).toEqual({ kind: 'limited', tier: 'TIER_2K', perDay: 2_000 });
    expect(messagingTier('TIER_UNLIMITED')).toEqual({ kind: 'unlimited', tier: 'TIER_UNLIMITED' });
    for (const reported of [null, undefined, '', '  '])
      expect(messagingTier(reported)).toEqual({ kind: 'unknown', tier: null });
    expect(messagingTier('TIER_3M')).toEqual({ kind: 'unknown', tier: 'TIER_3M' });
    expect(shortTier(messagingTier('TIER_10K'))).toBe('10K/day limit');
    expect(shortTier(messagingTier(null))).toBe('limit unknown');
    expect(describeQuality('RED')).toBe('quality low');
    expect(describeQuality('NA')).toBe('quality unknown');
  });

  it('counts only new customers against what is left, and never blocks when the tier is unknown', () => {
    const limited = messagingTier('TIER_1K');
    expect(
      checkAllowance({ tier: limited, qualityRating: 'GREEN', recipients: 1500, newRecipients: 1400, used: 300 }),
    ).toEqual({
      tier: limited,
      qualityRating: 'GREEN',
      newRecipients: 1400,
      alreadyReached: 100,
      remaining: 700,
      fits: false,
      extraDays: 1,
    });
    expect(
      checkAllowance({ tier: limited, qualityRating: null, recipients: 900, newRecipients: 700, used: 300 }).fits,
    ).toBe(true);
    expect(
      checkAllowance({ tier: limited, qualityRating: null, recipients: 10, newRecipients: 10, used: 1200 }),
    ).toMatchObject({
      remaining: 0,
      fits: false,
      extraDays: 1,
    });
    const unknown = checkAllowance({
      tier: messagingTier(null),
      qualityRating: null,
      recipients: 1e6,
      newRecipients: 1e6,
      used: 0,
    });
    expect(unknown).toMatchObject({ fits: true, remaining: null });
  });
});
