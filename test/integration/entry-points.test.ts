import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import {
  eventCallback,
  postSlack,
  signSlackRequest,
  slashCommand,
  urlVerification,
} from '../support/slack-requests.js';

const textWebhook = (id: string) => ({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: '102290129340398',
      changes: [
        {
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550001111', phone_number_id: '1906385232743451' },
            contacts: [{ profile: { name: 'Ana' }, wa_id: '447700900123' }],
            messages: [
              {
                from: '447700900123',
                id,
                timestamp: String(Math.floor(Date.now() / 1000)),
                type: 'text',
                text: { body: 'hello' },
              },
            ],
          },
        },
      ],
    },
  ],
});

describe('HTTP entry points (Meta provider, SQLite)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { METRICS_TOKEN: 'metrics-token-0123456789' } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('reports healthy once the database is migrated', async () => {
    const response = await fetch(`${h.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers a signed url_verification and refuses unsigned, badly signed and replayed ones', async () => {
    const ok = await postSlack(h.url, urlVerification(SIGNING_SECRET, 'challenge-123'));
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ challenge: 'challenge-123' });

    const unsigned = await fetch(`${h.url}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'url_verification', challenge: 'x' }),
    });
    expect(unsigned.status).toBe(401);
    const wrongSecret = await postSlack(h.url, urlVerification('not-the-secret', 'x'));
    expect(wrongSecret.status).toBe(401);
    const replayed = await postSlack(
      h.url,
      urlVerification(SIGNING_SECRET, 'x', { timestamp: Math.floor(Date.now() / 1000) - 10 * 60 }),
    );
    expect(replayed.status).toBe(401);
    const tampered = urlVerification(SIGNING_SECRET, 'x');
    const tamperedResponse = await postSlack(h.url, { ...tampered, body: tampered.body.replace('"x"', '"y"') });
    expect(tamperedResponse.status).toBe(401);
  });

  it('answers /wa help with every subcommand, and unknown subcommands with the help', async () => {
    const help = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'help' }));
    expect(help.status).toBe(200);
    const text = (help.json as { text: string }).text;
    for (const sub of ['chat', 'send', 'sessions', 'note', 'history', 'apikey', 'help'])
      expect(text).toContain(`/wa ${sub}`);
    const unknown = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'frobnicate' }));
    expect((unknown.json as { text: string }).text).toMatch(/Unknown subcommand `frobnicate`[\s\S]*\/wa chat/);
  });

  it('refuses a slash command signed with the wrong secret', async () => {
    const forged = slashCommand('wrong-secret', { text: 'help' });
    expect((await postSlack(h.url, forged)).status).toBe(401);
  });

  it('runs the Meta subscription handshake only with the right verify token', async () => {
    const ok = await fetch(
      `${h.url}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${META_VERIFY_TOKEN}&hub.challenge=1158201444`,
    );
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    const wrong = await fetch(`${h.url}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`);
    expect(wrong.status).toBe(403);
  });

  it('refuses unsigned and badly signed Meta webhooks and stores nothing from them', async () => {
    const before = await h.app.database.db
      .selectFrom('job')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect((await postMetaWebhook(h.url, textWebhook('wamid.unsigned'), { signature: null })).status).toBe(401);
    expect((await postMetaWebhook(h.url, textWebhook('wamid.badsig'), { secret: 'wrong-secret' })).status).toBe(403);
    const after = await h.app.database.db
      .selectFrom('job')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it('acknowledges a signed webhook only after storing it, and refuses malformed ones with 400', async () => {
    const accepted = await postMetaWebhook(h.url, textWebhook('wamid.stored-1'));
    expect(accepted.status).toBe(200);
    const job = await h.app.database.db
      .selectFrom('job')
      .selectAll()
      .where('idempotency_key', '=', 'inbound:wamid.stored-1')
      .executeTakeFirst();
    expect(job).toBeDefined();
    expect((await postMetaWebhook(h.url, '{"object": "whatsapp_business_account", "entry": [')).status).toBe(400);
    expect((await postMetaWebhook(h.url, { object: 'whatsapp_business_account', entry: 'nope' })).status).toBe(400);
  });

  it('refuses bodies over 3 MB with 413', async () => {
    const huge = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [],
      padding: 'x'.repeat(3 * 1024 * 1024 + 10),
    });
    const response = await postMetaWebhook(h.url, huge);
    expect(response.status).toBe(413);
  });

  it('refuses media links without a valid signature', async () => {
    expect((await fetch(`${h.url}/media/abc?expires=9999999999&sig=forged`)).status).toBe(403);
    expect((await fetch(`${h.url}/media/abc`)).status).toBe(403);
  });

  it('acknowledges signed Slack events, and ignores messages outside conversation threads', async () => {
    const response = await postSlack(
      h.url,
      eventCallback(SIGNING_SECRET, {
        type: 'message',
        channel: 'C0RANDOM',
        user: 'UAGENT1',
        text: 'hi',
        ts: '1700000000.000001',
      }),
    );
    expect(response.status).toBe(200);
    const signedJunk = signSlackRequest(SIGNING_SECRET, '{not json', 'application/json');
    expect((await postSlack(h.url, signedJunk)).status).toBe(400);
  });

  it('serves Prometheus metrics only with the metrics token', async () => {
    expect((await fetch(`${h.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${h.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-000000' } })).status).toBe(
      401,
    );
    const response = await fetch(`${h.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456789' } });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/bridge_webhooks_total\{outcome="accepted"\} [1-9]/);
    expect(text).toMatch(/bridge_webhooks_total\{outcome="rejected_auth"\} [1-9]/);
    expect(text).toContain('bridge_webhook_ack_seconds_bucket');
    expect(text).toContain('bridge_queue_depth');
    expect(text).toContain('bridge_process_resident_memory_bytes');
  });

  it('never writes a token or secret to the logs', () => {
    const logs = h.logs.join('');
    expect(logs.length).toBeGreaterThan(1000);
    for (const secret of [
      BOT_TOKEN,
      SIGNING_SECRET,
      META_APP_SECRET,
      META_ACCESS_TOKEN,
      META_VERIFY_TOKEN,
      'metrics-token-0123456789',
    ]) {
      expect(logs).not.toContain(secret);
    }
  });
});
