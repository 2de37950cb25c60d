import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, LEAD, SIGNING_SECRET, startHarness } from '../support/bridge-harness.js';
import { chatDriver } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import {
  interactivity,
  postSlack,
  shortcutPayload,
  slashCommand,
  viewSubmissionPayload,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Issue #19 item 3, the history modal: an *All sending numbers* choice; dates read, and days
 * searched, in the viewer's time zone (users.info `tz`, asked once); an invalid number is an error
 * on its field; each entry links to its message in the thread (chat.getPermalink). Signed Slack
 * requests and Meta webhooks against the fakes, on SQLite and PostgreSQL.
 */
const cases = await dialects();
const SUPPORT = '1906385232743451';
const SALES = '1906385232743452';

type View = { id?: string; callback_id?: string; private_metadata?: string; blocks?: unknown[] };
type Block = {
  type: string;
  block_id?: string;
  text?: { text: string };
  elements?: { text?: string }[];
  element?: { options?: { text: { text: string }; value: string }[]; initial_option?: { value: string } };
};

for (const dialect of cases) {
  describe.runIf(dialect.available)(`the history modal on ${dialect.name}`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    let modal: { id: string; view: View };
    /** The global "WhatsApp history" shortcut, as the lead. */
    async function openModal() {
      const before = new Set(h.slack.views.keys());
      await postSlack(
        h.url,
        interactivity(SIGNING_SECRET, shortcutPayload({ callbackId: 'wa_history', userId: LEAD })),
      );
      return waitFor('the history modal', () =>
        [...(h.slack.views.values() as Iterable<{ id: string; view: View }>)].find(
          (v) => !before.has(v.id) && v.view.callback_id === 'wa_history_modal',
        ),
      );
    }
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
      chat = chatDriver(h);
      // The lead reads Slack in Tokyo (UTC+9 all year: no daylight saving to blur the test).
      h.slack.addUser({
        id: LEAD,
        name: 'lead',
        tz: { tz: 'Asia/Tokyo', label: 'Japan Standard Time', offset: 32400 },
      });
      modal = await openModal();
    });
    afterAll(async () => {
      await h?.stop();
    });

    const submit = async (values: Record<string, Record<string, unknown>>) => {
      const response = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: LEAD,
            viewId: modal.id,
            callbackId: 'wa_history_modal',
            privateMetadata: modal.view.private_metadata ?? '',
            values,
          }),
        ),
      );
      expect(response.status).toBe(200);
      return response.json as { response_action: string; view?: View; errors?: Record<string, string> };
    };
    const blocksOf = (view: View | undefined) => (view?.blocks ?? []) as Block[];
    const sections = (view: View | undefined) =>
      blocksOf(view)
        .filter((b) => b.type === 'section')
        .map((b) => b.text?.text ?? '');
    const number = (value: string) => ({ hist_number: { value: { type: 'plain_text_input', value } } });
    const day = (date: string) => ({ value: { type: 'datepicker', selected_date: date } });
    const sending = (value: string) => ({
      hist_sending: { value: { type: 'static_select', selected_option: { value } } },
    });
    const contactId = async (phone: string, sendingNumberId = SUPPORT) =>
      (
        await h.app.database.db
          .selectFrom('contact')
          .select('id')
          .where('phone_number', '=', phone)
          .where('sending_number_id', '=', sendingNumberId)
          .executeTakeFirstOrThrow()
      ).id;
    /** An older message, straight in the database (nothing posts in the past). */
    const seed = (contact: string, body: string, at: number) =>
      h.app.database.db
        .insertInto('message')
        .values({
          id: `seed-${contact}-${at}`,
          contact_id: contact,
          direction: 'outbound',
          kind: 'text',
          body,
          media_json: null,
          provider_message_id: null,
          alternate_message_id: null,
          slack_channel_id: null,
          slack_ts: null,
          status: 'delivered',
          error_code: null,
          error_detail: null,
          provider_timestamp: null,
          source: 'agent',
          author_slack_user_id: 'UAGENT9',
          campaign_id: null,
          created_at: at,
          updated_at: at,
        })
        .execute();

    it('shows times in the viewer’s time zone and searches whole days in it', async () => {
      await chat.metaContactWrites('hi', { from: '447911152001', name: 'Aiko' });
      const id = await contactId('+447911152001');
      // 16:30 UTC is 01:30 the next day in Tokyo.
      await seed(id, 'late night order', Date.UTC(2026, 2, 10, 16, 30));
      await seed(id, 'next night order', Date.UTC(2026, 2, 11, 16, 30));
      const found = await submit({
        ...number('+44 7911 152001'),
        hist_from: day('2026-03-11'),
        hist_to: day('2026-03-11'),
      });
      const texts = sections(found.view);
      // By UTC days the 11th would be the other message.
      expect(texts).toHaveLength(1);
      expect(texts[0]).toContain('late night order');
      expect(texts[0]).toMatch(/^<!date\^1773160200\^\{date_short_pretty\} \{time\}\|2026-03-11 01:30>/);
      expect(JSON.stringify(found.view)).toContain('Times in your time zone (Japan Standard Time)');
      const asked = h.slack.callsTo('users.info').length;
      const nextDay = sections(
        (await submit({ ...number('+447911152001'), hist_from: day('2026-03-12'), hist_to: day('2026-03-12') })).view,
      );
      expect(nextDay.join('\n')).toContain('next night order');
      expect(nextDay.join('\n')).not.toContain('late night order');
      // The lead's zone is remembered: later searches do not ask Slack again.
      expect(h.slack.callsTo('users.info').length).toBe(asked);
    });

    it('offers All sending numbers, chosen by default, and filters by one number or none', async () => {
      await chat.metaContactWrites('to sales', { from: '447911152002', name: 'Sol', phoneNumberId: SALES });
      await chat.metaContactWrites('to support', { from: '447911152003', name: 'Sup' });
      const picker = (view: View | undefined) => blocksOf(view).find((b) => b.block_id === 'hist_sending')?.element;
      // As opened (both numbers known by now): the first option, and the one chosen.
      const opened = picker((await openModal()).view);
      expect(opened?.options?.[0]).toEqual({ text: { type: 'plain_text', text: 'All sending numbers' }, value: '*' });
      expect(opened?.initial_option?.value).toBe('*');
      expect(opened?.options?.map((o) => o.value)).toEqual(['*', SUPPORT, SALES]);

      const sales = await submit(sending(SALES));
      expect(sections(sales.view).join('\n')).toContain('to sales');
      expect(sections(sales.view).join('\n')).not.toContain('to support');
      expect(picker(sales.view)?.initial_option?.value).toBe(SALES);
      const all = await submit(sending('*'));
      expect(sections(all.view).join('\n')).toContain('to sales');
      expect(sections(all.view).join('\n')).toContain('to support');
      expect(picker(all.view)?.initial_option?.value).toBe('*');
      expect(JSON.parse(all.view?.private_metadata ?? '{}')).toMatchObject({ sendingNumberId: null });
    });

    it('links each entry to its message in the thread', async () => {
      const customer = await chat.metaContactWrites('please link me', { from: '447911152004', name: 'Lin' });
      const post = await chat.postOf(customer.id);
      const replyTs = await chat.agentWrites({ threadTs: customer.threadTs, text: 'linked reply' });
      await waitFor('the reply stored', () =>
        h.app.database.db.selectFrom('message').select('id').where('slack_ts', '=', replyTs).executeTakeFirst(),
      );
      await seed(await contactId('+447911152004'), 'never in Slack', Date.now() - 60_000);
      const linkTo = (ts: string) =>
        `<https://acme.slack.com/archives/${CHANNEL_ID}/p${ts.replace('.', '')}|View in thread>`;

      // Opened by `/wa history <number>`: the fake Slack checks the view against Block Kit's limits.
      const opens = h.slack.callsTo('views.open').length;
      const answer = await postSlack(
        h.url,
        slashCommand(SIGNING_SECRET, { text: 'history +447911152004', userId: LEAD }),
      );
      expect(answer.status).toBe(200);
      const view = (await waitFor('history opened', () => h.slack.callsTo('views.open')[opens])).body.view as View;
      const texts = sections(view);
      expect(texts.find((t) => t.includes('please link me'))).toContain(linkTo(post.ts));
      expect(texts.find((t) => t.includes('linked reply'))).toContain(linkTo(replyTs));
      expect(texts.find((t) => t.includes('never in Slack'))).not.toContain('View in thread');
      expect(h.slack.callsTo('chat.getPermalink').map((c) => c.body.message_ts)).toEqual(
        expect.arrayContaining([post.ts, replyTs]),
      );
    });

    it('shows an invalid number as an error on its field', async () => {
      for (const bad of ['abc', '+44 12', '+1 555 0100 1234 5678 9'])
        expect(await submit(number(bad))).toEqual({
          response_action: 'errors',
          errors: { hist_number: expect.stringMatching(/\w/) },
        });
      expect((await submit(number('+447911152001'))).response_action).toBe('update');
    });
  });
}
