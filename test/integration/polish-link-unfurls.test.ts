import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, postMetaWebhook, startHarness } from '../support/bridge-harness.js';
import { inboundWebhook } from '../support/meta-webhooks.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Issue #19 item 8: links customers send are unfurled in the thread only with
 * UNFURL_CUSTOMER_LINKS=true (a preview makes Slack fetch the page, so it is off by default).
 */
describe('links customers send, unfurled or not', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  /** A customer's message with a link, through a signed Meta webhook; returns how Slack was asked to post it. */
  async function customerSendsLink(harness: Harness, from: string) {
    const link = `https://example.com/order/${from}`;
    const response = await postMetaWebhook(
      harness.url,
      inboundWebhook({ type: 'text', text: { body: `My order: ${link}` } }, { from, name: 'Lia' }),
    );
    expect(response.status).toBe(200);
    const post = await waitFor('the customer message posted', () =>
      harness.slack.callsTo('chat.postMessage').find((c) => String(c.body.text).includes(link)),
    );
    return { unfurlLinks: String(post.body.unfurl_links), unfurlMedia: String(post.body.unfurl_media) };
  }

  it('does not unfurl them by default', async () => {
    h = await startHarness();
    expect(h.config.chat.unfurlCustomerLinks).toBe(false);
    expect(await customerSendsLink(h, '447911610001')).toEqual({ unfurlLinks: 'false', unfurlMedia: 'false' });
  });

  it('unfurls them with UNFURL_CUSTOMER_LINKS=true, and still not the app’s own posts', async () => {
    h = await startHarness({ env: { UNFURL_CUSTOMER_LINKS: 'true' } });
    expect(await customerSendsLink(h, '447911610002')).toEqual({ unfurlLinks: 'true', unfurlMedia: 'true' });
    // The thread header the app posted for this conversation is not the customer's: no previews there.
    const header = h.slack.callsTo('chat.postMessage').find((c) => c.body.thread_ts === undefined);
    expect(header).toBeDefined();
    expect(String(header?.body.unfurl_links)).not.toBe('true');
  });
});
