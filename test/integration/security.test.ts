import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOT_TOKEN,
  CHANNEL_ID,
  ENGAGELAB_CALLBACK_TOKEN,
  ENGAGELAB_DEV_KEY,
  ENGAGELAB_DEV_SECRET,
  type Harness,
  META_ACCESS_TOKEN,
  META_APP_SECRET,
  META_VERIFY_TOKEN,
  postMetaWebhook,
  SIGNING_SECRET,
  startHarness,
} from '../support/bridge-harness.js';
import { inboundWebhook, nextWamid } from '../support/meta-webhooks.js';
import {
  blockActionsPayload,
  eventCallback,
  interactivity,
  messageShortcutPayload,
  postSlack,
  type SignedRequest,
  shortcutPayload,
  signSlackRequest,
  slashCommand,
  viewSubmissionPayload,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

const METRICS_TOKEN = 'metrics-token-for-security-0123456789';

/** Every token, secret and key of a run, plus the HTTP Basic credential EngageLab gets. */
function secretsOf(h: Harness, apiKeys: string[]): string[] {
  return [
    BOT_TOKEN,
    SIGNING_SECRET,
    META_APP_SECRET,
    META_ACCESS_TOKEN,
    META_VERIFY_TOKEN,
    ENGAGELAB_DEV_KEY,
    ENGAGELAB_DEV_SECRET,
    ENGAGELAB_CALLBACK_TOKEN,
    Buffer.from(`${ENGAGELAB_DEV_KEY}:${ENGAGELAB_DEV_SECRET}`).toString('base64'),
    METRICS_TOKEN,
    ...apiKeys,
  ].filter((secret) => secret !== '' && h.logs.length > 0);
}

async function createApiKey(h: Harness): Promise<string> {
  const created = await postSlack(
    h.url,
    slashCommand(SIGNING_SECRET, { text: 'apikey create security', userId: 'UMARKETER' }),
  );
  const key = /`(wab_[^`]+)`/.exec((created.json as { text: string }).text)?.[1];
  expect(key).toBeDefined();
  return key as string;
}

describe('media downloads only from Slack and the provider (Meta)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { METRICS_TOKEN } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  async function contactWrites(from: string): Promise<string> {
    const id = nextWamid();
    expect(
      (await postMetaWebhook(h.url, inboundWebhook({ type: 'text', text: { body: 'hi' } }, { from, id }))).status,
    ).toBe(200);
    const post = await waitFor('inbound post', () =>
      h.slack.messages(CHANNEL_ID).find((m) => m.thread_ts && m.metadata?.event_payload.key === id),
    );
    return post.thread_ts as string;
  }

  it("refuses an agent's file whose url_private is on a foreign host, and downloads it from Slack's", async () => {
    const threadTs = await contactWrites('447700900301');
    const sendsBefore = h.meta?.sent().length ?? 0;
    const file = h.slack.addFile({ id: 'FSEC1', name: 'photo.png', mimetype: 'image/png', bytes: Buffer.from('PNG') });
    const foreign = {
      ...file,
      url_private: file.url_private.replace('127.0.0.1', 'localhost'),
      url_private_download: file.url_private_download.replace('127.0.0.1', 'localhost'),
    };
    await postSlack(
      h.url,
      eventCallback(SIGNING_SECRET, {
        type: 'message',
        subtype: 'file_share',
        channel: CHANNEL_ID,
        user: 'UAGENT1',
        text: 'from elsewhere',
        ts: '1799999995.000001',
        thread_ts: threadTs,
        files: [foreign],
      }),
    );
    // Refused at once, with the reason told to the agent; not retried as if it were an outage.
    const refused = await waitFor('the reply refused for its host', () =>
      h.app.database.db
        .selectFrom('message')
        .select(['status', 'error_code', 'error_detail'])
        .where('slack_ts', '=', '1799999995.000001')
        .where('status', '=', 'failed')
        .executeTakeFirst(),
    );
    expect(refused.error_code).toBe('file_unavailable');
    expect(refused.error_detail).toContain('refusing to download a Slack file from localhost');
    const told = await waitFor('the agent told', () =>
      h.slack
        .callsTo('chat.postEphemeral')
        .map((c) => String(c.body.text))
        .find((text) => text.includes('could not be fetched from Slack')),
    );
    // What to do next, and an error id that finds the log line.
    expect(told).toContain('Share the file again');
    const errorId = /\(error id `(E-[0-9A-F]{8})`\)/.exec(told)?.[1];
    expect(h.logs.join('')).toContain(`"errorId":"${errorId}"`);
    // The job settles just after the refusal is recorded: wait for it to leave `running`.
    const job = await waitFor('the reply job settled', () =>
      h.app.database.db
        .selectFrom('job')
        .select(['status', 'attempts'])
        .where('idempotency_key', '=', `reply:${CHANNEL_ID}:1799999995.000001`)
        .where('status', '!=', 'running')
        .executeTakeFirst(),
    );
    expect(job).toEqual({ status: 'done', attempts: 1 });
    expect(h.slack.downloads.filter((d) => d.host.startsWith('localhost'))).toEqual([]);
    expect(h.meta?.sent().length).toBe(sendsBefore);

    // The same file from the configured Slack API host goes through, in the same conversation.
    await postSlack(
      h.url,
      eventCallback(SIGNING_SECRET, {
        type: 'message',
        subtype: 'file_share',
        channel: CHANNEL_ID,
        user: 'UAGENT1',
        text: 'from slack',
        ts: '1799999995.000002',
        thread_ts: threadTs,
        files: [file],
      }),
    );
    await waitFor('image sent', () =>
      h.meta
        ?.sent()
        .slice(sendsBefore)
        .find((b) => b.type === 'image'),
    );
    expect(h.slack.downloads.some((d) => d.path.startsWith('/files/FSEC1') && d.host.startsWith('127.0.0.1'))).toBe(
      true,
    );
  });

  it("never sends the bot token or a file to a host other than Slack's own, even on the API host's address", async () => {
    // Another server on Slack's address (the fake's 127.0.0.1, another port) and under another name.
    const seen: { method: string; path: string; headers: IncomingHttpHeaders }[] = [];
    const other = createServer((req, res) => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end('stolen');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const port = (other.address() as AddressInfo).port;
    try {
      const threadTs = await contactWrites('447700900303');
      const sendsBefore = h.meta?.sent().length ?? 0;
      const file = h.slack.addFile({
        id: 'FSEC3',
        name: 'photo.png',
        mimetype: 'image/png',
        bytes: Buffer.from('PNG'),
      });
      const elsewhere = [
        `http://127.0.0.1:${port}/files/FSEC3`,
        `http://localhost:${port}/files/FSEC3`,
        `https://127.0.0.1:${port}/files/FSEC3`,
        'https://attacker.example/files/FSEC3',
        'http://files.slack.com/files-pri/T111-FSEC3/photo.png',
      ];
      for (const [i, url] of elsewhere.entries()) {
        const ts = `1799999997.00000${i}`;
        await postSlack(
          h.url,
          eventCallback(SIGNING_SECRET, {
            type: 'message',
            subtype: 'file_share',
            channel: CHANNEL_ID,
            user: 'UAGENT1',
            text: '',
            ts,
            thread_ts: threadTs,
            files: [{ ...file, url_private: url, url_private_download: url }],
          }),
        );
        const refused = await waitFor(`the reply with ${url} refused`, () =>
          h.app.database.db
            .selectFrom('message')
            .select(['error_code', 'error_detail'])
            .where('slack_ts', '=', ts)
            .where('status', '=', 'failed')
            .executeTakeFirst(),
        );
        expect(refused.error_code, url).toBe('file_unavailable');
        expect(refused.error_detail, url).toContain('refusing to download a Slack file from');
      }

      // An upload URL elsewhere than Slack's is refused too: the customer's file never goes there.
      h.slack.setUploadBaseUrl(`http://127.0.0.1:${port}/`);
      h.meta?.addMedia('5550003', Buffer.from('JPEG-upload'), 'image/jpeg');
      const id = nextWamid();
      const webhook = inboundWebhook(
        { type: 'image', image: { id: '5550003', mime_type: 'image/jpeg', sha256: 'x' } },
        { from: '447700900303', id },
      );
      expect((await postMetaWebhook(h.url, webhook)).status).toBe(200);
      await waitFor('the upload refused', () =>
        h.logs.some((line) => line.includes(`refusing to upload a file to 127.0.0.1:${port}`)),
      );
      h.slack.setUploadBaseUrl(null);
      await waitFor(
        "uploaded to Slack once the upload URL is Slack's again",
        () => h.slack.completed.some((c) => c.bytes[0]?.toString() === 'JPEG-upload'),
        20_000,
      );

      expect(seen, 'the other server was never called').toEqual([]);
      expect(h.meta?.sent().length).toBe(sendsBefore);
    } finally {
      h.slack.setUploadBaseUrl(null);
      other.closeAllConnections();
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });

  it('refuses inbound media whose Meta download URL is on a foreign host, and says so in the thread', async () => {
    const graphUrl = new URL(h.meta?.url ?? '');
    h.meta?.addMedia('5550001', Buffer.from('JPEG'), 'image/jpeg', {
      url: `http://localhost:${graphUrl.port}/media-bytes/5550001`,
    });
    h.meta?.addMedia('5550002', Buffer.from('JPEG'), 'image/jpeg');
    const foreign = nextWamid();
    const own = nextWamid();
    for (const [id, mediaId] of [
      [foreign, '5550001'],
      [own, '5550002'],
    ] as const) {
      const webhook = inboundWebhook(
        { type: 'image', image: { id: mediaId, mime_type: 'image/jpeg', sha256: 'x' } },
        { from: '447700900302', id },
      );
      expect((await postMetaWebhook(h.url, webhook)).status).toBe(200);
    }
    const refused = await waitFor('the foreign media notice', () =>
      h.slack.messages(CHANNEL_ID).find((m) => m.metadata?.event_payload.key === foreign),
    );
    expect(refused.text).toMatch(/could not be fetched from WhatsApp \(refusing to download media from localhost\)/);
    await waitFor('the own media uploaded', () => h.slack.completed.some((c) => c.bytes[0]?.toString() === 'JPEG'));
    const downloads = h.meta?.mediaDownloads() ?? [];
    expect(downloads.map((d) => d.id)).toContain('5550002');
    expect(downloads.map((d) => d.id)).not.toContain('5550001');
  });
});

describe('signed media links and a full run without a secret in the logs (EngageLab)', () => {
  let h: Harness;
  let clockOffset = 0;
  const apiKeys: string[] = [];
  beforeAll(async () => {
    h = await startHarness({
      provider: 'engagelab',
      env: { METRICS_TOKEN },
      now: () => Date.now() + clockOffset,
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const callback = (rows: unknown[], token = ENGAGELAB_CALLBACK_TOKEN) =>
    fetch(`${h.url}/webhooks/whatsapp?token=${encodeURIComponent(token)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ total: rows.length, rows }),
    });
  const inbound = (id: string, message: unknown) => ({
    message_id: `el-${id}`,
    from: '+447700900401',
    to: '+15550001111',
    server: 'whatsapp',
    itime: Math.floor(Date.now() / 1000),
    response: {
      event: 'received',
      response_data: { channel_message_id: id, contact: { profile: { name: 'Cy' }, wa_id: '447700900401' }, message },
    },
  });

  let mediaLink = '';

  it('sends an agent file by a signed link that serves the file', async () => {
    expect((await callback([inbound('wamid.SEC1', { type: 'text', text: { body: 'hello' } })])).status).toBe(200);
    const post = await waitFor('inbound posted', () => h.slack.messages(CHANNEL_ID).find((m) => m.text === 'hello'));
    const bytes = Buffer.from('\x89PNG signed link test');
    const file = h.slack.addFile({ id: 'FSECEL', name: 'proof.png', mimetype: 'image/png', bytes });
    await postSlack(
      h.url,
      eventCallback(SIGNING_SECRET, {
        type: 'message',
        subtype: 'file_share',
        channel: CHANNEL_ID,
        user: 'UAGENT1',
        text: 'the proof',
        ts: '1799999996.000001',
        thread_ts: post.thread_ts,
        files: [file],
      }),
    );
    const sent = await waitFor('EngageLab image send', () =>
      h.engagelab?.sent().find((b) => (b.body as { type?: string }).type === 'image'),
    );
    const link = (sent.body as { image: { link: string } }).image.link;
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:1\/media\/[^?]+\?expires=\d+&sig=[\w-]+$/);
    // PUBLIC_URL points at the bridge; here the bridge is on another port.
    mediaLink = `${h.url}${new URL(link).pathname}${new URL(link).search}`;
    const served = await fetch(mediaLink);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toMatch(/^image\/png/);
    expect(Buffer.from(await served.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('serves shared files as inert content: nosniff, a sandbox CSP, and anything but image/video/audio as a download', async () => {
    const threadTs = h.slack.messages(CHANNEL_ID).find((m) => m.text === 'hello')?.thread_ts;
    expect(threadTs).toBeDefined();
    const cases = [
      // (A text/html download from Slack reads as its login page and is refused before it gets here.)
      { name: 'page.xhtml', mimetype: 'application/xhtml+xml', disposition: 'attachment' },
      { name: 'drawing.svg', mimetype: 'image/svg+xml', disposition: 'attachment' },
      { name: 'feed.xml', mimetype: 'application/xml', disposition: 'attachment' },
      { name: 'script.js', mimetype: 'text/javascript', disposition: 'attachment' },
      { name: 'report.pdf', mimetype: 'application/pdf', disposition: 'attachment' },
      { name: 'photo.jpg', mimetype: 'image/jpeg', disposition: 'inline' },
      { name: 'clip.mp4', mimetype: 'video/mp4', disposition: 'inline' },
      { name: 'voice.ogg', mimetype: 'audio/ogg', disposition: 'inline' },
      { name: 'reçu "final" 📄.txt', mimetype: 'text/plain', disposition: 'attachment' },
    ];
    const files = cases.map((c, i) =>
      h.slack.addFile({
        id: `FSECINERT${i}`,
        name: c.name,
        mimetype: c.mimetype,
        bytes: Buffer.from(`<html><script>alert(${i})</script></html>`),
      }),
    );
    const before = h.engagelab?.sent().length ?? 0;
    await postSlack(
      h.url,
      eventCallback(SIGNING_SECRET, {
        type: 'message',
        subtype: 'file_share',
        channel: CHANNEL_ID,
        user: 'UAGENT1',
        text: '',
        ts: '1799999996.000009',
        thread_ts: threadTs,
        files,
      }),
    );
    const sent = await waitFor('every file sent by link', () => {
      const bodies = h.engagelab?.sent().slice(before) ?? [];
      return bodies.length >= cases.length ? bodies : undefined;
    });
    for (const [i, c] of cases.entries()) {
      const body = sent[i]?.body as Record<string, { link?: string }>;
      const kind = String((body as { type?: string }).type);
      const link = new URL(String(body[kind]?.link));
      const response = await fetch(`${h.url}${link.pathname}${link.search}`);
      expect(response.status, c.name).toBe(200);
      expect(response.headers.get('x-content-type-options'), c.name).toBe('nosniff');
      expect(response.headers.get('content-security-policy'), c.name).toBe('sandbox');
      expect(response.headers.get('content-type'), c.name).toMatch(new RegExp(`^${c.mimetype.replace('+', '\\+')}`));
      const disposition = response.headers.get('content-disposition') ?? '';
      expect(disposition.split(';')[0], c.name).toBe(c.disposition);
      expect(disposition, c.name).toContain(`filename*=UTF-8''${encodeURIComponent(c.name).replace(/'/g, '%27')}`);
      await response.arrayBuffer();
    }
  });

  it('refuses a tampered link: signature, media id or expiry changed, or parts missing', async () => {
    const url = new URL(mediaLink);
    const id = url.pathname.split('/').at(-1) ?? '';
    const expires = url.searchParams.get('expires') ?? '';
    const sig = url.searchParams.get('sig') ?? '';
    const flip = (text: string) => `${text.slice(0, -1)}${text.endsWith('A') ? 'B' : 'A'}`;
    const variants = [
      `/media/${id}?expires=${expires}&sig=${flip(sig)}`,
      `/media/${flip(id)}?expires=${expires}&sig=${sig}`,
      `/media/${id}?expires=${Number(expires) + 3600}&sig=${sig}`,
      `/media/${id}?expires=${expires}`,
      `/media/${id}?sig=${sig}`,
      `/media/${id}`,
      `/media/${id}?expires=${expires}&sig=${sig}&sig=${sig}`,
    ];
    for (const path of variants) {
      const response = await fetch(`${h.url}${path}`);
      expect(response.status, path).toBe(403);
      expect(await response.json()).toEqual({ error: 'invalid or expired media link' });
    }
    expect((await fetch(mediaLink)).status, 'the genuine link still works').toBe(200);
  });

  it('runs the rest of a full run: statuses, an API send, metrics and refused callbacks', async () => {
    const row = await waitFor('the image reply recorded as sent', () =>
      h.app.database.db
        .selectFrom('message')
        .selectAll()
        .where('slack_ts', '=', '1799999996.000001')
        .where('status', '=', 'sent')
        .executeTakeFirst(),
    );
    expect(
      (
        await callback([
          {
            message_id: row.provider_message_id,
            from: '+15550001111',
            to: '+447700900401',
            server: 'whatsapp',
            itime: Math.floor(Date.now() / 1000),
            status: { message_status: 'delivered', status_data: { channel_message_id: 'wamid.SECOUT' }, error_code: 0 },
          },
        ])
      ).status,
    ).toBe(200);
    expect((await callback([], 'wrong-token-0000000000000000')).status).toBe(403);

    const key = await createApiKey(h);
    apiKeys.push(key);
    const api = await fetch(`${h.url}/api/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        from: '+15550001111',
        to: '+447911123402',
        template: 'hello_world',
        language: 'en_US',
        variables: { '1': 'Cy' },
        idempotency_key: 'security-1',
      }),
    });
    expect(api.status).toBe(202);
    await waitFor('API template sent', () =>
      h.engagelab?.sent().some((b) => JSON.stringify(b.to) === JSON.stringify(['447911123402'])),
    );
    const metrics = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/bridge_whatsapp_sends_total\{result="accepted"\} [1-9]/);
    expect((await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    await h.settle();
  });

  it('refuses a link once it has expired', async () => {
    expect((await fetch(mediaLink)).status).toBe(200);
    clockOffset = 25 * 60 * 60 * 1000; // links last 24 hours
    const response = await fetch(mediaLink);
    expect(response.status).toBe(403);
    clockOffset = 0;
  });

  it('never wrote a token, secret, API key or the EngageLab credentials to the logs', () => {
    const logs = h.logs.join('');
    // The run really happened at debug level: Bolt's request handling and the app's own.
    expect(logs).toContain('"level":20');
    expect(logs).toContain('slack message handled');
    expect(logs).toContain('"component":"bolt"');
    const leaked = secretsOf(h, apiKeys).filter((secret) => logs.includes(secret));
    expect(leaked).toEqual([]);
    expect(logs).not.toMatch(/wab_[A-Za-z0-9_-]{20,}/);
  });
});

describe('requests from another workspace are refused (HTTP)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** Rewrites every workspace id in a Slack body (`T111`, the installed one) to `team`, or drops them. */
  function fromWorkspace(request: SignedRequest, team: string | null): SignedRequest {
    const form = request.headers['content-type'] === 'application/x-www-form-urlencoded';
    const params = form ? new URLSearchParams(request.body) : null;
    const rewrite = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(rewrite);
      if (value && typeof value === 'object') {
        const out: Record<string, unknown> = {};
        for (const [key, inner] of Object.entries(value)) {
          if (key === 'team_id' || key === 'app_installed_team_id') {
            if (team !== null) out[key] = team;
          } else if (key === 'team') out[key] = team === null ? null : { id: team, domain: 'other' };
          else out[key] = rewrite(inner);
        }
        return out;
      }
      return value;
    };
    let body: string;
    if (params?.has('payload')) {
      params.set('payload', JSON.stringify(rewrite(JSON.parse(params.get('payload') ?? '{}'))));
      body = params.toString();
    } else if (params) {
      if (team === null) params.delete('team_id');
      else params.set('team_id', team);
      body = params.toString();
    } else body = JSON.stringify(rewrite(JSON.parse(request.body)));
    return signSlackRequest(SIGNING_SECRET, body, request.headers['content-type'] ?? 'application/json');
  }

  it('refuses an event, a command, an action, shortcuts, a suggestion and a view submission from another workspace, and runs nothing', async () => {
    const id = nextWamid();
    const webhook = inboundWebhook({ type: 'text', text: { body: 'hello' } }, { from: '447700900601', id });
    expect((await postMetaWebhook(h.url, webhook)).status).toBe(200);
    const post = await waitFor('inbound post', () =>
      h.slack.messages(CHANNEL_ID).find((m) => m.thread_ts && m.metadata?.event_payload.key === id),
    );
    const threadTs = post.thread_ts as string;
    await h.settle();
    const surfaces: { name: string; request: SignedRequest }[] = [
      {
        name: 'event (an agent reply)',
        request: eventCallback(SIGNING_SECRET, {
          type: 'message',
          channel: CHANNEL_ID,
          user: 'UAGENT1',
          text: 'from elsewhere',
          ts: '1799999998.000001',
          thread_ts: threadTs,
        }),
      },
      {
        name: 'app_home_opened',
        request: eventCallback(SIGNING_SECRET, { type: 'app_home_opened', user: 'UAGENT1', tab: 'home' }),
      },
      { name: 'slash command', request: slashCommand(SIGNING_SECRET, { text: 'sessions', triggerId: 't.foreign' }) },
      {
        name: 'block action',
        request: interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            actionId: 'wa_template_open',
            value: 'x',
            triggerId: 't.foreign.action',
            message: { channelId: CHANNEL_ID, ts: threadTs },
          }),
        ),
      },
      {
        name: 'global shortcut',
        request: interactivity(
          SIGNING_SECRET,
          shortcutPayload({ callbackId: 'wa_history', triggerId: 't.foreign.sc' }),
        ),
      },
      {
        name: 'message shortcut',
        request: interactivity(
          SIGNING_SECRET,
          messageShortcutPayload({ callbackId: 'wa_history_thread', channelId: CHANNEL_ID, messageTs: threadTs }),
        ),
      },
      {
        name: 'view submission',
        request: interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            viewId: 'VFOREIGN',
            callbackId: 'wa_note_modal',
            privateMetadata: JSON.stringify({ contactId: 'x', fromHome: true }),
            values: { note: { value: { type: 'plain_text_input', value: 'from elsewhere' } } },
          }),
        ),
      },
      {
        name: 'block suggestion',
        request: interactivity(SIGNING_SECRET, {
          type: 'block_suggestion',
          user: { id: 'UAGENT1', name: 'agent1', team_id: 'T111' },
          team: { id: 'T111', domain: 'acme' },
          api_app_id: 'A111',
          token: 'legacy',
          action_id: 'x',
          block_id: 'b',
          value: 'abc',
          container: { type: 'view', view_id: 'V1' },
        }),
      },
    ];
    for (const surface of surfaces) {
      for (const team of ['T999OTHER', null]) {
        const callsBefore = h.slack.calls.length;
        const logsBefore = h.logs.length;
        const response = await postSlack(h.url, fromWorkspace(surface.request, team));
        expect(response.status, `${surface.name} from ${team}`).toBe(403);
        expect(h.logs.slice(logsBefore).join(''), surface.name).toContain(
          'refused a Slack request from another workspace',
        );
        await h.settle();
        expect(
          h.slack.calls.slice(callsBefore).filter((c) => c.method !== 'auth.test'),
          `${surface.name} from ${team} ran nothing`,
        ).toEqual([]);
      }
    }
    const stored = await h.app.database.db
      .selectFrom('message')
      .select('id')
      .where('slack_ts', '=', '1799999998.000001')
      .executeTakeFirst();
    expect(stored, 'the foreign reply was not stored').toBeUndefined();

    // The same requests from the installed workspace are served.
    const own = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'help' }));
    expect(own.status).toBe(200);
    expect(JSON.stringify(own.json)).toContain('/wa chat');
    const reply = await postSlack(h.url, surfaces[0]?.request as SignedRequest);
    expect(reply.status).toBe(200);
    await waitFor('the own reply stored', () =>
      h.app.database.db
        .selectFrom('message')
        .select('id')
        .where('slack_ts', '=', '1799999998.000001')
        .executeTakeFirst(),
    );
  });
});
