import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/create-db.js';
import type { AppProcess } from '../support/app-process.js';
import { CHANNEL_ID, postMetaWebhook, SIGNING_SECRET } from '../support/bridge-harness.js';
import { launchHelloWorld, recipientsFile } from '../support/campaign-driver.js';
import { createSqliteDatabase, type TestDatabase } from '../support/databases.js';
import type { FakeMetaGraph } from '../support/fake-meta-graph.js';
import type { FakeSlack } from '../support/fake-slack.js';
import { inboundWebhook } from '../support/meta-webhooks.js';
import { startProcessStack, stopProcessStack } from '../support/process-stack.js';
import { eventCallback, postSlack } from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The fault suite (issue "prove it holds"): the real app process, kill -9 restarts, Slack and
 * provider outages. Figures are printed for the closing note.
 */

const WEBHOOKS = Number(process.env.FAULT_WEBHOOKS ?? 10_000);
const CONTACTS = 200;
const CAMPAIGN = Number(process.env.FAULT_CAMPAIGN ?? 3_000);

describe('fault suite', () => {
  let slack: FakeSlack;
  let meta: FakeMetaGraph;
  let database: TestDatabase;
  let app: AppProcess;

  beforeAll(async () => {
    ({ slack, meta, database, app } = await startProcessStack({
      database: createSqliteDatabase(),
      settings: { SLACK_CHANNEL_POST_INTERVAL_MS: '1', WORK_LEASE_MS: '3000', WHATSAPP_MAX_MPS: '1000' },
    }));
  });

  afterAll(() => stopProcessStack({ slack, meta, database, app }));

  it(`${WEBHOOKS} inbound webhooks over ${CONTACTS} contacts, 10 % delivered twice, two kill -9 restarts: 0 lost, 0 duplicated, order kept`, async () => {
    const contacts = Array.from({ length: CONTACTS }, (_, i) => `4479114${String(10000 + i)}`);
    let restarts = 0;
    const acknowledged = new Map<string, string[]>();
    let sent = 0;
    const killAt = [Math.floor(WEBHOOKS / 3), Math.floor((2 * WEBHOOKS) / 3)];
    const sendOne = async (index: number) => {
      const from = contacts[index % CONTACTS] as string;
      const id = `wamid.FAULT.${index}`;
      const body = inboundWebhook(
        { type: 'text', text: { body: `m${index}` } },
        { from, id, timestamp: Date.now() + index },
      );
      for (let attempt = 0; attempt < 50; attempt++) {
        const response = await postMetaWebhook(app.url, body).catch(() => null);
        if (response?.status === 200) {
          acknowledged.set(from, [...(acknowledged.get(from) ?? []), id]);
          if (index % 10 === 7) await postMetaWebhook(app.url, body).catch(() => null); // Meta redelivers
          sent++;
          return;
        }
        await new Promise((r) => setTimeout(r, 200)); // app down (being restarted): the provider retries
      }
      throw new Error(`webhook ${index} never acknowledged`);
    };
    // Like WhatsApp, each contact's messages go one after another: every contact belongs to one of
    // 32 senders, which sends its contacts' messages in order, each only after the previous one was
    // acknowledged. Contacts run in parallel, so the order check can only fail if the bridge reorders.
    const SENDERS = 32;
    let finished = false;
    const senders = Array.from({ length: SENDERS }, async (_, sender) => {
      for (let index = 0; index < WEBHOOKS; index++) {
        if ((index % CONTACTS) % SENDERS === sender) await sendOne(index);
      }
    });
    // Two kill -9 restarts once a third and two thirds of the webhooks are acknowledged, while the
    // senders keep going (and retry until the app is back).
    const chaos = (async () => {
      for (const threshold of killAt) {
        while (sent < threshold && !finished) await new Promise((r) => setTimeout(r, 20));
        if (finished) return;
        await app.kill9();
        restarts++;
        await app.start();
      }
    })();
    try {
      await Promise.all(senders);
    } finally {
      finished = true;
      await chaos;
    }
    const posted = () => slack.messages(CHANNEL_ID).filter((m) => m.metadata?.event_type === 'wa_inbound');
    await waitFor(`${sent} posts`, () => posted().length >= sent, 600_000);
    await new Promise((r) => setTimeout(r, 2000));
    const keys = posted().map((m) => String(m.metadata?.event_payload.key));
    const duplicates = keys.length - new Set(keys).size;
    const postedKeys = new Set(keys);
    const lost = [...acknowledged.values()].flat().filter((id) => !postedKeys.has(id)).length;
    // Each contact's thread must show its messages in the order they were sent (and acknowledged).
    const postedByContact = new Map<string, string[]>();
    for (const key of keys) {
      const from = contacts[Number(key.split('.').at(-1)) % CONTACTS] as string;
      postedByContact.set(from, [...(postedByContact.get(from) ?? []), key]);
    }
    let outOfOrder = 0;
    for (const [from, ids] of acknowledged) {
      const inThread = [...new Set(postedByContact.get(from) ?? [])];
      if (JSON.stringify(inThread) !== JSON.stringify(ids)) outOfOrder++;
    }
    console.info(
      `FAULT webhooks: sent ${sent} over ${CONTACTS} contacts (10 % delivered twice, ${restarts} kill -9 restarts), posted ${keys.length}, lost ${lost}, duplicated ${duplicates}, threads out of order ${outOfOrder}`,
    );
    expect(sent).toBe(WEBHOOKS);
    expect(restarts).toBe(2);
    expect(lost).toBe(0);
    expect(duplicates).toBe(0);
    expect(outOfOrder).toBe(0);
  });

  it(`a ${CAMPAIGN}-recipient campaign killed mid-way: nobody missed, duplicates bounded by in-flight sends`, async () => {
    meta.setLatency(10);
    const before = meta.sent().length;
    const acceptedBefore = meta.accepted().length;
    const { campaignId } = await launchHelloWorld({
      appUrl: app.url,
      slack,
      recipientsFile: recipientsFile(CAMPAIGN, 400000),
    });
    await waitFor('a third sent', () => meta.sent().length - before >= CAMPAIGN / 3, 120_000);
    await app.kill9();
    await app.start();
    const handle = createDatabase(database.target);
    try {
      await waitFor(
        'completed',
        async () =>
          (await handle.db.selectFrom('campaign').select('status').where('id', '=', campaignId).executeTakeFirst())
            ?.status === 'completed',
        300_000,
      );
    } finally {
      await handle.close();
    }
    const counts = new Map<string, number>();
    for (const body of meta.accepted().slice(acceptedBefore))
      counts.set(String(body.to), (counts.get(String(body.to)) ?? 0) + 1);
    const duplicates = [...counts.values()].reduce((n, c) => n + c - 1, 0);
    console.info(
      `FAULT campaign: ${CAMPAIGN} recipients, ${counts.size} reached, ${duplicates} duplicate sends (in-flight bound 32)`,
    );
    expect(counts.size).toBe(CAMPAIGN);
    expect(duplicates).toBeLessThanOrEqual(32);
    meta.setLatency(0);
  });

  it('Slack 429 for 30 s then 5xx for 60 s, provider 5xx and rate limits: everything delivered once, in order', async () => {
    const start = Date.now();
    slack.rateLimit('chat.postMessage', { untilMs: start + 30_000, retryAfterSeconds: 2 });
    slack.failWith('chat.postMessage', { status: 503, untilMs: start + 90_000 });
    meta.failNext(20, { status: 503, body: { error: { message: 'Service unavailable', code: 131016 } } });
    meta.failNext(10, {
      status: 429,
      body: { error: { message: '(#130429) Rate limit hit', code: 130429 } },
      headers: { 'retry-after': '1' },
    });
    const contacts = Array.from({ length: 20 }, (_, i) => `4479115${String(10000 + i)}`);
    const ids = new Map<string, string[]>();
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        contacts.map(async (from) => {
          const id = `wamid.OUTAGE.${from}.${round}`;
          expect(
            (
              await postMetaWebhook(
                app.url,
                inboundWebhook(
                  { type: 'text', text: { body: `${from}-${round}` } },
                  { from, id, timestamp: Date.now() + round },
                ),
              )
            ).status,
          ).toBe(200);
          ids.set(from, [...(ids.get(from) ?? []), id]);
        }),
      );
    }
    // Agent replies into an existing thread while the provider fails.
    const thread = slack.messages(CHANNEL_ID).find((m) => m.metadata?.event_type === 'wa_inbound' && m.thread_ts);
    const replyCount = 20;
    expect(thread, 'a conversation thread from the first test to reply in (this test needs the others)').toBeDefined();
    if (thread) {
      for (let i = 0; i < replyCount; i++) {
        await postSlack(
          app.url,
          eventCallback(SIGNING_SECRET, {
            type: 'message',
            channel: CHANNEL_ID,
            user: 'UAGENT1',
            text: `outage reply ${i}`,
            ts: `1810000000.${String(i).padStart(6, '0')}`,
            thread_ts: thread.thread_ts,
          }),
        );
      }
    }
    const posts = () =>
      slack.messages(CHANNEL_ID).filter((m) => String(m.metadata?.event_payload.key ?? '').startsWith('wamid.OUTAGE.'));
    await waitFor('all 200 posted after Slack recovers', () => posts().length >= 200, 300_000);
    await new Promise((r) => setTimeout(r, 2000));
    const keys = posts().map((m) => String(m.metadata?.event_payload.key));
    const duplicates = keys.length - new Set(keys).size;
    let outOfOrder = 0;
    for (const [from, list] of ids) {
      if (
        JSON.stringify(
          posts()
            .filter((p) => String(p.metadata?.event_payload.key).includes(from))
            .map((p) => p.metadata?.event_payload.key),
        ) !== JSON.stringify(list)
      )
        outOfOrder++;
    }
    await waitFor(
      'replies delivered',
      () =>
        meta
          .accepted()
          .filter((b) => String((b.text as { body?: string } | undefined)?.body ?? '').startsWith('outage reply'))
          .length >= replyCount,
      300_000,
    );
    const replies = meta
      .accepted()
      .filter((b) => String((b.text as { body?: string } | undefined)?.body ?? '').startsWith('outage reply'));
    const replyDuplicates = replies.length - new Set(replies.map((b) => (b.text as { body: string }).body)).size;
    console.info(
      `FAULT outages: ${keys.length} posts after 30 s of 429 and 60 s of 5xx, ${duplicates} duplicated, ${outOfOrder} threads out of order; ${replies.length} replies through provider 5xx/429, ${replyDuplicates} duplicated; took ${Math.round((Date.now() - start) / 1000)} s`,
    );
    expect(keys.length).toBe(200);
    expect(duplicates).toBe(0);
    expect(outOfOrder).toBe(0);
    expect(replyDuplicates).toBe(0);
  });
});
