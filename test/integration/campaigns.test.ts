import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SEND_ATTEMPTS } from '../../src/bridge/campaigns/campaign-retry.js';
import {
  BOT_TOKEN,
  type Harness,
  META_ACCESS_TOKEN,
  META_APP_SECRET,
  META_VERIFY_TOKEN,
  postMetaWebhook,
  SIGNING_SECRET,
  startHarness,
} from '../support/bridge-harness.js';
import { launchHelloWorld, recipientsFile } from '../support/campaign-driver.js';
import { dialects } from '../support/databases.js';
import { validateMetaMessageBody } from '../support/meta-openapi.js';
import { statusWebhook } from '../support/meta-webhooks.js';
import {
  blockActionsPayload,
  interactivity,
  postSlack,
  slashCommand,
  viewSubmissionPayload,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

const cases = await dialects();
const COMMAND_CHANNEL = 'C0MARKETING';

type StoredView = {
  id: string;
  hash: string;
  view: { private_metadata?: string; callback_id?: string; blocks?: unknown[] };
};

for (const dialect of cases) {
  describe.runIf(dialect.available)(`template campaigns on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({
        database: await dialect.create(),
        env: { MARKETERS: 'UMARKETER,SGROWTH' },
        campaignRetryBaseDelayMs: 10,
      });
      h.slack.addGroup('SGROWTH', ['UGROWTH1']);
      h.slack.addUser({ id: 'UGROWTH1', name: 'growth' });
    });
    afterAll(async () => {
      // A whole run's logs (debug level) carry no token, secret or API key.
      const logs = h?.logs.join('') ?? '';
      for (const secret of [BOT_TOKEN, SIGNING_SECRET, META_APP_SECRET, META_ACCESS_TOKEN, META_VERIFY_TOKEN])
        expect(logs).not.toContain(secret);
      expect(logs).not.toMatch(/wab_[A-Za-z0-9_-]{20,}/);
      await h?.stop();
    });

    const viewText = (view: StoredView | undefined) => JSON.stringify(view?.view ?? {});
    const latestView = (predicate: (v: StoredView) => boolean) =>
      [...(h.slack.views.values() as Iterable<StoredView>)].reverse().find(predicate);

    async function openForm(userId: string): Promise<StoredView> {
      const before = h.slack.views.size;
      const response = await postSlack(
        h.url,
        slashCommand(SIGNING_SECRET, { text: 'send', userId, channelId: COMMAND_CHANNEL }),
      );
      expect(response.status).toBe(200);
      return waitFor('campaign form', () => {
        const view = latestView((v) => v.view.callback_id === 'wa_campaign_form');
        return h.slack.views.size > before && view ? view : null;
      });
    }

    async function choose(view: StoredView, actionId: string, value: string, userId: string): Promise<StoredView> {
      const hash = view.hash;
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId,
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

    async function submitForm(view: StoredView, userId: string, values: Record<string, Record<string, unknown>>) {
      return postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId,
            viewId: view.id,
            callbackId: 'wa_campaign_form',
            privateMetadata: view.view.private_metadata ?? '{}',
            values,
          }),
        ),
      );
    }

    const typed = (text: string) => ({ cmp_recipients: { value: { type: 'plain_text_input', value: text } } });
    const variable = (key: string, value: string) => ({
      [`tpl_var:${key}`]: { value: { type: 'plain_text_input', value } },
    });

    async function formFor(userId: string, template: string, language?: string) {
      let view = await openForm(userId);
      expect(viewText(view)).toContain('Sending number');
      expect(viewText(view)).toContain('Unavailable: +15550002222');
      view = await choose(view, 'cmp_number_select', '1906385232743451', userId);
      view = await choose(view, 'tpl_template_select', template, userId);
      if (language) view = await choose(view, 'tpl_language_select', language, userId);
      return view;
    }

    /** Runs a typed-recipients hello_world campaign through the form and its confirmation; its id. */
    async function launchTyped(numbers: string[], beforeConfirm?: () => void): Promise<string> {
      const view = await formFor('UMARKETER', 'hello_world');
      await submitForm(view, 'UMARKETER', { ...typed(numbers.join('\n')), ...variable('body.1', 'friend') });
      const confirm = await waitFor('confirmation', () =>
        viewText(h.slack.views.get(view.id) as StoredView).includes('Confirm campaign')
          ? (h.slack.views.get(view.id) as StoredView)
          : null,
      );
      beforeConfirm?.();
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: 'UMARKETER',
            viewId: view.id,
            callbackId: 'wa_campaign_confirm',
            privateMetadata: confirm.view.private_metadata ?? '',
            values: {},
          }),
        ),
      );
      return JSON.parse(confirm.view.private_metadata ?? '{}').draftId as string;
    }
    const campaignStatus = async (id: string) =>
      (await h.app.database.db.selectFrom('campaign').select('status').where('id', '=', id).executeTakeFirst())?.status;
    const recipientRows = (id: string) =>
      h.app.database.db
        .selectFrom('campaign_recipient')
        .selectAll()
        .where('campaign_id', '=', id)
        .orderBy('phone_number')
        .execute();

    it('refuses people who are not marketers, and accepts members of a marketer user group', async () => {
      const refused = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'send', userId: 'URANDOM' }));
      expect((refused.json as { text: string }).text).toMatch(/Only the people listed in MARKETERS/);
      const view = await openForm('UGROWTH1');
      expect(view.view.callback_id).toBe('wa_campaign_form');
    });

    it('builds the form from the provider: languages of the template, one input per variable, a preview', async () => {
      const view = await formFor('UMARKETER', 'order_update', 'en_US');
      const text = viewText(view);
      expect(text).toContain('"text":"Template"');
      expect(text).toContain('"text":"Language"');
      expect(text).toContain('"text":"Sending number"');
      expect(text).toContain('Portuguese (BR)');
      expect(text).toContain('tpl_var:header.1');
      expect(text).toContain('tpl_var:body.1');
      expect(text).toContain('tpl_var:body.2');
      expect(text).toContain('tpl_var:button.0.1');
      expect(text).toContain('Preview');
      expect(text).toContain('"text":"Recipients"');
      expect(text).toContain('Recipients file');
      expect(text).not.toContain('draft_promo');
    });

    it('rejects more than 50 typed numbers on the field, sending nothing', async () => {
      const view = await formFor('UMARKETER', 'hello_world');
      const numbers = Array.from({ length: 51 }, (_, i) => `+4479111${String(10000 + i)}`).join('\n');
      const response = await submitForm(view, 'UMARKETER', { ...typed(numbers), ...variable('body.1', 'friend') });
      expect(response.json).toEqual({
        response_action: 'errors',
        errors: { cmp_recipients: expect.stringMatching(/At most 50 numbers/) },
      });
    });

    it('sends a typed campaign after confirmation, paced, with live progress and a final report', async () => {
      const view = await formFor('UMARKETER', 'hello_world');
      const sendsBefore = h.meta?.sent().length ?? 0;
      const recipients = '+44 7911 123001\n+44 7911 123002, +447911123003\n+447911123001\nnot-a-number\n12345';
      const response = await submitForm(view, 'UMARKETER', { ...typed(recipients), ...variable('body.1', 'friend') });
      expect(response.json).toMatchObject({ response_action: 'update', view: { callback_id: 'wa_campaign_confirm' } });
      const confirm = await waitFor('confirmation', () => {
        const current = h.slack.views.get(view.id) as StoredView | undefined;
        return viewText(current).includes('Confirm campaign') ? current : null;
      });
      const summary = viewText(confirm);
      expect(summary).toContain('*Recipients:* 3');
      expect(summary).toContain('*Invalid numbers skipped:* 2');
      expect(summary).toContain('*Duplicates removed:* 1');
      expect(summary).toContain('*Template:* hello_world');
      expect(summary).toContain('*Category:* UTILITY');
      expect(summary).toContain('*Sending number:* +15550001111');
      expect(summary).toContain('*Language:* English (US) (en_US)');
      expect(h.meta?.sent().length).toBe(sendsBefore); // nothing before confirmation

      const confirmed = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: 'UMARKETER',
            viewId: view.id,
            callbackId: 'wa_campaign_confirm',
            privateMetadata: confirm.view.private_metadata ?? '',
            values: {},
          }),
        ),
      );
      expect(confirmed.status).toBe(200);
      await waitFor('3 sends', () => (h.meta?.sent().length ?? 0) >= sendsBefore + 3);
      const sends = h.meta?.sent().slice(sendsBefore) ?? [];
      expect(sends.map((s) => s.to).sort()).toEqual(['447911123001', '447911123002', '447911123003']);
      expect(sends[0]).toMatchObject({
        type: 'template',
        template: {
          name: 'hello_world',
          components: [{ type: 'body', parameters: [{ type: 'text', text: 'friend' }] }],
        },
      });

      const progress = await waitFor('final report', () =>
        h.slack.messages(COMMAND_CHANNEL).find((m) => m.text.includes('3/3 processed')),
      );
      const campaign = await h.app.database.db
        .selectFrom('campaign')
        .selectAll()
        .where('slack_message_ts', '=', progress.ts)
        .executeTakeFirstOrThrow();
      expect(campaign.status).toBe('completed');

      // Delivery statuses keep the report up to date.
      const recipientsRows = await h.app.database.db
        .selectFrom('campaign_recipient')
        .selectAll()
        .where('campaign_id', '=', campaign.id)
        .execute();
      await postMetaWebhook(h.url, statusWebhook(recipientsRows[0]?.provider_message_id as string, 'read'));
      await postMetaWebhook(
        h.url,
        statusWebhook(recipientsRows[1]?.provider_message_id as string, 'failed', [
          { code: 131026, title: 'Message undeliverable' },
        ]),
      );
      await waitFor('report shows read and failed', () => {
        const message = h.slack.messages(COMMAND_CHANNEL).find((m) => m.ts === progress.ts);
        return (
          JSON.stringify(message?.blocks).includes('Read *1*') && JSON.stringify(message?.blocks).includes('Failed *1*')
        );
      });

      // Each template is in the recipient's conversation (All Sessions), without opening threads.
      const conversation = await h.app.database.db
        .selectFrom('message')
        .innerJoin('contact', 'contact.id', 'message.contact_id')
        .select(['contact.phone_number', 'message.kind', 'message.campaign_id'])
        .where('message.campaign_id', '=', campaign.id)
        .execute();
      expect(conversation.map((c) => c.phone_number).sort()).toEqual([
        '+447911123001',
        '+447911123002',
        '+447911123003',
      ]);
      const threads = await h.app.database.db
        .selectFrom('slack_thread')
        .innerJoin('contact', 'contact.id', 'slack_thread.contact_id')
        .select('contact.phone_number')
        .where('contact.phone_number', 'in', ['+447911123001', '+447911123002', '+447911123003'])
        .execute();
      expect(threads).toEqual([]);
    });

    it('explains in the modal when a confirmation cannot go ahead (no errors naming a block the view lacks)', async () => {
      const view = await formFor('UMARKETER', 'hello_world');
      await submitForm(view, 'UMARKETER', { ...typed('+44 7911 123051'), ...variable('body.1', 'x') });
      const confirm = await waitFor('confirmation', () =>
        viewText(h.slack.views.get(view.id) as StoredView).includes('Confirm campaign')
          ? (h.slack.views.get(view.id) as StoredView)
          : null,
      );
      const sendsBefore = h.meta?.sent().length ?? 0;
      // Someone else's draft (and likewise a draft that was purged) can't be confirmed.
      const response = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: 'UGROWTH1',
            viewId: view.id,
            callbackId: 'wa_campaign_confirm',
            privateMetadata: confirm.view.private_metadata ?? '',
            values: {},
          }),
        ),
      );
      expect(response.json).toMatchObject({ response_action: 'update', view: { type: 'modal' } });
      expect(JSON.stringify(response.json)).toContain('no longer exists');
      expect(JSON.stringify(response.json)).toContain('Nothing was sent');
      await h.settle();
      expect(h.meta?.sent().length).toBe(sendsBefore);
    });

    it('refuses a header image of the wrong type or over 5 MB on its field, sending nothing', async () => {
      const sendsBefore = h.meta?.sent().length ?? 0;
      const view = await formFor('UMARKETER', 'spring_sale');
      const gif = h.slack.addFile({
        id: 'FGIF',
        name: 'sale.gif',
        mimetype: 'image/gif',
        bytes: Buffer.from('GIF89a'),
      });
      let response = await submitForm(view, 'UMARKETER', {
        ...typed('+44 7911 123451'),
        ...variable('body.1', '20%'),
        tpl_header_file: { file: { type: 'file_input', files: [gif] } },
      });
      expect(response.json).toEqual({
        response_action: 'errors',
        errors: { tpl_header_file: expect.stringMatching(/sale\.gif.*is not JPEG or PNG, at most 5 MB/) },
      });
      const big = {
        ...h.slack.addFile({ id: 'FBIGPNG', name: 'poster.png', mimetype: 'image/png', bytes: Buffer.from('PNG') }),
        size: 6 * 1024 * 1024,
      };
      response = await submitForm(view, 'UMARKETER', {
        ...typed('+44 7911 123451'),
        ...variable('body.1', '20%'),
        tpl_header_file: { file: { type: 'file_input', files: [big] } },
      });
      expect(response.json).toEqual({
        response_action: 'errors',
        errors: { tpl_header_file: expect.stringMatching(/poster\.png.*is too large: JPEG or PNG, at most 5 MB/) },
      });
      await h.settle();
      expect(h.meta?.sent().length).toBe(sendsBefore);
      expect(h.meta?.requests.some((r) => r.path.endsWith('/media') && r.raw.includes(Buffer.from('GIF89a')))).toBe(
        false,
      );
    });

    it('shows the first 10 invalid lines and sends the full list by DM when there are more', async () => {
      const lines = ['+44 7911 123461', ...Array.from({ length: 12 }, (_, i) => `bad-${i + 1}`), '+44 7911 123462'];
      const file = h.slack.addFile({
        id: 'FMANYBAD',
        name: 'many-bad.txt',
        mimetype: 'text/plain',
        bytes: Buffer.from(lines.join('\n')),
      });
      const uploadsBefore = h.slack.completed.length;
      const view = await formFor('UMARKETER', 'hello_world');
      await submitForm(view, 'UMARKETER', {
        cmp_recipients_file: { file: { type: 'file_input', files: [file] } },
        ...variable('body.1', 'you'),
      });
      const confirm = await waitFor('confirmation', () =>
        viewText(h.slack.views.get(view.id) as StoredView).includes('Confirm campaign')
          ? (h.slack.views.get(view.id) as StoredView)
          : null,
      );
      const text = viewText(confirm);
      expect(text).toContain('*Recipients:* 2');
      expect(text).toContain('*Invalid numbers skipped:* 12');
      expect(text).toContain('first 10 of 12');
      expect(text).toContain('The full list is in your DM with the app.');
      expect(text).toContain('line 11');
      expect(text).not.toContain('line 12:');
      const dm = await waitFor('invalid lines in DM', () =>
        h.slack.completed
          .slice(uploadsBefore)
          .find((c) => c.channel_id === 'DUMARKETER' && c.files.some((f) => f.title === 'Invalid recipient lines')),
      );
      const csv = dm.bytes[0]?.toString() ?? '';
      expect(csv.split('\r\n').filter((l) => l !== '')).toHaveLength(13); // header + 12 lines
      for (let i = 1; i <= 12; i++) expect(csv).toContain(`${i + 1},bad-${i},`);
      expect(dm.initial_comment).toContain('12 recipient lines were invalid');
    });

    it('refuses people outside MARKETERS for /wa apikey, and for cancelling or exporting a campaign', async () => {
      const apikey = await postSlack(
        h.url,
        slashCommand(SIGNING_SECRET, { text: 'apikey create sneaky', userId: 'URANDOM' }),
      );
      expect((apikey.json as { text: string }).text).toMatch(/Only the people listed in MARKETERS can manage API keys/);
      const list = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'apikey list', userId: 'URANDOM' }));
      expect((list.json as { text: string }).text).toMatch(/Only the people listed in MARKETERS/);
      expect(
        await h.app.database.db.selectFrom('api_key').select('name').where('name', '=', 'sneaky').execute(),
      ).toEqual([]);

      const campaignId = await launchTyped(['+447911123471']);
      const ts = await waitFor(
        'progress message',
        async () =>
          (
            await h.app.database.db
              .selectFrom('campaign')
              .select('slack_message_ts')
              .where('id', '=', campaignId)
              .executeTakeFirst()
          )?.slack_message_ts,
      );
      const answered = new Set<unknown>();
      const click = async (actionId: string, responseId: string) => {
        await postSlack(
          h.url,
          interactivity(
            SIGNING_SECRET,
            blockActionsPayload({
              userId: 'URANDOM',
              actionId,
              value: campaignId,
              message: { channelId: COMMAND_CHANNEL, ts },
              responseUrl: `${h.slack.baseUrl}response/${responseId}`,
            }),
          ),
        );
        return waitFor(`${actionId} answer`, () =>
          h.slack.calls.find(
            (c) => c.method === 'response_url' && String(c.body.text ?? '').includes('no_entry') && !answered.has(c),
          ),
        );
      };
      const cancel = await click('wa_campaign_cancel', 'r-cancel');
      answered.add(cancel);
      expect(cancel.body).toMatchObject({
        response_type: 'ephemeral',
        text: expect.stringMatching(/Only the people listed in MARKETERS can cancel campaigns/),
      });
      const csv = await click('wa_campaign_csv', 'r-csv');
      expect(csv.body.text).toMatch(/Only the people listed in MARKETERS can export campaign reports/);
      expect(h.slack.completed.some((c) => c.channel_id === 'DURANDOM')).toBe(false);
      expect(await campaignStatus(campaignId)).not.toBe('cancelled');
    });

    it('reads an uploaded recipients file (BOM, CRLF, blanks, dashes) and refuses a non-UTF-8 one', async () => {
      const lines = ['\uFEFF+44 7911-123101', '', '  +44 7911 123102 ', 'oops', '+44 7911 123101'];
      const good = h.slack.addFile({
        id: 'FRECIPIENTS',
        name: 'recipients.txt',
        mimetype: 'text/plain',
        bytes: Buffer.from(lines.join('\r\n')),
      });
      let view = await formFor('UMARKETER', 'hello_world');
      let response = await submitForm(view, 'UMARKETER', {
        cmp_recipients_file: { file: { type: 'file_input', files: [good] } },
        ...variable('body.1', 'you'),
      });
      expect(response.json).toMatchObject({ response_action: 'update' });
      const confirm = await waitFor('file confirmation', () =>
        viewText(h.slack.views.get(view.id) as StoredView).includes('Confirm campaign')
          ? (h.slack.views.get(view.id) as StoredView)
          : null,
      );
      expect(viewText(confirm)).toContain('*Recipients:* 2');
      expect(viewText(confirm)).toContain('line 4');

      const latin1 = h.slack.addFile({
        id: 'FLATIN1',
        name: 'latin.txt',
        mimetype: 'text/plain',
        bytes: Buffer.from([0x2b, 0x34, 0x34, 0xe9, 0x0a]),
      });
      view = await formFor('UMARKETER', 'hello_world');
      response = await submitForm(view, 'UMARKETER', {
        cmp_recipients_file: { file: { type: 'file_input', files: [latin1] } },
        ...variable('body.1', 'you'),
      });
      expect(response.json).toMatchObject({ response_action: 'update' });
      await waitFor('encoding problem shown', () =>
        viewText(h.slack.views.get(view.id) as StoredView).includes('not valid UTF-8'),
      );

      const wrongType = h.slack.addFile({
        id: 'FPDF',
        name: 'list.pdf',
        mimetype: 'application/pdf',
        bytes: Buffer.from('%PDF'),
      });
      view = await formFor('UMARKETER', 'hello_world');
      response = await submitForm(view, 'UMARKETER', {
        cmp_recipients_file: { file: { type: 'file_input', files: [wrongType] } },
        ...variable('body.1', 'you'),
      });
      expect(response.json).toEqual({
        response_action: 'errors',
        errors: { cmp_recipients_file: expect.stringMatching(/not a \.txt or \.csv/) },
      });
      const huge = {
        ...h.slack.addFile({ id: 'FHUGE', name: 'big.txt', mimetype: 'text/plain', bytes: Buffer.from('+1') }),
        size: 11 * 1024 * 1024,
      };
      response = await submitForm(view, 'UMARKETER', {
        cmp_recipients_file: { file: { type: 'file_input', files: [huge] } },
        ...variable('body.1', 'you'),
      });
      expect(response.json).toEqual({
        response_action: 'errors',
        errors: { cmp_recipients_file: expect.stringMatching(/larger than 10 MB/) },
      });
    });

    it('refuses a recipients CSV of 3,000 columns in the modal, naming the cap, and keeps serving', async () => {
      // ~430 KB: a 3,000-column header over 30,000 short rows (each row used to become 3,000 values).
      const header = ['phone', ...Array.from({ length: 2999 }, (_, i) => String(i + 1))].join(',');
      const rows = Array.from({ length: 30_000 }, (_, i) => `+4479112${String(i).padStart(5, '0')}`);
      const bytes = Buffer.from(`${header}\n${rows.join('\n')}\n`);
      expect(bytes.length).toBeGreaterThan(420_000);
      expect(bytes.length).toBeLessThan(440_000);
      const wide = h.slack.addFile({ id: 'FWIDE', name: 'wide.csv', mimetype: 'text/csv', bytes });
      const campaignCount = async () => (await h.app.database.db.selectFrom('campaign').select('id').execute()).length;
      const campaignsBefore = await campaignCount();
      const view = await formFor('UMARKETER', 'hello_world');
      const response = await submitForm(view, 'UMARKETER', {
        cmp_recipients_file: { file: { type: 'file_input', files: [wide] } },
        ...variable('body.1', 'you'),
      });
      expect(response.json).toMatchObject({ response_action: 'update' });
      const problem = await waitFor('the cap named in the modal', () => {
        const text = viewText(h.slack.views.get(view.id) as StoredView);
        return text.includes('Nothing was sent') ? text : null;
      });
      expect(problem).toContain('The file has 3,000 columns; at most 50 are read');
      expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
      expect(await campaignCount(), 'no draft was made').toBe(campaignsBefore);
    });

    it("stores only the template's variables from a CSV with other columns, and names the columns it ignored", async () => {
      const csv = h.slack.addFile({
        id: 'FEXTRA',
        name: 'crm-export.csv',
        mimetype: 'text/csv',
        bytes: Buffer.from(
          'phone,{{1}},date_of_birth,iban\n+44 7911 123501,Ana,1990-01-02,GB33BUKB20201555555555\n+44 7911 123502,,1985-03-04,GB94BARC10201530093459\n',
        ),
      });
      const view = await formFor('UMARKETER', 'hello_world');
      await submitForm(view, 'UMARKETER', {
        cmp_recipients_file: { file: { type: 'file_input', files: [csv] } },
        ...variable('body.1', 'friend'),
      });
      const confirm = await waitFor('csv confirmation', () =>
        viewText(h.slack.views.get(view.id) as StoredView).includes('Confirm campaign')
          ? (h.slack.views.get(view.id) as StoredView)
          : null,
      );
      const draftId = JSON.parse(confirm.view.private_metadata ?? '{}').draftId as string;
      const stored = (await recipientRows(draftId)).map((r) => [r.phone_number, r.parameters_json]);
      expect(stored).toEqual([
        ['+447911123501', JSON.stringify({ 'body.1': 'Ana' })],
        ['+447911123502', null],
      ]);
      const everything = JSON.stringify(
        await h.app.database.db.selectFrom('campaign').selectAll().where('id', '=', draftId).execute(),
      );
      for (const secret of ['1990-01-02', 'GB33BUKB20201555555555', '1985-03-04'])
        expect(everything).not.toContain(secret);
      expect(viewText(confirm)).toContain(
        '*Columns ignored* (not variables of this template): `date_of_birth`, `iban`',
      );
    });

    it('takes per-recipient variables from a CSV, header media from the form, a send-later time, and exports a per-recipient CSV', async () => {
      const csv = h.slack.addFile({
        id: 'FCSV',
        name: 'people.csv',
        mimetype: 'text/csv',
        bytes: Buffer.from('phone,{{1}}\n+44 7911 123301,Ana\n"+44 7911 123302","Bruno, Jr."\n'),
      });
      let view = await formFor('UMARKETER', 'hello_world');
      const sendsBefore = h.meta?.sent().length ?? 0;
      const inTwoSeconds = Math.ceil((Date.now() + 2000) / 1000);
      let response = await submitForm(view, 'UMARKETER', {
        cmp_recipients_file: { file: { type: 'file_input', files: [csv] } },
        ...variable('body.1', 'default'),
        cmp_schedule: { when: { type: 'datetimepicker', selected_date_time: inTwoSeconds } },
      });
      expect(response.json).toMatchObject({ response_action: 'update' });
      let confirm = await waitFor('csv confirmation', () =>
        viewText(h.slack.views.get(view.id) as StoredView).includes('Confirm campaign')
          ? (h.slack.views.get(view.id) as StoredView)
          : null,
      );
      expect(viewText(confirm)).toContain('Variables come from the CSV file');
      expect(viewText(confirm)).toContain('Scheduled for');
      const csvCampaign = JSON.parse(confirm.view.private_metadata ?? '{}').draftId as string;
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: 'UMARKETER',
            viewId: view.id,
            callbackId: 'wa_campaign_confirm',
            privateMetadata: confirm.view.private_metadata ?? '',
            values: {},
          }),
        ),
      );
      expect(
        (
          await h.app.database.db
            .selectFrom('campaign')
            .select('status')
            .where('id', '=', csvCampaign)
            .executeTakeFirstOrThrow()
        ).status,
      ).toBe('scheduled');
      expect(h.meta?.sent().length).toBe(sendsBefore);
      await waitFor('scheduled campaign sent', () => (h.meta?.sent().length ?? 0) >= sendsBefore + 2, 15_000);
      const bodies = (h.meta?.sent().slice(sendsBefore) ?? []).map((b) => [b.to, JSON.stringify(b.template)]);
      expect(bodies.find(([to]) => to === '447911123301')?.[1]).toContain('"text":"Ana"');
      expect(bodies.find(([to]) => to === '447911123302')?.[1]).toContain('"text":"Bruno, Jr."');

      // An image-header template: the file from the form is uploaded to WhatsApp once and used as the header.
      const picture = h.slack.addFile({
        id: 'FPIC',
        name: 'sale.png',
        mimetype: 'image/png',
        bytes: Buffer.from('PNGDATA'),
      });
      view = await formFor('UMARKETER', 'spring_sale');
      expect(viewText(view)).toContain('tpl_header_file');
      response = await submitForm(view, 'UMARKETER', {
        ...typed('+44 7911 123401'),
        ...variable('body.1', '20%'),
        tpl_header_file: { file: { type: 'file_input', files: [picture] } },
      });
      expect(response.json).toMatchObject({ response_action: 'update' });
      confirm = await waitFor('image confirmation', () =>
        viewText(h.slack.views.get(view.id) as StoredView).includes('Confirm campaign')
          ? (h.slack.views.get(view.id) as StoredView)
          : null,
      );
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: 'UMARKETER',
            viewId: view.id,
            callbackId: 'wa_campaign_confirm',
            privateMetadata: confirm.view.private_metadata ?? '',
            values: {},
          }),
        ),
      );
      const imageSend = await waitFor('image template sent', () => h.meta?.sent().find((b) => b.to === '447911123401'));
      expect(JSON.stringify(imageSend)).toMatch(
        /"type":"header","parameters":\[\{"type":"image","image":\{"id":"\d+"\}\}\]/,
      );
      expect(validateMetaMessageBody(imageSend)).toEqual([]);
      expect(h.meta?.requests.some((r) => r.path.endsWith('/media') && r.raw.includes(Buffer.from('PNGDATA')))).toBe(
        true,
      );

      // Per-recipient CSV, on request, into the requester's DM (once its sends are recorded).
      await waitFor('csv campaign completed', async () => (await campaignStatus(csvCampaign)) === 'completed');
      const progress = await waitFor(
        'csv campaign report',
        async () =>
          (
            await h.app.database.db
              .selectFrom('campaign')
              .select('slack_message_ts')
              .where('id', '=', csvCampaign)
              .executeTakeFirst()
          )?.slack_message_ts,
      );
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId: 'UMARKETER',
            actionId: 'wa_campaign_csv',
            value: csvCampaign,
            message: { channelId: COMMAND_CHANNEL, ts: progress },
            responseUrl: `${h.slack.baseUrl}response/2`,
          }),
        ),
      );
      const upload = await waitFor('CSV in DM', () =>
        h.slack.completed.find(
          (c) => c.channel_id === 'DUMARKETER' && c.files.some((f) => (f.title ?? '').includes('per-recipient')),
        ),
      );
      expect(upload.bytes[0]?.toString()).toMatch(
        /^phone_number,status,provider_message_id[\s\S]*\+447911123301,sent,wamid/,
      );
    });

    it('fills header and URL-button variables per recipient from header.N and button.I.N CSV columns', async () => {
      const csv = h.slack.addFile({
        id: 'FCSVALL',
        name: 'orders.csv',
        mimetype: 'text/csv',
        bytes: Buffer.from(
          'phone,header.1,{{1}},body.2,button.0.1\n+44 7911 123701,A-1,Ana,A-1,track-a1\n+44 7911 123702,B-2,Bruno,B-2,\n',
        ),
      });
      const view = await formFor('UMARKETER', 'order_update', 'en_US');
      const sendsBefore = h.meta?.sent().length ?? 0;
      const response = await submitForm(view, 'UMARKETER', {
        cmp_recipients_file: { file: { type: 'file_input', files: [csv] } },
        ...variable('header.1', 'default-header'),
        ...variable('body.1', 'default-name'),
        ...variable('body.2', 'default-order'),
        ...variable('button.0.1', 'default-button'),
      });
      expect(response.json).toMatchObject({ response_action: 'update' });
      const confirm = await waitFor('csv confirmation', () =>
        viewText(h.slack.views.get(view.id) as StoredView).includes('Confirm campaign')
          ? (h.slack.views.get(view.id) as StoredView)
          : null,
      );
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: 'UMARKETER',
            viewId: view.id,
            callbackId: 'wa_campaign_confirm',
            privateMetadata: confirm.view.private_metadata ?? '',
            values: {},
          }),
        ),
      );
      await waitFor('2 sends', () => (h.meta?.sent().length ?? 0) >= sendsBefore + 2);
      const sends = h.meta?.sent().slice(sendsBefore) ?? [];
      const to = (number: string) =>
        (sends.find((s) => s.to === number)?.template as { components: unknown[] } | undefined)?.components;
      expect(to('447911123701')).toEqual([
        { type: 'header', parameters: [{ type: 'text', text: 'A-1' }] },
        {
          type: 'body',
          parameters: [
            { type: 'text', text: 'Ana' },
            { type: 'text', text: 'A-1' },
          ],
        },
        { type: 'button', sub_type: 'url', index: '0', parameters: [{ type: 'text', text: 'track-a1' }] },
      ]);
      // An empty cell keeps the value from the form.
      expect(JSON.stringify(to('447911123702'))).toContain('"text":"default-button"');
      expect(JSON.stringify(to('447911123702'))).toContain('"text":"B-2"');
      // Not checked against Meta's OpenAPI file here: its button `index` pattern (`^[2-6, 11-14]$`) is a
      // malformed character class that refuses index "0", which Meta's own documentation uses.
    });

    it('retries 5xx and 429 answers (honouring Retry-After) with backoff, and delivers everyone exactly once', async () => {
      const numbers = Array.from({ length: 6 }, (_, i) => `+4479111238${String(i).padStart(2, '0')}`);
      const campaignId = await launchTyped(numbers, () => {
        // Sends are never retried inside the HTTP client (a retry there would go out off the send
        // schedule): every failure comes back to the campaign, which retries it in a later slot.
        h.meta?.failSendsTo('447911123800', 4, {
          status: 503,
          body: { error: { message: 'Service temporarily unavailable', code: 131016 } },
          headers: { 'retry-after': '0' },
        });
        h.meta?.failSendsTo('447911123801', 3, {
          status: 429,
          body: { error: { message: '(#130429) Rate limit hit', code: 130429 } },
          headers: { 'retry-after': '1' },
        });
        h.meta?.failNext(2, { status: 500, body: { error: { message: 'Unknown error', code: 1 } } });
      });
      await waitFor('campaign completed', async () => (await campaignStatus(campaignId)) === 'completed', 20_000);
      const accepted = (h.meta?.accepted() ?? []).map((b) => String(b.to));
      for (const number of numbers) expect(accepted.filter((to) => `+${to}` === number)).toHaveLength(1);
      const rows = await recipientRows(campaignId);
      expect(rows.map((r) => r.status)).toEqual(numbers.map(() => 'sent'));
      expect(rows.find((r) => r.phone_number === '+447911123800')?.attempts).toBe(5);
      expect(rows.find((r) => r.phone_number === '+447911123801')?.attempts).toBe(4);
    });

    it(`fails a recipient that keeps failing after ${MAX_SEND_ATTEMPTS} attempts, with a readable reason in the report`, async () => {
      const numbers = ['+447911123900', '+447911123901'];
      const campaignId = await launchTyped(numbers, () =>
        h.meta?.failSendsTo('447911123900', 1000, {
          status: 503,
          body: { error: { message: 'Service temporarily unavailable', code: 131016 } },
          headers: { 'retry-after': '0' },
        }),
      );
      await waitFor('campaign completed', async () => (await campaignStatus(campaignId)) === 'completed', 20_000);
      const [failing, fine] = await recipientRows(campaignId);
      expect(fine?.status).toBe('sent');
      expect(failing).toMatchObject({
        status: 'failed',
        attempts: MAX_SEND_ATTEMPTS,
        error_code: '131016',
        error_detail: `gave up after ${MAX_SEND_ATTEMPTS} attempts: WhatsApp is temporarily unavailable (131016)`,
      });
      // Each attempt is exactly one request (no retry inside the HTTP client); then it stops.
      expect(h.meta?.sent().filter((s) => s.to === '447911123900')).toHaveLength(MAX_SEND_ATTEMPTS);
      const ts = (
        await h.app.database.db
          .selectFrom('campaign')
          .select('slack_message_ts')
          .where('id', '=', campaignId)
          .executeTakeFirstOrThrow()
      ).slack_message_ts;
      await waitFor('final report with the reason', () => {
        const text = JSON.stringify(h.slack.messages(COMMAND_CHANNEL).find((m) => m.ts === ts)?.blocks ?? '');
        return (
          text.includes('Finished') &&
          text.includes('*Failures:*') &&
          text.includes(`1 × gave up after ${MAX_SEND_ATTEMPTS} attempts: WhatsApp is temporarily unavailable (131016)`)
        );
      });
    });

    it('sends triggered templates through the authenticated HTTP API, once per idempotency key', async () => {
      const created = await postSlack(
        h.url,
        slashCommand(SIGNING_SECRET, { text: 'apikey create billing system', userId: 'UMARKETER' }),
      );
      const key = /`(wab_[^`]+)`/.exec((created.json as { text: string }).text)?.[1] as string;
      expect(key).toBeDefined();
      const stored = await h.app.database.db.selectFrom('api_key').selectAll().execute();
      expect(JSON.stringify(stored)).not.toContain(key); // only the hash is kept

      const post = (body: unknown, token = key) =>
        fetch(`${h.url}/api/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const body = {
        from: '+15550001111',
        to: '+44 7911 123201',
        template: 'hello_world',
        language: 'en_US',
        variables: { '1': 'Ana' },
        idempotency_key: 'order-1',
      };
      expect((await post(body, 'wab_wrong_key_123456')).status).toBe(401);
      expect((await fetch(`${h.url}/api/v1/messages`, { method: 'POST', body: '{}' })).status).toBe(401);
      expect((await post({ ...body, to: 'nope' })).status).toBe(422);
      expect((await post({ from: 1 })).status).toBe(400);
      const first = await post(body);
      expect(first.status).toBe(202);
      const { id } = (await first.json()) as { id: string };
      const again = await post(body);
      expect(again.status).toBe(200);
      expect(((await again.json()) as { id: string; duplicate: boolean }).id).toBe(id);
      await waitFor('API send', () => h.meta?.sent().some((s) => s.to === '447911123201'));
      await h.settle();
      expect(h.meta?.sent().filter((s) => s.to === '447911123201')).toHaveLength(1);
      // The send is recorded a moment after the provider accepted it.
      const status = await waitFor('API status sent', async () => {
        const body = (await (
          await fetch(`${h.url}/api/v1/messages/${id}`, { headers: { authorization: `Bearer ${key}` } })
        ).json()) as { status: string };
        return body.status === 'sent' ? body : null;
      });
      expect(status).toMatchObject({ id, status: 'sent' });

      const revoked = await postSlack(
        h.url,
        slashCommand(SIGNING_SECRET, { text: `apikey revoke ${stored[0]?.id}`, userId: 'UMARKETER' }),
      );
      expect((revoked.json as { text: string }).text).toContain('revoked');
      expect((await post({ ...body, idempotency_key: 'order-2' })).status).toBe(401);
    });

    it('records an API idempotency key only together with its message: a failure half-way leaves the key free', async () => {
      const created = await postSlack(
        h.url,
        slashCommand(SIGNING_SECRET, { text: 'apikey create shop', userId: 'UMARKETER' }),
      );
      const key = /`(wab_[^`]+)`/.exec((created.json as { text: string }).text)?.[1] as string;
      const post = () =>
        fetch(`${h.url}/api/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            from: '+15550001111',
            to: '+44 7911 123999',
            template: 'hello_world',
            language: 'en_US',
            variables: { '1': 'Ana' },
            idempotency_key: 'half-way',
          }),
        });
      // The database refuses the recipient row, as if the process died between the two writes.
      const { db, dialect: kind } = h.app.database;
      if (kind === 'sqlite') {
        await sql`create trigger refuse_recipient before insert on campaign_recipient
          when new.phone_number = '+447911123999' begin select raise(abort, 'simulated crash'); end`.execute(db);
      } else {
        await sql`create function refuse_recipient() returns trigger language plpgsql as $$
          begin if new.phone_number = '+447911123999' then raise exception 'simulated crash'; end if; return new; end $$`.execute(
          db,
        );
        await sql`create trigger refuse_recipient before insert on campaign_recipient
          for each row execute function refuse_recipient()`.execute(db);
      }
      try {
        expect((await post()).status).toBe(500);
      } finally {
        await sql`drop trigger refuse_recipient${sql.raw(kind === 'sqlite' ? '' : ' on campaign_recipient')}`.execute(
          db,
        );
        if (kind === 'postgres') await sql`drop function refuse_recipient()`.execute(db);
      }
      // The retry with the same key sends the message (it is not answered as a duplicate of nothing).
      const retried = await post();
      expect(retried.status).toBe(202);
      const { id } = (await retried.json()) as { id: string };
      await waitFor('retried API send', () => h.meta?.sent().some((s) => s.to === '447911123999'));
      const status = await fetch(`${h.url}/api/v1/messages/${id}`, { headers: { authorization: `Bearer ${key}` } });
      expect(status.status).toBe(200);
      expect((await post()).status).toBe(200); // and from now on the key is taken
      await h.settle();
      expect(h.meta?.sent().filter((s) => s.to === '447911123999')).toHaveLength(1);

      // Concurrent requests with one key: one message, one id.
      const burst = await Promise.all(
        Array.from({ length: 6 }, () =>
          fetch(`${h.url}/api/v1/messages`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              from: '+15550001111',
              to: '+44 7911 123998',
              template: 'hello_world',
              language: 'en_US',
              variables: { '1': 'Bo' },
              idempotency_key: 'burst',
            }),
          }).then(async (r) => ({ status: r.status, id: ((await r.json()) as { id: string }).id })),
        ),
      );
      expect(burst.filter((r) => r.status === 202)).toHaveLength(1);
      expect(new Set(burst.map((r) => r.id)).size).toBe(1);
      await waitFor('burst send', () => h.meta?.sent().some((s) => s.to === '447911123998'));
      await h.settle();
      expect(h.meta?.sent().filter((s) => s.to === '447911123998')).toHaveLength(1);
    });

    it('never sends above WHATSAPP_MAX_MPS in any sliding second, and shows a progress bar and an ETA while sending', async () => {
      const limit = 20;
      const total = 80;
      const database = await dialect.create();
      const own = await startHarness({ database, env: { WHATSAPP_MAX_MPS: String(limit) } });
      try {
        own.meta?.setRateLimit(limit); // the fake answers 429 above it, like Meta
        const { campaignId } = await launchHelloWorld({
          appUrl: own.url,
          slack: own.slack,
          channelId: COMMAND_CHANNEL,
          recipientsFile: recipientsFile(total, 600000),
        });
        await waitFor(
          'paced campaign completed',
          async () =>
            (
              await own.app.database.db
                .selectFrom('campaign')
                .select('status')
                .where('id', '=', campaignId)
                .executeTakeFirst()
            )?.status === 'completed',
          30_000,
        );
        const arrivals = [...(own.meta?.sendTimes ?? [])].sort((a, b) => a - b);
        expect(arrivals).toHaveLength(total);
        expect(own.meta?.sent()).toHaveLength(total); // no send was refused for going too fast
        let first = 0;
        let busiest = 0;
        for (let last = 0; last < arrivals.length; last++) {
          while ((arrivals[last] ?? 0) - (arrivals[first] ?? 0) >= 1000) first++;
          busiest = Math.max(busiest, last - first + 1);
        }
        expect(busiest).toBeLessThanOrEqual(limit);
      } finally {
        // Stopping also flushes the last progress update.
        await own.stop();
        await database.drop();
      }
      // While it was sending, the progress message showed the bar and how long was left.
      const shown = own.slack.calls
        .filter((c) => c.method === 'chat.update' || c.method === 'chat.postMessage')
        .map((c) => JSON.stringify(c.body.blocks ?? ''));
      expect(shown.some((b) => /█+░+ \d+%/.test(b) && /About \d+s left \(\d+\.\d msg\/s\)/.test(b))).toBe(true);
      expect(shown.at(-1)).toMatch(/Finished/);
      expect(shown.at(-1)).toContain('████████████████████ 100%');
    });

    it('posts no campaign progress message for API sends: their status is read over HTTP', async () => {
      const database = await dialect.create();
      const own = await startHarness({ database });
      try {
        const created = await postSlack(
          own.url,
          slashCommand(SIGNING_SECRET, { text: 'apikey create otp service', userId: 'UMARKETER' }),
        );
        const key = /`(wab_[^`]+)`/.exec((created.json as { text: string }).text)?.[1] as string;
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          const response = await fetch(`${own.url}/api/v1/messages`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              from: '+15550001111',
              to: `+44 7911 12360${i}`,
              template: 'hello_world',
              language: 'en_US',
              variables: { '1': `code ${i}` },
              idempotency_key: `otp-${i}`,
            }),
          });
          expect(response.status).toBe(202);
          ids.push(((await response.json()) as { id: string }).id);
        }
        const statusOf = async (id: string) =>
          (
            (await (
              await fetch(`${own.url}/api/v1/messages/${id}`, { headers: { authorization: `Bearer ${key}` } })
            ).json()) as { status: string }
          ).status;
        await waitFor('every API send sent', async () =>
          (await Promise.all(ids.map(statusOf))).every((s) => s === 'sent'),
        );
        const recipient = await own.app.database.db
          .selectFrom('campaign_recipient')
          .select('provider_message_id')
          .where('campaign_id', '=', ids[0] as string)
          .executeTakeFirstOrThrow();
        await postMetaWebhook(own.url, statusWebhook(recipient.provider_message_id as string, 'delivered'));
        await waitFor('delivered status over HTTP', async () => (await statusOf(ids[0] as string)) === 'delivered');
      } finally {
        // Stopping flushes every pending progress report, so whatever would be posted has been by now.
        await own.stop();
        await database.drop();
      }
      const campaignMessages = own.slack.calls.filter(
        (c) => ['chat.postMessage', 'chat.update'].includes(c.method) && String(c.body.text).startsWith('Campaign'),
      );
      expect(campaignMessages).toEqual([]);
      expect(own.slack.messages().filter((m) => m.text.startsWith('Campaign'))).toEqual([]);
    });

    it('cancels a campaign from its progress message: what was not sent ends cancelled, in the database and the report', async () => {
      h.meta?.setLatency(600);
      const view = await formFor('UMARKETER', 'hello_world');
      const numbers = Array.from({ length: 40 }, (_, i) => `+4479111${String(20000 + i)}`).join('\n');
      await submitForm(view, 'UMARKETER', { ...typed(numbers), ...variable('body.1', 'x') });
      const confirm = await waitFor('confirmation', () =>
        viewText(h.slack.views.get(view.id) as StoredView).includes('Confirm campaign')
          ? (h.slack.views.get(view.id) as StoredView)
          : null,
      );
      const draftId = JSON.parse(confirm.view.private_metadata ?? '{}').draftId as string;
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: 'UMARKETER',
            viewId: view.id,
            callbackId: 'wa_campaign_confirm',
            privateMetadata: confirm.view.private_metadata ?? '',
            values: {},
          }),
        ),
      );
      const recipients = () =>
        h.app.database.db
          .selectFrom('campaign_recipient')
          .select(['status', 'error_code', 'attempts'])
          .where('campaign_id', '=', draftId)
          .execute();
      const progress = await waitFor(
        'progress message',
        async () =>
          (
            await h.app.database.db
              .selectFrom('campaign')
              .select('slack_message_ts')
              .where('id', '=', draftId)
              .executeTakeFirst()
          )?.slack_message_ts,
      );
      await waitFor('sends in flight', async () => (await recipients()).some((r) => r.status === 'sending'));
      // The sends in flight at the cancel fail with a retryable error, so they are given back.
      h.meta?.failUntil(Date.now() + 15_000, 503);
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId: 'UMARKETER',
            actionId: 'wa_campaign_cancel',
            value: draftId,
            message: { channelId: COMMAND_CHANNEL, ts: progress },
            responseUrl: `${h.slack.baseUrl}response/1`,
          }),
        ),
      );
      await waitFor(
        'cancelled',
        async () =>
          (await h.app.database.db.selectFrom('campaign').select('status').where('id', '=', draftId).executeTakeFirst())
            ?.status === 'cancelled',
      );
      await waitFor('no send in flight', async () => (await recipients()).every((r) => r.status !== 'sending'), 20_000);
      h.meta?.failUntil(0);
      h.meta?.setLatency(0);
      await h.settle();
      const rows = await recipients();
      expect(rows.length).toBe(40);
      expect(rows.filter((r) => !['sent', 'cancelled'].includes(r.status))).toEqual([]);
      const cancelled = rows.filter((r) => r.status === 'cancelled');
      expect(cancelled.length).toBeGreaterThan(0);
      expect(cancelled.every((r) => r.error_code === 'cancelled')).toBe(true);
      // Some of them had been claimed for a send that was under way when the cancel came.
      expect(cancelled.some((r) => r.attempts > 0)).toBe(true);
      const sent = rows.length - cancelled.length;
      await waitFor('final report', () => {
        const text = JSON.stringify(h.slack.messages(COMMAND_CHANNEL).find((m) => m.ts === progress)?.blocks);
        return (
          text.includes('Cancelled') &&
          text.includes(`Cancelled *${cancelled.length}*`) &&
          text.includes(`Sent *${sent}*`) &&
          text.includes('Queued *0*')
        );
      });
    });
  });
}
