import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_COUNT_CAP } from '../../src/db/stores/inbox-queue-store.js';
import { AppProcess, bridgeEnv, freePort } from '../support/app-process.js';
import {
  CHANNEL_ID,
  type Harness,
  LEAD,
  postMetaWebhook,
  SIGNING_SECRET,
  startHarness,
} from '../support/bridge-harness.js';
import { chatDriver } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { inboxDriver } from '../support/inbox-driver.js';
import { inboundWebhook, nextWamid } from '../support/meta-webhooks.js';
import { blockActionsPayload, eventCallback, interactivity, postSlack } from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Queues in App Home (issue #16, item 4): *Waiting on us* (the customer wrote last) with how long
 * each has waited, *Unassigned* and *Mine*, the newest need first, each row a link button to its
 * thread; leads see the whole team's queue and today's and the week's figures. Homes are opened
 * with signed app_home_opened events, customers write through signed Meta webhooks, and what the
 * fake Slack was given to publish is read back.
 */

const cases = await dialects();
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

type Block = {
  type: string;
  text?: { type: string; text: string };
  fields?: { text: string }[];
  elements?: { type: string; text?: string }[];
  accessory?: { type: string; url?: string; action_id?: string; text?: { text: string } };
};
type StoredView = { id: string; view: { blocks?: Block[] } };

/** The blocks under the header that starts with `title`, up to the next header. */
function section(blocks: Block[], title: string): Block[] {
  const start = blocks.findIndex((b) => b.type === 'header' && b.text?.text.startsWith(title));
  if (start < 0) return [];
  const end = blocks.findIndex((b, i) => i > start && b.type === 'header');
  return blocks.slice(start, end < 0 ? undefined : end);
}
const headerOf = (blocks: Block[], title: string) => section(blocks, title)[0]?.text?.text;
/** The queue rows of a section: their text and link. */
const rowsOf = (blocks: Block[], title: string) =>
  section(blocks, title)
    .filter((b) => b.type === 'section')
    .map((b) => ({ text: b.text?.text ?? '', url: b.accessory?.url ?? null, actionId: b.accessory?.action_id }));
/** The blocks above My Sessions: the queues (and a lead's figures). */
const queuePart = (blocks: Block[]) =>
  blocks.slice(
    0,
    blocks.findIndex((b) => b.type === 'header' && b.text?.text.startsWith('My Sessions')),
  );
const contextOf = (blocks: Block[], title: string) =>
  section(blocks, title)
    .filter((b) => b.type === 'context')
    .flatMap((b) => (b.elements ?? []).map((e) => e.text ?? ''));

for (const dialect of cases) {
  describe.runIf(dialect.available)(`team inbox queues in App Home on ${dialect.name}`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    let inbox: ReturnType<typeof inboxDriver>;
    const now = Date.now();
    beforeAll(async () => {
      h = await startHarness({
        database: await dialect.create(),
        // Assignment by hand only, so an answered conversation can stay unassigned.
        env: { AUTO_ASSIGN_ON_REPLY: 'false' },
        homeRefresh: { pollMs: 100, ownMinIntervalMs: 0, minIntervalMs: 400, lookbackMs: 60_000 },
      });
      chat = chatDriver(h);
      inbox = inboxDriver(h);
      h.slack.addUser({ id: 'UAGENT1', name: 'agent1' });
      h.slack.addUser({ id: 'UAGENT2', name: 'agent2' });
    });
    afterAll(async () => {
      await h?.stop();
    });

    const publishesTo = (userId: string) =>
      h.slack.callsTo('views.publish').filter((c) => c.body.user_id === userId).length;
    const homeOf = (userId: string) =>
      ((h.slack.views.get(`home-${userId}`) as StoredView | undefined)?.view.blocks ?? []) as Block[];
    /** Opens the user's Home tab (a signed app_home_opened) and returns what was published. */
    async function openHome(userId: string): Promise<Block[]> {
      const before = publishesTo(userId);
      const response = await postSlack(
        h.url,
        eventCallback(SIGNING_SECRET, { type: 'app_home_opened', user: userId, channel: `D${userId}`, tab: 'home' }),
      );
      expect(response.status).toBe(200);
      await waitFor(`${userId}'s Home published`, () => publishesTo(userId) > before);
      return homeOf(userId);
    }

    const linkTo = (threadTs: string) => `https://acme.slack.com/archives/${CHANNEL_ID}/p${threadTs.replace('.', '')}`;
    const since = (ms: number) => `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time} ({ago})|`;
    /** Waits until the inbox has the conversation in that state. */
    const state = (phone: string, expected: { status: string; owner: string | null }) =>
      waitFor(`${phone} ${expected.status} owned by ${expected.owner}`, async () => {
        const c = await inbox.contact(phone);
        return c.status === expected.status && c.owner_user_id === expected.owner ? c : null;
      });

    const threads = new Map<string, string>();
    /** When each customer's (first) message was sent, as WhatsApp stamps it (whole seconds). */
    const wrote = new Map<string, number>();
    it('lists who waits on us newest first with how long and a link to the thread, then Unassigned and Mine', async () => {
      const customers = [
        { phone: '447700900001', name: 'Ana', at: now - 30 * MINUTE },
        { phone: '447700900002', name: 'Bruno', at: now - 20 * MINUTE },
        { phone: '447700900003', name: 'Carla', at: now - 10 * MINUTE },
        { phone: '447700900004', name: 'Dora <!channel>', at: now - 40 * MINUTE },
        { phone: '447700900005', name: 'Edu', at: now - 50 * MINUTE },
        { phone: '447700900006', name: 'Fia', at: now - 60 * MINUTE },
      ];
      for (const c of customers) {
        const id = nextWamid();
        const payload = inboundWebhook(
          { type: 'text', text: { body: `hello from ${c.name}` } },
          { from: c.phone, name: c.name, id, timestamp: c.at },
        );
        expect((await postMetaWebhook(h.url, payload)).status).toBe(200);
        threads.set(c.phone, (await chat.postOf(id)).thread_ts as string);
        wrote.set(c.phone, Math.floor(c.at / 1000) * 1000);
      }
      const thread = (phone: string) => threads.get(phone) ?? '';
      // Bruno's is UAGENT1's, Carla's UAGENT2's (Assign to me); Dora got an answer from UAGENT2
      // (no auto-assign here); Edu's is UAGENT1's and answered; Fia's is resolved.
      await inbox.click(thread('447700900002'), 'wa_inbox_assign_me', 'UAGENT1');
      await inbox.click(thread('447700900003'), 'wa_inbox_assign_me', 'UAGENT2');
      await chat.agentWrites({ threadTs: thread('447700900004'), text: 'We are on it', user: 'UAGENT2' });
      await inbox.click(thread('447700900005'), 'wa_inbox_assign_me', 'UAGENT1');
      await state('+447700900005', { status: 'open', owner: 'UAGENT1' });
      await chat.agentWrites({ threadTs: thread('447700900005'), text: 'Sent today', user: 'UAGENT1' });
      await inbox.click(thread('447700900006'), 'wa_inbox_resolve', 'UAGENT1');
      await state('+447700900002', { status: 'open', owner: 'UAGENT1' });
      await state('+447700900003', { status: 'open', owner: 'UAGENT2' });
      await state('+447700900004', { status: 'waiting', owner: null });
      await state('+447700900005', { status: 'waiting', owner: 'UAGENT1' });
      await state('+447700900006', { status: 'resolved', owner: null });
      await h.settle();

      const home = await openHome('UAGENT1');
      // An agent sees what they can act on: their own customers and nobody's, the newest need first.
      expect(headerOf(home, 'Waiting on us')).toBe('Waiting on us (2)');
      const waiting = rowsOf(home, 'Waiting on us');
      expect(waiting.map((r) => r.text.match(/\*(\w+)\*/)?.[1])).toEqual(['Bruno', 'Ana']);
      expect(waiting[0]?.text).toContain(`waiting since ${since(wrote.get('447700900002') ?? 0)}`);
      expect(waiting[0]?.text).toContain('<@UAGENT1>');
      expect(waiting[1]?.text).toContain(`waiting since ${since(wrote.get('447700900001') ?? 0)}`);
      expect(waiting[1]?.text).toContain('_unassigned_');
      expect(waiting[0]?.url).toBe(linkTo(thread('447700900002')));
      expect(waiting[1]?.url).toBe(linkTo(thread('447700900001')));
      expect(contextOf(home, 'Waiting on us').join(' ')).toContain(
        `the longest has waited since ${since(wrote.get('447700900001') ?? 0)}`,
      );
      expect(headerOf(home, 'Unassigned')).toBe('Unassigned (1)');
      expect(rowsOf(home, 'Unassigned').map((r) => r.url)).toEqual([linkTo(thread('447700900004'))]);
      expect(rowsOf(home, 'Unassigned')[0]?.text).toContain('answered, waiting on the customer');
      // Customer-chosen names are shown, never run: no @channel from a WhatsApp profile.
      expect(rowsOf(home, 'Unassigned')[0]?.text).toContain('*Dora &lt;!channel&gt;*');
      expect(JSON.stringify(queuePart(home))).not.toContain('<!channel>');
      expect(headerOf(home, 'Mine')).toBe('Mine (1)');
      expect(rowsOf(home, 'Mine').map((r) => r.url)).toEqual([linkTo(thread('447700900005'))]);
      // Resolved conversations are in no queue; agents get no team figures.
      expect(JSON.stringify(queuePart(home))).not.toContain('Fia');
      expect(headerOf(home, 'Team')).toBeUndefined();
      // The queues come first, then My Sessions and All Sessions as before.
      const headers = home.filter((b) => b.type === 'header').map((b) => b.text?.text ?? '');
      expect(headers.slice(1, 4)).toEqual(['Waiting on us (2)', 'Unassigned (1)', 'Mine (1)']);
      expect(headers.slice(4).map((t) => t.replace(/ \(.*/, ''))).toEqual(['My Sessions', 'All Sessions']);

      // The other agent sees their own and nobody's.
      const other = await openHome('UAGENT2');
      expect(rowsOf(other, 'Waiting on us').map((r) => r.text.match(/\*(\w+)\*/)?.[1])).toEqual(['Carla', 'Ana']);
      expect(headerOf(other, 'Mine')).toBe('Mine (0)');
    });

    it('shows a lead the whole team’s queue and who has customers waiting', async () => {
      const home = await openHome(LEAD);
      expect(headerOf(home, 'Waiting on us')).toBe('Waiting on us (3)');
      expect(rowsOf(home, 'Waiting on us').map((r) => r.text.match(/\*(\w+)\*/)?.[1])).toEqual([
        'Carla',
        'Bruno',
        'Ana',
      ]);
      expect(headerOf(home, 'Team')).toBe('Team');
      expect(contextOf(home, 'Team').join(' ')).toContain(
        'Waiting on us by owner: <@UAGENT1> 1 · <@UAGENT2> 1 · unassigned 1',
      );
    });

    it('acknowledges the link buttons’ clicks and does nothing else', async () => {
      const row = rowsOf(homeOf('UAGENT1'), 'Waiting on us')[0];
      const before = h.slack.calls.length;
      const logsBefore = h.logs.length;
      const response = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId: 'UAGENT1',
            actionId: row?.actionId ?? '',
            view: { id: 'home-UAGENT1', callbackId: '', privateMetadata: '{}', type: 'home' },
          }),
        ),
      );
      expect(response.status).toBe(200);
      await h.settle();
      // (Background refreshes of open Homes may publish meanwhile; nothing else is called.)
      const calls = h.slack.calls.slice(before).map((c) => c.method);
      expect(calls.filter((m) => !['views.publish', 'users.info'].includes(m))).toEqual([]);
      // A listener of its own acknowledged it (not the catch-all for requests nobody handles).
      expect(h.logs.slice(logsBefore).join('')).not.toMatch(/no listener handled/);
    });

    it('refreshes an open Home when its owner’s queue changes, and others’ only for what they see', async () => {
      await openHome('UAGENT1');
      await openHome('UAGENT2');
      // Refreshes still due for the earlier tests' changes go out first (a publish does not clear
      // them: it may have read the queues before the change); then nothing is pending.
      await new Promise((r) => setTimeout(r, 1000));
      const agent1 = publishesTo('UAGENT1');
      const agent2 = publishesTo('UAGENT2');
      // Edu (UAGENT1's, answered) writes again: now waiting on us. Only UAGENT1 (and leads) see that.
      await chat.metaContactWrites('one more thing', { from: '447700900005', name: 'Edu' });
      await waitFor('UAGENT1 republished', () => publishesTo('UAGENT1') > agent1);
      await waitFor('Edu waiting on UAGENT1', () =>
        rowsOf(homeOf('UAGENT1'), 'Waiting on us')[0]?.text.includes('*Edu*'),
      );
      await new Promise((r) => setTimeout(r, 800));
      expect(publishesTo('UAGENT2')).toBe(agent2);
      // Dora's (nobody's) writing again concerns every agent: UAGENT2 is republished too.
      await chat.metaContactWrites('still there?', { from: '447700900004', name: 'Dora <!channel>' });
      await waitFor('UAGENT2 republished', () => publishesTo('UAGENT2') > agent2);
      await waitFor('Dora waiting on anyone', () =>
        rowsOf(homeOf('UAGENT2'), 'Waiting on us')[0]?.text.includes('*Dora &lt;!channel&gt;*'),
      );
    });
  });

  describe.runIf(dialect.available)(`App Home queue caps and leads' figures on ${dialect.name}`, () => {
    let h: Harness;
    const now = Date.now();
    // Today (UTC: the fake Slack gives users no time zone) starts at midnight; a few ms after it is
    // always in the past, whatever the time the test runs.
    const todayStart = now - (now % DAY);
    const contact = (id: string, over: Record<string, unknown>) => ({
      id,
      sending_number_id: '1906385232743451',
      phone_number: `+44791110${id.replace(/\D/g, '').padStart(4, '0')}`,
      user_id: null,
      profile_name: id,
      note: null,
      last_inbound_at: now - MINUTE,
      last_message_at: now - MINUTE,
      last_direction: 'inbound' as const,
      created_at: now,
      updated_at: now,
      owner_user_id: null,
      status: 'open' as const,
      status_changed_at: now,
      waiting_since: null,
      opened_at: null,
      first_response_at: null,
      surface_message_id: null,
      ...over,
    });

    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
      const db = h.app.database.db;
      // 15 waiting (no thread yet), 8 unowned answered, 14 of the lead's own answered.
      for (let i = 0; i < 15; i++)
        await db
          .insertInto('contact')
          .values(contact(`w${i}`, { waiting_since: now - (i + 1) * MINUTE }))
          .execute();
      for (let i = 0; i < 8; i++)
        await db
          .insertInto('contact')
          .values(contact(`u${i + 100}`, { status: 'waiting' }))
          .execute();
      for (let i = 0; i < 14; i++)
        await db
          .insertInto('contact')
          .values(contact(`m${i + 200}`, { status: 'waiting', owner_user_id: LEAD }))
          .execute();
      // 30 sessions: more than App Home has room for next to the queues.
      for (let i = 0; i < 30; i++)
        await db
          .insertInto('agent_session')
          .values({ slack_user_id: LEAD, contact_id: `m${200 + (i % 14)}`, created_at: now })
          .onConflict((oc) => oc.doNothing())
          .execute();
      // History: three today, two earlier this week, one older than a week (not counted).
      let n = 0;
      const event = (kind: string, at: number, responseMs: number | null = null) =>
        db
          .insertInto('conversation_event')
          .values({
            id: `e${++n}`,
            contact_id: 'w0',
            kind: kind as 'opened',
            actor_user_id: null,
            owner_user_id: null,
            at,
            response_ms: responseMs,
          })
          .execute();
      for (const at of [todayStart + 1, todayStart + 2, todayStart + 3]) await event('opened', at);
      await event('reopened', todayStart + 3);
      for (const at of [todayStart + 2, todayStart + 3]) await event('resolved', at);
      for (const ms of [60_000, 120_000, 600_000]) await event('first_response', todayStart + 2, ms);
      for (const at of [todayStart - 2 * DAY, todayStart - 3 * DAY]) await event('opened', at);
      await event('resolved', todayStart - 2 * DAY);
      for (const ms of [30_000, 3_600_000]) await event('first_response', todayStart - 2 * DAY, ms);
      await event('opened', now - 8 * DAY);
      await event('resolved', now - 8 * DAY);
      await event('first_response', now - 8 * DAY, 1);
    });
    afterAll(async () => {
      await h?.stop();
    });

    it('caps each list and says how many more, within Block Kit’s 100 blocks, with the figures by hand', async () => {
      const before = h.slack.callsTo('views.publish').length;
      await postSlack(h.url, eventCallback(SIGNING_SECRET, { type: 'app_home_opened', user: LEAD, tab: 'home' }));
      await waitFor('home published', () => h.slack.callsTo('views.publish').length > before);
      const home = ((h.slack.views.get(`home-${LEAD}`) as StoredView).view.blocks ?? []) as Block[];
      // The fake Slack refuses views over 100 blocks (the harness fails the suite on a refusal).
      expect(home.length).toBeLessThanOrEqual(100);
      expect(headerOf(home, 'Waiting on us')).toBe('Waiting on us (15)');
      const waiting = rowsOf(home, 'Waiting on us');
      expect(waiting.map((r) => r.text.match(/\*(\w+)\*/)?.[1])).toEqual(Array.from({ length: 10 }, (_, i) => `w${i}`));
      // No thread posted yet: no link to give.
      expect(waiting[0]).toMatchObject({ url: null });
      expect(waiting[0]?.text).toContain('no thread yet');
      expect(contextOf(home, 'Waiting on us')).toContain('…and 5 more');
      expect(headerOf(home, 'Unassigned')).toBe('Unassigned (8)');
      expect(rowsOf(home, 'Unassigned')).toHaveLength(5);
      expect(contextOf(home, 'Unassigned')).toContain('…and 3 more');
      expect(headerOf(home, 'Mine')).toBe('Mine (14)');
      expect(rowsOf(home, 'Mine')).toHaveLength(10);
      expect(contextOf(home, 'Mine')).toContain('…and 4 more');
      // My Sessions gives up rows to the queues and points at /wa sessions for the rest.
      expect(headerOf(home, 'My Sessions')).toBe('My Sessions (14/100)');
      expect(JSON.stringify(section(home, 'My Sessions'))).toMatch(/…and \d+ more: `\/wa sessions`/);
      // Figures: today 3 opened (+1 reopened), 2 resolved, first responses 1, 2, 10 min → p50 2 min,
      // p90 10 min. The week adds 2 opened, 1 resolved, 30 s and 1 h → 30 s, 1, 2, 10, 60 min:
      // p50 (3rd of 5) 2 min, p90 (5th of 5) 1 h. The event older than 7 days counts nowhere.
      const [today, week] = section(home, 'Team').find((b) => b.type === 'section')?.fields ?? [];
      expect(today?.text).toBe(
        '*Today*\nOpened: 3 (+1 reopened)\nResolved: 2\nFirst response: p50 2 min · p90 10 min (3 answered)',
      );
      expect(week?.text).toBe(
        '*Last 7 days*\nOpened: 5 (+1 reopened)\nResolved: 3\nFirst response: p50 2 min · p90 1 h 00 min (5 answered)',
      );
      expect(contextOf(home, 'Team').join(' ')).toContain(
        `Today: since <!date^${Math.floor(todayStart / 1000)}^{date_short_pretty} {time}|`,
      );
    });

    it(`stops counting Unassigned at ${QUEUE_COUNT_CAP.toLocaleString('en-US')} and says there are more`, async () => {
      const db = h.app.database.db;
      // A year of conversations nobody resolved: the Home does not count them all on every publish.
      const extra = Array.from({ length: QUEUE_COUNT_CAP }, (_, i) =>
        contact(`x${i + 10_000}`, {
          status: 'waiting',
          status_changed_at: now - DAY - i,
          last_message_at: now - DAY - i,
        }),
      );
      for (let i = 0; i < extra.length; i += 200)
        await db
          .insertInto('contact')
          .values(extra.slice(i, i + 200))
          .execute();
      try {
        const before = h.slack.callsTo('views.publish').length;
        await postSlack(h.url, eventCallback(SIGNING_SECRET, { type: 'app_home_opened', user: LEAD, tab: 'home' }));
        await waitFor('home published', () => h.slack.callsTo('views.publish').length > before);
        const home = ((h.slack.views.get(`home-${LEAD}`) as StoredView).view.blocks ?? []) as Block[];
        expect(headerOf(home, 'Unassigned')).toBe('Unassigned (1,000+)');
        expect(rowsOf(home, 'Unassigned')).toHaveLength(5);
        expect(contextOf(home, 'Unassigned')).toContain('…and over 995 more');
        // The newest need still comes first: the eight answered a minute ago, before the older ones.
        expect(rowsOf(home, 'Unassigned').map((r) => r.text.match(/\*(\w+)\*/)?.[1]?.[0])).toEqual([
          'u',
          'u',
          'u',
          'u',
          'u',
        ]);
        expect(headerOf(home, 'Waiting on us')).toBe('Waiting on us (15)');
        expect(headerOf(home, 'Mine')).toBe('Mine (14)');
      } finally {
        await db.deleteFrom('contact').where('id', 'like', 'x%').execute();
      }
    });
  });
}

describe.runIf(cases.find((c) => c.name === 'postgres')?.available)(
  'App Home refresh across two app instances on one PostgreSQL database',
  () => {
    let h: Harness;
    let other: AppProcess;
    beforeAll(async () => {
      const postgres = cases.find((c) => c.name === 'postgres');
      if (!postgres) throw new Error('no PostgreSQL');
      h = await startHarness({
        database: await postgres.create(),
        homeRefresh: { pollMs: 100, ownMinIntervalMs: 0, minIntervalMs: 400, lookbackMs: 60_000 },
      });
      h.slack.addUser({ id: 'UAGENT1', name: 'agent1' });
      other = new AppProcess(
        bridgeEnv(
          { slackUrl: h.slack.url, metaUrl: h.meta?.url ?? '', database: h.config.database },
          { LEADS: LEAD, AUTO_ASSIGN_ON_REPLY: 'false' },
        ),
        await freePort(),
      );
      await other.start();
    }, 90_000);
    afterAll(async () => {
      await other?.stop('SIGKILL');
      await h?.stop();
    });

    it('republishes a Home opened on one instance when the other assigns a conversation', async () => {
      const chat = chatDriver(h);
      const inbox = inboxDriver(h);
      const { threadTs } = await chat.metaContactWrites('Hi, anyone?', { from: '447700900777', name: 'Gil' });
      await h.settle();
      const publishes = () => h.slack.callsTo('views.publish').filter((c) => c.body.user_id === 'UAGENT1');
      const opened = await postSlack(
        h.url,
        eventCallback(SIGNING_SECRET, { type: 'app_home_opened', user: 'UAGENT1', tab: 'home' }),
      );
      expect(opened.status).toBe(200);
      await waitFor('home published', () => publishes().length > 0);
      const before = publishes().length;
      // The click goes to the other instance, which knows nothing of this Home; the change reaches
      // this one through the database.
      const click = await inbox.click(threadTs, 'wa_inbox_assign_me', 'UAGENT1', {
        url: `http://127.0.0.1:${other.port}`,
      });
      expect(await click.answer()).toContain('You own this conversation now');
      await waitFor('republished here', () => publishes().length > before);
      const home = () => ((h.slack.views.get('home-UAGENT1') as StoredView).view.blocks ?? []) as Block[];
      await waitFor('Gil shown as UAGENT1’s', () => rowsOf(home(), 'Waiting on us')[0]?.text.includes('<@UAGENT1>'));
      expect(headerOf(home(), 'Waiting on us')).toBe('Waiting on us (1)');
    });
  },
);
