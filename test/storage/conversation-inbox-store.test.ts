import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/create-db.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createConversationInboxStore } from '../../src/db/stores/conversation-inbox-store.js';
import { dialects, type TestDatabase } from '../support/databases.js';

const cases = await dialects();
const MINUTE = 60_000;

for (const dialect of cases) {
  describe.runIf(dialect.available)(`conversation inbox store on ${dialect.name}`, () => {
    let testDb: TestDatabase;
    let first: DatabaseHandle;
    let second: DatabaseHandle;
    let a: ReturnType<typeof createConversationInboxStore>;
    let b: ReturnType<typeof createConversationInboxStore>;

    let contacts = 0;
    const addContact = async (id: string, lastMessageAt: number | null = null) => {
      contacts += 1;
      await first.db
        .insertInto('contact')
        .values({
          id,
          sending_number_id: 'pn-1',
          phone_number: `+447911${String(100000 + contacts)}`,
          user_id: null,
          profile_name: null,
          note: null,
          last_inbound_at: lastMessageAt,
          last_message_at: lastMessageAt,
          last_direction: lastMessageAt === null ? null : 'inbound',
          created_at: 0,
          updated_at: 0,
        })
        .execute();
    };
    const kinds = async (contactId: string) => (await a.events(contactId)).map((e) => e.kind);

    beforeAll(async () => {
      testDb = await dialect.create();
      first = createDatabase(testDb.target);
      second = createDatabase(testDb.target);
      await migrateToLatest(first.db);
      a = createConversationInboxStore(first.db, first.dialect);
      b = createConversationInboxStore(second.db, second.dialect);
    });
    afterAll(async () => {
      await first?.close();
      await second?.close();
      await testDb?.drop();
    });

    it('starts a contact open and unowned (the column defaults)', async () => {
      await addContact('c-1');
      expect(await a.get('c-1')).toMatchObject({
        owner_user_id: null,
        status: 'open',
        waiting_since: null,
        opened_at: null,
        first_response_at: null,
      });
    });

    it('lets exactly one of many concurrent assigns win, from two connections, and records only that one', async () => {
      await addContact('c-race');
      const agents = Array.from({ length: 12 }, (_, i) => `UAGENT${i}`);
      const results = await Promise.all(
        agents.map((agent, i) =>
          (i % 2 === 0 ? a : b).assign({
            contactId: 'c-race',
            ownerUserId: agent,
            expectedOwnerUserId: null,
            actorUserId: agent,
            now: 1000 + i,
          }),
        ),
      );
      const winners = results.flatMap((r, i) => (r.outcome === 'assigned' ? [agents[i]] : []));
      expect(winners).toHaveLength(1);
      const winner = winners[0];
      for (const r of results)
        if (r.outcome !== 'assigned') expect(r).toEqual({ outcome: 'conflict', currentOwnerUserId: winner });
      expect((await a.get('c-race'))?.owner_user_id).toBe(winner);
      const events = await a.events('c-race');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ kind: 'assigned', actor_user_id: winner, owner_user_id: winner });
    });

    it('reassigns and unassigns only from the owner the caller saw', async () => {
      await addContact('c-own');
      let now = 5;
      const assign = (owner: string, expected: string | null, actor = 'ULEAD') =>
        a.assign({
          contactId: 'c-own',
          ownerUserId: owner,
          expectedOwnerUserId: expected,
          actorUserId: actor,
          now: now++,
        });
      expect(await assign('U1', null)).toMatchObject({ outcome: 'assigned', previousOwnerUserId: null });
      expect(await assign('U1', 'U1')).toEqual({ outcome: 'unchanged' });
      expect(await assign('U2', null)).toEqual({ outcome: 'conflict', currentOwnerUserId: 'U1' });
      expect(await assign('U2', 'U1')).toMatchObject({ outcome: 'assigned', previousOwnerUserId: 'U1' });
      expect(await a.unassign({ contactId: 'c-own', expectedOwnerUserId: 'U1', actorUserId: 'U1', now: 60 })).toEqual({
        outcome: 'conflict',
        currentOwnerUserId: 'U2',
      });
      expect(
        await a.unassign({ contactId: 'c-own', expectedOwnerUserId: 'U2', actorUserId: 'U2', now: 70 }),
      ).toMatchObject({
        outcome: 'unassigned',
        previousOwnerUserId: 'U2',
      });
      expect(await a.unassign({ contactId: 'c-own', expectedOwnerUserId: 'U2', actorUserId: 'U2', now: 80 })).toEqual({
        outcome: 'unchanged',
      });
      now = 90;
      expect(await assign('U1', null, 'U1')).toMatchObject({ outcome: 'assigned' });
      expect(
        await a.assign({
          contactId: 'nobody',
          ownerUserId: 'U1',
          expectedOwnerUserId: null,
          actorUserId: 'U1',
          now: 9,
        }),
      ).toEqual({ outcome: 'missing' });
      const events = await a.events('c-own');
      expect(events.map((e) => [e.kind, e.actor_user_id, e.owner_user_id])).toEqual([
        ['assigned', 'ULEAD', 'U1'],
        ['assigned', 'ULEAD', 'U2'],
        ['unassigned', 'U2', 'U2'],
        ['assigned', 'U1', 'U1'],
      ]);
    });

    it('moves open → waiting → resolved → reopened by the next customer message, with its events', async () => {
      await addContact('c-life');
      const t0 = 1_000_000;
      // The first customer message opens the conversation (a new thread: nothing to surface).
      expect(
        await a.recordInbound({ contactId: 'c-life', messageId: 'm1', at: t0, quietAfterMs: 30 * MINUTE, now: t0 }),
      ).toMatchObject({ reopened: false, opened: true, surface: false, ownerUserId: null });
      // The contact's activity moves to the message (the conversation store does that).
      await first.db.updateTable('contact').set({ last_message_at: t0 }).where('id', '=', 'c-life').execute();
      await a.recordInbound({
        contactId: 'c-life',
        messageId: 'm2',
        at: t0 + MINUTE,
        quietAfterMs: 30 * MINUTE,
        now: t0,
      });
      expect(await a.get('c-life')).toMatchObject({ status: 'open', waiting_since: t0, opened_at: t0 });

      // The first agent answer: waiting on the customer, first response 5 minutes, auto-assigned.
      const answer = await a.recordAgentAnswer({
        contactId: 'c-life',
        agentUserId: 'UAG',
        at: t0 + 5 * MINUTE,
        autoAssign: true,
        now: t0 + 5 * MINUTE,
      });
      expect(answer).toMatchObject({
        assigned: true,
        firstResponseMs: 5 * MINUTE,
        ownerUserId: 'UAG',
        status: 'waiting',
      });
      expect(await a.get('c-life')).toMatchObject({ status: 'waiting', waiting_since: null, owner_user_id: 'UAG' });
      // A second answer (or a retry) records nothing new and assigns no one else.
      expect(
        await a.recordAgentAnswer({
          contactId: 'c-life',
          agentUserId: 'UOTHER',
          at: t0 + 6 * MINUTE,
          autoAssign: true,
          now: 1,
        }),
      ).toMatchObject({ assigned: false, firstResponseMs: null, ownerUserId: 'UAG', status: 'waiting' });

      expect(await a.resolve({ contactId: 'c-life', actorUserId: 'UAG', now: t0 + 7 * MINUTE })).toMatchObject({
        outcome: 'changed',
        ownerUserId: 'UAG',
      });
      expect(await a.resolve({ contactId: 'c-life', actorUserId: 'UAG', now: t0 + 8 * MINUTE })).toEqual({
        outcome: 'unchanged',
      });
      expect(await a.get('c-life')).toMatchObject({ status: 'resolved', waiting_since: null });
      await first.db
        .updateTable('contact')
        .set({ last_message_at: t0 + 6 * MINUTE })
        .where('id', '=', 'c-life')
        .execute();

      // A customer message a minute later reopens it (and surfaces it, once even if retried).
      const reopen = { contactId: 'c-life', messageId: 'm3', at: t0 + 8 * MINUTE, quietAfterMs: 30 * MINUTE, now: 2 };
      expect(await a.recordInbound(reopen)).toMatchObject({
        reopened: true,
        opened: true,
        surface: true,
        ownerUserId: 'UAG',
      });
      expect(await b.recordInbound(reopen)).toMatchObject({
        reopened: false,
        opened: false,
        surface: true,
        ownerUserId: 'UAG',
      });
      expect(await a.get('c-life')).toMatchObject({
        status: 'open',
        waiting_since: t0 + 8 * MINUTE,
        opened_at: t0 + 8 * MINUTE,
        first_response_at: null,
      });
      const answerAgain = await a.recordAgentAnswer({
        contactId: 'c-life',
        agentUserId: 'UAG',
        at: t0 + 10 * MINUTE,
        autoAssign: true,
        now: 3,
      });
      expect(answerAgain.firstResponseMs).toBe(2 * MINUTE);

      expect(await kinds('c-life')).toEqual([
        'opened',
        'assigned',
        'first_response',
        'resolved',
        'reopened',
        'opened',
        'first_response',
      ]);
      const responses = (await a.events('c-life')).filter((e) => e.kind === 'first_response');
      expect(responses.map((e) => e.response_ms)).toEqual([5 * MINUTE, 2 * MINUTE]);
    });

    it('surfaces a quiet conversation once for several messages, decided in the database', async () => {
      const t0 = 50_000_000;
      await addContact('c-quiet', t0);
      // An agent answered last, 40 minutes ago.
      await a.recordAgentAnswer({ contactId: 'c-quiet', agentUserId: 'UAG', at: t0, autoAssign: false, now: t0 });
      const results = [];
      for (let i = 0; i < 4; i++) {
        const at = t0 + 40 * MINUTE + i * 1000;
        // Alternate connections, as two replicas would.
        results.push(
          await (i % 2 === 0 ? a : b).recordInbound({
            contactId: 'c-quiet',
            messageId: `q${i}`,
            at,
            quietAfterMs: 30 * MINUTE,
            now: at,
          }),
        );
        await first.db.updateTable('contact').set({ last_message_at: at }).where('id', '=', 'c-quiet').execute();
      }
      expect(results.map((r) => r.surface)).toEqual([true, false, false, false]);
      // The oldest unanswered message is what the customer waits since.
      expect(await a.get('c-quiet')).toMatchObject({
        status: 'open',
        waiting_since: t0 + 40 * MINUTE,
        owner_user_id: null,
      });
      // A message inside the quiet limit never surfaces.
      await addContact('c-busy', t0);
      expect(
        (
          await a.recordInbound({
            contactId: 'c-busy',
            messageId: 'b1',
            at: t0 + 29 * MINUTE,
            quietAfterMs: 30 * MINUTE,
            now: 1,
          })
        ).surface,
      ).toBe(false);
    });

    it('keeps a resolved conversation resolved when an agent writes to it, and reopens by hand', async () => {
      await addContact('c-res', 1);
      await a.resolve({ contactId: 'c-res', actorUserId: 'U1', now: 10 });
      expect(
        await a.recordAgentAnswer({ contactId: 'c-res', agentUserId: 'U1', at: 20, autoAssign: false, now: 20 }),
      ).toMatchObject({ status: 'resolved', assigned: false });
      expect(await a.reopen({ contactId: 'c-res', actorUserId: 'U2', now: 30 })).toMatchObject({
        outcome: 'changed',
        ownerUserId: null,
      });
      expect(await a.reopen({ contactId: 'c-res', actorUserId: 'U2', now: 31 })).toEqual({ outcome: 'unchanged' });
      expect(await a.resolve({ contactId: 'missing', actorUserId: 'U2', now: 31 })).toEqual({ outcome: 'missing' });
      expect((await a.events('c-res')).map((e) => [e.kind, e.actor_user_id])).toEqual([
        ['resolved', 'U1'],
        ['reopened', 'U2'],
      ]);
    });
  });
}
