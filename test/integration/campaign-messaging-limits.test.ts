import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, SIGNING_SECRET, startHarness } from '../support/bridge-harness.js';
import { launchCampaign, recipientsFile } from '../support/campaign-driver.js';
import { dialects } from '../support/databases.js';
import {
  blockActionsPayload,
  interactivity,
  postSlack,
  slashCommand,
  viewSubmissionPayload,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * WhatsApp's messaging limits: each number's tier and quality rating (read from the Graph API) in
 * the number picker; at confirmation, the campaign's new customers against what the limit has left,
 * and when it does not fit, the marketer's choice between sending what fits now (the rest as the
 * limit frees up, over days) and cancelling. An unknown tier does not block. Throughput and pair-rate
 * errors (130429, 131056) slow a campaign down instead of failing recipients.
 */

const cases = await dialects();
const CHANNEL = 'C0MARKETING';
const DAY_MS = 24 * 60 * 60 * 1000;
const LIMITED = '1906385232743451';
const UNKNOWN = '1906385232743453';
const NUMBERS = [
  {
    id: LIMITED,
    display_phone_number: '+1 555-000-1111',
    verified_name: 'Acme Support',
    status: 'CONNECTED',
    quality_rating: 'GREEN',
    messaging_limit_tier: 'TIER_50',
  },
  // Meta leaves out what it does not know: no messaging_limit_tier at all.
  {
    id: UNKNOWN,
    display_phone_number: '+1 555-000-3333',
    verified_name: 'Acme Promotions',
    status: 'CONNECTED',
    quality_rating: 'YELLOW',
  },
];

/** The number recipientsFile writes for index i, as Meta sees it (digits only). */
const digits = (i: number) => `4479${11 + Math.floor(i / 300_000)}${String(i % 300_000).padStart(6, '0')}`;

type StoredView = { id: string; hash: string; view: { private_metadata?: string; callback_id?: string } };

for (const dialect of cases) {
  describe.runIf(dialect.available)(`messaging limits on ${dialect.name}`, () => {
    let h: Harness;
    let offset = 0;
    beforeAll(async () => {
      h = await startHarness({
        database: await dialect.create(),
        metaPhoneNumbers: NUMBERS,
        now: () => Date.now() + offset,
        campaignRetryBaseDelayMs: 10,
      });
      h.slack.addUser({ id: 'UMARKETER', name: 'marketer', isAdmin: true });
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
          .select('status')
          .where('campaign_id', '=', id)
          .orderBy('id')
          .execute()
      ).map((r) => r.status);
    const countOf = async (id: string, status: string) => (await statuses(id)).filter((s) => s === status).length;
    const progressText = async (id: string) => {
      const ts = (await campaign(id))?.slack_message_ts;
      return JSON.stringify(h.slack.messages(CHANNEL).find((m) => m.ts === ts)?.blocks ?? '');
    };
    const viewText = (id: string) => JSON.stringify((h.slack.views.get(id) as StoredView | undefined)?.view ?? {});
    const confirmViewOf = (campaignId: string) =>
      [...(h.slack.views.values() as Iterable<StoredView>)].find((v) =>
        (v.view.private_metadata ?? '').includes(campaignId),
      ) as StoredView;

    async function confirm(view: StoredView, values: Record<string, Record<string, unknown>>) {
      return postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: 'UMARKETER',
            viewId: view.id,
            callbackId: 'wa_campaign_confirm',
            privateMetadata: view.view.private_metadata ?? '',
            values,
          }),
        ),
      );
    }
    const choose = (value: 'split' | 'cancel') => ({
      cmp_limit_choice: { choice: { type: 'radio_buttons', selected_option: { value } } },
    });

    const launch = (sendingNumberId: string, file: Buffer, confirmNow = true) =>
      launchCampaign({
        appUrl: h.url,
        slack: h.slack,
        userId: 'UMARKETER',
        channelId: CHANNEL,
        sendingNumberId,
        template: 'hello_world',
        variables: { 'body.1': 'friend' },
        recipientsFile: file,
        confirm: confirmNow,
      });

    it('reads each number’s tier and quality rating from the Graph API and shows them in the number picker', async () => {
      // The fake Graph API returns only the fields asked for: the tier shows only if the app asks for it.
      await waitFor('phone numbers listed', () => h.meta?.requests.find((r) => r.path.endsWith('/phone_numbers')));
      const before = h.slack.views.size;
      await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'send', userId: 'UMARKETER', channelId: CHANNEL }));
      const form = await waitFor('campaign form', () =>
        h.slack.views.size > before
          ? [...(h.slack.views.values() as Iterable<StoredView>)].find((v) => v.view.callback_id === 'wa_campaign_form')
          : null,
      );
      const text = viewText(form.id);
      expect(text).toContain('+15550001111 · Acme Support · 50/day limit · quality high');
      expect(text).toContain('+15550003333 · Acme Promotions · limit unknown · quality medium');
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId: 'UMARKETER',
            actionId: 'cmp_number_select',
            selectedOption: LIMITED,
            view: {
              id: form.id,
              hash: form.hash,
              callbackId: 'wa_campaign_form',
              privateMetadata: form.view.private_metadata ?? '{}',
            },
          }),
        ),
      );
      await waitFor('limit under the picker', () =>
        viewText(form.id).includes('Messaging limit: *50 new customers a day* (TIER_50) · Quality high (GREEN)'),
      );
    });

    it('splits a campaign larger than the allowance over days: what fits now, the rest when the limit frees up', async () => {
      // Ten customers reached first: 40 of the 50 a day are left.
      const first = await launch(LIMITED, recipientsFile(10, 700_000));
      await waitFor('first campaign done', async () => (await campaign(first.campaignId))?.status === 'completed');
      const firstSentAt = Number(
        (
          await db()
            .selectFrom('messaging_allowance_use')
            .select((eb) => eb.fn.min('counted_at').as('at'))
            .executeTakeFirstOrThrow()
        ).at,
      );

      // 70 recipients, five of them reached by the first campaign: 65 new customers for 40 left.
      const { campaignId } = await launch(LIMITED, recipientsFile(70, 700_005), false);
      const view = confirmViewOf(campaignId);
      const text = viewText(view.id);
      expect(text).toContain('Messaging limit: *50 new customers a day* (TIER_50)');
      expect(text).toContain('*New customers* (not messaged in the last 24 hours): 65');
      expect(text).toContain('already messaged (do not count again): 5');
      expect(text).toContain('*allowance left now:* 40');
      expect(text).toContain('Send 45 now and the other 25 as the limit frees up');
      expect(text).toContain('Cancel: send nothing');

      // The choice is required.
      const unanswered = await confirm(view, {});
      expect(unanswered.json).toMatchObject({
        response_action: 'errors',
        errors: { cmp_limit_choice: expect.any(String) },
      });
      expect((await campaign(campaignId))?.status).toBe('draft');

      const accepted = await confirm(view, choose('split'));
      expect(accepted.status).toBe(200);
      await waitFor('what fits is sent', async () => (await countOf(campaignId, 'sent')) === 45, 20_000);
      await waitFor('progress says it waits', async () =>
        (await progressText(campaignId)).includes('Waiting for the messaging limit'),
      );
      await waitFor('progress counts who waits', async () =>
        (await progressText(campaignId)).includes('25 recipient(s) wait'),
      );
      const progress = await progressText(campaignId);
      expect(progress).toContain('This campaign spans several days');
      expect(progress).toContain(`Sending resumes <!date^${Math.floor((firstSentAt + DAY_MS) / 1000)}^`);
      // Exactly the allowance: 10 + 40 different customers in the day, no more.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await countOf(campaignId, 'sent')).toBe(45);
      expect(await countOf(campaignId, 'queued')).toBe(25);
      expect(new Set(h.meta?.accepted().map((b) => b.to)).size).toBe(50);

      // A day later the limit has freed up: the rest goes out, once each.
      offset += DAY_MS + 60_000;
      await waitFor('campaign completed', async () => (await campaign(campaignId))?.status === 'completed', 20_000);
      expect(await countOf(campaignId, 'sent')).toBe(70);
      for (let i = 700_005; i < 700_075; i++) {
        const times = h.meta?.accepted().filter((b) => b.to === digits(i)).length;
        expect(times, digits(i)).toBe(i < 700_010 ? 2 : 1);
      }
      await waitFor('progress finished', async () => (await progressText(campaignId)).includes('Finished'));
    });

    it('cancels when the marketer chooses not to send in parts: nothing is sent', async () => {
      // 25 reached in the last day: 25 left, 60 new customers do not fit.
      const { campaignId } = await launch(LIMITED, recipientsFile(60, 710_000), false);
      const view = confirmViewOf(campaignId);
      expect(viewText(view.id)).toContain('*allowance left now:* 25');
      const sentBefore = h.meta?.accepted().length ?? 0;
      const answer = await confirm(view, choose('cancel'));
      expect(answer.json).toMatchObject({ response_action: 'update' });
      expect(JSON.stringify(answer.json)).toContain('You chose to cancel: the campaign was not started.');
      expect((await campaign(campaignId))?.status).toBe('draft');
      await new Promise((r) => setTimeout(r, 500));
      expect(h.meta?.accepted().length).toBe(sentBefore);
    });

    it('does not block on a tier the API does not report: shown as unknown, everything is sent', async () => {
      const { campaignId } = await launch(UNKNOWN, recipientsFile(60, 720_000), false);
      const view = confirmViewOf(campaignId);
      const text = viewText(view.id);
      expect(text).toContain('Messaging limit: *unknown*');
      expect(text).not.toContain('cmp_limit_choice');
      await confirm(view, {});
      await waitFor('campaign completed', async () => (await campaign(campaignId))?.status === 'completed', 20_000);
      expect(await countOf(campaignId, 'sent')).toBe(60);
      const control = await db()
        .selectFrom('campaign_control')
        .selectAll()
        .where('campaign_id', '=', campaignId)
        .executeTakeFirst();
      expect(control?.daily_limit ?? null).toBeNull();
    });

    it('slows down on throughput (130429) and pair-rate (131056) errors instead of failing recipients', async () => {
      const throttled = 730_000;
      const pair = 730_001;
      h.meta?.failSendsTo(digits(throttled), 10, {
        status: 429,
        body: {
          error: {
            message: '(#130429) Rate limit hit',
            type: 'OAuthException',
            code: 130429,
            error_data: { messaging_product: 'whatsapp', details: 'Cloud API message throughput has been reached.' },
          },
        },
        headers: { 'retry-after': '0' },
      });
      h.meta?.failSendsTo(digits(pair), 1, {
        status: 400,
        body: {
          error: {
            message: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
            type: 'OAuthException',
            code: 131056,
            error_data: {
              messaging_product: 'whatsapp',
              details:
                'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.',
            },
          },
        },
      });
      const started = Date.now();
      const { campaignId } = await launch(UNKNOWN, recipientsFile(4, throttled));
      await waitFor('campaign completed', async () => (await campaign(campaignId))?.status === 'completed', 30_000);
      expect(await statuses(campaignId)).toEqual(['sent', 'sent', 'sent', 'sent']);
      const rows = await db()
        .selectFrom('campaign_recipient')
        .select(['phone_number', 'attempts'])
        .where('campaign_id', '=', campaignId)
        .orderBy('id')
        .execute();
      // More tries than a failing recipient gets (8), and it was still sent, not failed.
      expect(rows[0]?.attempts).toBe(11);
      expect(rows[1]?.attempts).toBe(2);
      // The customer of the pair-rate error waited WhatsApp's 6 seconds before the next try.
      const pairSends = h.meta?.requests.filter(
        (r) => r.method === 'POST' && (r.body as { to?: string } | null)?.to === digits(pair),
      );
      expect(pairSends).toHaveLength(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(6_000);
      await waitFor('report has no failures', async () => (await progressText(campaignId)).includes('Finished'));
      expect(await progressText(campaignId)).toContain('Failed *0*');
    });
  });
}
