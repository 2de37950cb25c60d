import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHANNEL_ID,
  type Harness,
  postMetaWebhook,
  SIGNING_SECRET,
  signMetaBody,
  startHarness,
} from '../support/bridge-harness.js';
import { dialects } from '../support/databases.js';
import { inboundWebhook } from '../support/meta-webhooks.js';
import {
  blockActionsPayload,
  interactivity,
  messageShortcutPayload,
  postSlack,
  shortcutPayload,
  signSlackRequest,
  slashCommand,
  viewSubmissionPayload,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Over a thousand generated hostile requests against the real HTTP server, on SQLite and on
 * PostgreSQL. Every one must get a deliberate answer (a 2xx with a clear message, or a 4xx) — never
 * a 5xx, a hang or a crash — within a second (a bound on hangs, not a performance target: each
 * request's time to its answer is measured), and the app must still serve normal traffic afterwards. Valid signed
 * webhooks and API requests are interleaved with the bad ones: each must be delivered exactly once
 * in the end, so nothing already accepted is lost (or doubled) by the abuse around it.
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

const dialectCases = await dialects();

/** Every request is answered (status line and headers) within this; more means it hung. */
const ANSWER_BOUND_MS = 1_000;

type RawAnswer = { status: number; ms: number; headers: IncomingHttpHeaders };

/**
 * A request over node:http, for what fetch cannot send: a body shorter than its Content-Length or
 * chunks that never end, and several requests on one kept-alive connection. Resolves at the
 * status line (status 0 after 5 s without one); the connection is dropped after an unfinished body.
 */
function rawRequest(
  base: string,
  input: {
    path: string;
    headers?: Record<string, string>;
    /** Sent in full. */
    body?: string;
    /** Sent, and then the body never ends. */
    partial?: string;
    agent?: Agent;
  },
): Promise<RawAnswer> {
  const url = new URL(base);
  const started = performance.now();
  return new Promise((done) => {
    let settled = false;
    const finish = (answer: RawAnswer) => {
      if (settled) return;
      settled = true;
      done(answer);
    };
    const headers: Record<string, string> = { ...input.headers };
    if (input.body !== undefined) headers['content-length'] = String(Buffer.byteLength(input.body));
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: input.path, method: 'POST', headers, agent: input.agent ?? false },
      (res) => {
        finish({ status: res.statusCode ?? 0, ms: performance.now() - started, headers: res.headers });
        res.resume();
        if (input.partial !== undefined) res.on('end', () => req.destroy());
      },
    );
    req.on('error', () => finish({ status: 0, ms: performance.now() - started, headers: {} }));
    req.setTimeout(5_000, () => {
      finish({ status: 0, ms: performance.now() - started, headers: {} });
      req.destroy();
    });
    if (input.partial !== undefined) req.write(input.partial);
    else req.end(input.body ?? '');
  });
}

/** Bolt's answer when no listener acknowledged within 3 seconds; must never be reached. */
const BOLT_TIMEOUT_LOG = 'not acknowledged within 3 seconds';
const SENDING_NUMBER_ID = '1906385232743451';

for (const dialect of dialectCases) {
  describe.runIf(dialect.available)(`bad-input suite on ${dialect.name}`, () => {
    let h: Harness;
    const statuses = new Map<number, number>();
    let cases = 0;
    const record = (status: number) => {
      cases++;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      expect(status, 'never a 5xx').toBeLessThan(500);
    };
    /** How long each request to the app took to be answered (fetch: until its status and headers). */
    const answers: { ms: number; what: string }[] = [];
    const slowest = () => answers.reduce((max, a) => (a.ms > max.ms ? a : max), { ms: 0, what: 'none' });
    const originalFetch = globalThis.fetch;
    const timedFetch: typeof fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (!h || !url.startsWith(h.url)) return originalFetch(input, init);
      const started = performance.now();
      try {
        return await originalFetch(input, init);
      } finally {
        answers.push({ ms: performance.now() - started, what: `${init?.method ?? 'GET'} ${new URL(url).pathname}` });
      }
    };
    const raw = async (input: Parameters<typeof rawRequest>[1], what: string) => {
      const answer = await rawRequest(h.url, input);
      answers.push({ ms: answer.ms, what });
      record(answer.status);
      return answer;
    };

    // Valid traffic among the bad: every acknowledged one must be delivered exactly once.
    const validWebhooks: string[] = [];
    const validApiSends: string[] = [];
    const VALID_CONTACTS = ['447911600001', '447911600002', '447911600003', '447911600004', '447911600005'];
    async function sendValidWebhook(): Promise<void> {
      const n = validWebhooks.length;
      const id = `wamid.VALID.${dialect.name}.${n}`;
      const body = inboundWebhook(
        { type: 'text', text: { body: `valid ${n}` } },
        { from: VALID_CONTACTS[n % VALID_CONTACTS.length], id, timestamp: Date.now() },
      );
      // Like Meta, retry when the connection drops (the server closes the ones that sent oversized bodies).
      let response = await postMetaWebhook(h.url, body).catch(() => null);
      for (let attempt = 0; attempt < 3 && response === null; attempt++)
        response = await postMetaWebhook(h.url, body).catch(() => null);
      expect(response?.status, 'a valid webhook among bad ones is acknowledged').toBe(200);
      validWebhooks.push(id);
    }
    const interleave = async (i: number) => {
      if (i % 10 === 0) await sendValidWebhook();
    };

    let apiKey = '';
    const postApi = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${h.url}/api/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', ...headers },
        body,
      });

    type StoredView = { id: string; hash: string; view: { private_metadata?: string; callback_id?: string } };
    /** Opens `/wa send` and returns the new form as the fake Slack holds it. */
    async function openCampaignForm(userId = 'UMARKETER'): Promise<StoredView> {
      const before = new Set(h.slack.views.keys());
      const response = await postSlack(
        h.url,
        slashCommand(SIGNING_SECRET, { text: 'send', userId, triggerId: `t.send.${before.size}` }),
      );
      expect(response.status).toBe(200);
      return waitFor('campaign form', () =>
        [...(h.slack.views.values() as Iterable<StoredView>)].find(
          (v) => !before.has(v.id) && v.view.callback_id === 'wa_campaign_form',
        ),
      );
    }
    async function choose(view: StoredView, actionId: string, value: string): Promise<StoredView> {
      const hash = view.hash;
      const response = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId: 'UMARKETER',
            actionId,
            selectedOption: value,
            view: {
              id: view.id,
              hash,
              callbackId: 'wa_campaign_form',
              privateMetadata: view.view.private_metadata ?? '{}',
            },
          }),
        ),
      );
      expect(response.status).toBe(200);
      await waitFor(actionId, () => (h.slack.views.get(view.id) as StoredView).hash !== hash);
      return h.slack.views.get(view.id) as StoredView;
    }
    const viewText = (id: string) => JSON.stringify((h.slack.views.get(id) as StoredView | undefined)?.view ?? {});

    beforeAll(async () => {
      globalThis.fetch = timedFetch;
      h = await startHarness({ database: await dialect.create() });
      const created = await postSlack(
        h.url,
        slashCommand(SIGNING_SECRET, { text: 'apikey create bad input suite', userId: 'UMARKETER' }),
      );
      apiKey = /`(wab_[^`]+)`/.exec((created.json as { text: string }).text)?.[1] ?? '';
      expect(apiKey).not.toBe('');
    });
    afterAll(async () => {
      console.info(
        `bad-input suite (${dialect.name}): ${cases} cases, answers ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, ` +
          `5xx ${[...statuses].filter(([status]) => status >= 500).reduce((n, [, count]) => n + count, 0)}; ` +
          `interleaved valid traffic: ${validWebhooks.length} webhooks and ${validApiSends.length} API sends acknowledged; ` +
          `slowest answer ${Math.round(slowest().ms)} ms (${slowest().what}) over ${answers.length} requests`,
      );
      globalThis.fetch = originalFetch;
      await h?.stop();
    });

    it('answers malformed, truncated and mutated webhooks with a 4xx (or accepts what is still valid), never a 5xx', async () => {
      const random = prng(42);
      for (let i = 0; i < 400; i++) {
        await interleave(i);
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
        await interleave(i);
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
        await interleave(i);
        const variant = i % 4;
        const request =
          variant === 0
            ? slashCommand(SIGNING_SECRET, { text: 'help' }, { timestamp: now - 301 - Math.floor(random() * 100_000) }) // replayed
            : variant === 1
              ? slashCommand(
                  SIGNING_SECRET,
                  { text: 'help' },
                  { timestamp: now + 301 + Math.floor(random() * 100_000) },
                ) // from the future
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

    it('answers hostile slash-command text, modal input and unauthenticated API bodies with clear messages', async () => {
      const random = prng(99);
      for (let i = 0; i < 120; i++) {
        await interleave(i);
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
        await interleave(i);
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
        await interleave(i);
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
        await interleave(i);
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
      await sendValidWebhook();
    });

    it("acknowledges unknown action ids, callback ids and shortcuts with an empty 200, never Bolt's 3-second 404", async () => {
      const random = prng(11);
      const unknownId = (i: number) =>
        i % 3 === 0
          ? (HOSTILE_STRINGS[i % HOSTILE_STRINGS.length] as string).slice(0, 255) || 'x'
          : `legacy_${Math.floor(random() * 1e9).toString(36)}`;
      for (let i = 0; i < 120; i++) {
        await interleave(i);
        const id = unknownId(i);
        const variant = i % 8;
        const payload =
          variant === 0
            ? blockActionsPayload({
                actionId: id,
                value: 'x',
                message: { channelId: CHANNEL_ID, ts: '1700000000.000100' },
              })
            : variant === 1
              ? blockActionsPayload({
                  actionId: id,
                  value: 'x',
                  view: { id: `VUNK${i}`, callbackId: 'wa_campaign_form', privateMetadata: '{}' },
                })
              : variant === 2
                ? blockActionsPayload({
                    actionId: 'tpl_template_select',
                    selectedOption: 'hello_world',
                    view: { id: `VUNK${i}`, callbackId: id, privateMetadata: '{}' },
                  })
                : variant === 3
                  ? viewSubmissionPayload({ viewId: `VUNK${i}`, callbackId: id, privateMetadata: '', values: {} })
                  : variant === 4
                    ? {
                        ...viewSubmissionPayload({
                          viewId: `VUNK${i}`,
                          callbackId: id,
                          privateMetadata: '',
                          values: {},
                        }),
                        type: 'view_closed',
                        is_cleared: false,
                      }
                    : variant === 5
                      ? shortcutPayload({ callbackId: id })
                      : variant === 6
                        ? messageShortcutPayload({
                            callbackId: id,
                            channelId: CHANNEL_ID,
                            messageTs: '1700000000.000100',
                          })
                        : {
                            type: 'block_suggestion',
                            user: { id: 'UAGENT1', name: 'agent1', team_id: 'T111' },
                            team: { id: 'T111', domain: 'acme' },
                            api_app_id: 'A111',
                            token: 'legacy',
                            action_id: id,
                            block_id: 'b',
                            value: 'abc',
                            container: { type: 'view', view_id: `VUNK${i}` },
                          };
        const response = await postSlack(h.url, interactivity(SIGNING_SECRET, payload));
        record(response.status);
        // Bolt's own answer after waiting 3 s would be a 404.
        expect(response.status, `unknown ${String(payload.type)} ${id.slice(0, 40)}`).toBe(200);
        if (variant === 3) expect(response.text, 'a no-op, not an error for the modal').toBe('');
      }
      expect(h.logs.join('')).not.toContain(BOLT_TIMEOUT_LOG);
      expect(h.logs.join('')).toContain('no listener handled this Slack request');
    });

    it('answers stale view hashes, vanished views and stale drafts without a 5xx, leaving the form intact', async () => {
      let form = await openCampaignForm();
      form = await choose(form, 'cmp_number_select', SENDING_NUMBER_ID);
      const intact = { hash: form.hash, text: viewText(form.id) };
      const metadata = form.view.private_metadata ?? '{}';
      for (let i = 0; i < 40; i++) {
        await interleave(i);
        const variant = i % 5;
        const payload =
          variant === 0 // a select changed in an older copy of the form
            ? blockActionsPayload({
                userId: 'UMARKETER',
                actionId: ['cmp_number_select', 'tpl_template_select', 'tpl_language_select'][i % 3] as string,
                selectedOption: ['hello_world', SENDING_NUMBER_ID, 'en_US'][i % 3] as string,
                view: { id: form.id, hash: `h-stale-${i}`, callbackId: 'wa_campaign_form', privateMetadata: metadata },
              })
            : variant === 1 // a form Slack no longer has
              ? blockActionsPayload({
                  userId: 'UMARKETER',
                  actionId: 'tpl_template_select',
                  selectedOption: 'hello_world',
                  view: { id: `VGONE${i}`, hash: 'h0', callbackId: 'wa_campaign_form', privateMetadata: metadata },
                })
              : variant === 2 // corrupted private metadata
                ? blockActionsPayload({
                    userId: 'UMARKETER',
                    actionId: 'cmp_number_select',
                    selectedOption: SENDING_NUMBER_ID,
                    view: {
                      id: `VGONE${i}`,
                      callbackId: 'wa_campaign_form',
                      privateMetadata: HOSTILE_STRINGS[i % HOSTILE_STRINGS.length] as string,
                    },
                  })
                : variant === 3 // confirming a draft that never existed
                  ? viewSubmissionPayload({
                      userId: 'UMARKETER',
                      viewId: form.id,
                      callbackId: 'wa_campaign_confirm',
                      privateMetadata: JSON.stringify({ draftId: `missing-${i}` }),
                      values: {},
                    })
                  : viewSubmissionPayload({
                      // submitting the form from a stale copy with a stale hash
                      userId: 'UMARKETER',
                      viewId: `VGONE${i}`,
                      callbackId: 'wa_campaign_form',
                      privateMetadata: metadata,
                      hash: `h-stale-${i}`,
                      values: {},
                    });
        const response = await postSlack(h.url, interactivity(SIGNING_SECRET, payload));
        record(response.status);
        expect(response.status).toBe(200);
        // A missing draft is explained in the modal itself (the confirmation has no input block
        // an `errors` answer could point at).
        if (variant === 3) expect(response.json).toMatchObject({ response_action: 'update', view: { type: 'modal' } });
      }
      const stored = h.slack.views.get(form.id) as StoredView;
      expect(stored.hash, 'stale updates never overwrote the live form').toBe(intact.hash);
      expect(viewText(form.id)).toBe(intact.text);
      // The form's redraws run after the acknowledgement; Slack refused the stale ones (hash_conflict).
      expect(h.logs.join('')).toMatch(/"viewId":"[^"]+","err":"[^"]*hash_conflict[^"]*","msg":"form update skipped"/);
    });

    it('refuses hostile recipient files in the campaign modal with a clear message, sending nothing', async () => {
      let chosen = await openCampaignForm();
      chosen = await choose(chosen, 'cmp_number_select', SENDING_NUMBER_ID);
      chosen = await choose(chosen, 'tpl_template_select', 'hello_world');
      const metadata = chosen.view.private_metadata ?? '{}';
      const sendsBefore = h.meta?.sent().length ?? 0;
      const foreign = (url: string) => url.replace('127.0.0.1', 'localhost');
      type FileCase = {
        name: string;
        mimetype: string;
        bytes: Buffer;
        size?: number;
        url?: (url: string) => string;
        /**
         * What the submission answers at once, or what the modal says after preparing (`confirmable`:
         * a hostile file that still holds a valid number may reach the confirmation, never a send).
         */
        expect: { errors: RegExp } | { view: RegExp; confirmable?: true };
      };
      const random = prng(5);
      const binary = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
      const fileCases: FileCase[] = [];
      for (let v = 0; v < 4; v++) {
        fileCases.push(
          {
            name: ['list.pdf', 'recipients.exe', 'noextension', '../../etc/passwd'][v] as string,
            mimetype: 'application/octet-stream',
            bytes: Buffer.from('+447911123456'),
            expect: { errors: /is not a \.txt or \.csv file/ },
          },
          {
            name: `big${v}.txt`,
            mimetype: 'text/plain',
            bytes: Buffer.from('+447911123456'),
            size: [10 * 1024 * 1024 + 1, 11 * 1024 * 1024, 1e12, Number.MAX_SAFE_INTEGER][v] as number,
            expect: { errors: /is larger than 10 MB/ },
          },
          {
            name: `latin${v}.txt`,
            mimetype: 'text/plain',
            bytes: [
              Buffer.from([0x2b, 0x34, 0x34, 0xe9, 0x0a]),
              Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('+447911123456\n', 'utf16le')]),
              binary(4096),
              Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1]),
            ][v] as Buffer,
            expect: { view: /not valid UTF-8|not a text file|No valid number found/ },
          },
          {
            // Declares a few bytes, serves more than the 10 MB cap.
            name: `liar${v}.txt`,
            mimetype: 'text/plain',
            bytes: Buffer.alloc(10 * 1024 * 1024 + 1 + v, 0x31),
            size: 14,
            expect: {
              view: /could not be prepared: the file exceeds the 10 MB limit\. Split the file[\s\S]*error id `E-/,
            },
          },
          {
            name: `elsewhere${v}.txt`,
            mimetype: 'text/plain',
            bytes: Buffer.from('+447911123456'),
            url: foreign,
            expect: {
              view: /refusing to download a Slack file from localhost(:\d+)?\. Upload the file again[\s\S]*error id `E-/,
            },
          },
          {
            name: `notaurl${v}.csv`,
            mimetype: 'text/csv',
            bytes: Buffer.from('phone\n+447911123456'),
            url: () => ['javascript:alert(1)', 'file:///etc/passwd', '', 'http://[::1'][v] as string,
            expect: { view: /could not be prepared|refusing to download/ },
          },
          {
            name: `nothing${v}.csv`,
            mimetype: 'text/csv',
            bytes: Buffer.from(
              [
                'phone\n=cmd|" /C calc"!A0\n@SUM(1+1)\n',
                `${'phone,'.repeat(5000)}\n`,
                '"phone\n"+447911123456',
                '\u0000\u0000\u0000',
              ][v] as string,
            ),
            expect: { view: /Nothing was sent|Confirm campaign/, confirmable: true },
          },
        );
      }
      const downloadsBefore = h.slack.downloads.length;
      for (const [i, file] of fileCases.entries()) {
        await interleave(i);
        const form = await openCampaignForm();
        const added = h.slack.addFile({
          id: `FHOSTILE${dialect.name}${i}`,
          name: file.name,
          mimetype: file.mimetype,
          bytes: file.bytes,
        });
        const slackFile = {
          ...added,
          ...(file.size !== undefined ? { size: file.size } : {}),
          ...(file.url ? { url_private: file.url(added.url_private), url_private_download: undefined } : {}),
        };
        const response = await postSlack(
          h.url,
          interactivity(
            SIGNING_SECRET,
            viewSubmissionPayload({
              userId: 'UMARKETER',
              viewId: form.id,
              callbackId: 'wa_campaign_form',
              privateMetadata: metadata,
              values: {
                cmp_recipients_file: { file: { type: 'file_input', files: [slackFile] } },
                'tpl_var:body.1': { value: { type: 'plain_text_input', value: 'friend' } },
              },
            }),
          ),
        );
        record(response.status);
        expect(response.status).toBe(200);
        if ('errors' in file.expect) {
          expect(JSON.stringify(response.json), file.name).toMatch(file.expect.errors);
        } else {
          expect(response.json, file.name).toMatchObject({ response_action: 'update' });
          const pattern = file.expect.view;
          await waitFor(`the modal explains ${file.name}`, () => pattern.test(viewText(form.id)));
          if (!file.expect.confirmable) expect(viewText(form.id)).toContain('Nothing was sent');
        }
      }
      await h.settle();
      expect(h.meta?.sent().length, 'no campaign was sent').toBe(sendsBefore);
      const downloads = h.slack.downloads.slice(downloadsBefore);
      expect(
        downloads.filter((d) => !d.host.startsWith('127.0.0.1:')),
        'no download left for a foreign host',
      ).toEqual([]);
    });

    it('says plainly when inbound media declares more than the cap, and downloads nothing', async () => {
      const sizes = [100 * 1024 * 1024 + 1, 150 * 1024 * 1024, 1e12, Number.MAX_SAFE_INTEGER];
      const kinds = ['image', 'video', 'document', 'audio', 'sticker'] as const;
      const ids: { wamid: string; mediaId: string }[] = [];
      for (let i = 0; i < 20; i++) {
        await interleave(i);
        const kind = kinds[i % kinds.length] as (typeof kinds)[number];
        const mediaId = `88${dialect.name === 'sqlite' ? 1 : 2}${String(i).padStart(4, '0')}`;
        h.meta?.addMedia(mediaId, Buffer.from('tiny'), 'application/octet-stream', {
          fileSize: sizes[i % sizes.length] as number,
        });
        const wamid = `wamid.HUGE.${dialect.name}.${i}`;
        const response = await postMetaWebhook(
          h.url,
          inboundWebhook(
            { type: kind, [kind]: { id: mediaId, mime_type: 'application/octet-stream', sha256: 'x' } },
            { from: `44791170${String(i % 4).padStart(4, '0')}`, id: wamid },
          ),
        );
        record(response.status);
        expect(response.status).toBe(200);
        ids.push({ wamid, mediaId });
      }
      for (const { wamid } of ids) {
        const post = await waitFor(`notice for ${wamid}`, () =>
          h.slack.messages(CHANNEL_ID).find((m) => m.metadata?.event_payload.key === wamid),
        );
        expect(post.text).toMatch(
          /could not be fetched from WhatsApp \(the file is \d+ bytes, above the \d+-byte limit\)/,
        );
      }
      const downloaded = new Set(h.meta?.mediaDownloads().map((d) => d.id));
      expect(ids.filter(({ mediaId }) => downloaded.has(mediaId))).toEqual([]);
    });

    it('answers API bodies behind a valid key with a 4xx and a clear message, and sends valid ones once', async () => {
      const random = prng(17);
      const valid = {
        from: '+15550001111',
        to: '+447911123456',
        template: 'hello_world',
        language: 'en_US',
        variables: { '1': 'Ana' },
        idempotency_key: 'k',
      };
      const hostileNumbers: unknown[] = [
        ...HOSTILE_STRINGS,
        447911123456,
        -1,
        Number.POSITIVE_INFINITY,
        Number.MAX_SAFE_INTEGER,
        null,
        true,
        ['+447911123456'],
        { e164: '+447911123456' },
      ];
      const fields = Object.keys(valid) as (keyof typeof valid)[];
      for (let i = 0; i < 200; i++) {
        await interleave(i);
        if (i % 25 === 0) {
          // A valid request among the bad ones: accepted and, in the end, sent exactly once.
          const n = validApiSends.length;
          const to = `+4479118${String(10000 + n)}`;
          const response = await postApi(
            JSON.stringify({ ...valid, to, idempotency_key: `valid-${dialect.name}-${n}` }),
          );
          expect(response.status, 'a valid API request among bad ones is accepted').toBe(202);
          validApiSends.push(to.slice(1));
        }
        const variant = i % 8;
        let response: Response;
        let expected: { status: number[]; error: RegExp };
        if (variant === 0) {
          const text = JSON.stringify({ ...valid, idempotency_key: `t${i}` });
          response = await postApi(text.slice(0, 1 + Math.floor(random() * (text.length - 2)))); // truncated
          expected = { status: [400], error: /not valid JSON/ };
        } else if (variant === 1) {
          const field = fields[i % fields.length] as keyof typeof valid;
          const { [field]: _dropped, ...rest } = valid; // a missing field
          response = await postApi(JSON.stringify(rest));
          expected = {
            status: field === 'variables' ? [422] : [400],
            error: field === 'variables' ? /./ : /invalid request/,
          };
        } else if (variant === 2) {
          const field = (['from', 'to'] as const)[i % 2] as 'from' | 'to';
          const number = hostileNumbers[i % hostileNumbers.length];
          response = await postApi(JSON.stringify({ ...valid, [field]: number, idempotency_key: `n${i}` }));
          expected = { status: [400, 413, 422], error: new RegExp(`${field}|larger than 64 KB`) };
        } else if (variant === 3) {
          response = await postApi(JSON.stringify(mutate({ ...valid, idempotency_key: `m${i}` }, random)));
          expected = { status: [200, 202, 400, 413, 422], error: /./ };
        } else if (variant === 4) {
          response = await postApi(JSON.stringify([null, 'x', 42, [], {}, true][i % 6] ?? null));
          expected = { status: [400], error: /invalid request|not valid JSON/ };
        } else if (variant === 5) {
          response = await postApi(JSON.stringify(valid), {
            'content-type': ['text/plain', 'application/x-www-form-urlencoded', 'application/xml'][i % 3] as string,
          });
          expected = { status: [415], error: /application\/json/ };
        } else if (variant === 6) {
          response = await postApi(JSON.stringify({ ...valid, variables: { '1': 'x'.repeat(70_000) } }));
          expected = { status: [413], error: /larger than 64 KB/ };
        } else {
          const wrong = [
            { template: 42 },
            { language: '' },
            { variables: ['Ana'] },
            { variables: { '1': 42 } },
            { header: { type: 'gif', url: 'http://insecure.example/x.gif' } },
            { header: { type: 'image', url: 'javascript:alert(1)' } },
            { idempotency_key: 'x'.repeat(201) },
            { template: 'no_such_template' },
          ][i % 8];
          response = await postApi(
            JSON.stringify({
              ...valid,
              ...wrong,
              idempotency_key: wrong && 'idempotency_key' in wrong ? wrong.idempotency_key : `w${i}`,
            }),
          );
          expected = { status: [400, 422], error: /./ };
        }
        record(response.status);
        expect(expected.status, `API case ${i}`).toContain(response.status);
        if (response.status >= 400) {
          const answer = (await response.json()) as { error?: unknown };
          expect(typeof answer.error, `API case ${i} explains itself`).toBe('string');
          expect(JSON.stringify(answer)).toMatch(expected.error);
        } else {
          await response.body?.cancel();
        }
      }
    });

    it('refuses signed Slack bodies Bolt cannot read (event null, a number, an array, a string; odd actions, users, views) with a 4xx', async () => {
      const signed = (body: unknown) => signSlackRequest(SIGNING_SECRET, JSON.stringify(body), 'application/json');
      const form = (payload: string) =>
        signSlackRequest(
          SIGNING_SECRET,
          new URLSearchParams({ payload }).toString(),
          'application/x-www-form-urlencoded',
        );
      const event = (value: unknown, extra: Record<string, unknown> = {}) =>
        signed({
          token: 'legacy',
          team_id: 'T111',
          api_app_id: 'A111',
          type: 'event_callback',
          event_id: `EvBad${Math.random().toString(36).slice(2)}`,
          event_time: Math.floor(Date.now() / 1000),
          authorizations: [{ team_id: 'T111', user_id: 'UBOT', is_bot: true }],
          event: value,
          ...extra,
        });
      const user = { id: 'UAGENT1', name: 'agent1', team_id: 'T111' };
      const team = { id: 'T111', domain: 'acme' };
      const cases: { what: string; request: ReturnType<typeof signed>; status?: number }[] = [
        ...[null, 0, 42, -1, true, 'x', '', [], [{ type: 'message' }], {}, { type: 1 }, { type: '' }].map((value) => ({
          what: `event ${JSON.stringify(value)}`,
          request: event(value),
          status: 400,
        })),
        ...[
          { type: 'message', channel: null },
          { type: 'message', channel: 42 },
          { type: 'reaction_added', item: 'x' },
          { type: 'reaction_added', item: null },
          { type: 'user_change', user: null },
          { type: 'subteam_created', subteam: null },
          { type: 'message', channel: 'C1', user: 42 },
        ].map((value) => ({ what: `event ${JSON.stringify(value)}`, request: event(value), status: 400 })),
        { what: 'authorizations [null]', request: event({ type: 'message' }, { authorizations: [null] }), status: 400 },
        { what: 'authorizations "x"', request: event({ type: 'message' }, { authorizations: 'x' }), status: 400 },
        { what: 'app_home_opened without a user', request: event({ type: 'app_home_opened', tab: 'home' }) },
        { what: 'message with odd fields', request: event({ type: 'message', channel: 'C1', ts: 5, text: {} }) },
        ...['null', '0', '42', '"x"', '[]', '[{"type":"event_callback"}]', 'true'].map((body) => ({
          what: `JSON body ${body}`,
          request: signSlackRequest(SIGNING_SECRET, body, 'application/json'),
          status: 400,
        })),
        ...['null', '42', '"x"', '[]', '[null]', 'true'].map((payload) => ({
          what: `payload ${payload}`,
          request: form(payload),
          status: 400,
        })),
        ...['{', 'not json', '{"type":"block_actions",', ''].map((payload) => ({
          what: `payload that is not JSON ${JSON.stringify(payload)}`,
          request: form(payload),
        })),
        ...[
          { type: 'block_actions', team, user, actions: null },
          { type: 'block_actions', team, user, actions: [] },
          { type: 'block_actions', team, user, actions: [null] },
          { type: 'block_actions', team, user, actions: 'x' },
          { type: 'block_actions', team, user, actions: [{ action_id: 42 }] },
          { type: 'block_actions', team, user: null, actions: [{ action_id: 'a' }] },
          { type: 'block_actions', team, actions: [{ action_id: 'a' }] },
          { type: 'block_actions', team: null, actions: [{ action_id: 'a' }] },
          { type: 'block_actions', team, user, actions: [{ action_id: 'a' }], channel: null },
          { type: 'block_actions', team, user, actions: [{ action_id: 'a' }], view: null },
          { type: 'view_submission', team, user },
          { type: 'view_submission', team, user, view: null },
          { type: 'view_submission', team, user, view: 'x' },
          { type: 'view_submission', team, user, view: { callback_id: 42 } },
          { type: 'view_closed', team, view: { callback_id: 'x' } },
          { type: 'shortcut', team, callback_id: 'wa_history' },
          { type: 'shortcut', team, user, callback_id: 42 },
          { type: 'message_action', team, user, callback_id: 'x', channel: null },
          { type: 'block_suggestion', team, action_id: 'x' },
          { type: 'block_suggestion', team, user, action_id: 42 },
        ].map((payload) => ({
          what: `payload ${JSON.stringify(payload)}`,
          request: form(JSON.stringify(payload)),
          status: 400,
        })),
        {
          what: 'slash command repeating its text',
          request: signSlackRequest(
            SIGNING_SECRET,
            'command=%2Fwa&text=help&text=chat&team_id=T111&user_id=UAGENT1&channel_id=C1',
            'application/x-www-form-urlencoded',
          ),
          status: 400,
        },
        {
          what: 'slash command without a user',
          request: signSlackRequest(
            SIGNING_SECRET,
            'command=%2Fwa&text=help&team_id=T111',
            'application/x-www-form-urlencoded',
          ),
          status: 400,
        },
        { what: 'a body of no known kind', request: signed({ hello: 'world' }) },
      ];
      for (const [i, c] of cases.entries()) {
        await interleave(i);
        const response = await postSlack(h.url, c.request);
        record(response.status);
        expect(response.status, c.what).toBeLessThan(500);
        if (c.status !== undefined) expect(response.status, c.what).toBe(c.status);
      }
      expect(h.logs.join('')).toContain('refused a malformed Slack request');
    });

    it('answers unauthenticated API requests at once, whatever their body, and never leaves a connection hanging', async () => {
      const path = '/api/v1/messages';
      const keys = {
        none: {},
        basic: { authorization: 'Basic abc' },
        fake: { authorization: 'Bearer wab_not_a_real_key_000000' },
      };
      const bodies = ['{"language":-1}', '{"language": -1, "to": []}', '{', 'null', '', 'x'.repeat(70_000)];
      for (const [i, body] of bodies.entries()) {
        for (const [name, auth] of Object.entries(keys)) {
          const types: Record<string, string>[] = [
            { 'content-type': 'application/json' },
            { 'content-type': 'text/plain' },
            {},
          ];
          for (const type of types) {
            await interleave(i);
            const answer = await raw({ path, headers: { ...auth, ...type }, body }, `API ${name} ${body.slice(0, 20)}`);
            expect(answer.status, `${name} ${JSON.stringify(type)} ${body.slice(0, 20)}`).toBe(401);
          }
        }
      }
      // Large bodies, and bodies that never end: answered without reading them, then the connection closes.
      const large = JSON.stringify({ language: -1, padding: 'x'.repeat(5 * 1024 * 1024) });
      const answer = await raw(
        { path, headers: { ...keys.fake, 'content-type': 'application/json' }, body: large },
        'API 5 MB',
      );
      expect(answer.status).toBe(401);
      const unending: Record<string, string>[] = [
        { 'content-type': 'application/json', 'content-length': '100000' },
        { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        { 'content-length': '100000' },
      ];
      for (const headers of unending) {
        const partial = headers['transfer-encoding'] ? '10\r\n{"language": -1,\r\n' : '{"language": -1, "padding": "';
        const never = await raw({ path, headers: { ...keys.fake, ...headers }, partial }, 'API body never ends');
        expect(never.status, JSON.stringify(headers)).toBe(401);
        expect(never.headers.connection, 'the unread body closes the connection').toBe('close');
      }
      // A kept-alive connection whose last request was answered before its body was read (Bolt's
      // 413, the webhook's) must not swallow the next request on it.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const oversized = signSlackRequest(
          SIGNING_SECRET,
          JSON.stringify({ type: 'event_callback', padding: 'x'.repeat(2 * 1024 * 1024) }),
          'application/json',
        );
        const first = [
          { path: '/slack/events', headers: oversized.headers, body: oversized.body, agent },
          {
            path: '/webhooks/whatsapp',
            headers: { 'content-type': 'application/json' },
            body: 'x'.repeat(4 * 1024 * 1024),
            agent,
          },
          { path, headers: { ...keys.basic, 'content-type': 'application/json' }, body: large, agent },
        ];
        for (const request of first) {
          const refused = await raw(request, `${request.path} oversized, kept alive`);
          expect([401, 413], request.path).toContain(refused.status);
          const next = await raw(
            { path, headers: { ...keys.fake, 'content-type': 'application/json' }, body: '{"language":-1}', agent },
            `API after ${request.path} on the same connection`,
          );
          expect(next.status, `the request after ${request.path} is answered`).toBe(401);
        }
      } finally {
        agent.destroy();
      }
    });

    it('still works normally afterwards, answered every case, and lost nothing it had accepted', async () => {
      expect(cases).toBeGreaterThanOrEqual(1000);
      expect(answers.length).toBeGreaterThanOrEqual(cases);
      expect(
        answers.filter((a) => a.ms > ANSWER_BOUND_MS).map((a) => `${a.what}: ${Math.round(a.ms)} ms`),
        `every request answered within ${ANSWER_BOUND_MS} ms`,
      ).toEqual([]);
      // A fresh connection: the oversized requests above made the server drop theirs, as it should.
      const health = await fetch(`${h.url}/healthz`);
      expect(health.status).toBe(200);
      const help = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'help' }));
      expect(help.status).toBe(200);

      expect(validWebhooks.length).toBeGreaterThanOrEqual(100);
      const postedKeys = () =>
        h.slack
          .messages(CHANNEL_ID)
          .map((m) => String(m.metadata?.event_payload.key ?? ''))
          .filter((key) => key.startsWith(`wamid.VALID.${dialect.name}.`));
      await waitFor('every valid webhook posted', () => new Set(postedKeys()).size >= validWebhooks.length, 60_000);
      const sentTo = () => (h.meta?.sent() ?? []).map((b) => String(b.to));
      await waitFor('every valid API request sent', () => validApiSends.every((to) => sentTo().includes(to)), 60_000);
      await h.settle();
      const counts = new Map<string, number>();
      for (const key of postedKeys()) counts.set(key, (counts.get(key) ?? 0) + 1);
      expect(
        validWebhooks.filter((id) => counts.get(id) !== 1),
        'each valid webhook posted exactly once',
      ).toEqual([]);
      expect(counts.size).toBe(validWebhooks.length);
      const apiSends = sentTo();
      expect(
        validApiSends.filter((to) => apiSends.filter((sent) => sent === to).length !== 1),
        'each valid API request sent exactly once',
      ).toEqual([]);
    });
  });
}
