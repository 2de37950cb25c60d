import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, postMetaWebhook, startHarness } from '../support/bridge-harness.js';
import { chatDriver } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { statusWebhook } from '../support/meta-webhooks.js';

const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`"sent" status on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
    });
    afterAll(async () => {
      await h?.stop();
    });

    it("shows Meta's sent status on the agent's message (:heavy_check_mark:)", async () => {
      const chat = chatDriver(h);
      const { threadTs } = await chat.metaContactWrites('hi', { from: '447700900499' });
      const ts = await chat.agentWrites({ threadTs, text: 'on it' });
      const message = h.slack.addMessage({ channel: CHANNEL_ID, ts, thread_ts: threadTs, text: 'on it' });
      const row = await chat.replyRow(ts);
      expect((await postMetaWebhook(h.url, statusWebhook(row.provider_message_id as string, 'sent'))).status).toBe(200);
      await h.settle();
      expect(message.reactions).toEqual(['heavy_check_mark']);
    });
  });
}
