import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, LEAD, MARKETER, SIGNING_SECRET, startHarness } from '../support/bridge-harness.js';
import { dialects } from '../support/databases.js';
import { validateMetaMessageBody } from '../support/meta-openapi.js';
import {
  blockActionsPayload,
  interactivity,
  postSlack,
  slashCommand,
  viewSubmissionPayload,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * See it before they do (issue #17, item 4): the campaign confirmation shows the message as its first
 * recipient will get it, and *Send a test to me* sends exactly that to a number the marketer gives
 * (remembered for next time) without starting the campaign. A send-later time in the past is refused
 * on its field. Everything goes through signed Slack requests against the fakes.
 */

const cases = await dialects();
const CHANNEL = 'C0MARKETING';
const NUMBER_ID = '1906385232743451';

type StoredView = {
  id: string;
  hash: string;
  view: { private_metadata?: string; callback_id?: string; blocks?: unknown[] };
};
type MetaTemplateBody = {
  to: string;
  template: { name: string; components?: { type: string; sub_type?: string; parameters: unknown[] }[] };
};

for (const dialect of cases) {
  describe.runIf(dialect.available)(`campaign preview and test sends on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
    });
    afterAll(async () => {
      await h?.stop();
    });

    const viewText = (view: StoredView | undefined) => JSON.stringify(view?.view ?? {});
    const db = () => h.app.database.db;

    async function openForm(): Promise<StoredView> {
      const before = new Set(h.slack.views.keys());
      await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'send', userId: MARKETER, channelId: CHANNEL }));
      return waitFor('campaign form', () =>
        [...(h.slack.views.values() as Iterable<StoredView>)].find(
          (v) => !before.has(v.id) && v.view.callback_id === 'wa_campaign_form',
        ),
      );
    }

    async function choose(view: StoredView, actionId: string, value: string): Promise<StoredView> {
      const hash = view.hash;
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId: MARKETER,
            actionId,
            selectedOption: value,
            view: {
              id: view.id,
              hash,
              callbackId: 'wa_campaign_form',
              privateMetadata: view.view.private_metadata ?? '{}',
            },
          }),
        ),
      );
      return waitFor(`${actionId}=${value}`, () => {
        const current = h.slack.views.get(view.id) as StoredView | undefined;
        return current && current.hash !== hash ? current : null;
      });
    }

    async function formFor(template: string, language?: string): Promise<StoredView> {
      let view = await openForm();
      view = await choose(view, 'cmp_number_select', NUMBER_ID);
      view = await choose(view, 'tpl_template_select', template);
      if (language) view = await choose(view, 'tpl_language_select', language);
      return view;
    }

    const submit = (view: StoredView, values: Record<string, Record<string, unknown>>) =>
      postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: MARKETER,
            viewId: view.id,
            callbackId: 'wa_campaign_form',
            privateMetadata: view.view.private_metadata ?? '{}',
            values,
          }),
        ),
      );

    const variable = (key: string, value: string) => ({
      [`tpl_var:${key}`]: { value: { type: 'plain_text_input', value } },
    });

    /** Submits the form and waits for the confirmation; the confirmation view and its draft id. */
    async function confirmation(view: StoredView, values: Record<string, Record<string, unknown>>) {
      const response = await submit(view, values);
      expect(response.json).toMatchObject({ response_action: 'update' });
      const confirm = await waitFor('confirmation', () =>
        viewText(h.slack.views.get(view.id) as StoredView).includes('Confirm campaign')
          ? (h.slack.views.get(view.id) as StoredView)
          : null,
      );
      return { confirm, draftId: JSON.parse(confirm.view.private_metadata ?? '{}').draftId as string };
    }

    /** Clicks *Send a test to me* on a confirmation; the modal Slack pushes on top of it. */
    async function clickSendTest(confirm: StoredView, draftId: string, userId = MARKETER): Promise<StoredView> {
      const before = new Set(h.slack.views.keys());
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId,
            actionId: 'cmp_test_send',
            value: draftId,
            triggerId: `trigger.${Math.random()}`,
            view: {
              id: confirm.id,
              callbackId: 'wa_campaign_confirm',
              privateMetadata: confirm.view.private_metadata ?? '{}',
            },
          }),
        ),
      );
      return waitFor('test modal', () =>
        [...(h.slack.views.values() as Iterable<StoredView>)].find((v) => !before.has(v.id)),
      );
    }

    const submitTest = (modal: StoredView, number: string, userId = MARKETER) =>
      postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId,
            viewId: modal.id,
            callbackId: 'wa_campaign_test',
            privateMetadata: modal.view.private_metadata ?? '{}',
            values: { cmp_test_number: { value: { type: 'plain_text_input', value: number } } },
          }),
        ),
      );

    const sendsTo = (digits: string) =>
      ((h.meta?.accepted() ?? []) as MetaTemplateBody[]).filter((b) => b.to === digits);

    it("previews the first recipient's message and sends exactly that as a test, starting nothing", async () => {
      const csv = h.slack.addFile({
        id: 'FPEOPLE',
        name: 'people.csv',
        mimetype: 'text/csv',
        bytes: Buffer.from(
          'phone,1,2,header.1,button.0.1\n+44 7911 124001,Ana,A-1,A-1,a1\n+44 7911 124002,Bruno,B-2,B-2,b2\n',
        ),
      });
      const form = await formFor('order_update', 'en_US');
      const { confirm, draftId } = await confirmation(form, {
        cmp_recipients_file: { file: { type: 'file_input', files: [csv] } },
        ...variable('header.1', 'H'),
        ...variable('body.1', 'friend'),
        ...variable('body.2', 'X'),
        ...variable('button.0.1', 'x'),
      });
      const text = viewText(confirm);
      expect(text).toContain('*Preview* — what +44 7911 124001 (the first recipient) will get:');
      expect(text).toContain('> *Order A-1*');
      expect(text).toContain('> Hi Ana, your order A-1 has shipped.');
      expect(text).toContain('> _Reply STOP to opt out_');
      expect(text).toContain('> [Track] → https://acme.example/track/a1');
      expect(text).toContain('"action_id":"cmp_test_send"');

      // First time: no number to offer yet.
      let modal = await clickSendTest(confirm, draftId);
      expect(modal.view.callback_id).toBe('wa_campaign_test');
      expect(viewText(modal)).not.toContain('initial_value');

      // An invalid number is refused on its field, and nothing is sent.
      const sendsBefore = h.meta?.accepted().length ?? 0;
      for (const [input, reason] of [
        ['12345', /include the country code/],
        ['+44 12', /6 to 15 digits/],
        ['+44 7911 12345 call me', /only digits/],
      ] as const) {
        const refused = await submitTest(modal, input);
        expect(refused.json).toEqual({
          response_action: 'errors',
          errors: { cmp_test_number: expect.stringMatching(reason) },
        });
      }
      // Someone without the marketer role cannot send one either.
      const lead = await submitTest(modal, '+44 7911 124901', LEAD);
      expect(lead.json).toEqual({
        response_action: 'errors',
        errors: { cmp_test_number: expect.stringMatching(/Only .* can send campaign tests/) },
      });
      await h.settle();
      expect(h.meta?.accepted().length).toBe(sendsBefore);

      const accepted = await submitTest(modal, '+44 7911 124901');
      expect(accepted.json).toMatchObject({ response_action: 'update' });
      expect(JSON.stringify(accepted.json)).toContain('Sending a test to +44 7911 124901');
      const [test] = await waitFor('the test at the fake Graph API', () => {
        const sends = sendsTo('447911124901');
        return sends.length > 0 ? sends : null;
      });
      // Not checked against the OpenAPI spec here: its pattern for a button's index ("^[2-6, 11-14]$")
      // refuses index 0, which Meta's own examples use; the image test below checks a whole body.
      expect(test?.template.name).toBe('order_update');
      const components = JSON.stringify(test?.template.components);
      expect(components).toContain('{"type":"header","parameters":[{"type":"text","text":"A-1"}]}');
      expect(components).toContain(
        '{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":"A-1"}]}',
      );
      expect(components).toContain('"sub_type":"url","index":"0","parameters":[{"type":"text","text":"a1"}]');
      await waitFor('the result in the test modal', () =>
        viewText(h.slack.views.get(modal.id) as StoredView).includes('Test sent to +44 7911 124901'),
      );

      // The campaign did not start: still a draft, its recipients queued, none of them messaged.
      await h.settle();
      const campaign = await db()
        .selectFrom('campaign')
        .selectAll()
        .where('id', '=', draftId)
        .executeTakeFirstOrThrow();
      expect(campaign.status).toBe('draft');
      const recipients = await db()
        .selectFrom('campaign_recipient')
        .select('status')
        .where('campaign_id', '=', draftId)
        .execute();
      expect(recipients.map((r) => r.status)).toEqual(['queued', 'queued']);
      expect(sendsTo('447911124001')).toHaveLength(0);
      expect(sendsTo('447911124901')).toHaveLength(1);

      // The number is remembered for this marketer.
      modal = await clickSendTest(confirm, draftId);
      expect(viewText(modal)).toContain('"initial_value":"+447911124901"');

      // A test the provider refuses is told in plain words, what to do and an error id: never its raw text.
      h.meta?.failNextSends(1, {
        status: 400,
        body: {
          error: {
            message: '(#132000) Number of localizable_params (1) does not match',
            type: 'OAuthException',
            code: 132000,
          },
        },
      });
      expect((await submitTest(modal, '+44 7911 124901')).json).toMatchObject({ response_action: 'update' });
      const told = await waitFor('the failure in the test modal', () => {
        const text = viewText(h.slack.views.get(modal.id) as StoredView);
        return text.includes('was not sent') ? text : null;
      });
      expect(told).toContain(
        'was not sent: the template or its variables were rejected (132000). Try again in a minute',
      );
      expect(told).not.toContain('localizable_params');
      const errorId = /\(error id `(E-[0-9A-F]{8})`\)/.exec(told)?.[1];
      expect(h.logs.join('')).toContain(`"errorId":"${errorId}"`);
      modal = await clickSendTest(confirm, draftId);

      // Confirming afterwards sends the campaign as usual, and the test number gets nothing more.
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: MARKETER,
            viewId: form.id,
            callbackId: 'wa_campaign_confirm',
            privateMetadata: confirm.view.private_metadata ?? '',
            values: {},
          }),
        ),
      );
      await waitFor('campaign completed', async () => {
        const row = await db().selectFrom('campaign').select('status').where('id', '=', draftId).executeTakeFirst();
        return row?.status === 'completed';
      });
      expect(sendsTo('447911124001')).toHaveLength(1);
      expect(sendsTo('447911124002')).toHaveLength(1);
      expect(sendsTo('447911124901')).toHaveLength(1);
    });

    it('names the header media in the preview and sends the test with the uploaded header', async () => {
      const picture = h.slack.addFile({
        id: 'FSALE',
        name: 'spring-sale.png',
        mimetype: 'image/png',
        bytes: Buffer.from('PNGDATA'),
      });
      const form = await formFor('spring_sale');
      const { confirm, draftId } = await confirmation(form, {
        cmp_recipients: { value: { type: 'plain_text_input', value: '+44 7911 124101' } },
        ...variable('body.1', '20%'),
        tpl_header_file: { file: { type: 'file_input', files: [picture] } },
      });
      const text = viewText(confirm);
      expect(text).toContain('> :frame_with_picture: Image: `spring-sale.png`');
      expect(text).toContain('> Spring sale: 20% off everything!');

      const modal = await clickSendTest(confirm, draftId);
      expect(viewText(modal)).toContain('"initial_value":"+447911124901"');
      const accepted = await submitTest(modal, '+44 7911 124902');
      expect(accepted.json).toMatchObject({ response_action: 'update' });
      const [test] = await waitFor('the image test', () => {
        const sends = sendsTo('447911124902');
        return sends.length > 0 ? sends : null;
      });
      expect(validateMetaMessageBody(test)).toEqual([]);
      expect(JSON.stringify(test)).toMatch(
        /"type":"header","parameters":\[\{"type":"image","image":\{"id":"\d+"\}\}\]/,
      );
      expect(
        (await db().selectFrom('campaign').select('status').where('id', '=', draftId).executeTakeFirst())?.status,
      ).toBe('draft');
    });

    it('refuses a send-later time in the past on its field, preparing nothing', async () => {
      const form = await formFor('hello_world');
      const drafts = async () => (await db().selectFrom('campaign').select('id').execute()).length;
      const before = await drafts();
      const anHourAgo = Math.floor(Date.now() / 1000) - 3600;
      const response = await submit(form, {
        cmp_recipients: { value: { type: 'plain_text_input', value: '+44 7911 124201' } },
        ...variable('body.1', 'friend'),
        cmp_schedule: { when: { type: 'datetimepicker', selected_date_time: anHourAgo } },
      });
      expect(response.json).toEqual({
        response_action: 'errors',
        errors: { cmp_schedule: expect.stringMatching(/already passed/) },
      });
      await h.settle();
      expect(await drafts()).toBe(before);
    });
  });
}
