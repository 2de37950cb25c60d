import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, postMetaWebhook, startHarness } from '../support/bridge-harness.js';
import { chatDriver } from '../support/chat-driver.js';
import { inboundWebhook, nextWamid, statusWebhook } from '../support/meta-webhooks.js';
import { waitFor } from '../support/wait-for.js';

/**
 * What customers and the provider write reaches Slack as text, never as markup: a reaction "emoji",
 * a profile name or an error text carrying `<!channel>` or a `<https://…|link>` arrives escaped
 * (`&lt;!channel&gt;`), through the real signed webhooks and the fake Slack's record of the calls.
 */

/** The hostile markup these tests send, raw (the app's own permalinks and map links are fine). */
const MARKUP = /<!(channel|here|everyone)>|<https:\/\/(evil|x)\.example|<@U1|<#C1/;

describe('provider- and customer-controlled text reaches Slack escaped', () => {
  let h: Harness;
  let chat: ReturnType<typeof chatDriver>;
  beforeAll(async () => {
    h = await startHarness();
    chat = chatDriver(h);
  });
  afterAll(async () => {
    await h?.stop();
  });

  /**
   * Every message the app sent to Slack since `from` (posts, updates, ephemerals, views: their text,
   * blocks and usernames). File names and titles of uploads are plain text to Slack and stay as sent.
   */
  const sentToSlack = (from: number) =>
    JSON.stringify(
      h.slack.calls
        .slice(from)
        .filter((c) => c.method.startsWith('chat.') || c.method.startsWith('views.'))
        .map((c) => c.body),
    );

  it('shows a reaction whose emoji is markup as escaped text, and a real emoji as a reaction', async () => {
    const { id: hello } = await chat.metaContactWrites('hello', { from: '447700900501' });
    const original = await chat.postOf(hello);
    const link = `<https://acme.slack.com/archives/${CHANNEL_ID}/p${original.ts.replace('.', '')}|:leftwards_arrow_with_hook: in reply to this message>`;
    const react = async (emoji: string) => {
      const id = nextWamid();
      const webhook = inboundWebhook(
        { type: 'reaction', reaction: { message_id: hello, emoji } },
        { from: '447700900501', id },
      );
      expect((await postMetaWebhook(h.url, webhook)).status).toBe(200);
      return id;
    };
    const from = h.slack.calls.length;
    const markup = [
      { emoji: '<!channel>', shown: '“&lt;!channel&gt;”' },
      { emoji: '<https://evil.example|click>', shown: '“&lt;https://evil.example|click&gt;”' },
      { emoji: ':skull: & <@U123>', shown: '“:skull: &amp; &lt;@U123&gt;”' },
    ];
    for (const c of markup) {
      const post = await chat.postOf(await react(c.emoji));
      expect(post.text, c.emoji).toBe(`${link}\nReacted ${c.shown}`);
    }
    const emoji = [
      { emoji: '👍🏽', name: '+1::skin-tone-4' },
      { emoji: '🇧🇷', name: 'flag-br' },
      { emoji: '❤️', name: 'heart' },
      { emoji: '👩‍👩‍👧', name: 'woman-woman-girl' },
    ];
    for (const c of emoji) {
      await react(c.emoji);
      await waitFor(c.emoji, () => original.reactions.join() === c.name);
    }
    expect(sentToSlack(from)).not.toMatch(MARKUP);
  });

  it('escapes error titles and details of a failed delivery status in the notice it posts', async () => {
    const { threadTs } = await chat.metaContactWrites('hi', { from: '447700900502' });
    const ts = await chat.agentWrites({ threadTs, text: 'Your order shipped' });
    h.slack.addMessage({ channel: CHANNEL_ID, ts, thread_ts: threadTs, text: 'Your order shipped' });
    const row = await chat.replyRow(ts);
    const from = h.slack.calls.length;
    const webhook = statusWebhook(String(row.provider_message_id), 'failed', [
      { code: 135000, title: 'Rejected <!here>', details: 'See <https://x.example|y> & <!channel> now' },
    ]);
    expect((await postMetaWebhook(h.url, webhook)).status).toBe(200);
    const notice = await waitFor('the failure notice', () =>
      h.slack.threadReplies(CHANNEL_ID, threadTs).find((m) => m.text.startsWith(':x: Not delivered')),
    );
    expect(notice.text).toBe(
      ':x: Not delivered to the customer: See &lt;https://x.example|y&gt; &amp; &lt;!channel&gt; now (135000)',
    );

    // A status with a title only (no details): the title is what is shown, escaped too.
    const second = await chat.agentWrites({ threadTs, text: 'And a second one' });
    h.slack.addMessage({ channel: CHANNEL_ID, ts: second, thread_ts: threadTs, text: 'And a second one' });
    const secondRow = await chat.replyRow(second);
    const titleOnly = statusWebhook(String(secondRow.provider_message_id), 'failed', [
      { code: 135001, title: '<!here> title only' },
    ]);
    expect((await postMetaWebhook(h.url, titleOnly)).status).toBe(200);
    await waitFor('the second notice', () =>
      h.slack.threadReplies(CHANNEL_ID, threadTs).find((m) => m.text.includes('&lt;!here&gt; title only')),
    );
    expect(sentToSlack(from)).not.toMatch(MARKUP);
  });

  it("keeps the provider's refusal of a reply out of the notice the agent sees", async () => {
    const { threadTs } = await chat.metaContactWrites('hey', { from: '447700900503' });
    const from = h.slack.calls.length;
    h.meta?.failNextSends(1, {
      status: 400,
      body: {
        error: {
          message: '<!channel> invalid',
          code: 100,
          error_data: { details: 'Parameter <https://evil.example|click here> is invalid' },
        },
      },
    });
    const ts = await chat.agentWrites({ threadTs, text: 'A reply Meta refuses' });
    const row = await chat.replyRow(ts, ['failed']);
    const notice = await waitFor('the refusal told to the agent', () =>
      chat.ephemerals(threadTs).find((text) => text.includes('Not sent')),
    );
    // A plain sentence of the bridge's own: WhatsApp's words stay in the history (and the log).
    expect(notice).toContain('Not sent: WhatsApp did not accept it.');
    expect(notice).not.toContain('evil.example');
    expect(row.error_detail).toContain('Parameter <https://evil.example|click here> is invalid');
    expect(sentToSlack(from)).not.toMatch(MARKUP);
  });

  it('escapes profile names, file names, locations, shared contacts and button texts', async () => {
    const from = h.slack.calls.length;
    const name = '<!channel> Eve <https://evil.example|bank>';
    const sender = '447700900504';
    const messages = [
      { type: 'text', text: { body: 'hello <!everyone>' } },
      {
        type: 'location',
        location: { latitude: 1.5, longitude: 2.5, name: '<!here> HQ', address: '<https://evil.example|Main St>' },
      },
      {
        type: 'contacts',
        contacts: [{ name: { formatted_name: '<!channel> Bob' }, phones: [{ phone: '<@U1>', type: '<#C1>' }] }],
      },
      { type: 'button', button: { text: '<!channel> Yes', payload: 'yes' } },
      {
        type: 'document',
        document: { id: '77001', mime_type: 'application/pdf', filename: '<!here>.pdf', caption: '<!channel> see' },
      },
    ];
    h.meta?.addMedia('77001', Buffer.from('%PDF-1.4'), 'application/pdf');
    const ids: string[] = [];
    for (const message of messages) {
      const id = nextWamid();
      ids.push(id);
      const webhook = inboundWebhook(message as Record<string, unknown> & { type: string }, { from: sender, id, name });
      expect((await postMetaWebhook(h.url, webhook)).status).toBe(200);
    }
    for (const id of ids) {
      const post = await chat.postOf(id);
      expect(post.username).toBe('&lt;!channel&gt; Eve &lt;https://evil.example|bank&gt; (+447700900504)');
    }
    const header = h.slack.rootMessages(CHANNEL_ID).find((m) => JSON.stringify(m.blocks).includes('Eve'));
    expect(header?.text).toBe('WhatsApp conversation with &lt;!channel&gt; Eve &lt;https://evil.example|bank&gt;');
    await h.settle();
    expect(sentToSlack(from)).not.toMatch(MARKUP);
    expect(sentToSlack(from)).toContain('&lt;!here&gt; HQ');
  });
});
