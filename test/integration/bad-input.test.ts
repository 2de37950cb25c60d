import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Harness,
  postMetaWebhook,
  SIGNING_SECRET,
  signMetaBody,
  startHarness,
} from '../support/bridge-harness.js';
import {
  interactivity,
  postSlack,
  signSlackRequest,
  slashCommand,
  viewSubmissionPayload,
} from '../support/slack-requests.js';

/**
 * Over a thousand generated hostile requests against the real HTTP server. Every one must get a
 * deliberate answer (a 2xx with a clear message, or a 4xx) — never a 5xx, a hang or a crash — and
 * the app must still serve normal traffic afterwards.
 */

/** Small deterministic PRNG so a failing case can be reproduced. */
function prng(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIXTURES = resolve(import.meta.dirname, '../fixtures/meta-samples/webhooks');
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .map((f) => readFileSync(resolve(FIXTURES, f), 'utf8'));

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  '💥'.repeat(500),
  'a'.repeat(70_000),
  '<script>alert(1)</script>',
  "'; drop table message; --",
  '{{1}}',
  '<!channel>',
  '\u202e\u202d',
  '../../etc/passwd',
  '+'.repeat(100),
  '+1'.padEnd(400, '9'),
  '00000000000000000000',
  '+44 (0) 7911-123-456 ext. 9',
  'NaN',
  '-1',
  '1e309',
];

function mutate(value: unknown, random: () => number, depth = 0): unknown {
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)] as T;
  if (depth > 6) return value;
  if (Array.isArray(value)) {
    if (random() < 0.15) return pick([null, 'x', 42, {}, []]);
    return value.map((item) => mutate(item, random, depth + 1));
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    const out: Record<string, unknown> = {};
    for (const [key, item] of entries) {
      const roll = random();
      if (roll < 0.08) continue; // drop a field
      if (roll < 0.16)
        out[key] = pick([null, 42, true, 'x', [], {}, pick(HOSTILE_STRINGS)]); // wrong type
      else out[key] = mutate(item, random, depth + 1);
    }
    return out;
  }
  if (typeof value === 'string' && random() < 0.2) return pick(HOSTILE_STRINGS);
  return value;
}

describe('bad-input suite', () => {
  let h: Harness;
  const statuses = new Map<number, number>();
  let cases = 0;
  const record = (status: number) => {
    cases++;
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    expect(status, 'never a 5xx').toBeLessThan(500);
  };

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    console.info(
      `bad-input suite: ${cases} cases, answers ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`,
    );
    await h?.stop();
  });

  it('answers malformed, truncated and mutated webhooks with a 4xx (or accepts what is still valid), never a 5xx', async () => {
    const random = prng(42);
    for (let i = 0; i < 400; i++) {
      const fixture = fixtures[i % fixtures.length] as string;
      let body: string;
      const kind = i % 4;
      if (kind === 0)
        body = fixture.slice(0, Math.floor(random() * fixture.length)); // truncated
      else if (kind === 1)
        body = JSON.stringify(mutate(JSON.parse(fixture), random)); // wrong types, missing fields
      else if (kind === 2)
        body = fixture.replace(/[{}[\]":,]/g, (c) => (random() < 0.05 ? '' : c)); // broken syntax
      else
        body = JSON.stringify({
          object: 'whatsapp_business_account',
          entry: [
            {
              changes: [
                {
                  field: 'messages',
                  value: mutate(
                    {
                      metadata: { phone_number_id: '1' },
                      messages: [{ from: '1', id: `x${i}`, timestamp: '1', type: 'text', text: { body: 'x' } }],
                    },
                    random,
                  ),
                },
              ],
            },
          ],
        });
      const response = await postMetaWebhook(h.url, body);
      record(response.status);
      if (kind === 0 && body.length < fixture.length) expect(response.status).toBe(400);
    }
  });

  it('refuses wrong, missing and stale signatures everywhere', async () => {
    const random = prng(7);
    const valid = fixtures[0] as string;
    for (let i = 0; i < 200; i++) {
      const variant = i % 5;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (variant === 1) headers['x-hub-signature-256'] = signMetaBody(valid, 'wrong-secret');
      if (variant === 2) headers['x-hub-signature-256'] = `sha256=${Math.floor(random() * 1e16).toString(16)}`;
      if (variant === 3) headers['x-hub-signature-256'] = signMetaBody(`${valid} `);
      if (variant === 4) headers['x-hub-signature-256'] = 'sha1=abc';
      const response = await fetch(`${h.url}/webhooks/whatsapp`, { method: 'POST', headers, body: valid });
      record(response.status);
      expect([401, 403]).toContain(response.status);
    }
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 200; i++) {
      const variant = i % 4;
      const request =
        variant === 0
          ? slashCommand(SIGNING_SECRET, { text: 'help' }, { timestamp: now - 301 - Math.floor(random() * 100_000) }) // replayed
          : variant === 1
            ? slashCommand(SIGNING_SECRET, { text: 'help' }, { timestamp: now + 301 + Math.floor(random() * 100_000) }) // from the future
            : variant === 2
              ? slashCommand(`secret-${i}`, { text: 'help' })
              : {
                  ...slashCommand(SIGNING_SECRET, { text: 'help' }),
                  headers: { 'content-type': 'application/x-www-form-urlencoded' },
                };
      const response = await postSlack(h.url, request);
      record(response.status);
      expect(response.status).toBe(401);
    }
  });

  it('answers hostile slash-command text, modal input and API bodies with clear messages', async () => {
    const random = prng(99);
    for (let i = 0; i < 120; i++) {
      const hostile = HOSTILE_STRINGS[i % HOSTILE_STRINGS.length] as string;
      const text = ['chat', 'note', 'history', 'sessions', 'apikey', 'frobnicate', ''][i % 7];
      const response = await postSlack(
        h.url,
        slashCommand(SIGNING_SECRET, { text: `${text} ${hostile.slice(0, 3000)}`, triggerId: `t${i}` }),
      );
      record(response.status);
      expect(response.status).toBe(200);
    }
    for (let i = 0; i < 60; i++) {
      const response = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            viewId: `VSTALE${i}`,
            callbackId: [
              'wa_template_picker',
              'wa_campaign_form',
              'wa_campaign_confirm',
              'wa_note_modal',
              'wa_history_modal',
            ][i % 5] as string,
            privateMetadata: [
              HOSTILE_STRINGS[i % HOSTILE_STRINGS.length] as string,
              '{"contactId":"nope"}',
              '{"draftId":"missing"}',
              '[]',
            ][i % 4] as string,
            values: mutate(
              {
                note: { value: { type: 'plain_text_input', value: 'x'.repeat(Math.floor(random() * 5000)) } },
                cmp_recipients: {
                  value: { type: 'plain_text_input', value: HOSTILE_STRINGS[i % HOSTILE_STRINGS.length] },
                },
              },
              random,
            ) as Record<string, Record<string, unknown>>,
          }),
        ),
      );
      record(response.status);
      expect(response.status).toBeLessThan(500);
    }
    const bodies: unknown[] = [null, 'x', 42, [], {}, { from: 1 }, { to: [] }, { template: {} }];
    for (let i = 0; i < 60; i++) {
      const response = await fetch(`${h.url}/api/v1/messages`, {
        method: 'POST',
        headers: {
          authorization: i % 2 ? 'Bearer wab_not_a_real_key_000000' : 'Basic abc',
          'content-type': 'application/json',
        },
        body: JSON.stringify(mutate(bodies[i % bodies.length], random)),
      });
      record(response.status);
      expect(response.status).toBe(401);
    }
  });

  it('refuses signed but malformed Slack payloads and oversized bodies', async () => {
    const random = prng(3);
    for (let i = 0; i < 40; i++) {
      const body =
        i % 2
          ? `payload=${encodeURIComponent('{"type":"block_actions",'.slice(0, Math.floor(random() * 24)))}`
          : '{"type":"event_callback","event":';
      const response = await postSlack(
        h.url,
        signSlackRequest(SIGNING_SECRET, body, i % 2 ? 'application/x-www-form-urlencoded' : 'application/json'),
      );
      record(response.status);
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    }
    for (let i = 0; i < 5; i++) {
      const huge = signSlackRequest(
        SIGNING_SECRET,
        JSON.stringify({ type: 'event_callback', padding: 'x'.repeat(2 * 1024 * 1024) }),
        'application/json',
      );
      const response = await postSlack(h.url, huge).catch(() => ({ status: 413 }));
      record(response.status);
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      const webhook = await postMetaWebhook(h.url, 'x'.repeat(4 * 1024 * 1024));
      record(webhook.status);
      expect(webhook.status).toBe(413);
    }
  });

  it('still works normally afterwards, and answered every case', async () => {
    expect(cases).toBeGreaterThanOrEqual(1000);
    // A fresh connection: the oversized requests above made the server drop theirs, as it should.
    const health = await fetch(`${h.url}/healthz`, { headers: { connection: 'close' } }).catch(() =>
      fetch(`${h.url}/healthz`),
    );
    expect(health.status).toBe(200);
    const help = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'help' }));
    expect(help.status).toBe(200);
  });
});
