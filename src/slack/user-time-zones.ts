import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { Logger } from '../shared/logger.js';
import { type TimeZone, UTC_ZONE } from '../shared/zoned-time.js';

/** People rarely move; a changed zone shows within the hour. */
const CACHE_MS = 60 * 60_000;

const userInfo = z.object({
  user: z
    .object({
      tz: z.string().min(1).optional(),
      tz_label: z.string().optional(),
      tz_offset: z.number().optional(),
    })
    .optional(),
});

/**
 * Each person's time zone from `users.info` (scope users:read), cached. Anything Slack does not
 * answer reads as UTC, and says so, rather than failing what the person was doing.
 */
export function createUserTimeZones(deps: { client: WebClient; now: () => number; logger: Logger }) {
  const cache = new Map<string, { zone: TimeZone; at: number }>();
  return async function timeZoneOf(userId: string): Promise<TimeZone> {
    const hit = cache.get(userId);
    if (hit && deps.now() - hit.at < CACHE_MS) return hit.zone;
    let zone = UTC_ZONE;
    try {
      const parsed = userInfo.safeParse(await deps.client.users.info({ user: userId }));
      const user = parsed.success ? parsed.data.user : undefined;
      if (user?.tz) zone = { name: user.tz, label: user.tz_label ?? user.tz, offsetSeconds: user.tz_offset ?? 0 };
    } catch (error) {
      deps.logger.warn({ userId, err: String(error) }, 'users.info failed: showing times in UTC');
      return zone; // not cached: the next view asks again
    }
    cache.set(userId, { zone, at: deps.now() });
    return zone;
  };
}
export type UserTimeZones = ReturnType<typeof createUserTimeZones>;
