import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHANNEL_ID,
  type Harness,
  MARKETER,
  postMetaWebhook,
  SIGNING_SECRET,
  startHarness,
  WABA_ID,
} from '../support/bridge-harness.js';
import { launchHelloWorld, recipientsFile } from '../support/campaign-driver.js';
import { postEngageLabCallback } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import {
  blockActionsPayload,
  blockSuggestion,
  interactivity,
  postSlack,
  slashCommand,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Account health in Slack (issue #17, item 3): Meta's webhooks about number quality, template status
 * and the account's standing are verified like message webhooks, told in plain words in the ops
 * channel, and seen at once by the pickers. Meta's own samples (test/fixtures/meta-samples/webhooks/),
 * adapted to the test's account, numbers and templates, go in signed like Meta signs them.
 */

const cases = await dialects();
const ALERTS = 'C0OPSALERTS';
/** The fake Graph API's connected number, +1 555-000-1111, as Meta writes it in these webhooks. */
const NUMBER_DIGITS = '15550001111';

type Sample = { object: string; entry: { id: string; time: number; changes: { field: string; value: unknown }[] }[] };

/** One of Meta's sample webhooks, for this test's account, with its change's value edited. */
function sample(file: string, edit: (value: Record<string, unknown>) => void = () => {}): Sample {
  const path = join(import.meta.dirname, '..', 'fixtures', 'meta-samples', 'webhooks', file);
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Sample;
  for (const entry of parsed.entry) {
    entry.id = WABA_ID;
    // A distinct time per use: the same sample sent twice in a test is a redelivery, not a new change.
    entry.time = Math.floor(Date.now() / 1000) + Math.floor(Math.random() * 1_000_000);
    for (const change of entry.changes) edit(change.value as Record<string, unknown>);
  }
  return parsed;
}

type StoredView = { id: string; hash: string; view: { callback_id?: string; private_metadata?: string } };

for (const dialect of cases) {
  describe.runIf(dialect.available)(`account health alerts on ${dialect.name} (Meta)`, () => {
    let h: Harness;
    beforeAll(async () => {
      // Slow sending, so that a campaign is still running when its template is paused.
      h = await startHarness({
        database: await dialect.create(),
        env: { SLACK_ALERTS_CHANNEL_ID: ALERTS, WHATSAPP_MAX_MPS: '5' },
      });
      // The numbers as the provider listed them at start (with their tier and quality).
      await waitFor('sending numbers listed', async () =>
        (await h.app.database.db.selectFrom('sending_number').select('health').execute()).some(
          (n) => n.health === 'connected',
        ),
      );
    });
    afterAll(async () => {
      await h?.stop();
    });

    const alerts = () => h.slack.messages(ALERTS).map((m) => m.text);

    /** Posts a signed webhook, expects 200, and returns the alert it brought (or null after the jobs ran). */
    async function deliver(payload: Sample | string): Promise<string | null> {
      const before = alerts().length;
      const response = await postMetaWebhook(h.url, payload);
      expect(response.status).toBe(200);
      await h.settle();
      const after = alerts();
      expect(after.length - before).toBeLessThanOrEqual(1);
      return after.length > before ? (after.at(-1) ?? null) : null;
    }

    /**
     * The `/wa send` form as a marketer sees it, with a template chosen when given, followed by what
     * its template menu offers (Slack loads those options from the app as the menu opens).
     */
    async function campaignFormText(template?: string): Promise<string> {
      const before = new Set(h.slack.views.keys());
      await postSlack(
        h.url,
        slashCommand(SIGNING_SECRET, { text: 'send', userId: MARKETER, channelId: 'C0MARKETING' }),
      );
      const view = await waitFor('campaign form', () =>
        [...(h.slack.views.values() as Iterable<StoredView>)].find(
          (v) => !before.has(v.id) && v.view.callback_id === 'wa_campaign_form',
        ),
      );
      if (template) {
        const hash = view.hash;
        await postSlack(
          h.url,
          interactivity(
            SIGNING_SECRET,
            blockActionsPayload({
              userId: MARKETER,
              actionId: 'tpl_template_select',
              selectedOption: template,
              view: {
                id: view.id,
                hash,
                callbackId: 'wa_campaign_form',
                privateMetadata: view.view.private_metadata ?? '{}',
              },
            }),
          ),
        );
        await waitFor('template chosen', () => (h.slack.views.get(view.id) as StoredView).hash !== hash);
      }
      const menu = await postSlack(
        h.url,
        blockSuggestion(SIGNING_SECRET, {
          userId: MARKETER,
          actionId: 'tpl_template_select',
          blockId: 'tpl_template',
          value: '',
          view: {
            id: view.id,
            hash: view.hash,
            callbackId: 'wa_campaign_form',
            privateMetadata: view.view.private_metadata ?? '{}',
          },
        }),
      );
      return `${JSON.stringify((h.slack.views.get(view.id) as StoredView).view)}\n${menu.text}`;
    }

    it('tells a number flagged for low quality in the ops channel, in plain words, once per delivery', async () => {
      expect(await campaignFormText()).toContain('+15550001111 · Acme Support · no daily limit · quality high');
      const payload = sample('qualityUpdate.json', (v) => {
        v.display_phone_number = NUMBER_DIGITS;
        v.some_field_meta_added_later = { nested: true }; // unknown fields are ignored
      });
      const alert = await deliver(payload);
      expect(alert).toContain('The quality rating of +15550001111 dropped to low');
      expect(alert).toContain('10,000 new customers a day');
      expect(alert).toContain('*What it means:*');
      expect(alert).toContain('*What to do:*');
      // Redelivered (Meta retries): stored and acknowledged again, told once.
      expect(await deliver(payload)).toBeNull();
      // Alerts go to SLACK_ALERTS_CHANNEL_ID, not to the conversations channel.
      expect(h.slack.messages(CHANNEL_ID).some((m) => m.text.includes('quality rating'))).toBe(false);
      const row = await h.app.database.db
        .selectFrom('sending_number')
        .select(['quality_rating', 'health', 'health_reason'])
        .where('phone_number', '=', '+15550001111')
        .executeTakeFirstOrThrow();
      expect(row).toEqual({
        quality_rating: 'RED',
        health: 'connected',
        health_reason: expect.stringContaining('low'),
      });
      // The number picker shows it at once: quality low, and the limit the webhook reported.
      expect(await campaignFormText()).toContain('+15550001111 · Acme Support · 10K/day limit · quality low');

      const lifted = await deliver(
        sample('qualityUpdate.json', (v) => {
          v.display_phone_number = NUMBER_DIGITS;
          v.event = 'UNFLAGGED';
        }),
      );
      expect(lifted).toContain('The quality rating of +15550001111 is no longer low');

      const downgrade = await deliver(
        sample('qualityUpdate.json', (v) => {
          v.display_phone_number = NUMBER_DIGITS;
          v.event = 'DOWNGRADE';
          v.current_limit = 'TIER_1K';
          v.old_limit = 'TIER_10K';
        }),
      );
      expect(downgrade).toContain('Meta lowered the messaging limit of +15550001111 to 1,000 new customers a day');
      expect(downgrade).toContain('it was 10,000 new customers a day');
      expect(await campaignFormText()).toContain('+15550001111 · Acme Support · 1K/day limit');
    });

    it('tells a rejected template with its reason, and the pickers stop offering that language', async () => {
      expect(await campaignFormText('order_update')).toContain('pt_BR');
      const alert = await deliver(
        sample('rejectedTemplate.json', (v) => {
          v.message_template_name = 'order_update';
          v.message_template_language = 'pt_BR';
          v.message_template_id = 't3';
        }),
      );
      expect(alert).toContain('Template `order_update` (pt_BR) was rejected (reason given by Meta: SCAM)');
      expect(alert).toContain('*What to do:* Edit it in WhatsApp Manager');
      const form = await campaignFormText('order_update');
      expect(form).toContain('en_US');
      expect(form).not.toContain('pt_BR');
      const templates = await h.app.database.db.selectFrom('campaign').select('id').execute();
      expect(templates).toEqual([]); // nothing was sent or started by a health webhook
    });

    it('warns of a template scheduled for disabling, which can still be sent', async () => {
      const alert = await deliver(
        sample('templateSchedulingForDisabling.json', (v) => {
          v.message_template_name = 'hello_world';
          v.message_template_id = 't1';
          v.message_template_language = 'en-US'; // Meta writes en-US here, en_US in the template list
        }),
      );
      expect(alert).toContain(
        'Template `hello_world` (en-US) has a low quality rating and will be disabled on January 31, 2021',
      );
      expect(await campaignFormText()).toContain('hello_world');
    });

    it('removes a template Meta paused from the pickers at once, and says so', async () => {
      expect(await campaignFormText()).toContain('spring_sale');
      const alert = await deliver(
        sample('rejectedTemplate.json', (v) => {
          v.event = 'PAUSED';
          v.message_template_name = 'spring_sale';
          v.message_template_language = 'en_US';
          v.message_template_id = 't4';
          v.reason = null;
          v.other_info = { title: 'FIRST_PAUSE', description: 'Your WhatsApp message template has been paused.' };
        }),
      );
      expect(alert).toContain('Meta paused template `spring_sale` (en_US)');
      expect(alert).toContain('Meta says: “Your WhatsApp message template has been paused.”');
      expect(await campaignFormText()).not.toContain('spring_sale');

      const back = await deliver(
        sample('rejectedTemplate.json', (v) => {
          v.event = 'APPROVED';
          v.message_template_name = 'spring_sale';
          v.message_template_language = 'en_US';
          v.message_template_id = 't4';
          v.reason = null;
          v.other_info = { title: 'UNPAUSED', description: 'Your WhatsApp message template has been unpaused.' };
        }),
      );
      expect(back).toContain('Template `spring_sale` (en_US) is approved');
      expect(await campaignFormText()).toContain('spring_sale');
    });

    it('tells the account review, verification, a display name decision and a scheduled disabling', async () => {
      expect(await deliver(sample('accountReview.json'))).toContain(
        'Meta approved the review of the WhatsApp Business Account',
      );
      expect(await deliver(sample('verifiedAccount.json'))).toContain('The WhatsApp Business Account is verified');
      expect(
        await deliver(
          sample('phoneNumberNameUpdate.json', (v) => {
            v.display_phone_number = NUMBER_DIGITS;
          }),
        ),
      ).toContain('Meta approved the display name “WhatsApp” of +15550001111');
      const banned = await deliver(sample('accountBanned.json'));
      expect(banned).toContain('Meta scheduled the WhatsApp Business Account to be disabled on January 31, 2021');
      expect(banned).toContain('request a review before that date');
    });

    it('escapes what the webhook says, so it cannot ping the channel or fake a link', async () => {
      const alert = await deliver(
        sample('rejectedTemplate.json', (v) => {
          v.message_template_name = 'order_update';
          v.message_template_language = 'en_US';
          v.reason = '<!channel> <https://evil.example|click>';
        }),
      );
      expect(alert).toContain('&lt;!channel&gt; &lt;https://evil.example|click&gt;');
      expect(alert).not.toContain('<!channel>');
    });

    it('acknowledges and logs, without an alert, health webhooks it cannot use: unknown number, malformed, unknown field', async () => {
      const unknown = await deliver(
        sample('qualityUpdate.json', (v) => {
          v.display_phone_number = '19998887777';
        }),
      );
      expect(unknown).toBeNull();
      expect(h.logs.join('')).toContain('account health webhook for a number the bridge does not know');

      const malformed = await deliver(
        sample('qualityUpdate.json', (v) => {
          delete v.event;
        }),
      );
      expect(malformed).toBeNull();
      const unreadable = await deliver({
        object: 'whatsapp_business_account',
        entry: [{ id: WABA_ID, time: 1700000000, changes: [{ field: 'account_update', value: 'not an object' }] }],
      });
      expect(unreadable).toBeNull();
      const logged = h.logs.filter((line) => line.includes('account health webhook the bridge could not read'));
      expect(logged.some((line) => line.includes('phone_number_quality_update'))).toBe(true);
      expect(logged.some((line) => line.includes('account_update'))).toBe(true);

      // Another account's template of the same name (an app subscribed to several accounts): ignored.
      const otherAccount = sample('rejectedTemplate.json', (v) => {
        v.event = 'PAUSED';
        v.message_template_name = 'spring_sale';
        v.message_template_language = 'en_US';
      });
      for (const entry of otherAccount.entry) entry.id = '999999999999999';
      expect(await deliver(otherAccount)).toBeNull();
      expect(h.logs.join('')).toContain('account health webhook for another WhatsApp Business Account');
      expect(await campaignFormText()).toContain('spring_sale');

      const otherField = await deliver({
        object: 'whatsapp_business_account',
        entry: [{ id: WABA_ID, time: 1700000001, changes: [{ field: 'business_capability_update', value: {} }] }],
      });
      expect(otherField).toBeNull();
    });

    it('refuses a health webhook that is unsigned or signed with another secret, and tells nothing', async () => {
      const before = alerts().length;
      const payload = sample('accountReview.json');
      expect((await postMetaWebhook(h.url, payload, { signature: null })).status).toBe(401);
      expect((await postMetaWebhook(h.url, payload, { secret: 'not-the-app-secret' })).status).toBe(403);
      await h.settle();
      expect(alerts().length).toBe(before);
    });

    it('pauses a running campaign whose template Meta paused, says why, and the pickers stop offering it', async () => {
      const { campaignId } = await launchHelloWorld({
        appUrl: h.url,
        slack: h.slack,
        recipientsFile: recipientsFile(30, 700_000),
      });
      const db = h.app.database.db;
      const campaign = () =>
        db.selectFrom('campaign').selectAll().where('id', '=', campaignId).executeTakeFirstOrThrow();
      await waitFor('the campaign sending', async () => (await campaign()).status === 'sending');
      const alert = await deliver(
        sample('rejectedTemplate.json', (v) => {
          v.event = 'PAUSED';
          v.message_template_name = 'hello_world';
          v.message_template_language = 'en_US';
          v.message_template_id = 't1';
          v.reason = null;
        }),
      );
      expect(alert).toContain('Meta paused template `hello_world` (en_US)');
      expect(alert).toContain('The campaign sending it was paused.');
      expect((await campaign()).status).toBe('paused');
      const control = await db
        .selectFrom('campaign_control')
        .selectAll()
        .where('campaign_id', '=', campaignId)
        .executeTakeFirstOrThrow();
      expect(control.paused_reason).toContain('Meta paused the template hello_world (en_US)');
      // Its recipients wait (none failed as "template no longer approved"), and no more go out.
      await waitFor('sends in flight settled', async () => {
        const rows = await db
          .selectFrom('campaign_recipient')
          .select('status')
          .where('campaign_id', '=', campaignId)
          .execute();
        return !rows.some((r) => r.status === 'sending');
      });
      const sent = h.meta?.accepted().length ?? 0;
      await new Promise((r) => setTimeout(r, 800));
      expect(h.meta?.accepted().length).toBe(sent);
      const statuses = await db
        .selectFrom('campaign_recipient')
        .select('status')
        .where('campaign_id', '=', campaignId)
        .execute();
      expect(statuses.some((r) => r.status === 'queued')).toBe(true);
      expect(statuses.some((r) => r.status === 'failed')).toBe(false);
      // The marketer who launched it is told too, with Resume and Cancel.
      const dm = await waitFor('DM to the marketer', () =>
        h.slack
          .messages('DUMARKETER')
          .find((m) => String(m.text ?? '').includes('Meta paused the template hello_world')),
      );
      expect(JSON.stringify(dm.blocks)).toContain('wa_campaign_resume');
      expect(await campaignFormText()).not.toContain('hello_world');
    });

    // Last: it takes the number out of use for the rest of this harness.
    it('takes a restricted number out of the number picker, naming why, and tells what is restricted', async () => {
      const expiration = Math.floor(Date.UTC(2027, 0, 15, 12) / 1000);
      const alert = await deliver(
        sample('accountRestricted.json', (v) => {
          v.phone_number = NUMBER_DIGITS;
          for (const r of v.restriction_info as { expiration: unknown }[]) r.expiration = expiration;
        }),
      );
      expect(alert).toContain('Meta restricted the WhatsApp Business Account (+15550001111)');
      expect(alert).toContain(`starting conversations (templates and campaigns) until <!date^${expiration}^`);
      expect(alert).toContain('Marked unavailable for campaigns: +15550001111');
      const form = await campaignFormText();
      expect(form).toContain('No sending number is connected');
      expect(form).toContain('+15550001111 (Meta restricts starting conversations until 2027-01-15 12:00 UTC)');
    });
  });
}

/** EngageLab passes Meta's template, number and account updates on as `notification` callback rows. */
const notification = (event: string, data: Record<string, unknown>) => ({
  message_id: `el-note-${Math.random()}`,
  server: 'whatsapp',
  channel: 'whatsapp',
  itime: Math.floor(Date.now() / 1000),
  notification: { event, notification_data: { whatsapp_business_account_id: WABA_ID, ...data } },
});

for (const dialect of cases) {
  describe.runIf(dialect.available)(`account health alerts on ${dialect.name} (EngageLab)`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ provider: 'engagelab', database: await dialect.create() });
    });
    afterAll(async () => {
      await h?.stop();
    });

    const alerts = () => h.slack.messages(CHANNEL_ID).map((m) => m.text);

    async function deliver(rows: unknown[], token?: string): Promise<{ status: number; alert: string | null }> {
      const before = alerts().length;
      const response = await postEngageLabCallback(h.url, rows, token);
      await h.settle();
      const after = alerts();
      return { status: response.status, alert: after.length > before ? (after.at(-1) ?? null) : null };
    }

    it('tells template, messaging limit and account notifications in the conversations channel by default', async () => {
      const paused = await deliver([
        notification('template_update', {
          template_id: 't4',
          template_name: 'spring_sale',
          template_language: 'en_US',
          template_status: 'DISABLED',
          template_status_reason: 'SCAM',
        }),
      ]);
      expect(paused.status).toBe(200);
      expect(paused.alert).toContain('Meta disabled template `spring_sale` (en_US) (reason given by Meta: SCAM)');
      const limit = await deliver([
        notification('phone_number_update', {
          phone_number_id: '111111',
          display_phone_number: '15550001111',
          current_limit: 'TIER_250',
        }),
      ]);
      expect(limit.alert).toContain('+15550001111');
      expect(limit.alert).toContain('250 new customers a day');
      const banned = await deliver([
        notification('whatsapp_business_update', { waba_event: 'DISABLED_UPDATE', ban_state: 'SCHEDULE_FOR_DISABLE' }),
      ]);
      expect(banned.alert).toContain('Meta scheduled the WhatsApp Business Account to be disabled');
      // The balance is not account health; a malformed template notification is logged, not refused.
      expect((await deliver([notification('insufficient_balance', { remain_balance: 3 })])).alert).toBeNull();
      const malformed = await deliver([notification('template_update', { template_status: 'PAUSED' })]);
      expect(malformed).toEqual({ status: 200, alert: null });
      expect(h.logs.some((l) => l.includes('account health webhook the bridge could not read'))).toBe(true);
      // Without the callback token nothing is taken.
      expect((await deliver([notification('template_update', {})], 'wrong-token')).status).toBe(403);
    });
  });
}
