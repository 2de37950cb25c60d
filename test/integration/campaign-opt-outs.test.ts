import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHANNEL_ID,
  type Harness,
  LEAD,
  MARKETER,
  postMetaWebhook,
  SIGNING_SECRET,
  startHarness,
} from '../support/bridge-harness.js';
import { launchCampaign } from '../support/campaign-driver.js';
import { chatDriver, engageLabInbound, postEngageLabCallback } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { DEFAULT_TEMPLATES } from '../support/fake-meta-graph.js';
import { inboundWebhook, nextWamid, statusWebhook } from '../support/meta-webhooks.js';
import {
  blockActionsPayload,
  interactivity,
  postSlack,
  slashCommand,
  viewSubmissionPayload,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Opt-outs (issue #17, item 1): a customer's STOP (whole message, any case or accent), an opt-out
 * button or Meta's 131050 puts the number on the account's suppression list; START takes it off;
 * the thread header shows it. Campaigns and the API never send MARKETING templates to the list
 * (counted "opted out" in the confirmation, progress and report, also when the opt-out comes after
 * the confirmation), while service replies and UTILITY templates still go out. `/wa optout` manages
 * the list. Everything through signed Slack requests and provider webhooks against the fakes.
 */

const cases = await dialects();
const PHONE_NUMBER_ID = '1906385232743451';
const MARKETING_TEMPLATE = {
  id: 't9',
  name: 'weekly_deals',
  language: 'en_US',
  status: 'APPROVED',
  category: 'MARKETING',
  components: [
    { type: 'BODY', text: 'Deals for {{1}} this week.' },
    { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'Stop promotions' }] },
  ],
};

type StoredView = { id: string; hash: string; view: { private_metadata?: string; callback_id?: string } };

for (const dialect of cases) {
  describe.runIf(dialect.available)(`opt-outs on ${dialect.name} (Meta)`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    beforeAll(async () => {
      h = await startHarness({
        database: await dialect.create(),
        env: { OPT_OUT_BUTTON_PAYLOADS: 'STOP_PROMOS' },
        campaignRetryBaseDelayMs: 10,
      });
      h.meta?.setTemplates([...DEFAULT_TEMPLATES, MARKETING_TEMPLATE]);
      h.slack.addUser({ id: 'UAGENT1', name: 'agent1' });
      chat = chatDriver(h);
    });
    afterAll(async () => {
      await h?.stop();
    });

    const db = () => h.app.database.db;
    const command = async (text: string, userId: string = MARKETER) => {
      const response = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text, userId, channelId: 'C0MARKETING' }));
      expect(response.status).toBe(200);
      return (response.json as { text?: string } | undefined)?.text ?? '';
    };
    const entry = (phone: string) =>
      db().selectFrom('opt_out').selectAll().where('phone_number', '=', phone).executeTakeFirst();
    const header = (threadTs: string) => JSON.stringify(h.slack.messages(CHANNEL_ID).find((m) => m.ts === threadTs));
    const recipients = (campaignId: string) =>
      db()
        .selectFrom('campaign_recipient')
        .select(['phone_number', 'status', 'error_code'])
        .where('campaign_id', '=', campaignId)
        .orderBy('phone_number')
        .execute();

    /** `/wa send` of weekly_deals (MARKETING) or hello_world (UTILITY) to these numbers. */
    const launch = (template: 'weekly_deals' | 'hello_world', numbers: string[], confirm = true) =>
      launchCampaign({
        appUrl: h.url,
        slack: h.slack,
        userId: MARKETER,
        channelId: 'C0MARKETING',
        sendingNumberId: PHONE_NUMBER_ID,
        template,
        variables: { 'body.1': 'you' },
        recipientsFile: Buffer.from(numbers.join('\n')),
        confirm,
      });
    const confirmDraft = async (campaignId: string) => {
      const view = [...(h.slack.views.values() as Iterable<StoredView>)].find((v) =>
        (v.view.private_metadata ?? '').includes(campaignId),
      ) as StoredView;
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: MARKETER,
            viewId: view.id,
            callbackId: 'wa_campaign_confirm',
            privateMetadata: view.view.private_metadata ?? '',
            values: {},
          }),
        ),
      );
      return view;
    };
    const finished = (campaignId: string) =>
      waitFor('campaign finished', async () => {
        const row = await db().selectFrom('campaign').selectAll().where('id', '=', campaignId).executeTakeFirst();
        return row?.status === 'completed' ? row : null;
      });

    it('takes a whole-message STOP in any case or accent, shows it in the header, and START takes it back', async () => {
      const first = await chat.metaContactWrites('Hi, is the shop open?', { from: '447911200501' });
      expect(header(first.threadTs)).not.toContain('Opted out');

      const stop = await chat.metaContactWrites('  Arrêt ! ', { from: '447911200501' });
      // The customer's message is in the thread as usual.
      expect(JSON.stringify(await chat.postOf(stop.id))).toContain('Arrêt');
      expect(await entry('+447911200501')).toMatchObject({ opted_out: 1, reason: 'keyword', detail: 'Arrêt !' });
      await waitFor('header shows the opt-out', () => header(first.threadTs).includes('Opted out of marketing'));
      expect(header(first.threadTs)).toContain('wrote \\"Arrêt !\\"');

      const start = await chat.metaContactWrites('start', { from: '447911200501' });
      await chat.postOf(start.id);
      expect(await entry('+447911200501')).toMatchObject({ opted_out: 0, reason: 'opt_in_keyword' });
      await waitFor('header no longer shows it', () => !header(first.threadTs).includes('Opted out'));
    });

    it('does not take an opt-out word inside a sentence: the agent just sees the message', async () => {
      const sent = await chat.metaContactWrites('please stop calling me before 9', { from: '447911200502' });
      expect(JSON.stringify(await chat.postOf(sent.id))).toContain('please stop calling me before 9');
      expect(await entry('+447911200502')).toBeUndefined();
      for (const text of ['STOP IT NOW', 'stopping', 'unsubscribe me please'])
        await chat.postOf((await chat.metaContactWrites(text, { from: '447911200502' })).id);
      expect(await entry('+447911200502')).toBeUndefined();
      expect(header(sent.threadTs)).not.toContain('Opted out');
    });

    it("takes a template quick-reply button whose payload is in OPT_OUT_BUTTON_PAYLOADS, not another button's", async () => {
      const tap = (payload: string, text: string, from: string) => {
        const id = nextWamid();
        return postMetaWebhook(h.url, inboundWebhook({ type: 'button', button: { text, payload } }, { from, id })).then(
          async (r) => {
            expect(r.status).toBe(200);
            return chat.postOf(id);
          },
        );
      };
      await tap('TELL_ME_MORE', 'Tell me more', '447911200503');
      expect(await entry('+447911200503')).toBeUndefined();
      const post = await tap('STOP_PROMOS', 'Stop promotions', '447911200503');
      expect(JSON.stringify(post)).toContain('Stop promotions');
      expect(await entry('+447911200503')).toMatchObject({ opted_out: 1, reason: 'button', detail: 'STOP_PROMOS' });
    });

    it('never sends a MARKETING campaign to the list: opted out in the confirmation, the progress and the CSV', async () => {
      const numbers = ['+447911200511', '+447911200512', '+447911200513', '+447911200514'];
      expect(await command('optout add +44 7911 200511 asked on the phone')).toContain('is on the opt-out list');
      await chat.postOf((await chat.metaContactWrites('STOP', { from: '447911200512' })).id);
      const sendsBefore = h.meta?.sent().length ?? 0;

      const { campaignId } = await launch('weekly_deals', numbers, false);
      const view = await confirmDraft(campaignId);
      const confirmation = JSON.stringify(h.slack.calls.filter((c) => c.method === 'views.update').at(-1)?.body);
      expect(confirmation).toContain('*Opted out (not sent, on the suppression list):* 2');
      expect(confirmation).toContain('Send to 2');
      expect(view).toBeDefined();
      await finished(campaignId);
      const sent = (h.meta?.sent() ?? []).slice(sendsBefore).map((s) => s.to);
      expect(sent.sort()).toEqual(['447911200513', '447911200514']);
      expect(await recipients(campaignId)).toEqual([
        { phone_number: '+447911200511', status: 'opted_out', error_code: 'opted_out' },
        { phone_number: '+447911200512', status: 'opted_out', error_code: 'opted_out' },
        { phone_number: '+447911200513', status: 'sent', error_code: null },
        { phone_number: '+447911200514', status: 'sent', error_code: null },
      ]);
      const progress = await waitFor('final report', () =>
        h.slack.messages('C0MARKETING').find((m) => m.text.includes('4/4 processed, 0 failed, 2 opted out')),
      );
      expect(JSON.stringify(progress.blocks)).toContain('Opted out *2*');

      // The per-recipient CSV says so too.
      const row = await db()
        .selectFrom('campaign')
        .select('slack_message_ts')
        .where('id', '=', campaignId)
        .executeTakeFirstOrThrow();
      expect(row.slack_message_ts).toBe(progress.ts);
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId: MARKETER,
            actionId: 'wa_campaign_csv',
            value: campaignId,
            message: { channelId: 'C0MARKETING', ts: progress.ts },
            responseUrl: `${h.slack.baseUrl}response/9`,
          }),
        ),
      );
      const csv = await waitFor('CSV in DM', () =>
        h.slack.completed
          .find((c) => c.files.some((f) => (f.title ?? '').includes('weekly_deals')))
          ?.bytes[0]?.toString(),
      );
      expect(csv).toMatch(/\+447911200511,opted_out,,opted_out,opted out of marketing messages: not sent/);
    });

    it('still sends UTILITY campaigns and service replies to opted-out customers', async () => {
      await chat.postOf((await chat.metaContactWrites('UNSUBSCRIBE', { from: '447911200521' })).id);
      const thread = await chat.metaContactWrites('but where is my order?', { from: '447911200521' });
      expect(await entry('+447911200521')).toMatchObject({ opted_out: 1 });
      const sendsBefore = h.meta?.sent().length ?? 0;
      const reply = await chat.agentWrites({ threadTs: thread.threadTs, text: 'It ships today.' });
      await chat.replyRow(reply);
      const { campaignId } = await launch('hello_world', ['+447911200521', '+447911200522']);
      await finished(campaignId);
      const sent = (h.meta?.sent() ?? []).slice(sendsBefore);
      expect(
        sent
          .filter((s) => s.to === '447911200521')
          .map((s) => s.type)
          .sort(),
      ).toEqual(['template', 'text']);
      expect((await recipients(campaignId)).map((r) => r.status)).toEqual(['sent', 'sent']);
    });

    it('skips at send time a number that opted out after the campaign was confirmed', async () => {
      const { campaignId } = await launch('weekly_deals', ['+447911200531', '+447911200532'], false);
      // The draft was checked before the customer wrote STOP; sending checks again.
      await chat.postOf((await chat.metaContactWrites('stop', { from: '447911200531' })).id);
      const sendsBefore = h.meta?.sent().length ?? 0;
      await confirmDraft(campaignId);
      await finished(campaignId);
      expect((h.meta?.sent() ?? []).slice(sendsBefore).map((s) => s.to)).toEqual(['447911200532']);
      expect(await recipients(campaignId)).toMatchObject([
        { phone_number: '+447911200531', status: 'opted_out' },
        { phone_number: '+447911200532', status: 'sent' },
      ]);
    });

    it("records Meta's 131050, on the send and in a failed status, as opted out (not failed) and lists the number", async () => {
      // Synchronous: the send itself is refused.
      h.meta?.failNextSends(
        1,
        {
          status: 400,
          body: {
            error: {
              message:
                '(#131050) Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.',
              type: 'OAuthException',
              code: 131050,
              fbtrace_id: 'Atrace',
            },
          },
        },
        (body) => body.to === '447911200541',
      );
      const { campaignId } = await launch('weekly_deals', ['+447911200541', '+447911200542']);
      await finished(campaignId);
      expect(await recipients(campaignId)).toMatchObject([
        { phone_number: '+447911200541', status: 'opted_out', error_code: 'opted_out' },
        { phone_number: '+447911200542', status: 'sent' },
      ]);
      expect(await entry('+447911200541')).toMatchObject({ opted_out: 1, reason: 'provider_error', detail: '131050' });

      // Asynchronous: the send was accepted, the status says 131050.
      const sent = await db()
        .selectFrom('campaign_recipient')
        .select('provider_message_id')
        .where('campaign_id', '=', campaignId)
        .where('phone_number', '=', '+447911200542')
        .executeTakeFirstOrThrow();
      const status = statusWebhook(sent.provider_message_id as string, 'failed', [
        {
          code: 131050,
          title: 'Unable to deliver the message. This recipient has chosen to stop receiving marketing messages.',
        },
      ]);
      const value = status.entry[0]?.changes[0]?.value as { statuses: { recipient_id: string }[] };
      if (value.statuses[0]) value.statuses[0].recipient_id = '447911200542';
      expect((await postMetaWebhook(h.url, status)).status).toBe(200);
      await waitFor('listed after the status', async () => (await entry('+447911200542'))?.opted_out === 1);
      await waitFor('recipient opted out', async () =>
        (await recipients(campaignId)).find((r) => r.phone_number === '+447911200542')?.status === 'opted_out'
          ? true
          : null,
      );
      const counts = await db()
        .selectFrom('campaign')
        .select(['failed'])
        .where('id', '=', campaignId)
        .executeTakeFirstOrThrow();
      expect(counts.failed).toBe(0);
    });

    it('answers the HTTP API 409 opted_out for a MARKETING template to a listed number, and sends UTILITY ones', async () => {
      const created = await command('apikey create crm');
      const key = /`(wab_[^`]+)`/.exec(created)?.[1] as string;
      await command('optout add +447911200551');
      const post = (body: Record<string, unknown>) =>
        fetch(`${h.url}/api/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ from: '+15550001111', to: '+447911200551', language: 'en_US', ...body }),
        });
      const refused = await post({ template: 'weekly_deals', variables: { '1': 'Ana' }, idempotency_key: 'p-1' });
      expect(refused.status).toBe(409);
      const answer = (await refused.json()) as { error: string; code: string };
      expect(answer.code).toBe('opted_out');
      expect(answer.error).toContain('+447911200551 opted out of marketing messages');
      const accepted = await post({ template: 'hello_world', variables: { '1': 'Ana' }, idempotency_key: 'p-2' });
      expect(accepted.status).toBe(202);
      await waitFor('UTILITY sent', () => h.meta?.sent().some((s) => s.to === '447911200551'));
      expect(
        h.meta
          ?.sent()
          .filter((s) => s.to === '447911200551')
          .map((s) => (s.template as { name: string }).name),
      ).toEqual(['hello_world']);
    });

    it('lists (paged), adds, removes and exports the list for marketers and leads only', async () => {
      h.slack.addUser({ id: 'UOUTSIDER', name: 'outsider' });
      expect(await command('optout list', 'UOUTSIDER')).toContain(':no_entry:');
      expect(await command('optout add +447911200561', LEAD)).toContain('is on the opt-out list');
      expect(await command('optout add +447911200561', LEAD)).toContain('already on the opt-out list');
      expect(await command('optout add not-a-number')).toContain('Give an international number');
      const listed = await command('optout list');
      expect(listed).toMatch(/\*Opted out of marketing messages: \d+\*/);
      expect(listed).toContain('+447911200561');
      expect(listed).toContain(`added by <@${LEAD}>`);
      const after = await command('optout list after +447911200560');
      expect(after.split('\n')[1]).toContain('+447911200561');
      expect(await command('optout remove +447911200561')).toContain('is off the opt-out list');
      expect(await command('optout remove +447911200561')).toContain('is not on the opt-out list');
      expect(await entry('+447911200561')).toMatchObject({
        opted_out: 0,
        reason: 'manual_removal',
        changed_by: MARKETER,
      });

      expect(await command('optout export')).toMatch(/opt-out list/i);
      const csv = await waitFor('export in DM', () =>
        h.slack.completed.find((c) => c.files.some((f) => (f.title ?? '').includes('opt-outs')))?.bytes[0]?.toString(),
      );
      expect(csv.split('\r\n')[0]).toBe('phone_number,opted_out_at,reason,detail,changed_by');
      expect(csv).toContain('+447911200511,');
      expect(csv).not.toContain('+447911200561');
    });

    it('pages a long list 50 at a time', async () => {
      const before = await command('optout list');
      const total = Number(/messages: (\d+)\*/.exec(before)?.[1]);
      for (let i = 0; i < 55 - total; i++) await command(`optout add +4479112006${String(i).padStart(2, '0')}`);
      const first = await command('optout list');
      expect(first.split('\n').filter((l) => l.startsWith('• '))).toHaveLength(50);
      const next = /`\/wa optout list after (\+\d+)`/.exec(first)?.[1];
      expect(next).toBeDefined();
      const second = await command(`optout list after ${next}`);
      expect(second.split('\n').filter((l) => l.startsWith('• ')).length).toBeGreaterThanOrEqual(5);
      expect(second).not.toContain(`• ${next} `);
    });

    it('adds an uploaded file of numbers, reporting invalid lines like a recipients file', async () => {
      const before = h.slack.views.size;
      await command('optout upload');
      const modal = await waitFor('upload modal', () =>
        [...(h.slack.views.values() as Iterable<StoredView>)].find(
          (v, i) => i >= before && v.view.callback_id === 'wa_optout_upload',
        ),
      );
      const lines = ['phone', '+44 7911 200701', '+447911200702', 'not a number', '+447911200701', '12345'];
      const file = h.slack.addFile({
        id: 'FOPTOUT1',
        name: 'opt-outs.csv',
        mimetype: 'text/csv',
        bytes: Buffer.from(lines.join('\r\n')),
      });
      const submitted = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: MARKETER,
            viewId: modal.id,
            callbackId: 'wa_optout_upload',
            privateMetadata: '',
            values: { optout_file: { file: { type: 'file_input', files: [file] } } },
          }),
        ),
      );
      expect(JSON.stringify(submitted.json)).toContain('Reading');
      const result = await waitFor('upload result', () => {
        const text = JSON.stringify((h.slack.views.get(modal.id) as StoredView).view);
        return text.includes('added to the suppression list') ? text : null;
      });
      expect(result).toContain('*2* number(s) added');
      expect(result).toContain('*Invalid numbers skipped:* 2');
      expect(result).toContain('*Duplicates removed:* 1');
      expect(result).toContain('line 4');
      expect(await entry('+447911200701')).toMatchObject({ opted_out: 1, reason: 'file', detail: 'opt-outs.csv' });

      // A file of the wrong type is refused on its field.
      const wrong = h.slack.addFile({
        id: 'FOPTOUT2',
        name: 'list.pdf',
        mimetype: 'application/pdf',
        bytes: Buffer.from('x'),
      });
      const refused = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: MARKETER,
            viewId: modal.id,
            callbackId: 'wa_optout_upload',
            privateMetadata: '',
            values: { optout_file: { file: { type: 'file_input', files: [wrong] } } },
          }),
        ),
      );
      expect(refused.json).toMatchObject({
        response_action: 'errors',
        errors: { optout_file: expect.stringContaining('not a .txt or .csv') },
      });
    });
  });
}

for (const dialect of cases) {
  describe.runIf(dialect.available)(`opt-outs on ${dialect.name} (EngageLab)`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ provider: 'engagelab', database: await dialect.create() });
    });
    afterAll(async () => {
      await h?.stop();
    });

    it('takes STOP from an EngageLab callback and refuses MARKETING API sends to the number, not UTILITY ones', async () => {
      const chat = chatDriver(h);
      const id = nextWamid();
      expect(
        (
          await postEngageLabCallback(h.url, [
            engageLabInbound(id, { type: 'text', text: { body: 'Stop' } }, { from: '+447911200801' }),
          ])
        ).status,
      ).toBe(200);
      await chat.postOf(id);
      const row = await h.app.database.db
        .selectFrom('opt_out')
        .selectAll()
        .where('phone_number', '=', '+447911200801')
        .executeTakeFirst();
      expect(row).toMatchObject({ account_id: 'engagelab', opted_out: 1, reason: 'keyword' });

      const created = await postSlack(
        h.url,
        slashCommand(SIGNING_SECRET, { text: 'apikey create crm', userId: MARKETER }),
      );
      const key = /`(wab_[^`]+)`/.exec((created.json as { text: string }).text)?.[1] as string;
      const post = (template: string, idem: string) =>
        fetch(`${h.url}/api/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            from: '+15550001111',
            to: '+447911200801',
            template,
            language: 'en_US',
            variables: { '1': 'Ana' },
            idempotency_key: idem,
          }),
        });
      const refused = await post('spring_sale', 'e-1');
      expect(refused.status).toBe(409);
      expect(((await refused.json()) as { code: string }).code).toBe('opted_out');
      expect((await post('hello_world', 'e-2')).status).toBe(202);
      await waitFor('UTILITY sent through EngageLab', () =>
        h.engagelab?.sent().some((s) => JSON.stringify(s).includes('447911200801')),
      );
    });
  });
}
