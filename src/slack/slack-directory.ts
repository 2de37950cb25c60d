import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { RoleDirectory, SlackAccount } from '../bridge/permissions.js';
import { describeSlackError } from './slack-errors.js';

/** The users.info fields roles depend on. Slack always sends `deleted`; the flags may be absent (false). */
const userSchema = z.object({
  id: z.string(),
  deleted: z.boolean(),
  is_bot: z.boolean().optional(),
  is_admin: z.boolean().optional(),
  is_owner: z.boolean().optional(),
  is_primary_owner: z.boolean().optional(),
  is_restricted: z.boolean().optional(),
  is_ultra_restricted: z.boolean().optional(),
  team_id: z.string().optional(),
});
const groupSchema = z.array(z.string());

type Entry<T> = { value: T; until: number };

/**
 * users.info and usergroups.users.list for role checks, each answer kept for `ttlMs` so a burst of
 * clicks (or of API requests under one key) asks Slack once. Failures are not kept: the next check
 * asks again. Calls go straight to the client (no waiting out a 429): a check that cannot be
 * answered now is refused now, inside Slack's 3-second window.
 */
export function createSlackDirectory(deps: { client: WebClient; ttlMs: number; now: () => number }): RoleDirectory {
  const accounts = new Map<string, Entry<SlackAccount | null>>();
  const groups = new Map<string, Entry<readonly string[]>>();
  const inFlight = new Map<string, Promise<unknown>>();

  async function cached<T>(cache: Map<string, Entry<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const hit = cache.get(key);
    if (hit && hit.until > deps.now()) return hit.value;
    const pending = inFlight.get(key) as Promise<T> | undefined;
    if (pending) return pending;
    const loading = load()
      .then((value) => {
        cache.set(key, { value, until: deps.now() + deps.ttlMs });
        return value;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, loading);
    return loading;
  }

  return {
    account(userId) {
      return cached(accounts, `user:${userId}`, async () => {
        let result: Awaited<ReturnType<WebClient['users']['info']>>;
        try {
          result = await deps.client.users.info({ user: userId });
        } catch (error) {
          const info = describeSlackError(error);
          if (info.kind === 'platform' && info.error === 'user_not_found') return null;
          throw error;
        }
        const user = userSchema.parse(result.user);
        return {
          deleted: user.deleted,
          isBot: user.is_bot === true,
          isAdmin: user.is_admin === true || user.is_owner === true || user.is_primary_owner === true,
          isGuest: user.is_restricted === true || user.is_ultra_restricted === true,
          teamId: user.team_id ?? null,
        };
      });
    },
    groupMembers(groupId) {
      return cached(groups, `group:${groupId}`, async () => {
        const result = await deps.client.usergroups.users.list({ usergroup: groupId });
        return groupSchema.parse(result.users ?? []);
      });
    },
  };
}
