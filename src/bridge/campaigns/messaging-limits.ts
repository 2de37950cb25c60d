/**
 * WhatsApp's messaging limits: how many different customers an account may reach with
 * business-initiated messages (templates outside a customer service window) in a rolling 24 hours.
 * Meta reports it as a tier per phone number (`messaging_limit_tier`); since October 2025 the limit
 * is set for the whole business portfolio and shared by its numbers, so the bridge counts what all
 * its sending numbers used against the tier of the number a campaign sends from.
 */

export const ALLOWANCE_WINDOW_MS = 24 * 60 * 60 * 1000;

/** A number's tier as the bridge reads it: a daily limit, unlimited, or unknown (never blocks). */
export type MessagingTier =
  | { kind: 'limited'; tier: string; perDay: number }
  | { kind: 'unlimited'; tier: string }
  | { kind: 'unknown'; tier: string | null };

const LIMITS: Record<string, number> = {
  TIER_50: 50,
  TIER_250: 250,
  TIER_1K: 1_000,
  TIER_2K: 2_000,
  TIER_10K: 10_000,
  TIER_100K: 100_000,
};

/** The tier the provider reported; anything it did not report, or a value the bridge does not know, is unknown. */
export function messagingTier(reported: string | null | undefined): MessagingTier {
  const tier = reported?.trim().toUpperCase() ?? null;
  if (!tier) return { kind: 'unknown', tier: null };
  if (tier === 'TIER_UNLIMITED') return { kind: 'unlimited', tier };
  const perDay = LIMITS[tier];
  return perDay === undefined ? { kind: 'unknown', tier } : { kind: 'limited', tier, perDay };
}

const count = (n: number) => n.toLocaleString('en-US');

/** "1,000 new customers a day", for people. */
export function describeTier(tier: MessagingTier): string {
  if (tier.kind === 'limited') return `${count(tier.perDay)} new customers a day`;
  if (tier.kind === 'unlimited') return 'unlimited';
  return 'unknown';
}

/** Short, for the number picker: "1K/day", "unlimited", "limit unknown". */
export function shortTier(tier: MessagingTier): string {
  if (tier.kind === 'limited')
    return `${tier.perDay >= 1000 ? `${tier.perDay / 1000}K` : String(tier.perDay)}/day limit`;
  if (tier.kind === 'unlimited') return 'no daily limit';
  return 'limit unknown';
}

/** Meta's quality rating in words (GREEN, YELLOW, RED; anything else is not rated yet). */
export function describeQuality(rating: string | null | undefined): string {
  switch (rating?.toUpperCase()) {
    case 'GREEN':
      return 'quality high';
    case 'YELLOW':
      return 'quality medium';
    case 'RED':
      return 'quality low';
    default:
      return 'quality unknown';
  }
}

/** How a campaign fits the allowance left, worked out when it is confirmed. */
export type AllowanceCheck = {
  tier: MessagingTier;
  qualityRating: string | null;
  /** Recipients not reached by a business-initiated message in the last 24 hours (they count). */
  newRecipients: number;
  /** Recipients already reached in the last 24 hours: they do not count again. */
  alreadyReached: number;
  /** Customers the account may still reach now (null: not limited or unknown). */
  remaining: number | null;
  /** Whether everything can go out now. */
  fits: boolean;
  /** When it does not fit: the days (beyond today) the rest needs at best. */
  extraDays: number;
};

export function checkAllowance(input: {
  tier: MessagingTier;
  qualityRating: string | null;
  recipients: number;
  newRecipients: number;
  used: number;
}): AllowanceCheck {
  const { tier, newRecipients } = input;
  const alreadyReached = Math.max(0, input.recipients - newRecipients);
  if (tier.kind !== 'limited')
    return {
      tier,
      qualityRating: input.qualityRating,
      newRecipients,
      alreadyReached,
      remaining: null,
      fits: true,
      extraDays: 0,
    };
  const remaining = Math.max(0, tier.perDay - input.used);
  const rest = Math.max(0, newRecipients - remaining);
  return {
    tier,
    qualityRating: input.qualityRating,
    newRecipients,
    alreadyReached,
    remaining,
    fits: rest === 0,
    extraDays: Math.ceil(rest / tier.perDay),
  };
}

/** Where a limited campaign stands once nothing more can be claimed: waiting until then, or not. */
export interface MessagingAllowance {
  /** When the allowance next frees up for this waiting campaign (null: it is not waiting). */
  waitingUntil(campaignId: string, now: number): Promise<number | null>;
}
