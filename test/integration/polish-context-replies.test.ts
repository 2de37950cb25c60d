import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, postMetaWebhook, startHarness } from '../support/bridge-harness.js';
import { launchHelloWorld, recipientsFile } from '../support/campaign-driver.js';
import { chatDriver } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { BUSINESS_NUMBER, inboundWebhook, nextWamid } from '../support/meta-webhooks.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Issue #19 item 7: a customer's WhatsApp reply to a business message (Meta's `context`, whose id is
 * the wamid of our message) says what it answers: a short quote of the agent's message linked to
 * it in the thread, or the campaign's template and when it was sent. A reply to a message the
 * bridge does not know shows nothing extra. Signed Meta webhooks and Slack events only.
 */
const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`customer replies with context on ${dialect.name}`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
      chat = chatDriver(h);
    });
    afterAll(async () => {
      await h?.stop();
    });

    /** The customer answers (WhatsApp's swipe-to-reply) the message with this wamid. */
    async function customerAnswers(from: string, text: string, contextId: string) {
      const id = nextWamid();
      const webhook = inboundWebhook(
        { type: 'text', text: { body: text }, context: { from: BUSINESS_NUMBER, id: contextId } },
        { from, id },
      );
      expect((await postMetaWebhook(h.url, webhook)).status).toBe(200);
      return (await chat.postOf(id)).text;
    }

    /** The wamid the provider gave the agent's thread reply with this Slack ts. */
    const wamidOf = (slackTs: string) =>
      waitFor(`provider id of ${slackTs}`, async () => {
        const row = await h.app.database.db
          .selectFrom('message')
          .select('provider_message_id')
          .where('slack_ts', '=', slackTs)
          .executeTakeFirst();
        return row?.provider_message_id ?? null;
      });

    it('quotes the agent message it answers, shortened and escaped, linked to it in the thread', async () => {
      const from = '447911620001';
      const { threadTs } = await chat.metaContactWrites('Is my order shipped?', { from, name: 'Rui' });
      const long = `Yes <!channel>, it left the warehouse today & should arrive ${'very '.repeat(20)}soon.`;
      const ts = await chat.agentWrites({ threadTs, text: long });
      const wamid = await wamidOf(ts);

      const text = await customerAnswers(from, 'Great, thanks!', wamid);
      const [line, body] = text.split('\n');
      expect(body).toBe('Great, thanks!');
      const link = `https://acme.slack.com/archives/${CHANNEL_ID}/p${ts.replace('.', '')}`;
      expect(line).toMatch(
        new RegExp(
          `^><${link.replace(/[.?]/g, '\\$&')}\\|:leftwards_arrow_with_hook: In reply to> <@UAGENT1>: “(.*)”$`,
        ),
      );
      const quote = /“(.*)”/.exec(line ?? '')?.[1] ?? '';
      // The start of the message, at most 100 characters, marked as cut; Slack markup stays text.
      expect(quote.startsWith('Yes &lt;!channel&gt;, it left the warehouse today &amp; should arrive very')).toBe(true);
      expect(quote.endsWith('…')).toBe(true);
      expect([...quote.replace(/&lt;|&gt;|&amp;/g, '_')].length).toBeLessThanOrEqual(100);
      expect(text).not.toContain('<!channel>');
    });

    it('names the campaign template and when it was sent when the customer answers a campaign', async () => {
      const from = '447911100123';
      const { campaignId } = await launchHelloWorld({
        appUrl: h.url,
        slack: h.slack,
        channelId: 'C0AGENTS',
        recipientsFile: recipientsFile(1, 100123),
      });
      const sent = await waitFor('campaign message sent', async () => {
        const row = await h.app.database.db
          .selectFrom('message')
          .select(['provider_message_id', 'created_at'])
          .where('campaign_id', '=', campaignId)
          .where('provider_message_id', 'is not', null)
          .executeTakeFirst();
        return row ?? null;
      });
      const text = await customerAnswers(from, 'Who is this?', sent.provider_message_id as string);
      const seconds = Math.floor(sent.created_at / 1000);
      expect(text).toBe(
        `>:leftwards_arrow_with_hook: In reply to the campaign template \`hello_world\` sent <!date^${seconds}^{date_short_pretty} at {time}|${new Date(sent.created_at).toISOString().slice(0, 16).replace('T', ' ')} UTC>\nWho is this?`,
      );
    });

    it('shows nothing extra for a reply to a message the bridge does not know', async () => {
      const from = '447911620003';
      await chat.metaContactWrites('first', { from });
      expect(await customerAnswers(from, 'About that…', 'wamid.NEVERSEEN0001')).toBe('About that…');
    });
  });
}
