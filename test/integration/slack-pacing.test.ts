import { afterEach, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, postMetaWebhook, startHarness } from '../support/bridge-harness.js';
import { inboundWebhook } from '../support/meta-webhooks.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Slack lets an app post about once per second per channel, with short bursts, and answers 429
 * beyond that. The fake enforces it here; with the app's production pacing (one post per second
 * per channel after a burst of four) a burst of customer messages reaches the channel without a
 * single refusal, and with pacing too fast for Slack every message still arrives once, in order.
 */

const SLACK_RATE = { perSecond: 1, burst: 4 };
const MESSAGES = 8;

async function burstOfMessages(h: Harness, tag: string): Promise<string[]> {
  const texts = Array.from({ length: MESSAGES }, (_, i) => `${tag} message ${i + 1}`);
  for (const [i, text] of texts.entries()) {
    const response = await postMetaWebhook(
      h.url,
      inboundWebhook({ type: 'text', text: { body: text } }, { from: '447911170000', id: `wamid.${tag}.${i}` }),
    );
    expect(response.status).toBe(200);
  }
  return texts;
}

const postedTexts = (h: Harness, tag: string) =>
  h.slack
    .messages(CHANNEL_ID)
    .filter((m) => m.text.includes(tag))
    .map((m) => /(\S+ message \d+)/.exec(m.text)?.[1]);

describe("posting at Slack's per-channel pace", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('never exceeds the channel limit with the production pacing', async () => {
    h = await startHarness({ slackPerChannelIntervalMs: 1000, slackChannelPostRate: SLACK_RATE });
    const started = Date.now();
    const texts = await burstOfMessages(h, 'paced');
    const harness = h;
    await waitFor('every message posted', () => postedTexts(harness, 'paced').length === MESSAGES, 30_000);
    expect(postedTexts(h, 'paced')).toEqual(texts);
    expect(h.slack.rateLimitedPosts.get(CHANNEL_ID) ?? 0).toBe(0);
    // Header + 8 messages: a burst of 4, then one a second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_000);
  }, 60_000);

  it('is refused by the fake when the app posts faster, and still delivers each message once, in order', async () => {
    h = await startHarness({ slackPerChannelIntervalMs: 5, slackChannelPostRate: SLACK_RATE });
    const texts = await burstOfMessages(h, 'hurried');
    const harness = h;
    await waitFor('every message posted', () => postedTexts(harness, 'hurried').length === MESSAGES, 30_000);
    await h.settle();
    expect(postedTexts(h, 'hurried')).toEqual(texts);
    expect(h.slack.rateLimitedPosts.get(CHANNEL_ID) ?? 0).toBeGreaterThan(0);
  }, 60_000);
});
