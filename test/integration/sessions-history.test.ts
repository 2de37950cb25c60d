import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, postMetaWebhook, SIGNING_SECRET, startHarness } from '../support/bridge-harness.js';
import { launchHelloWorld, recipientsFile } from '../support/campaign-driver.js';
import { dialects } from '../support/databases.js';
import { inboundWebhook, statusWebhook } from '../support/meta-webhooks.js';
import {
  blockActionsPayload,
  eventCallback,
  interactivity,
  messageShortcutPayload,
  postSlack,
  shortcutPayload,
  slashCommand,
  viewSubmissionPayload,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

const cases = await dialects();
const DAY = 24 * 60 * 60 * 1000;

type StoredView = {
  id: string;
  hash: string;
  view: { private_metadata?: string; callback_id?: string; blocks?: unknown[]; type?: string };
};

for (const dialect of cases) {
  describe.runIf(dialect.available)(`sessions, notes, history and retention on ${dialect.name}`, () => {
    let h: Harness;
    let offset = 0;
    const now = Date.now();
    beforeAll(async () => {
      h = await startHarness({
        database: await dialect.create(),
        // The purge runs on its schedule: every second here, against the controllable clock.
        env: { LEADS: 'ULEAD', RETENTION_DAYS: '30', RETENTION_CRON: '* * * * * *' },
        now: () => Date.now() + offset,
      });
    });
    afterAll(async () => {
      await h?.stop();
    });

    const command = async (text: string, userId = 'UAGENT1') => {
      const response = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text, userId }));
      expect(response.status).toBe(200);
      return (response.json as { text?: string } | null)?.text ?? '';
    };
    const views = () => [...(h.slack.views.values() as Iterable<StoredView>)];
    /** A view opened after `before` (a snapshot of the fake's view ids) that contains `text`. */
    const newViewWith = (before: Set<string>, text: string) =>
      waitFor(`a new view containing "${text}"`, () =>
        views().find((v) => !before.has(v.id) && JSON.stringify(v.view).includes(text)),
      );
    const homeOf = (userId: string) => h.slack.views.get(`home-${userId}`) as StoredView | undefined;
    /** The value of the button with this action id in a stored view. */
    const buttonValue = (view: StoredView | undefined, actionId: string) => {
      for (const block of (view?.view.blocks ?? []) as { elements?: { action_id?: string; value?: string }[] }[])
        for (const element of block.elements ?? []) if (element.action_id === actionId) return element.value;
      return undefined;
    };
    /** The App Home's two lists, as JSON: My Sessions (with the top) and All Sessions. */
    const homeParts = (userId: string) => {
      const [mine = '', all = ''] = JSON.stringify(homeOf(userId)?.view).split('"text":"All Sessions"}');
      return { mine, all };
    };
    /** A button (or select) clicked on this user's App Home as it is published now. */
    const clickOnHome = async (
      userId: string,
      actionId: string,
      input: { value?: string; selectedOption?: string; blockId?: string } = {},
    ) => {
      const response = await postSlack(
        h.url,
        interactivity(SIGNING_SECRET, {
          ...blockActionsPayload({
            userId,
            actionId,
            ...(input.value !== undefined ? { value: input.value } : {}),
            ...(input.selectedOption !== undefined ? { selectedOption: input.selectedOption } : {}),
            ...(input.blockId !== undefined ? { blockId: input.blockId } : {}),
            view: {
              id: `home-${userId}`,
              callbackId: '',
              privateMetadata: homeOf(userId)?.view.private_metadata ?? '{}',
              type: 'home',
            },
          }),
        }),
      );
      expect(response.status).toBe(200);
    };
    const contactId = async (phone: string) =>
      (
        await h.app.database.db
          .selectFrom('contact')
          .select('id')
          .where('phone_number', '=', phone)
          .executeTakeFirstOrThrow()
      ).id;

    it('keeps My Sessions per agent, at most 100; removing keeps the data and the number can come back', async () => {
      const db = h.app.database.db;
      // 99 conversations already in this agent's sessions, straight in the database to keep the test fast.
      const ids: string[] = [];
      for (let i = 0; i < 99; i++) {
        const id = `seed-${i}`;
        ids.push(id);
        await db
          .insertInto('contact')
          .values({
            id,
            sending_number_id: '1906385232743451',
            phone_number: `+4479112${String(30000 + i)}`,
            user_id: null,
            profile_name: `Customer number ${i}`,
            note: `Callback after 5pm, ask #${i}`,
            last_inbound_at: null,
            // A minute older than anything the tests do through webhooks (whose timestamps have
            // whole seconds), so All Sessions' newest-first order does not depend on the clock.
            last_message_at: now - 60_000 - i,
            last_direction: 'outbound',
            created_at: now,
            updated_at: now,
          })
          .execute();
        await db
          .insertInto('agent_session')
          .values({ slack_user_id: 'UAGENT1', contact_id: id, created_at: now })
          .execute();
      }
      expect(await command('chat +44 7911 140000')).toContain('Added to My Sessions');
      const refused = await command('chat +44 7911 140001');
      expect(refused).toMatch(/not\* added to My Sessions[\s\S]*maximum of 100/);
      // `/wa sessions` lists all 100, whole: every number, no token cut, within Slack's block limits.
      const list = (await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'sessions', userId: 'UAGENT1' })))
        .json as { text: string; blocks: { type: string; text?: { text: string } }[] };
      expect(list.text).toContain('My Sessions (100/100)');
      expect(list.blocks.length).toBeLessThanOrEqual(50);
      const sections = list.blocks.filter((b) => b.type === 'section').map((b) => b.text?.text ?? '');
      for (const section of sections) expect(section.length).toBeLessThanOrEqual(3000);
      const listed = sections.join('\n');
      for (let i = 0; i < 99; i++) expect(listed).toContain(`+4479112${String(30000 + i)}`);
      expect(listed).toContain('+447911140000');
      expect(listed.split('\n')).toHaveLength(100);
      // 99 seeded sessions have a last message (the one opened with /wa chat has none yet): whole tokens.
      const dateTokens = listed.match(/<!date\^/g) ?? [];
      expect(dateTokens).toHaveLength(99);
      expect(listed.match(/<!date\^\d+\^[^|>]+\|[^>]+>/g)).toHaveLength(99);
      expect(listed).toContain('Callback after 5pm, ask #98');

      // "Start chat" in App Home (no channel to answer in) answers in a modal, refusal included.
      const before = new Set(h.slack.views.keys());
      await clickOnHome('UAGENT1', 'wa_session_start_chat', { value: await contactId('+447911140001') });
      const refusal = await newViewWith(before, 'not* added to My Sessions');
      expect(JSON.stringify(refusal.view)).toMatch(/at most 100 conversations/);
      expect(JSON.stringify(refusal.view)).toContain('Open the conversation thread');
      expect(
        await db.selectFrom('agent_session').select('contact_id').where('slack_user_id', '=', 'UAGENT1').execute(),
      ).toHaveLength(100);

      // Remove from the App Home: the conversation, its messages and note stay.
      const id = await contactId('+447911140000');
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            actionId: 'wa_session_remove',
            value: id,
            view: { id: 'home-UAGENT1', callbackId: '', privateMetadata: '{}', type: 'home' },
          }),
        ),
      );
      await waitFor(
        'removed',
        async () =>
          !(await db.selectFrom('agent_session').select('contact_id').where('contact_id', '=', id).executeTakeFirst()),
      );
      expect(await db.selectFrom('contact').select('id').where('id', '=', id).executeTakeFirst()).toBeDefined();
      expect(
        await db.selectFrom('slack_thread').select('id').where('contact_id', '=', id).executeTakeFirst(),
      ).toBeDefined();
      expect(await command('chat +44 7911 140000')).toContain('Added to My Sessions');
      await db.deleteFrom('agent_session').where('contact_id', 'in', ids).execute();
    });

    it('sets notes of at most 30 characters from the command and the modal, and shows them in the header and lists', async () => {
      await postMetaWebhook(
        h.url,
        inboundWebhook({ type: 'text', text: { body: 'hello' } }, { from: '447911150000', name: 'Nora' }),
      );
      await waitFor('thread', () => h.slack.messages(CHANNEL_ID).find((m) => m.text === 'hello'));
      const tooLong = await command('note +44 7911 150000 this note is definitely longer than thirty chars');
      expect(tooLong).toMatch(/at most 30 characters; this one has \d+/);
      expect(await command('note +44 7911 150000 VIP, call before noon')).toContain('set to “VIP, call before noon”');
      const header = await waitFor('header shows note', () =>
        h.slack.rootMessages(CHANNEL_ID).find((m) => JSON.stringify(m.blocks).includes('VIP, call before noon')),
      );
      expect(header).toBeDefined();

      // The note modal from the header button refuses 31 characters with a field error.
      const id = await contactId('+447911150000');
      const click = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            actionId: 'wa_note_edit',
            value: id,
            message: { channelId: CHANNEL_ID, ts: header.ts },
          }),
        ),
      );
      expect(click.status).toBe(200);
      const modal = await waitFor('note modal', () =>
        [...(h.slack.views.values() as Iterable<StoredView>)].find((v) => v.view.callback_id === 'wa_note_modal'),
      );
      const submit = (text: string) =>
        postSlack(
          h.url,
          interactivity(
            SIGNING_SECRET,
            viewSubmissionPayload({
              viewId: modal.id,
              callbackId: 'wa_note_modal',
              privateMetadata: modal.view.private_metadata ?? '',
              values: { note: { value: { type: 'plain_text_input', value: text } } },
            }),
          ),
        );
      expect((await submit('x'.repeat(31))).json).toEqual({
        response_action: 'errors',
        errors: { note: expect.stringMatching(/at most 30 characters/) },
      });
      expect((await submit('Prefers Portuguese')).status).toBe(200);
      expect(
        (await h.app.database.db.selectFrom('contact').select('note').where('id', '=', id).executeTakeFirstOrThrow())
          .note,
      ).toBe('Prefers Portuguese');
    });

    it('reads /wa note as the number first and the note after it, whatever it starts with; --clear removes it', async () => {
      const noteOf = async () =>
        (
          await h.app.database.db
            .selectFrom('contact')
            .select('note')
            .where('phone_number', '=', '+447911150000')
            .executeTakeFirstOrThrow()
        ).note;
      for (const [text, note] of [
        ['note +447911150000 2nd floor', '2nd floor'],
        ['note +44 7911 150000 10am callback', '10am callback'],
        ['note +447911150000 (wife) after 6', '(wife) after 6'],
        ['note "+44 7911 150000" 2 kids', '2 kids'],
        ['note +447911150000 -', '-'],
      ] as const) {
        expect(await command(text)).toContain(`Note on +447911150000 set to “${note}”`);
        expect(await noteOf()).toBe(note);
      }
      // A number alone shows the note; only --clear removes it.
      expect(await command('note +44 7911 150000')).toMatch(/Note on \+447911150000: “-”[\s\S]*--clear/);
      expect(await noteOf()).toBe('-');
      expect(await command('note +447911150000 --clear')).toContain('Note on +447911150000 cleared');
      expect(await noteOf()).toBeNull();
      expect(await command('note +447911150000')).toContain('+447911150000 has no note');
      expect(await command('note hello there')).toMatch(/`hello` is not a valid number[\s\S]*Usage/);
      expect(await command('note')).toContain('Usage: `/wa note <number> <text>`');
      expect(await command('note +447911150000 Prefers Portuguese')).toContain('set to “Prefers Portuguese”');
    });

    it('publishes the App Home with My Sessions and searchable, paginated All Sessions', async () => {
      await command('chat +44 7911 150000');
      await postSlack(
        h.url,
        eventCallback(SIGNING_SECRET, {
          type: 'app_home_opened',
          user: 'UAGENT1',
          channel: 'DAGENT1',
          tab: 'home',
          event_ts: '1',
        }),
      );
      const home = await waitFor('home published', () => h.slack.views.get('home-UAGENT1') as StoredView | undefined);
      const text = JSON.stringify(home.view);
      expect(text).toContain('My Sessions (2/100)');
      expect(text).toContain('Prefers Portuguese');
      expect(text).toContain('window open');
      expect(text).toContain('unanswered');
      expect(text).toContain('All Sessions');
      const before = h.slack.callsTo('views.publish').length;
      await postSlack(
        h.url,
        interactivity(SIGNING_SECRET, {
          ...blockActionsPayload({
            actionId: 'wa_home_search',
            view: { id: 'home-UAGENT1', callbackId: '', privateMetadata: '{}', type: 'home' },
          }),
          actions: [
            {
              action_id: 'wa_home_search',
              block_id: 'home_search',
              type: 'plain_text_input',
              value: 'Portuguese',
              action_ts: '1',
            },
          ],
        }),
      );
      await waitFor('search republished', () => h.slack.callsTo('views.publish').length > before);
      const allSessions = homeParts('UAGENT1').all;
      expect(allSessions).toContain('+447911150000');
      expect(allSessions).not.toContain('+447911140000');
    });

    it('adds to My Sessions from the thread header button', async () => {
      const header = h.slack.rootMessages(CHANNEL_ID).find((m) => JSON.stringify(m.blocks).includes('+447911150000'));
      const id = await contactId('+447911150000');
      const click = () =>
        postSlack(
          h.url,
          interactivity(
            SIGNING_SECRET,
            blockActionsPayload({
              userId: 'UAGENT3',
              actionId: 'wa_session_add',
              value: id,
              message: { channelId: CHANNEL_ID, ts: header?.ts ?? '' },
              responseUrl: `${h.slack.baseUrl}response/add`,
            }),
          ),
        );
      const answers = () => h.slack.callsTo('response_url').map((c) => String(c.body.text));
      const before = answers().length;
      expect((await click()).status).toBe(200);
      await waitFor('added', () => answers().length > before);
      expect(answers()[before]).toContain('Added to your My Sessions');
      expect((await click()).status).toBe(200);
      await waitFor('already', () => answers().length > before + 1);
      expect(answers()[before + 1]).toContain('already in your My Sessions');
      expect(
        await h.app.database.db
          .selectFrom('agent_session')
          .select('contact_id')
          .where('slack_user_id', '=', 'UAGENT3')
          .execute(),
      ).toEqual([{ contact_id: id }]);
    });

    it('searches All Sessions by number, name or note in any case, filters by sending number, pages, and starts chats', async () => {
      const db = h.app.database.db;
      // A conversation on the second sending number (the provider lists two).
      await db
        .insertInto('contact')
        .values({
          id: 'sales-1',
          sending_number_id: '1906385232743452',
          phone_number: '+447911160000',
          user_id: null,
          profile_name: 'Sales Lead',
          note: null,
          last_inbound_at: null,
          last_message_at: Date.now(),
          last_direction: 'outbound',
          created_at: now,
          updated_at: now,
        })
        .execute();
      const agent = 'UAGENT2';
      await postSlack(
        h.url,
        eventCallback(SIGNING_SECRET, {
          type: 'app_home_opened',
          user: agent,
          channel: 'D2',
          tab: 'home',
          event_ts: '1',
        }),
      );
      await waitFor('home published', () => homeOf(agent));
      const allSessions = () => homeParts(agent).all;
      const republished = async (act: () => Promise<void>) => {
        const count = h.slack.callsTo('views.publish').filter((c) => c.body.user_id === agent).length;
        await act();
        await waitFor(
          'home republished',
          () => h.slack.callsTo('views.publish').filter((c) => c.body.user_id === agent).length > count,
        );
      };
      const search = (value: string) =>
        republished(async () => {
          await postSlack(
            h.url,
            interactivity(SIGNING_SECRET, {
              ...blockActionsPayload({
                userId: agent,
                actionId: 'wa_home_search',
                view: {
                  id: `home-${agent}`,
                  callbackId: '',
                  privateMetadata: homeOf(agent)?.view.private_metadata ?? '{}',
                  type: 'home',
                },
              }),
              actions: [
                {
                  action_id: 'wa_home_search',
                  block_id: 'home_search',
                  type: 'plain_text_input',
                  value,
                  action_ts: '1',
                },
              ],
            }),
          );
        });

      await search('+44 7911 150000');
      expect(allSessions()).toContain('+447911150000');
      expect(allSessions()).not.toContain('+447911230000');
      await search('PREFERS portuguese');
      expect(allSessions()).toContain('+447911150000');
      expect(allSessions()).not.toContain('+447911160000');
      await search('sales lead');
      expect(allSessions()).toContain('+447911160000');

      // The sending-number filter keeps the search; "All sending numbers" lifts the filter.
      await search('');
      await republished(() => clickOnHome(agent, 'wa_home_number_filter', { selectedOption: '1906385232743452' }));
      expect(allSessions()).toContain('+447911160000');
      expect(allSessions()).not.toContain('+447911150000');
      await republished(() => clickOnHome(agent, 'wa_home_number_filter', { selectedOption: '*' }));
      expect(allSessions()).toContain('+447911150000');

      // Pages of 15: the next page shows other conversations and a way back.
      const listed = () => new Set(allSessions().match(/\+4479112\d{5}|\+4479111\d{5}/g) ?? []);
      const firstPage = listed();
      expect(firstPage.size).toBe(15);
      const next = buttonValue(homeOf(agent), 'wa_home_page:next');
      expect(next).toBeDefined();
      await republished(() => clickOnHome(agent, 'wa_home_page:next', { value: next ?? '' }));
      const secondPage = listed();
      expect(secondPage.size).toBeGreaterThan(0);
      for (const number of secondPage) expect(firstPage.has(number)).toBe(false);
      expect(JSON.stringify(homeOf(agent)?.view)).toContain('wa_home_page:prev');

      // "Start chat" from All Sessions opens (or finds) the thread, adds it, and says so in a modal.
      const target = await contactId('+447911230020');
      const before = new Set(h.slack.views.keys());
      await republished(() => clickOnHome(agent, 'wa_session_start_chat', { value: target }));
      const notice = await newViewWith(before, 'Added to My Sessions');
      expect(JSON.stringify(notice.view)).toMatch(
        /<https:\/\/acme\.slack\.com\/archives\/C0CONVERSATIONS\/p\d+\|Open the conversation thread>/,
      );
      expect(
        await db.selectFrom('slack_thread').select('id').where('contact_id', '=', target).executeTakeFirst(),
      ).toBeDefined();
      expect(JSON.stringify(homeOf(agent)?.view)).toContain('My Sessions (1/100)');
      expect(homeParts(agent).mine).toContain('+447911230020');
      // "Open thread" from My Sessions answers with the link too, without adding it again.
      const again = new Set(h.slack.views.keys());
      await clickOnHome(agent, 'wa_session_start_chat', { value: target });
      const reopened = await newViewWith(again, 'Open the conversation thread');
      expect(JSON.stringify(reopened.view)).not.toContain('Added');
    });

    it('refreshes the App Home after a note is edited there', async () => {
      const agent = 'UAGENT2';
      const target = await contactId('+447911230020');
      const before = new Set(h.slack.views.keys());
      await clickOnHome(agent, 'wa_note_edit', { value: target });
      const modal = await waitFor('note modal', () =>
        views().find((v) => !before.has(v.id) && v.view.callback_id === 'wa_note_modal'),
      );
      const publishes = h.slack.callsTo('views.publish').filter((c) => c.body.user_id === agent).length;
      const submitted = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: agent,
            viewId: modal.id,
            callbackId: 'wa_note_modal',
            privateMetadata: modal.view.private_metadata ?? '',
            values: { note: { value: { type: 'plain_text_input', value: 'Called twice, no answer' } } },
          }),
        ),
      );
      expect(submitted.status).toBe(200);
      await waitFor(
        'home republished',
        () => h.slack.callsTo('views.publish').filter((c) => c.body.user_id === agent).length > publishes,
      );
      expect(homeParts(agent).mine).toContain('Called twice, no answer');
    });

    it('shows history with delivery status to leads, limits it for others, and exports CSV', async () => {
      await postSlack(
        h.url,
        interactivity(SIGNING_SECRET, shortcutPayload({ callbackId: 'wa_history', userId: 'ULEAD' })),
      );
      const modal = await waitFor('history modal', () =>
        [...(h.slack.views.values() as Iterable<StoredView>)]
          .reverse()
          .find((v) => v.view.callback_id === 'wa_history_modal'),
      );
      const search = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: 'ULEAD',
            viewId: modal.id,
            callbackId: 'wa_history_modal',
            privateMetadata: modal.view.private_metadata ?? '',
            values: { hist_number: { value: { type: 'plain_text_input', value: '+44 7911 150000' } } },
          }),
        ),
      );
      const results = JSON.stringify(search.json);
      expect(results).toContain('response_action');
      expect(results).toContain('hello');
      expect(results).toContain('received');
      expect(results).toContain('Export CSV');

      // Someone not in LEADS who never took part sees nothing of this conversation and cannot export.
      const other = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: 'UOTHER',
            viewId: modal.id,
            callbackId: 'wa_history_modal',
            privateMetadata: modal.view.private_metadata ?? '',
            values: { hist_number: { value: { type: 'plain_text_input', value: '+44 7911 150000' } } },
          }),
        ),
      );
      expect(JSON.stringify(other.json)).not.toContain('hello');
      expect(JSON.stringify(other.json)).toContain('Some conversations are hidden');
      expect(JSON.stringify(other.json)).not.toContain('Export CSV');

      // UAGENT1 has the number in My Sessions (anyone can, with `/wa chat`): that is not taking part.
      const nora = await contactId('+447911150000');
      expect(
        await h.app.database.db
          .selectFrom('agent_session')
          .select('contact_id')
          .where('slack_user_id', '=', 'UAGENT1')
          .where('contact_id', '=', nora)
          .executeTakeFirst(),
      ).toBeDefined();
      const searchAs = async (userId: string) =>
        JSON.stringify(
          (
            await postSlack(
              h.url,
              interactivity(
                SIGNING_SECRET,
                viewSubmissionPayload({
                  userId,
                  viewId: modal.id,
                  callbackId: 'wa_history_modal',
                  privateMetadata: modal.view.private_metadata ?? '',
                  values: { hist_number: { value: { type: 'plain_text_input', value: '+44 7911 150000' } } },
                }),
              ),
            )
          ).json,
        );
      const sessionOnly = await searchAs('UAGENT1');
      expect(sessionOnly).not.toContain('hello');
      expect(sessionOnly).toContain('Some conversations are hidden');
      // Once they reply in the thread as the agent, they see the whole conversation.
      const thread = h.slack.rootMessages(CHANNEL_ID).find((m) => JSON.stringify(m.blocks).includes('+447911150000'));
      await postSlack(
        h.url,
        eventCallback(SIGNING_SECRET, {
          type: 'message',
          channel: CHANNEL_ID,
          user: 'UAGENT1',
          text: 'Hi Nora, how can I help?',
          ts: '1799999996.000001',
          thread_ts: thread?.ts,
        }),
      );
      // Taking part is a message that went to WhatsApp: once the reply is sent.
      await waitFor('agent reply sent', () =>
        h.app.database.db
          .selectFrom('message')
          .select('id')
          .where('slack_ts', '=', '1799999996.000001')
          .where('provider_message_id', 'is not', null)
          .executeTakeFirst(),
      );
      const tookPart = await searchAs('UAGENT1');
      expect(tookPart).toContain('hello');
      expect(tookPart).toContain('Hi Nora, how can I help?');
      expect(tookPart).not.toContain('Some conversations are hidden');

      const bad = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId: 'ULEAD',
            viewId: modal.id,
            callbackId: 'wa_history_modal',
            privateMetadata: modal.view.private_metadata ?? '',
            values: { hist_number: { value: { type: 'plain_text_input', value: 'abc' } } },
          }),
        ),
      );
      expect(bad.json).toMatchObject({ response_action: 'errors', errors: { hist_number: expect.any(String) } });

      // A customer's text that a spreadsheet would run as a formula (a sign, then more than a number).
      const formula = "-1+1+cmd|' /C calc'!A0";
      await postMetaWebhook(
        h.url,
        inboundWebhook({ type: 'text', text: { body: formula } }, { from: '447911150000', name: 'Nora' }),
      );
      await waitFor('formula text stored', () =>
        h.app.database.db.selectFrom('message').select('id').where('body', '=', formula).executeTakeFirst(),
      );
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId: 'ULEAD',
            actionId: 'wa_history_export',
            value: 'export',
            view: {
              id: modal.id,
              callbackId: 'wa_history_modal',
              privateMetadata: JSON.stringify({ phoneNumber: '+447911150000', page: 0 }),
            },
          }),
        ),
      );
      const upload = await waitFor('CSV uploaded to the DM', () =>
        h.slack.completed.find((c) => c.channel_id === 'DULEAD'),
      );
      const exported = upload.bytes[0]?.toString() ?? '';
      expect(exported).toMatch(/^time,direction,contact[\s\S]*hello/);
      // Streamed to Slack from a file on disk, with its title and the count beside it.
      expect(upload.files[0]?.title).toBe('WhatsApp history export');
      expect(upload.initial_comment).toMatch(/^\d+ messages exported\.$/);
      // Defused: the cell starts with a quote mark, so the spreadsheet shows it as text.
      expect(exported).toContain(`,text,'${formula},received,`);
      expect(exported).not.toContain(`,text,${formula}`);

      // The message shortcut opens the same history for a thread's conversation; /wa history too.
      const header = h.slack.rootMessages(CHANNEL_ID).find((m) => JSON.stringify(m.blocks).includes('+447911150000'));
      const beforeShortcut = new Set(h.slack.views.keys());
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          messageShortcutPayload({
            callbackId: 'wa_history_thread',
            channelId: CHANNEL_ID,
            messageTs: header?.ts ?? '',
            userId: 'ULEAD',
          }),
        ),
      );
      const threadHistory = await newViewWith(beforeShortcut, 'History +447911150000');
      expect(threadHistory.view.callback_id).toBe('wa_history_modal');
      expect(JSON.stringify(threadHistory.view)).toContain('hello');

      const opensBefore = h.slack.callsTo('views.open').length;
      await command('history +44 7911 150000', 'ULEAD');
      const opened = h.slack.callsTo('views.open').slice(opensBefore);
      expect(opened).toHaveLength(1);
      const view = opened[0]?.body.view as {
        callback_id?: string;
        private_metadata?: string;
        blocks: { block_id?: string; element?: { initial_value?: string } }[];
      };
      expect(view.callback_id).toBe('wa_history_modal');
      expect(view.blocks.find((b) => b.block_id === 'hist_number')?.element?.initial_value).toBe('+44 7911 150000');
      expect(JSON.parse(view.private_metadata ?? '{}')).toMatchObject({ phoneNumber: '+44 7911 150000' });
      // Opened with the results for that number: its messages, and no one else's.
      expect(JSON.stringify(view.blocks)).toContain('hello');
      expect(JSON.stringify(view.blocks)).toContain('Hi Nora, how can I help?');
      expect(JSON.stringify(view.blocks)).not.toContain('+447911230');
    });

    it('filters history by sending number and dates, pages through it, and shows outbound delivery status', async () => {
      const db = h.app.database.db;
      // The agent's reply (from the LEADS test) is delivered; older messages include a failed send.
      const reply = await waitFor('reply sent', () =>
        db
          .selectFrom('message')
          .selectAll()
          .where('slack_ts', '=', '1799999996.000001')
          .where('provider_message_id', 'is not', null)
          .executeTakeFirst(),
      );
      await postMetaWebhook(h.url, statusWebhook(reply.provider_message_id as string, 'delivered'));
      await waitFor('delivered', async () => {
        const row = await db.selectFrom('message').select('status').where('id', '=', reply.id).executeTakeFirst();
        return row?.status === 'delivered';
      });

      // Older messages, straight in the database: 25 for one number, spread over the last days.
      const seed = async (contact: string, body: string, at: number, extra: Record<string, unknown> = {}) =>
        db
          .insertInto('message')
          .values({
            id: `hist-${contact}-${at}`,
            contact_id: contact,
            direction: 'outbound',
            kind: 'text',
            body,
            media_json: null,
            provider_message_id: null,
            alternate_message_id: null,
            slack_channel_id: null,
            slack_ts: null,
            status: 'sent',
            error_code: null,
            error_detail: null,
            provider_timestamp: null,
            source: 'agent',
            author_slack_user_id: 'UAGENT9',
            campaign_id: null,
            created_at: at,
            updated_at: at,
            ...extra,
          })
          .execute();
      const paged = await contactId('+447911230005');
      const t0 = Date.now();
      for (let k = 1; k <= 25; k++) await seed(paged, `paged message ${k}`, t0 - k * 60 * 60 * 1000);
      const dated = await contactId('+447911230006');
      for (const days of [1, 5, 10]) await seed(dated, `${days} days ago`, t0 - days * DAY);
      await seed(dated, 'this one failed', t0 - 5 * DAY + 1, {
        status: 'failed',
        error_code: '131047',
        error_detail: 'Re-engagement message',
      });
      await seed('sales-1', 'from the sales number', t0 - 2 * DAY);

      const beforeOpen = new Set(h.slack.views.keys());
      await postSlack(
        h.url,
        interactivity(SIGNING_SECRET, shortcutPayload({ callbackId: 'wa_history', userId: 'ULEAD' })),
      );
      const modal = await waitFor('history modal', () =>
        views().find((v) => !beforeOpen.has(v.id) && v.view.callback_id === 'wa_history_modal'),
      );
      const submit = async (values: Record<string, Record<string, unknown>>) => {
        const response = await postSlack(
          h.url,
          interactivity(
            SIGNING_SECRET,
            viewSubmissionPayload({
              userId: 'ULEAD',
              viewId: modal.id,
              callbackId: 'wa_history_modal',
              privateMetadata: modal.view.private_metadata ?? '',
              values,
            }),
          ),
        );
        return response.json as { response_action: string; view: StoredView['view'] };
      };
      const sectionsOf = (view: StoredView['view']) =>
        ((view.blocks ?? []) as { type: string; text?: { text: string } }[])
          .filter((b) => b.type === 'section')
          .map((b) => b.text?.text ?? '');
      const number = (value: string) => ({ hist_number: { value: { type: 'plain_text_input', value } } });

      // Outbound delivery status (and who sent it) next to each message.
      const nora = sectionsOf((await submit(number('+447911150000'))).view);
      expect(nora.find((t) => t.includes('Hi Nora, how can I help?'))).toMatch(
        /:arrow_right: to[\s\S]*by <@UAGENT1>[\s\S]*:white_check_mark: delivered/,
      );
      expect(nora.find((t) => t.includes('hello'))).toMatch(/:arrow_left: from[\s\S]*received/);

      // Sending-number filter: only conversations on the sales number.
      const sales = sectionsOf(
        (
          await submit({
            hist_sending: { value: { type: 'static_select', selected_option: { value: '1906385232743452' } } },
          })
        ).view,
      );
      expect(sales).toHaveLength(1);
      expect(sales[0]).toContain('from the sales number');

      // Date range (whole UTC days, both ends included), with a failed send's reason shown.
      const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      const datePick = (ms: number) => ({ value: { type: 'datepicker', selected_date: day(ms) } });
      const ranged = sectionsOf(
        (
          await submit({
            ...number('+447911230006'),
            hist_from: datePick(t0 - 5 * DAY),
            hist_to: datePick(t0 - 5 * DAY),
          })
        ).view,
      ).join('\n');
      expect(ranged).toContain('5 days ago');
      expect(ranged).toMatch(/:x: failed: Re-engagement message[\s\S]*this one failed/);
      expect(ranged).not.toContain('1 days ago');
      expect(ranged).not.toContain('10 days ago');
      const backwards = await submit({ hist_from: datePick(t0), hist_to: datePick(t0 - DAY) });
      expect(backwards).toMatchObject({ response_action: 'errors', errors: { hist_to: expect.any(String) } });

      // Pages of 20, newest first; "Older" shows the rest and a way back.
      const first = (await submit(number('+447911230005'))).view;
      const firstTexts = sectionsOf(first).join('\n');
      expect(sectionsOf(first)).toHaveLength(20);
      expect(firstTexts).toContain('paged message 1\n');
      expect(firstTexts).not.toContain('paged message 21');
      expect(buttonValue({ id: modal.id, hash: modal.hash, view: first }, 'wa_history_page:next')).toBe('1');
      const current = h.slack.views.get(modal.id) as StoredView;
      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId: 'ULEAD',
            actionId: 'wa_history_page:next',
            value: '1',
            view: {
              id: modal.id,
              hash: current.hash,
              callbackId: 'wa_history_modal',
              privateMetadata: first.private_metadata ?? '',
            },
          }),
        ),
      );
      const older = await waitFor('older page', () => {
        const view = (h.slack.views.get(modal.id) as StoredView).view;
        return JSON.stringify(view).includes('paged message 21') ? view : null;
      });
      const olderTexts = sectionsOf(older);
      expect(olderTexts).toHaveLength(5);
      expect(olderTexts.join('\n')).toContain('paged message 25');
      expect(olderTexts.join('\n')).not.toContain('paged message 20\n');
      expect(buttonValue({ id: modal.id, hash: '', view: older }, 'wa_history_page:prev')).toBe('0');
      expect(buttonValue({ id: modal.id, hash: '', view: older }, 'wa_history_page:next')).toBeUndefined();
    });

    /** `/wa send` of hello_world from the agents' channel, as a marketer would. */
    const launch = (file: Buffer, options: { fileName?: string; confirm?: boolean } = {}) =>
      launchHelloWorld({ appUrl: h.url, slack: h.slack, channelId: 'C0AGENTS', recipientsFile: file, ...options });

    it('purges old message content on its schedule, keeping sessions, notes and campaign totals', async () => {
      const db = h.app.database.db;
      const nora = await contactId('+447911150000');
      // A picture from Nora (a media reference) and a two-recipient campaign, all through the app.
      h.meta?.addMedia('media-retention-1', Buffer.from('JPEGBYTES'), 'image/jpeg');
      await postMetaWebhook(
        h.url,
        inboundWebhook(
          {
            type: 'image',
            image: { id: 'media-retention-1', mime_type: 'image/jpeg', sha256: 'x', caption: 'receipt' },
          },
          { from: '447911150000', name: 'Nora' },
        ),
      );
      await waitFor('picture stored', () =>
        db
          .selectFrom('message')
          .select('id')
          .where('contact_id', '=', nora)
          .where('media_json', 'is not', null)
          .executeTakeFirst(),
      );
      const { campaignId } = await launch(recipientsFile(2, 200000));
      const totals = await waitFor('campaign sent', async () => {
        const row = await db
          .selectFrom('campaign')
          .select(['status', 'total', 'sent', 'delivered', 'read', 'failed'])
          .where('id', '=', campaignId)
          .executeTakeFirst();
        return row?.status === 'completed' ? row : null;
      });
      expect(totals).toMatchObject({ total: 2 });
      // Per-recipient variables from a CSV, and a campaign left at its confirmation (a draft).
      const { campaignId: csvCampaignId } = await launch(
        Buffer.from('phone,{{1}}\n+44 7911 250001,Olga\n+44 7911 250002,Pedro\n'),
        { fileName: 'people.csv' },
      );
      await waitFor(
        'CSV campaign sent',
        async () =>
          (await db.selectFrom('campaign').select('status').where('id', '=', csvCampaignId).executeTakeFirst())
            ?.status === 'completed',
      );
      const variablesOf = async (id: string) =>
        (
          await db.selectFrom('campaign_recipient').select('parameters_json').where('campaign_id', '=', id).execute()
        ).map((r) => r.parameters_json);
      expect((await variablesOf(csvCampaignId)).join(' ')).toContain('Olga');
      const { campaignId: draftId } = await launch(recipientsFile(3, 210000), { confirm: false });
      expect(await db.selectFrom('campaign').select('status').where('id', '=', draftId).executeTakeFirst()).toEqual({
        status: 'draft',
      });
      const campaignMessages = await db
        .selectFrom('message')
        .select(['id', 'body', 'media_json'])
        .where('campaign_id', '=', campaignId)
        .execute();
      expect(campaignMessages).toHaveLength(2);
      const before = await db.selectFrom('message').select(['id', 'body', 'media_json']).execute();
      expect(before.some((m) => m.body === 'hello')).toBe(true);
      expect(before.filter((m) => m.media_json !== null).length).toBeGreaterThan(0);

      // RETENTION_CRON runs the purge every second here; moving the clock makes everything old.
      offset += 31 * DAY;
      await waitFor(
        'scheduled purge',
        async () =>
          (
            await db
              .selectFrom('message')
              .select('id')
              .where((eb) => eb.or([eb('body', 'is not', null), eb('media_json', 'is not', null)]))
              .execute()
          ).length === 0,
      );
      const after = await db.selectFrom('message').select(['id', 'status']).execute();
      expect(after.map((m) => m.id).sort()).toEqual(before.map((m) => m.id).sort());
      await waitFor('variables and the abandoned draft purged', async () => {
        const draft = await db.selectFrom('campaign').select('id').where('id', '=', draftId).executeTakeFirst();
        const variables = await variablesOf(csvCampaignId);
        return draft === undefined && variables.every((v) => v === null) ? true : null;
      });
      expect(await variablesOf(draftId), 'the draft recipients went with it').toEqual([]);
      expect(await variablesOf(csvCampaignId), 'the CSV campaign keeps its recipients').toHaveLength(2);
      expect(
        (await db.selectFrom('contact').select('note').where('id', '=', nora).executeTakeFirstOrThrow()).note,
      ).toBe('Prefers Portuguese');
      expect(
        await db.selectFrom('agent_session').select('contact_id').where('contact_id', '=', nora).execute(),
      ).not.toHaveLength(0);
      expect(
        await db
          .selectFrom('campaign')
          .select(['status', 'total', 'sent', 'delivered', 'read', 'failed'])
          .where('id', '=', campaignId)
          .executeTakeFirstOrThrow(),
      ).toEqual(totals);

      // History still lists the messages, with their status, as removed by retention.
      const opensBefore = h.slack.callsTo('views.open').length;
      await command('history +447911150000', 'ULEAD');
      const view = JSON.stringify(h.slack.callsTo('views.open').slice(opensBefore)[0]?.body.view);
      expect(view).toContain('_(content removed by retention)_');
      expect(view).toContain('delivered');
      expect(view).not.toContain('hello');
      expect(view).not.toContain('receipt');
    });

    it('explains every subcommand with /wa help, and answers an unknown one with the help', async () => {
      const help = await command('help');
      for (const sub of ['chat', 'send', 'sessions', 'note', 'history', 'apikey', 'help'])
        expect(help).toContain(`/wa ${sub}`);
      expect(help).toContain('--clear');
      expect(await command('')).toBe(help);
      const unknown = await command('frobnicate +447911150000');
      expect(unknown).toMatch(/^Unknown subcommand `frobnicate`/);
      expect(unknown).toContain(help);
    });
  });
}
