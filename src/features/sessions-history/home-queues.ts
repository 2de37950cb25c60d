import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { RoleCheck } from '../../bridge/permissions.js';
import type { SlackConversationPort } from '../../bridge/ports.js';
import type { SendingNumberRecord } from '../../bridge/records.js';
import type { InboxQueueStore, QueueRow } from '../../db/stores/inbox-queue-store.js';
import type { Logger } from '../../shared/logger.js';
import { leadFigureBlocks, QUEUE_CAPS, queueBlocks } from '../../slack/views/queue-views.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** How long a lead's time zone (for "today") is kept before users.info is asked again. */
const TIME_ZONE_TTL_MS = 60 * 60 * 1000;
/** At most this many owners in the leads' "waiting by owner" line. */
const OWNERS_SHOWN = 15;

const authTestSchema = z.object({ url: z.string().url().optional() });
const userTimeZoneSchema = z.object({ user: z.object({ tz_offset: z.number().optional() }).optional() });

/** The start of the day `now` falls in, at a UTC offset in seconds (Slack's users.info `tz_offset`). */
export function startOfDay(now: number, tzOffsetSeconds: number): number {
  const local = now + tzOffsetSeconds * 1000;
  return local - (((local % DAY_MS) + DAY_MS) % DAY_MS) - tzOffsetSeconds * 1000;
}

/**
 * The queue part of a user's App Home: the lists, and for leads the team's figures. Thread links
 * are built from the workspace URL (one auth.test per process) as Slack's permalinks are
 * (`…/archives/<channel>/p<ts without the dot>`); should that fail, chat.getPermalink per row.
 */
export function createHomeQueues(deps: {
  store: InboxQueueStore;
  isLead: RoleCheck;
  client: WebClient;
  slack: Pick<SlackConversationPort, 'permalink'>;
  numbers: () => Promise<SendingNumberRecord[]>;
  now: () => number;
  logger: Logger;
}) {
  let workspaceUrl: Promise<string | null> | null = null;
  const timeZones = new Map<string, { offset: number; until: number }>();

  function archiveBase(): Promise<string | null> {
    workspaceUrl ??= deps.client.auth
      .test()
      .then((result) => {
        const url = authTestSchema.parse(result).url;
        return url ? `${url.replace(/\/+$/, '')}/archives/` : null;
      })
      .catch((error: unknown) => {
        deps.logger.warn({ err: String(error) }, 'auth.test failed: App Home links use chat.getPermalink');
        workspaceUrl = null;
        return null;
      });
    return workspaceUrl;
  }

  async function links(rows: QueueRow[]): Promise<(row: QueueRow) => string | null> {
    const base = await archiveBase();
    if (base)
      return (row) =>
        row.slack_channel_id && row.thread_ts
          ? `${base}${row.slack_channel_id}/p${row.thread_ts.replace('.', '')}`
          : null;
    const found = new Map<string, string | null>();
    await Promise.all(
      rows.map(async (row) => {
        if (row.slack_channel_id && row.thread_ts)
          found.set(row.id, await deps.slack.permalink(row.slack_channel_id, row.thread_ts));
      }),
    );
    return (row) => found.get(row.id) ?? null;
  }

  /** The lead's UTC offset (users.info), for where their "today" starts; UTC when Slack cannot say. */
  async function tzOffset(userId: string): Promise<number> {
    const hit = timeZones.get(userId);
    if (hit && hit.until > deps.now()) return hit.offset;
    const offset = await deps.client.users
      .info({ user: userId })
      .then((result) => userTimeZoneSchema.parse(result).user?.tz_offset ?? 0)
      .catch(() => 0);
    timeZones.set(userId, { offset, until: deps.now() + TIME_ZONE_TTL_MS });
    return offset;
  }

  return async function queuesFor(userId: string): Promise<{ blocks: unknown[]; lead: boolean }> {
    const now = deps.now();
    const lead = await deps.isLead(userId);
    const scope = { userId, team: lead };
    const [waiting, unassigned, mine, numbers, figures] = await Promise.all([
      deps.store.waitingOnUs(scope, QUEUE_CAPS.waiting),
      deps.store.unassigned(QUEUE_CAPS.unassigned),
      deps.store.mine(userId, QUEUE_CAPS.mine),
      deps.numbers(),
      lead
        ? (async () => {
            const todayStart = startOfDay(now, await tzOffset(userId));
            const weekStart = now - 7 * DAY_MS;
            const [[today, week], byOwner] = await Promise.all([
              deps.store.periodStats([todayStart, weekStart], now),
              deps.store.waitingByOwner(OWNERS_SHOWN),
            ]);
            if (!today || !week) throw new Error('periodStats returned fewer periods than asked');
            return { todayStart, weekStart, today, week, byOwner };
          })()
        : Promise.resolve(null),
    ]);
    const permalink = await links([...waiting.rows, ...unassigned.rows, ...mine.rows]);
    const lists = queueBlocks({ lists: { waiting, unassigned, mine }, team: lead, numbers, permalink });
    return { blocks: figures ? [...leadFigureBlocks(figures), ...lists] : lists, lead };
  };
}
export type HomeQueues = ReturnType<typeof createHomeQueues>;
