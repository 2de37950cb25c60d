import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/app-process.js';
import { type Harness, postMetaWebhook, SIGNING_SECRET, startHarness } from '../support/bridge-harness.js';
import { launchHelloWorld, recipientsFile } from '../support/campaign-driver.js';
import { dialects } from '../support/databases.js';
import { inboundWebhook } from '../support/meta-webhooks.js';
import { blockActionsPayload, interactivity, postSlack } from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Files people ask for go to their DM with the app. When Slack refuses the DM (an app whose
 * Messages tab is off answers `messages_tab_disabled`), nothing may fail silently: the person is
 * told where they acted, with a signed download link that expires, and a campaign whose progress
 * Slack takes neither in the channel nor in the DM says so through the command's response_url.
 */

const cases = await dialects();
const HOUR_MS = 60 * 60 * 1000;

/** The installed app as it was before the manifest turned the Messages tab on. */
const messagesTabOff = (manifest: { features?: { app_home?: { messages_tab_enabled?: boolean } } }) => {
  if (manifest.features?.app_home) manifest.features.app_home.messages_tab_enabled = false;
};

/** The download link in a Slack mrkdwn text (`<url|Download …>`), unescaped as Slack shows it. */
function downloadLink(text: string): string {
  const match = /<(http[^|>]+)\|Download [^>]+>/.exec(text);
  if (!match?.[1]) throw new Error(`no download link in: ${text}`);
  return match[1].replace(/&amp;/g, '&');
}

for (const dialect of cases) {
  describe.runIf(dialect.available)(`files for a person when Slack refuses their DM, on ${dialect.name}`, () => {
    let h: Harness;
    let clockOffset = 0;
    beforeAll(async () => {
      const port = await freePort();
      h = await startHarness({
        database: await dialect.create(),
        env: {
          PORT: String(port),
          PUBLIC_URL: `http://127.0.0.1:${port}`,
          MARKETERS: 'UMARKETER',
          LEADS: 'ULEAD',
        },
        now: () => Date.now() + clockOffset,
        slackManifest: messagesTabOff,
        expectSlackRuleViolations: true,
      });
      await postMetaWebhook(
        h.url,
        inboundWebhook({ type: 'text', text: { body: 'hello from Nora' } }, { from: '447911150000' }),
      );
      await h.settle();
    });
    afterAll(async () => {
      // The only rule the app broke is the one this suite sets up: DMs while the tab is off.
      expect(new Set(h?.slack.violations.map((v) => `${v.method}:${v.error}`))).toEqual(
        new Set(['files.completeUploadExternal:messages_tab_disabled', 'chat.postMessage:messages_tab_disabled']),
      );
      await h?.stop();
    });

    it('tells a lead who exports history why the DM failed and gives a download link that expires', async () => {
      const pushesBefore = h.slack.callsTo('views.push').length;
      const response = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId: 'ULEAD',
            actionId: 'wa_history_export',
            value: 'export',
            view: {
              id: 'VHISTORY',
              callbackId: 'wa_history_modal',
              privateMetadata: JSON.stringify({ phoneNumber: '+447911150000', page: 0 }),
            },
          }),
        ),
      );
      expect(response.status).toBe(200);
      const pushed = await waitFor('export answer', () => h.slack.callsTo('views.push')[pushesBefore]);
      const text = JSON.stringify(pushed.body.view);
      expect(text).toContain('could not be sent to your DM');
      expect(text).toContain('Messages tab is turned off');
      expect(h.slack.completed.some((c) => c.channel_id === 'DULEAD')).toBe(false);

      const link = downloadLink(JSON.parse(text).blocks[0].text.text as string);
      expect(link.startsWith(`${h.config.publicUrl}/media/`)).toBe(true);
      const download = await fetch(link);
      expect(download.status).toBe(200);
      expect(download.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(download.headers.get('content-disposition')).toContain('whatsapp-history.csv');
      expect(await download.text()).toMatch(/^time,direction,contact[\s\S]*hello from Nora/);

      // An hour later the link is dead and the file is gone at the next purge.
      clockOffset += HOUR_MS + 60_000;
      expect((await fetch(link)).status).toBe(403);
      const blobId = decodeURIComponent(new URL(link).pathname.split('/').pop() ?? '');
      expect(
        await h.app.database.db.selectFrom('media_blob').select('id').where('id', '=', blobId).executeTakeFirst(),
      ).toBeDefined();
      await h.app.purgeRetention();
      expect(
        await h.app.database.db.selectFrom('media_blob').select('id').where('id', '=', blobId).executeTakeFirst(),
      ).toBeUndefined();
    });

    it('shows the link to the full list of invalid recipient lines in the confirmation', async () => {
      const invalid = Array.from({ length: 12 }, (_, i) => `not-a-number-${i}`);
      const file = Buffer.concat([recipientsFile(1), Buffer.from(`\n${invalid.join('\n')}`)]);
      const { campaignId } = await launchHelloWorld({
        appUrl: h.url,
        slack: h.slack,
        recipientsFile: file,
        confirm: false,
      });
      const confirm = [...h.slack.views.values()].find((v) =>
        JSON.stringify((v as { view: unknown }).view).includes(campaignId),
      ) as { view: { blocks: { text?: { text: string } }[] } };
      const note = confirm.view.blocks.map((b) => b.text?.text ?? '').find((t) => t.includes('Download'));
      expect(note).toContain('could not be sent to your DM');
      const csv = await (await fetch(downloadLink(note ?? ''))).text();
      expect(csv.split('\r\n').filter((line) => line.includes('not-a-number'))).toHaveLength(12);
    });

    it('answers the campaign CSV button with a download link', async () => {
      const { campaignId } = await launchHelloWorld({
        appUrl: h.url,
        slack: h.slack,
        recipientsFile: recipientsFile(2),
      });
      await waitFor('campaign finished', async () => {
        const row = await h.app.database.db
          .selectFrom('campaign')
          .select(['status', 'slack_message_ts'])
          .where('id', '=', campaignId)
          .executeTakeFirst();
        return row?.status === 'completed' && row.slack_message_ts ? row : null;
      });
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId: 'UMARKETER',
            actionId: 'wa_campaign_csv',
            value: campaignId,
            message: { channelId: 'C0MARKETING', ts: '1.000001' },
            responseUrl: `${h.slack.baseUrl}response/campaign-csv`,
          }),
        ),
      );
      const answer = await waitFor('CSV answer', () =>
        h.slack.calls.find((c) => c.method === 'response_url' && String(c.body.text).includes('per-recipient CSV')),
      );
      expect(answer.body.response_type).toBe('ephemeral');
      const csv = await (await fetch(downloadLink(String(answer.body.text)))).text();
      expect(csv).toMatch(/^phone_number,status/);
      expect(csv.split('\r\n').filter((line) => line.startsWith('+44'))).toHaveLength(2);
    });

    it('tells the marketer where they launched when neither the channel nor the DM takes the progress', async () => {
      const { campaignId } = await launchHelloWorld({
        appUrl: h.url,
        slack: h.slack,
        recipientsFile: recipientsFile(1, 200000),
        channelId: 'CNOTIN-PRIVATE',
        responseUrl: `${h.slack.baseUrl}response/launch`,
      });
      const notice = await waitFor('progress notice', () =>
        h.slack.calls.find(
          (c) => c.method === 'response_url' && String(c.body.text).includes("progress can't be shown"),
        ),
      );
      expect(notice.body).toMatchObject({ response_type: 'ephemeral' });
      expect(String(notice.body.text)).toContain('<#CNOTIN-PRIVATE>');
      expect(String(notice.body.text)).toContain('Messages tab is turned off');
      // The campaign itself goes on, and the marketer is told once, not at every progress update.
      await waitFor('campaign sent', async () => {
        const row = await h.app.database.db
          .selectFrom('campaign')
          .select('status')
          .where('id', '=', campaignId)
          .executeTakeFirst();
        return row?.status === 'completed';
      });
      await h.settle();
      expect(
        h.slack.calls.filter((c) => c.method === 'response_url' && String(c.body.text).includes("can't be shown")),
      ).toHaveLength(1);
    });
  });
}

describe('files for a person when Slack refuses their DM and the bridge has no public URL', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: { LEADS: 'ULEAD' },
      slackManifest: messagesTabOff,
      expectSlackRuleViolations: true,
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('says why and what to ask for instead of offering a link that would not work', async () => {
    await postSlack(
      h.url,
      interactivity(
        SIGNING_SECRET,
        blockActionsPayload({
          userId: 'ULEAD',
          actionId: 'wa_history_export',
          value: 'export',
          view: { id: 'VHISTORY', callbackId: 'wa_history_modal', privateMetadata: JSON.stringify({ page: 0 }) },
        }),
      ),
    );
    const pushed = await waitFor('export answer', () => h.slack.callsTo('views.push')[0]);
    const text = JSON.stringify(pushed.body.view);
    expect(text).toContain('could not be sent to your DM');
    expect(text).toContain('no PUBLIC_URL');
    expect(text).not.toContain('/media/');
  });
});
