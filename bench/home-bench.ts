import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery, type Insertable, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { ContactTable, Database } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { SqliteThreadDialect } from '../src/db/sqlite-thread-dialect.js';
import { createInboxQueueStore } from '../src/db/stores/inbox-queue-store.js';
import { AppProcess, bridgeEnv, freePort } from '../test/support/app-process.js';
import { BOT_TOKEN, CHANNEL_ID, SIGNING_SECRET } from '../test/support/bridge-harness.js';
import { startFakeMetaGraph } from '../test/support/fake-meta-graph.js';
import { startFakeSlack } from '../test/support/fake-slack.js';
import { eventCallback } from '../test/support/slack-requests.js';

const AGENT = 'UBENCHAGENT';
const LEAD = 'UBENCHLEAD';
const SENDING_NUMBER = '1906385232743451';
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
};

export type HomeSeed = { owned: number; waiting: number; resolved: number; agents: number };

/**
 * A team inbox as issue #16 sizes it: `owned` conversations belonging to the measured agent (a
 * third of them waiting on us, all in their My Sessions), `waiting` customers waiting on us spread
 * over `agents` other agents and nobody, `resolved` closed ones, each with its thread, and a week
 * of history (an opening per conversation, first responses, resolves) for the leads' figures.
 */
export async function seedHomeQueues(db: Kysely<Database>, seed: HomeSeed, now: number): Promise<void> {
  const contacts: Insertable<ContactTable>[] = [];
  const base = {
    sending_number_id: SENDING_NUMBER,
    user_id: null,
    note: null,
    last_inbound_at: now - MINUTE,
    created_at: now - 8 * DAY,
    updated_at: now,
    opened_at: null,
    first_response_at: null,
    surface_message_id: null,
  };
  const add = (i: number, inbox: Record<string, unknown>) =>
    contacts.push({
      ...base,
      id: `bench-${i}`,
      phone_number: `+4477${String(i).padStart(8, '0')}`,
      profile_name: `Customer ${i}`,
      ...inbox,
    } as never);
  // Times are spread with large primes (in seconds) so they scatter over the whole period.
  let i = 0;
  for (let k = 0; k < seed.owned; k++, i++) {
    const waiting = k % 3 === 0;
    add(i, {
      owner_user_id: AGENT,
      status: waiting ? 'open' : 'waiting',
      waiting_since: waiting ? now - ((k * 7) % (6 * 60)) * MINUTE : null,
      status_changed_at: now - k * MINUTE,
      last_message_at: now - k * MINUTE,
      last_direction: waiting ? 'inbound' : 'outbound',
    });
  }
  for (let k = 0; k < seed.waiting; k++, i++) {
    const owner = k % (seed.agents + 1);
    add(i, {
      owner_user_id: owner === seed.agents ? null : `UBENCH${owner}`,
      status: 'open',
      waiting_since: now - ((k * 7919 * 1000) % (3 * DAY)),
      status_changed_at: now - ((k * 7919 * 1000) % (3 * DAY)),
      last_message_at: now - ((k * 7919 * 1000) % (3 * DAY)),
      last_direction: 'inbound',
    });
  }
  for (let k = 0; k < seed.resolved; k++, i++)
    add(i, {
      owner_user_id: `UBENCH${k % seed.agents}`,
      status: 'resolved',
      waiting_since: null,
      status_changed_at: now - ((k * 7907 * 1000) % (60 * DAY)),
      last_message_at: now - ((k * 7907 * 1000) % (60 * DAY)),
      last_direction: 'outbound',
    });
  const chunk = 400;
  for (let k = 0; k < contacts.length; k += chunk) {
    const part = contacts.slice(k, k + chunk);
    await db.insertInto('contact').values(part).execute();
    await db
      .insertInto('slack_thread')
      .values(
        part.map((c, j) => ({
          id: `thread-${k + j}`,
          contact_id: c.id,
          slack_channel_id: CHANNEL_ID,
          thread_ts: `${1_700_000_000 + k + j}.000100`,
          active: 1,
          created_at: now - 8 * DAY,
        })),
      )
      .execute();
    const events = part.flatMap((c, j) => {
      const n = k + j;
      // Waiting and owned conversations opened this week; resolved ones over the last 60 days.
      const at =
        c.status === 'resolved' ? now - ((n * 7901 * 1000) % (60 * DAY)) : now - ((n * 7901 * 1000) % (7 * DAY));
      const list = [
        { id: `ev-o-${n}`, kind: 'opened' as const, at, response_ms: null },
        ...(n % 3 === 0
          ? [{ id: `ev-f-${n}`, kind: 'first_response' as const, at, response_ms: (n * 37) % 3_600_000 }]
          : []),
        ...(n % 5 === 0 ? [{ id: `ev-r-${n}`, kind: 'resolved' as const, at, response_ms: null }] : []),
      ];
      return list.map((e) => ({ ...e, contact_id: c.id, actor_user_id: null, owner_user_id: null }));
    });
    await db.insertInto('conversation_event').values(events).execute();
  }
  await db
    .insertInto('agent_session')
    .values(
      Array.from({ length: seed.owned }, (_, k) => ({
        slack_user_id: AGENT,
        contact_id: `bench-${k}`,
        created_at: now,
      })),
    )
    .execute();
}

/** Runs every App Home query for an agent and a lead and returns each one's plan (EXPLAIN). */
export async function explainHomeQueries(
  dialect: 'sqlite' | 'postgres',
  db: Kysely<Database>,
  captured: CompiledQuery[],
) {
  const store = createInboxQueueStore(db);
  const now = Date.now();
  captured.length = 0;
  await store.waitingOnUs({ userId: AGENT, team: false }, 10);
  await store.waitingOnUs({ userId: LEAD, team: true }, 10);
  await store.unassigned(5);
  await store.mine(AGENT, 10);
  await store.waitingByOwner(15);
  await store.periodStats([now - DAY, now - 7 * DAY], now);
  await store.changesSince({ stamped: now - 10_000, messages: now - 120_000 });
  const queries = [...captured];
  const plans: { sql: string; plan: string[] }[] = [];
  for (const query of queries) {
    const explain = dialect === 'sqlite' ? 'explain query plan ' : 'explain ';
    const result = await db.executeQuery<Record<string, unknown>>(
      CompiledQuery.raw(`${explain}${query.sql}`, [...query.parameters]),
    );
    plans.push({
      sql: query.sql.replace(/\s+/g, ' ').slice(0, 240),
      plan: result.rows.map((r) => String(dialect === 'sqlite' ? r.detail : r['QUERY PLAN'])),
    });
  }
  return plans;
}

/** A Kysely on that database whose queries are kept in `captured` (for EXPLAIN). */
export function capturingDb(target: { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string }) {
  const captured: CompiledQuery[] = [];
  const log = (event: { level: string; query: CompiledQuery }) => {
    if (event.level === 'query') captured.push(event.query);
  };
  const db =
    target.kind === 'sqlite'
      ? new Kysely<Database>({
          dialect: new SqliteThreadDialect({ path: target.path, pragmas: ['journal_mode = WAL'] }),
          log,
        })
      : new Kysely<Database>({
          dialect: new PostgresDialect({
            pool: new pg.Pool({
              connectionString: target.url,
              types: { getTypeParser: (oid, format) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format)) },
            }),
          }),
          log,
        });
  return { db, captured };
}

/**
 * Issue #16's App Home target: publish time with 100 owned conversations and 10,000 waiting ones
 * (≤ 300 ms p95). Each sample is a signed app_home_opened to the app process; the app publishes
 * before it answers (Bolt's processBeforeResponse), so the answer's time is the publish time:
 * the queue queries, My Sessions and All Sessions, and views.publish to the (local) fake Slack.
 */
export async function runHomeBenchmark() {
  const seed: HomeSeed = {
    owned: Number(process.env.BENCH_HOME_OWNED ?? 100),
    waiting: Number(process.env.BENCH_HOME_WAITING ?? 10_000),
    resolved: Number(process.env.BENCH_HOME_RESOLVED ?? 50_000),
    agents: 20,
  };
  const samples = Number(process.env.BENCH_HOME_SAMPLES ?? 100);
  const dir = mkdtempSync(join(tmpdir(), 'bridge-home-bench-'));
  const path = join(dir, 'bench.sqlite');
  const { db, captured } = capturingDb({ kind: 'sqlite', path });
  await migrateToLatest(db);
  const now = Date.now();
  await seedHomeQueues(db, seed, now);
  await db.executeQuery(CompiledQuery.raw('analyze'));
  const sqlitePlans = await explainHomeQueries('sqlite', db, captured);
  await db.destroy();

  const slack = await startFakeSlack({ botToken: BOT_TOKEN });
  slack.addUser({ id: AGENT, name: 'agent' });
  slack.addUser({ id: LEAD, name: 'lead' });
  const meta = await startFakeMetaGraph();
  const app = new AppProcess(
    bridgeEnv(
      { slackUrl: slack.url, metaUrl: meta.url, database: { kind: 'sqlite', path } },
      { LEADS: LEAD, SLACK_CHANNEL_POST_INTERVAL_MS: '1' },
    ),
    await freePort(),
  );
  await app.start();
  const publishOnce = async (userId: string) => {
    const request = eventCallback(SIGNING_SECRET, { type: 'app_home_opened', user: userId, tab: 'home' });
    const publishes = slack.callsTo('views.publish').length;
    const t0 = performance.now();
    const response = await fetch(`${app.url}/slack/events`, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
    });
    await response.text();
    const ms = performance.now() - t0;
    if (response.status !== 200 || slack.callsTo('views.publish').length <= publishes)
      throw new Error(`app_home_opened for ${userId} published nothing (HTTP ${response.status})`);
    return ms;
  };
  const measure = async (userId: string) => {
    for (let k = 0; k < 5; k++) await publishOnce(userId); // warm-up: JIT, role and workspace lookups
    const times: number[] = [];
    for (let k = 0; k < samples; k++) times.push(await publishOnce(userId));
    return {
      samples,
      p50Ms: round(percentile(times, 50)),
      p95Ms: round(percentile(times, 95)),
      maxMs: round(Math.max(...times)),
    };
  };
  const agent = await measure(AGENT);
  const lead = await measure(LEAD);
  const blocks = (userId: string) =>
    ((slack.views.get(`home-${userId}`) as { view: { blocks?: unknown[] } } | undefined)?.view.blocks ?? []).length;
  const viewBlocks = { agent: blocks(AGENT), lead: blocks(LEAD) };
  await app.stop('SIGTERM');
  await slack.close();
  await meta.close();

  let postgresPlans: Awaited<ReturnType<typeof explainHomeQueries>> | undefined;
  if (process.env.BENCH_POSTGRES_URL) {
    const { db: pgDb, captured: pgCaptured } = capturingDb({ kind: 'postgres', url: process.env.BENCH_POSTGRES_URL });
    await migrateToLatest(pgDb);
    await seedHomeQueues(pgDb, seed, now);
    await pgDb.executeQuery(CompiledQuery.raw('analyze'));
    postgresPlans = await explainHomeQueries('postgres', pgDb, pgCaptured);
    await pgDb.destroy();
  }

  return {
    seed,
    agent: { ...agent, target: 'p95 ≤ 300' },
    lead: { ...lead, target: 'p95 ≤ 300' },
    viewBlocks,
    note: 'signed app_home_opened → the app answers after views.publish (SQLite, WAL); the fake Slack is local, so Slack’s own latency is not in it; the load generator shares the machine',
    plans: { sqlite: sqlitePlans, ...(postgresPlans ? { postgres: postgresPlans } : {}) },
  };
}
