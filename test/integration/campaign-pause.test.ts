import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, LEAD, SIGNING_SECRET, startHarness } from '../support/bridge-harness.js';
import { launchHelloWorld, recipientsFile } from '../support/campaign-driver.js';
import { dialects } from '../support/databases.js';
import { blockActionsPayload, interactivity, postSlack } from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * A paused campaign stops sending on every replica (its status is in the database), says why in its
 * progress message and to its marketer, and goes on when a marketer resumes it (or ends when they
 * cancel it). WhatsApp's spam-rate error (131048) pauses the campaign instead of failing recipients.
 */

const cases = await dialects();

/** The number recipientsFile writes for index i, as Meta sees it (digits only). */
const digits = (i: number) => `4479${11 + Math.floor(i / 300_000)}${String(i % 300_000).padStart(6, '0')}`;
const CHANNEL = 'C0MARKETING';
const SPAM_RATE = {
  status: 400,
  body: {
    error: {
      message: '(#131048) Spam rate limit hit',
      type: 'OAuthException',
      code: 131048,
      error_data: {
        messaging_product: 'whatsapp',
        details:
          'Message failed to send because there are restrictions on how many messages can be sent from this phone number.',
      },
      fbtrace_id: 'AFakeTrace',
    },
  },
};

for (const dialect of cases) {
  describe.runIf(dialect.available)(`campaign pause on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      // Slow enough that the pause lands while most recipients are still queued.
      h = await startHarness({ database: await dialect.create(), env: { WHATSAPP_MAX_MPS: '5' } });
    });
    afterAll(async () => {
      await h?.stop();
    });

    const db = () => h.app.database.db;
    const campaign = (id: string) => db().selectFrom('campaign').selectAll().where('id', '=', id).executeTakeFirst();
    const statuses = async (id: string) =>
      (
        await db()
          .selectFrom('campaign_recipient')
          .select(['phone_number', 'status'])
          .where('campaign_id', '=', id)
          .orderBy('id')
          .execute()
      ).map((r) => r.status);
    const progressText = async (id: string) => {
      const ts = (await campaign(id))?.slack_message_ts;
      return JSON.stringify(h.slack.messages(CHANNEL).find((m) => m.ts === ts)?.blocks ?? '');
    };
    const sentTo = (to: string) => (h.meta?.accepted() ?? []).filter((b) => b.to === to).length;

    it('pauses on a spam-rate error (131048), tells the marketer, and sends the rest once resumed', async () => {
      const file = recipientsFile(20, 500_000);
      // The third recipient's first send is refused for the number's spam rate.
      h.meta?.failSendsTo(digits(500_002), 1, SPAM_RATE);
      const { campaignId } = await launchHelloWorld({ appUrl: h.url, slack: h.slack, recipientsFile: file });
      await waitFor('campaign paused', async () => (await campaign(campaignId))?.status === 'paused', 20_000);
      // Sends already under way when it paused finish; nothing is left being sent.
      await waitFor('sends in flight settled', async () => !(await statuses(campaignId)).includes('sending'));

      // The recipient refused is not failed: it waits with the rest.
      const afterPause = await statuses(campaignId);
      expect(afterPause).not.toContain('failed');
      expect(afterPause[2]).toBe('queued');
      expect(afterPause.filter((s) => s === 'queued').length).toBeGreaterThan(10);
      const control = await db()
        .selectFrom('campaign_control')
        .selectAll()
        .where('campaign_id', '=', campaignId)
        .executeTakeFirstOrThrow();
      expect(control.paused_reason).toMatch(/spam rate limit, 131048/);
      expect(control.paused_by).toBe('system');

      // The progress message says why, with Resume and Cancel.
      await waitFor('progress shows the pause', async () => (await progressText(campaignId)).includes('Paused'));
      const progress = await progressText(campaignId);
      expect(progress).toContain('spam rate limit');
      expect(progress).toContain('wa_campaign_resume');
      expect(progress).toContain('wa_campaign_cancel');
      // The marketer is told in their DM, with the same two actions.
      const dm = await waitFor('DM to the marketer', () =>
        h.slack.messages('DUMARKETER').find((m) => String(m.text ?? '').includes('is paused')),
      );
      expect(dm.text).toContain('hello_world');
      expect(JSON.stringify(dm.blocks)).toContain('wa_campaign_resume');

      // Nothing more goes out while it is paused.
      const sentWhilePaused = h.meta?.accepted().length ?? 0;
      await new Promise((r) => setTimeout(r, 1_000));
      expect(h.meta?.accepted().length).toBe(sentWhilePaused);
      expect(await statuses(campaignId)).toEqual(afterPause);

      // Someone who is not a marketer cannot resume it.
      const refused = await clickAndRead('wa_campaign_resume', campaignId, LEAD, 'lead-resume');
      expect(refused).toMatch(/Only the people listed in MARKETERS can resume campaigns/);
      expect((await campaign(campaignId))?.status).toBe('paused');

      const resumed = await clickAndRead('wa_campaign_resume', campaignId, 'UMARKETER', 'resume');
      expect(resumed).toMatch(/Campaign resumed/);
      await waitFor('campaign completed', async () => (await campaign(campaignId))?.status === 'completed', 20_000);
      expect(await statuses(campaignId)).toEqual(Array.from({ length: 20 }, () => 'sent'));
      // Everyone exactly once, the refused recipient included.
      for (let i = 0; i < 20; i++) expect(sentTo(digits(500_000 + i))).toBe(1);
      await waitFor('progress shows it finished', async () => (await progressText(campaignId)).includes('Finished'));
      expect(await progressText(campaignId)).not.toContain('wa_campaign_resume');
    });

    it('a paused campaign can be cancelled: what was not sent never is', async () => {
      h.meta?.failSendsTo(digits(600_001), 1, SPAM_RATE);
      const { campaignId } = await launchHelloWorld({
        appUrl: h.url,
        slack: h.slack,
        recipientsFile: recipientsFile(10, 600_000),
      });
      await waitFor('campaign paused', async () => (await campaign(campaignId))?.status === 'paused', 20_000);
      const cancelled = await clickAndRead('wa_campaign_cancel', campaignId, 'UMARKETER', 'cancel');
      expect(cancelled).toMatch(/Campaign cancelled/);
      expect((await campaign(campaignId))?.status).toBe('cancelled');
      const after = await statuses(campaignId);
      expect(after).not.toContain('queued');
      expect(after).toContain('cancelled');
      const sent = h.meta?.accepted().length ?? 0;
      await new Promise((r) => setTimeout(r, 600));
      expect(h.meta?.accepted().length).toBe(sent);
      await waitFor('progress shows it cancelled', async () => (await progressText(campaignId)).includes('Cancelled'));
    });

    async function clickAndRead(actionId: string, campaignId: string, userId: string, responseId: string) {
      const before = h.slack.calls.length;
      const ts = (await campaign(campaignId))?.slack_message_ts ?? '';
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId,
            actionId,
            value: campaignId,
            message: { channelId: CHANNEL, ts },
            responseUrl: `${h.slack.baseUrl}response/${responseId}`,
          }),
        ),
      );
      const answer = await waitFor(`${actionId} answer`, () =>
        h.slack.calls.slice(before).find((c) => c.method === 'response_url'),
      );
      return String(answer.body.text ?? '');
    }
  });
}
