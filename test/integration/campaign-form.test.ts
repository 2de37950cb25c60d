import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, MARKETER, SIGNING_SECRET, startHarness } from '../support/bridge-harness.js';
import { dialects } from '../support/databases.js';
import { DEFAULT_PHONE_NUMBERS, DEFAULT_TEMPLATES } from '../support/fake-meta-graph.js';
import {
  blockActionsPayload,
  blockSuggestion,
  interactivity,
  postSlack,
  slashCommand,
  viewSubmissionPayload,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The campaign form (issue #19, item 1), driven through signed Slack requests against the fake
 * Slack (which enforces Block Kit's limits, the options-load answer's limits, and that `errors`
 * name input blocks of the submitted view): `/wa send` leaves nothing in the channel; errors show
 * under the field they concern; the template menu searches every approved template (not the first
 * 100); languages go by name; variables carry Meta's example; the preview follows what is typed.
 */

const cases = await dialects();
const CHANNEL = 'C0MARKETING';
const FORM = 'wa_campaign_form';
const NUMBER_ID = '1906385232743451';
const SECOND_NUMBER_ID = '1906385232743453';

type Block = {
  type: string;
  block_id?: string;
  dispatch_action?: boolean;
  label?: { text: string };
  text?: { text: string };
  element?: {
    type: string;
    action_id?: string;
    options?: unknown[];
    initial_option?: { text: { text: string }; value: string };
    dispatch_action_config?: { trigger_actions_on: string[] };
    initial_value?: string;
  };
};
type StoredView = {
  id: string;
  hash: string;
  view: { private_metadata?: string; callback_id?: string; blocks: Block[] };
};
type MenuOption = { text: { text: string }; value: string; description?: { text: string } };
type OptionsAnswer = { options?: MenuOption[]; option_groups?: { label: { text: string }; options: MenuOption[] }[] };

/** 120 approved promotions (more than a Slack menu can list at once) and a name longer than an option may be. */
const PROMOTIONS = Array.from({ length: 120 }, (_, i) => {
  const n = String(i + 1).padStart(3, '0');
  return {
    id: `tp${n}`,
    name: `promo_${n}`,
    language: 'en_US',
    status: 'APPROVED',
    category: 'MARKETING',
    components: [{ type: 'BODY', text: `Offer ${n}: {{1}} today.`, example: { body_text: [['20% off']] } }],
  };
});
const LONG_NAME = `seasonal_${'clearance_'.repeat(16)}final`;
const LONG_TEMPLATE = {
  id: 'tlong',
  name: LONG_NAME,
  language: 'es_MX',
  status: 'APPROVED',
  category: 'MARKETING',
  components: [{ type: 'BODY', text: 'Liquidación de temporada.' }],
};

for (const dialect of cases) {
  describe.runIf(dialect.available)(`the campaign form on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      const [first] = DEFAULT_PHONE_NUMBERS;
      h = await startHarness({
        database: await dialect.create(),
        // Two connected numbers: the form cannot choose one for the marketer.
        metaPhoneNumbers: [
          ...DEFAULT_PHONE_NUMBERS,
          { ...first, id: SECOND_NUMBER_ID, display_phone_number: '+1 555-000-3333' },
        ],
      });
      h.meta?.setTemplates([...DEFAULT_TEMPLATES, ...PROMOTIONS, LONG_TEMPLATE]);
    });
    afterAll(async () => {
      await h?.stop();
    });

    const stored = (id: string) => h.slack.views.get(id) as StoredView;
    const blockOf = (view: StoredView, blockId: string) => view.view.blocks.find((b) => b.block_id === blockId);
    const metadataOf = (view: StoredView) => JSON.parse(view.view.private_metadata ?? '{}') as Record<string, unknown>;

    async function openForm(): Promise<{ view: StoredView; ack: { status: number; text: string } }> {
      const before = new Set(h.slack.views.keys());
      const ack = await postSlack(
        h.url,
        slashCommand(SIGNING_SECRET, { text: 'send', userId: MARKETER, channelId: CHANNEL }),
      );
      const view = await waitFor('the campaign form', () =>
        [...(h.slack.views.values() as Iterable<StoredView>)].find(
          (v) => !before.has(v.id) && v.view.callback_id === FORM,
        ),
      );
      return { view, ack };
    }

    /** A menu changed, as Slack sends it: the view's hash as the person's client had it. */
    async function choose(
      view: StoredView,
      actionId: string,
      value: string,
      options: { hash?: string; actionType?: string } = {},
    ): Promise<StoredView> {
      const hash = options.hash ?? view.hash;
      const before = stored(view.id).hash;
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId: MARKETER,
            actionId,
            selectedOption: value,
            actionType:
              options.actionType ?? (actionId === 'tpl_template_select' ? 'external_select' : 'static_select'),
            view: { id: view.id, hash, callbackId: FORM, privateMetadata: view.view.private_metadata ?? '{}' },
          }),
        ),
      );
      return waitFor(`${actionId}=${value}`, () => (stored(view.id).hash !== before ? stored(view.id) : null));
    }

    /** A variable typed, as Slack dispatches it (`on_character_entered`), with the form's state. */
    function type(view: StoredView, key: string, value: string) {
      return postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId: MARKETER,
            actionId: 'value',
            blockId: `tpl_var:${key}`,
            actionType: 'plain_text_input',
            value,
            view: {
              id: view.id,
              hash: view.hash,
              callbackId: FORM,
              privateMetadata: view.view.private_metadata ?? '{}',
              state: { [`tpl_var:${key}`]: { value: { type: 'plain_text_input', value } } },
            },
          }),
        ),
      );
    }

    async function search(view: StoredView, query: string): Promise<OptionsAnswer> {
      const answer = await postSlack(
        h.url,
        blockSuggestion(SIGNING_SECRET, {
          userId: MARKETER,
          actionId: 'tpl_template_select',
          blockId: 'tpl_template',
          value: query,
          view: { id: view.id, hash: view.hash, callbackId: FORM, privateMetadata: view.view.private_metadata ?? '{}' },
        }),
      );
      expect(answer.status).toBe(200);
      return answer.json as OptionsAnswer;
    }

    /** Submits the form as Slack does: with the view's blocks (the fake checks `errors` against them). */
    function submit(view: StoredView, values: Record<string, Record<string, unknown>>) {
      return postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: MARKETER,
            viewId: view.id,
            callbackId: FORM,
            privateMetadata: view.view.private_metadata ?? '{}',
            values,
            blocks: view.view.blocks,
          }),
        ),
      );
    }

    it('opens the form from /wa send and leaves nothing in the channel', async () => {
      const callsBefore = h.slack.calls.length;
      const { view, ack } = await openForm();
      expect(ack.status).toBe(200);
      // The command is acknowledged empty: Slack then shows nothing in the channel.
      expect(ack.text).toBe('');
      expect(blockOf(view, 'cmp_number')?.type).toBe('input');
      const since = h.slack.calls.slice(callsBefore);
      expect(since.filter((c) => c.method === 'response_url')).toEqual([]);
      expect(
        since.filter(
          (c) => ['chat.postMessage', 'chat.postEphemeral'].includes(c.method) && c.body.channel === CHANNEL,
        ),
      ).toEqual([]);
      expect(h.slack.messages(CHANNEL).filter((m) => /campaign form/i.test(m.text))).toEqual([]);
    });

    it('searches every approved template in the menu, 100 at a time, and takes one beyond the first 100', async () => {
      const { view } = await openForm();
      const menu = blockOf(view, 'tpl_template');
      expect(menu).toMatchObject({ type: 'input', dispatch_action: true, label: { text: 'Template' } });
      expect(menu?.element).toMatchObject({ type: 'external_select', action_id: 'tpl_template_select' });
      expect(menu?.element?.options).toBeUndefined();

      const all = await search(view, '');
      expect(all.options).toBeUndefined();
      expect(all.option_groups?.[0]?.label.text).toBe('First 100 of 124: type to narrow');
      expect(all.option_groups?.[0]?.options).toHaveLength(100);

      const narrowed = await search(view, 'Promo 11');
      expect(narrowed.options?.map((o) => o.value)).toEqual(Array.from({ length: 10 }, (_, i) => `promo_${110 + i}`));
      const last = await search(view, 'promo_120');
      expect(last.options).toEqual([
        {
          text: { type: 'plain_text', text: 'promo_120', emoji: true },
          value: 'promo_120',
          description: expect.anything(),
        },
      ]);
      expect(last.options?.[0]?.description?.text).toBe('English (US)');

      // A name longer than an option's text is shortened there, and still chosen by its value.
      const [long] = (await search(view, 'seasonal')).options ?? [];
      expect(long?.text.text).toHaveLength(75);
      const withLong = await choose(view, 'tpl_template_select', long?.value ?? '');
      expect(metadataOf(withLong).templateName).toBe(LONG_NAME);

      const chosen = await choose(withLong, 'tpl_template_select', 'promo_120');
      expect(metadataOf(chosen)).toMatchObject({ templateName: 'promo_120', language: 'en_US' });
      expect(blockOf(chosen, 'tpl_template')?.element?.initial_option?.value).toBe('promo_120');
      expect(blockOf(chosen, 'tpl_var:body.1')?.label?.text).toBe('{{1}} — e.g. 20% off');
    });

    it('names languages (code in small print) and labels each variable with the example Meta approved', async () => {
      const { view } = await openForm();
      const withTemplate = await choose(view, 'tpl_template_select', 'order_update');
      const languages = blockOf(withTemplate, 'tpl_language:order_update');
      expect(languages).toMatchObject({ type: 'input', dispatch_action: true, label: { text: 'Language' } });
      expect(languages?.element?.options).toEqual([
        {
          text: { type: 'plain_text', text: 'English (US)', emoji: true },
          value: 'en_US',
          description: { type: 'plain_text', text: 'en_US', emoji: true },
        },
        {
          text: { type: 'plain_text', text: 'Portuguese (BR)', emoji: true },
          value: 'pt_BR',
          description: { type: 'plain_text', text: 'pt_BR', emoji: true },
        },
      ]);
      const english = await choose(withTemplate, 'tpl_language_select', 'en_US');
      const labels = english.view.blocks.filter((b) => b.block_id?.startsWith('tpl_var:')).map((b) => b.label?.text);
      expect(labels).toEqual([
        'Header {{1}} — e.g. 4521',
        '{{1}} — e.g. Ada',
        '{{2}} — e.g. A-4521',
        'Button "Track" URL {{1}} — e.g. A-4521',
      ]);
      expect(blockOf(english, 'tpl_language:order_update')?.element?.initial_option?.text.text).toBe('English (US)');
    });

    it('redraws the preview as variables are typed, from the latest text, without losing a menu change', async () => {
      const { view } = await openForm();
      const form = await choose(view, 'tpl_template_select', 'hello_world');
      const field = blockOf(form, 'tpl_var:body.1');
      expect(field).toMatchObject({ type: 'input', dispatch_action: true });
      expect(field?.element?.dispatch_action_config).toEqual({ trigger_actions_on: ['on_character_entered'] });
      const preview = (v: StoredView) => blockOf(v, 'tpl_preview')?.text?.text ?? '';
      expect(preview(form)).toContain('Hello {{1}}, thanks');

      // Two pauses in typing, the second before the first redraw landed (same hash).
      await type(form, 'body.1', 'Gr');
      await type(form, 'body.1', 'Grace');
      const typed = await waitFor('the preview with what was typed', () =>
        preview(stored(form.id)).includes('Hello Grace, thanks') ? stored(form.id) : null,
      );
      expect(blockOf(typed, 'tpl_var:body.1')?.element?.initial_value).toBe('Grace');

      // A menu changed by someone whose client still had the form from before that redraw.
      const withNumber = await choose(typed, 'cmp_number_select', SECOND_NUMBER_ID, { hash: form.hash });
      expect(metadataOf(withNumber).sendingNumberId).toBe(SECOND_NUMBER_ID);
      expect(preview(withNumber)).toContain('Hello {{1}}, thanks');
    });

    it('shows each error under its own field: sending number, template, language, recipients', async () => {
      const { view } = await openForm();
      const empty = await submit(view, {});
      expect(empty.json).toEqual({
        response_action: 'errors',
        errors: {
          cmp_number: 'Choose the number to send from.',
          tpl_template: 'Choose an approved template.',
          cmp_recipients: 'Type recipient numbers or upload a recipients file.',
        },
      });

      const withNumber = await choose(view, 'cmp_number_select', NUMBER_ID);
      const twoLanguages = await choose(withNumber, 'tpl_template_select', 'order_update');
      const noLanguage = await submit(twoLanguages, {
        cmp_recipients: { value: { type: 'plain_text_input', value: '+44 7911 123456' } },
      });
      expect(noLanguage.json).toEqual({
        response_action: 'errors',
        errors: { 'tpl_language:order_update': 'Choose the language to send this template in.' },
      });

      const english = await choose(twoLanguages, 'tpl_language_select', 'en_US');
      const noVariables = await submit(english, {
        cmp_recipients: { value: { type: 'plain_text_input', value: '+44 7911 123456' } },
      });
      expect(Object.keys((noVariables.json as { errors: Record<string, string> }).errors).sort()).toEqual([
        'tpl_var:body.1',
        'tpl_var:body.2',
        'tpl_var:button.0.1',
        'tpl_var:header.1',
      ]);
    });

    it('puts the sending number error under Recipients when no number can send, so there is no menu to put it under', async () => {
      const db = h.app.database.db;
      await db
        .updateTable('sending_number')
        .set({ health: 'disconnected' })
        .where('health', '=', 'connected')
        .execute();
      try {
        const { view } = await openForm();
        expect(JSON.stringify(view.view)).toContain('No sending number is connected and healthy right now');
        expect(blockOf(view, 'cmp_number')).toBeUndefined();
        const response = await submit(view, {
          cmp_recipients: { value: { type: 'plain_text_input', value: '+44 7911 123456' } },
        });
        expect(response.json).toEqual({
          response_action: 'errors',
          errors: { cmp_recipients: 'Choose the number to send from.', tpl_template: 'Choose an approved template.' },
        });
      } finally {
        await db
          .updateTable('sending_number')
          .set({ health: 'connected' })
          .where('id', 'in', [NUMBER_ID, SECOND_NUMBER_ID])
          .execute();
      }
    });
  });
}
