import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SESSIONS_PER_AGENT } from '../../src/db/stores/agent-session-store.js';
import { AppProcess, bridgeEnv, freePort } from '../support/app-process.js';
import { CHANNEL_ID, type Harness, LEAD, startHarness } from '../support/bridge-harness.js';
import { chatDriver } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { inboxDriver } from '../support/inbox-driver.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The team inbox's ownership and status (issue #16, items 1, 3 and 7), through signed Slack
 * requests and signed Meta webhooks only: the header's *Assign to me*, *Assign…* (leads, a user
 * picker), *Unassign*, *Resolve* / *Reopen* and the Resolve message shortcut; two agents clicking
 * at once (in one app, and in two app instances on one PostgreSQL database) end with one owner and
 * both told; assigning to a deactivated user, a bot or someone outside the workspace is refused;
 * a stale header answers with a link to the current thread.
 */

const cases = await dialects();
let phoneCounter = 0;
const nextPhone = () => `4479116${String(10000 + ++phoneCounter)}`;

for (const dialect of cases) {
  describe.runIf(dialect.available)(`team inbox ownership on ${dialect.name}`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    let inbox: ReturnType<typeof inboxDriver>;

    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
      chat = chatDriver(h);
      inbox = inboxDriver(h);
      for (const id of ['UAGENT1', 'UAGENT2', 'UAGENT3', 'UAGENT4']) h.slack.addUser({ id, name: id.toLowerCase() });
      h.slack.addUser({ id: 'UGONE', name: 'gone', deleted: true });
      h.slack.addUser({ id: 'UROBOT', name: 'robot', isBot: true });
      h.slack.addUser({ id: 'UOTHERORG', name: 'partner', teamId: 'T0OTHERORG' });
    });
    afterAll(async () => {
      await h?.stop();
    });

    /** A new conversation: its thread, and the contact's row. */
    async function conversation() {
      const phone = nextPhone();
      const { threadTs } = await chat.metaContactWrites('Hello, is anyone there?', { from: phone, name: 'Ana' });
      return { phone, threadTs, contact: await inbox.contact(`+${phone}`) };
    }

    it('shows an unowned, open conversation with the inbox buttons in its header', async () => {
      const { threadTs } = await conversation();
      expect(inbox.headerText(threadTs)).toContain('Owner: _unassigned_');
      expect(inbox.headerText(threadTs)).toContain('*Open*');
      expect(inbox.button(threadTs, 'wa_inbox_assign_me')).toBeDefined();
      expect(inbox.button(threadTs, 'wa_inbox_assign_other')).toBeDefined();
      expect(inbox.button(threadTs, 'wa_inbox_resolve')).toBeDefined();
      expect(inbox.button(threadTs, 'wa_inbox_unassign')).toBeUndefined();
    });

    it('assigns on Assign to me: owner in the header, a note saying who, the conversation in their My Sessions', async () => {
      const { threadTs, contact } = await conversation();
      const click = await inbox.click(threadTs, 'wa_inbox_assign_me', 'UAGENT1');
      expect(await click.answer()).toContain('You own this conversation now');
      await waitFor('header shows the owner', () => inbox.headerText(threadTs).includes('Owner: <@UAGENT1>'));
      await waitFor('note', () => inbox.notes(threadTs).length === 1);
      expect(inbox.notes(threadTs)).toEqual([':bust_in_silhouette: <@UAGENT1> took this conversation.']);
      expect(inbox.button(threadTs, 'wa_inbox_unassign')).toBeDefined();
      expect((await inbox.contact(`+${contact.phone_number?.slice(1)}`)).owner_user_id).toBe('UAGENT1');
      const session = await h.app.database.db
        .selectFrom('agent_session')
        .select('contact_id')
        .where('slack_user_id', '=', 'UAGENT1')
        .where('contact_id', '=', contact.id)
        .executeTakeFirst();
      expect(session).toBeDefined();
      expect((await inbox.events(contact.id)).map((e) => [e.kind, e.actor_user_id, e.owner_user_id])).toEqual([
        ['opened', null, null],
        ['assigned', 'UAGENT1', 'UAGENT1'],
      ]);
    });

    it('gives the conversation to exactly one of two agents clicking Assign to me at once, and tells both', async () => {
      const { threadTs, contact } = await conversation();
      const [first, second] = await Promise.all([
        inbox.click(threadTs, 'wa_inbox_assign_me', 'UAGENT1'),
        inbox.click(threadTs, 'wa_inbox_assign_me', 'UAGENT2'),
      ]);
      const answers = [await first.answer(), await second.answer()];
      const owner = (await inbox.contact(contact.phone_number ?? '')).owner_user_id;
      expect(['UAGENT1', 'UAGENT2']).toContain(owner);
      const loser = owner === 'UAGENT1' ? 'UAGENT2' : 'UAGENT1';
      const winnerAnswer = owner === 'UAGENT1' ? answers[0] : answers[1];
      const loserAnswer = owner === 'UAGENT1' ? answers[1] : answers[0];
      expect(winnerAnswer).toContain('You own this conversation now');
      expect(loserAnswer).toContain(`<@${owner}> got this conversation a moment before you`);
      await waitFor('header shows the winner', () => inbox.headerText(threadTs).includes(`Owner: <@${owner}>`));
      await waitFor('one note', () => inbox.notes(threadTs).length === 1);
      await h.settle();
      expect(inbox.notes(threadTs)).toEqual([`:bust_in_silhouette: <@${owner}> took this conversation.`]);
      expect((await inbox.events(contact.id)).filter((e) => e.kind === 'assigned')).toHaveLength(1);
      // The loser did not keep it in their My Sessions either.
      const loserSession = await h.app.database.db
        .selectFrom('agent_session')
        .select('contact_id')
        .where('slack_user_id', '=', loser)
        .where('contact_id', '=', contact.id)
        .executeTakeFirst();
      expect(loserSession).toBeUndefined();
    });

    it('lets only leads use Assign…, and refuses deactivated users, bots and people outside the workspace', async () => {
      const { threadTs, contact } = await conversation();
      const byAgent = await inbox.click(threadTs, 'wa_inbox_assign_other', 'UAGENT1', { triggerId: 'trig-agent' });
      expect(await byAgent.answer()).toContain('Only the people listed in LEADS can assign conversations to others');
      expect(h.slack.callsTo('views.open').some((c) => c.body.trigger_id === 'trig-agent')).toBe(false);

      await inbox.click(threadTs, 'wa_inbox_assign_other', LEAD, { triggerId: 'trig-lead' });
      const modal = await waitFor('Assign… modal', () =>
        h.slack.callsTo('views.open').find((c) => c.body.trigger_id === 'trig-lead'),
      );
      expect(JSON.stringify(modal.body.view)).toContain('"type":"users_select"');

      const refusals: [string, RegExp][] = [
        ['UGONE', /deactivated/],
        ['UROBOT', /a bot/],
        ['UOTHERORG', /outside this workspace/],
        ['UNOBODY', /not a member of this workspace/],
      ];
      for (const [picked, reason] of refusals) {
        const ack = await inbox.submitAssign('trig-lead', LEAD, picked);
        expect(ack?.response_action).toBe('errors');
        expect(ack?.errors?.wa_inbox_assignee).toMatch(reason);
      }
      // Something that is not a user id (a forged submission) reads as nobody picked.
      expect(await inbox.submitAssign('trig-lead', LEAD, 'U1> <!channel')).toMatchObject({
        response_action: 'errors',
        errors: { wa_inbox_assignee: 'Choose a person.' },
      });
      const usersInfoAsked = h.slack.callsTo('users.info').map((c) => c.body.user);
      expect(usersInfoAsked).toEqual(expect.arrayContaining(['UGONE', 'UROBOT', 'UOTHERORG', 'UNOBODY']));
      expect((await inbox.contact(contact.phone_number ?? '')).owner_user_id).toBeNull();

      expect(await inbox.submitAssign('trig-lead', LEAD, 'UAGENT3')).toBeNull();
      await waitFor('note', () => inbox.notes(threadTs).length === 1);
      expect(inbox.notes(threadTs)).toEqual([
        `:bust_in_silhouette: <@${LEAD}> assigned this conversation to <@UAGENT3>.`,
      ]);
      await waitFor('header', () => inbox.headerText(threadTs).includes('Owner: <@UAGENT3>'));
      expect(chat.ephemerals(threadTs).some((t) => t.includes('<@UAGENT3> owns this conversation now'))).toBe(true);
    });

    it('reassigns and unassigns from the owner the header showed; others cannot unassign', async () => {
      const { threadTs, contact } = await conversation();
      await (await inbox.click(threadTs, 'wa_inbox_assign_me', 'UAGENT1')).answer();
      await waitFor('header', () => inbox.headerText(threadTs).includes('Owner: <@UAGENT1>'));

      const refused = await inbox.click(threadTs, 'wa_inbox_unassign', 'UAGENT2');
      expect(await refused.answer()).toContain('Only <@UAGENT1> or the people listed in LEADS can unassign');

      // Taking it over from the header that shows UAGENT1 works and is noted.
      const takeOver = await inbox.click(threadTs, 'wa_inbox_assign_me', 'UAGENT2');
      expect(await takeOver.answer()).toContain('You own this conversation now');
      await waitFor('header', () => inbox.headerText(threadTs).includes('Owner: <@UAGENT2>'));
      // A click from a header still showing nobody (stale) does not overwrite it.
      const stale = await inbox.click(threadTs, 'wa_inbox_assign_me', 'UAGENT4', { value: `${contact.id}|` });
      expect(await stale.answer()).toContain('<@UAGENT2> got this conversation a moment before you');

      const unassign = await inbox.click(threadTs, 'wa_inbox_unassign', 'UAGENT2');
      expect(await unassign.answer()).toContain('nobody owns this conversation now');
      await waitFor('header', () => inbox.headerText(threadTs).includes('Owner: _unassigned_'));
      await waitFor('notes', () => inbox.notes(threadTs).length === 3);
      expect(inbox.notes(threadTs)).toEqual([
        ':bust_in_silhouette: <@UAGENT1> took this conversation.',
        ':bust_in_silhouette: <@UAGENT2> took this conversation over from <@UAGENT1>.',
        ':bust_in_silhouette: <@UAGENT2> unassigned themselves from this conversation.',
      ]);
    });

    it('says so when a full My Sessions stops an assignment', async () => {
      const { threadTs, contact } = await conversation();
      const now = Date.now();
      const others = Array.from({ length: MAX_SESSIONS_PER_AGENT }, (_, i) => ({
        id: `full-${i}`,
        sending_number_id: contact.sending_number_id,
        phone_number: `+4479117${String(10000 + i)}`,
        user_id: null,
        profile_name: null,
        note: null,
        last_inbound_at: null,
        last_message_at: now,
        last_direction: 'inbound' as const,
        created_at: now,
        updated_at: now,
      }));
      await h.app.database.db.insertInto('contact').values(others).execute();
      await h.app.database.db
        .insertInto('agent_session')
        .values(others.map((c) => ({ slack_user_id: 'UAGENT4', contact_id: c.id, created_at: now })))
        .execute();
      const click = await inbox.click(threadTs, 'wa_inbox_assign_me', 'UAGENT4');
      expect(await click.answer()).toContain(
        `Not assigned: Your My Sessions already holds ${MAX_SESSIONS_PER_AGENT} conversations`,
      );
      expect((await inbox.contact(contact.phone_number ?? '')).owner_user_id).toBeNull();
    });

    it('resolves from the header and from the message shortcut, and reopens', async () => {
      const { threadTs, contact, phone } = await conversation();
      const resolve = await inbox.click(threadTs, 'wa_inbox_resolve', 'UAGENT1');
      expect(await resolve.answer()).toContain('Resolved. The next customer message reopens it.');
      await waitFor('header says resolved', () => inbox.headerText(threadTs).includes('*Resolved*'));
      expect(inbox.button(threadTs, 'wa_inbox_reopen')).toBeDefined();
      const reopen = await inbox.click(threadTs, 'wa_inbox_reopen', 'UAGENT2');
      expect(await reopen.answer()).toContain('Reopened');
      await waitFor('header says open', () => inbox.headerText(threadTs).includes('*Open*'));

      // The shortcut on a customer's message in the thread.
      const { id } = await chat.metaContactWrites('Thanks, all good', { from: phone });
      const post = await chat.postOf(id);
      expect(await inbox.resolveShortcut(threadTs, post.ts, 'UAGENT3')).toContain('Resolved');
      expect((await inbox.contact(contact.phone_number ?? '')).status).toBe('resolved');
      expect(await inbox.resolveShortcut(threadTs, post.ts, 'UAGENT3')).toContain('already resolved');
      await waitFor('notes', () => inbox.notes(threadTs).length === 3);
      expect(inbox.notes(threadTs)).toEqual([
        ':white_check_mark: <@UAGENT1> resolved this conversation.',
        ':arrows_counterclockwise: <@UAGENT2> reopened this conversation.',
        ':white_check_mark: <@UAGENT3> resolved this conversation.',
      ]);
      expect((await inbox.events(contact.id)).map((e) => e.kind)).toEqual([
        'opened',
        'resolved',
        'reopened',
        'resolved',
      ]);
      // A message outside any conversation thread resolves nothing.
      expect(await inbox.resolveShortcut('1790000099.000001', '1790000099.000001', 'UAGENT3')).toContain(
        'not part of a WhatsApp conversation thread',
      );
    });

    it('answers a click on a stale header (the conversation moved to a new thread) with a link to the current one', async () => {
      const { threadTs, phone, contact } = await conversation();
      // Someone deletes the header: the next customer message starts a new thread linked to the old one.
      h.slack.deleteMessage(CHANNEL_ID, threadTs);
      const { threadTs: newTs } = await chat.metaContactWrites('Still there?', { from: phone });
      expect(newTs).not.toBe(threadTs);
      const click = await inbox.click(threadTs, 'wa_inbox_assign_me', 'UAGENT1', { value: `${contact.id}|` });
      const answer = await click.answer();
      expect(answer).toContain('This conversation moved to a new thread');
      expect(answer).toContain(`/archives/${CHANNEL_ID}/p${newTs.replace('.', '')}`);
      expect((await inbox.contact(contact.phone_number ?? '')).owner_user_id).toBeNull();
    });
  });
}

describe.runIf(cases.find((c) => c.name === 'postgres')?.available)(
  'two app instances on one PostgreSQL database: Assign to me at once',
  () => {
    let h: Harness;
    let other: AppProcess;
    beforeAll(async () => {
      const postgres = cases.find((c) => c.name === 'postgres');
      if (!postgres) throw new Error('no PostgreSQL');
      h = await startHarness({ database: await postgres.create() });
      for (const id of ['UAGENT1', 'UAGENT2']) h.slack.addUser({ id, name: id.toLowerCase() });
      const target = h.config.database;
      other = new AppProcess(
        bridgeEnv({ slackUrl: h.slack.url, metaUrl: h.meta?.url ?? '', database: target }, { LEADS: LEAD }),
        await freePort(),
      );
      await other.start();
    }, 90_000);
    afterAll(async () => {
      if (process.env.BRIDGE_TEST_LOGS) process.stderr.write(other?.output.join('') ?? '');
      await other?.stop('SIGKILL');
      await h?.stop();
    });

    it('ends with one owner and both agents told, each instance answering its own click', async () => {
      const chat = chatDriver(h);
      const inbox = inboxDriver(h);
      for (let round = 0; round < 3; round++) {
        const phone = nextPhone();
        const { threadTs } = await chat.metaContactWrites('Hi', { from: phone });
        const [a, b] = await Promise.all([
          inbox.click(threadTs, 'wa_inbox_assign_me', 'UAGENT1'),
          inbox.click(threadTs, 'wa_inbox_assign_me', 'UAGENT2', { url: `http://127.0.0.1:${other.port}` }),
        ]);
        const answers = [await a.answer(), await b.answer()];
        const contact = await inbox.contact(`+${phone}`);
        expect(['UAGENT1', 'UAGENT2']).toContain(contact.owner_user_id);
        expect(answers.filter((t) => t.includes('You own this conversation now'))).toHaveLength(1);
        expect(
          answers.filter((t) => t.includes(`<@${contact.owner_user_id}> got this conversation a moment before you`)),
        ).toHaveLength(1);
        const assigned = await h.app.database.db
          .selectFrom('conversation_event')
          .select('owner_user_id')
          .where('contact_id', '=', contact.id)
          .where('kind', '=', 'assigned')
          .execute();
        expect(assigned).toEqual([{ owner_user_id: contact.owner_user_id }]);
        await waitFor('one note', () => inbox.notes(threadTs).length === 1);
      }
    });
  },
);
