import type { WebClient } from '@slack/web-api';
import type { Logger } from '../shared/logger.js';
import { describeSlackError } from './slack-errors.js';

/**
 * Every Slack call that writes into a channel goes through here. Calls for one channel run one at
 * a time, in the order they were made, paced to Slack's ~1 message per second per channel (with a
 * short burst); a 429 pauses that channel for Retry-After and then repeats the same call, so
 * nothing is dropped or reordered. Durability is the caller's job: callers run inside a stored job
 * that stays claimed until the call settles.
 */
export type SlackGateway = {
  inChannel<T>(channelId: string, call: (client: WebClient) => Promise<T>): Promise<T>;
  /** Calls not tied to a channel (users.info, views.*): still retried on 429. */
  direct<T>(call: (client: WebClient) => Promise<T>): Promise<T>;
  readonly client: WebClient;
};

export type SlackGatewayOptions = {
  client: WebClient;
  logger: Logger;
  perChannelIntervalMs?: number;
  burst?: number;
  /** Give up (and let the job retry later) once a single call has waited this long on 429s. */
  maxRateLimitWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  onRateLimited?: (channelId: string | null, retryAfterMs: number) => void;
};

type ChannelLane = {
  tail: Promise<unknown>;
  tokens: number;
  refilledAt: number;
  pausedUntil: number;
  /** The call in flight took the first token of a full bucket: Slack's refill starts when it lands. */
  leftFull: boolean;
};

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createSlackGateway(options: SlackGatewayOptions): SlackGateway {
  const interval = options.perChannelIntervalMs ?? 1000;
  const burst = options.burst ?? 4;
  const maxWait = options.maxRateLimitWaitMs ?? 120_000;
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const lanes = new Map<string, ChannelLane>();

  async function withRateLimitRetries<T>(
    channelId: string | null,
    lane: ChannelLane | null,
    call: () => Promise<T>,
  ): Promise<T> {
    let waited = 0;
    for (;;) {
      try {
        return await call();
      } catch (error) {
        const info = describeSlackError(error);
        if (info.kind !== 'rate_limited' || waited >= maxWait) throw error;
        options.onRateLimited?.(channelId, info.retryAfterMs);
        options.logger.warn({ channelId, retryAfterMs: info.retryAfterMs }, 'slack rate limited; pausing');
        if (lane) lane.pausedUntil = now() + info.retryAfterMs;
        waited += info.retryAfterMs;
        await sleep(info.retryAfterMs);
      }
    }
  }

  async function takeToken(lane: ChannelLane): Promise<void> {
    for (;;) {
      const current = now();
      if (lane.pausedUntil > current) {
        await sleep(lane.pausedUntil - current);
        continue;
      }
      const refill = Math.floor((current - lane.refilledAt) / interval);
      if (refill > 0) {
        lane.tokens = Math.min(burst, lane.tokens + refill);
        lane.refilledAt += refill * interval;
      }
      if (lane.tokens > 0) {
        lane.leftFull = lane.tokens === burst;
        lane.tokens -= 1;
        return;
      }
      await sleep(Math.max(1, lane.refilledAt + interval - current));
    }
  }

  return {
    client: options.client,
    inChannel(channelId, call) {
      let lane = lanes.get(channelId);
      if (!lane) {
        lane = { tail: Promise.resolve(), tokens: burst, refilledAt: now(), pausedUntil: 0, leftFull: false };
        lanes.set(channelId, lane);
      }
      const current = lane;
      const run = current.tail.then(async () => {
        await takeToken(current);
        try {
          return await withRateLimitRetries(channelId, current, () => call(options.client));
        } finally {
          // Slack starts counting from when the post reached it, which is no later than now: refill
          // from here, so our pace never runs ahead of Slack's by the time a request takes.
          if (current.leftFull) {
            current.refilledAt = now();
            current.leftFull = false;
          }
        }
      });
      current.tail = run.catch(() => {});
      return run;
    },
    direct(call) {
      return withRateLimitRetries(null, null, () => call(options.client));
    },
  };
}
