import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  eventDeliveryProblems,
  FILE_DOWNLOAD_SCOPE,
  METHOD_SCOPES,
  messageBlockProblems,
  REACTION_NAME,
  readManifest,
  type SlackAppManifest,
  viewProblems,
} from './fake-slack-rules.js';

/**
 * A local Slack Web API that speaks the real wire format: `POST /api/<method>` with a bearer token
 * and a form-encoded (values JSON-encoded where structured) or JSON body, always answering HTTP 200
 * `{ok:true,…}` / `{ok:false,error}`, plus 429 with Retry-After and 5xx when told to.
 *
 * API: `startFakeSlack({botToken})` → `{ url /* …/api/ *\/, calls, callsTo(method), messages(channel),
 * threadReplies(channel, ts), addMessage, rateLimit(method|'*', {count?, untilMs?, retryAfterSeconds}),
 * failWith(method|'*', {status, count?, untilMs?}), addUser, addFile, downloads, uploads, completed, views,
 * deleteMessage(channel, ts), close }`.
 *
 * It follows Slack's rules (see fake-slack-rules.ts): methods whose bot scope is missing from the
 * app's manifest answer `missing_scope`; DMs while the manifest's Messages tab is off answer
 * `messages_tab_disabled`; blocks and views over Block Kit's limits answer `invalid_blocks` /
 * `invalid_arguments`. Each such refusal is also kept in `violations`, which the test harness
 * checks when it stops, so a product bug that only shows in a log still fails the test.
 */

/** users.info's account flags (`deleted`, `is_admin`, …), settable per user. */
export type SlackUserFlags = {
  deleted?: boolean;
  isBot?: boolean;
  isAdmin?: boolean;
  isOwner?: boolean;
  isPrimaryOwner?: boolean;
  isRestricted?: boolean;
  isUltraRestricted?: boolean;
  /** The account's workspace (default: the installed one); another team's id is a Slack Connect user. */
  teamId?: string;
};

/** users.info's `tz`, `tz_label` and `tz_offset` (seconds east of UTC), as Slack reports a person's zone. */
export type SlackUserTimeZone = { tz: string; label: string; offset: number };

/** `path`: where a response_url call went (`/response/<id>`). */
export type SlackCall = { method: string; body: Record<string, unknown>; at: number; path?: string };
export type FakeMessage = {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: unknown;
  username?: string;
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  reactions: string[];
  files?: { id: string; name: string }[];
  /** A thread reply also shown in the channel (chat.postMessage's `reply_broadcast`). */
  reply_broadcast?: boolean;
};
type Fault = {
  /** `lost_response`: the call takes effect, then the client gets a 500 (a reply lost in transit). */
  kind: 'ratelimit' | 'status' | 'lost_response';
  remaining: number;
  until: number;
  retryAfterSeconds: number;
  status: number;
};

function parseValue(value: string): unknown {
  if (/^[[{]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseMultipartFile(body: Buffer, contentType: string): Buffer {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  const marker = boundary ? `--${boundary[1] ?? boundary[2]}` : null;
  if (!marker) return body;
  const text = body.toString('latin1');
  const start = text.indexOf('\r\n\r\n', text.indexOf(marker)) + 4;
  const end = text.indexOf(`\r\n${marker}`, start);
  return Buffer.from(text.slice(start, end === -1 ? undefined : end), 'latin1');
}

export type RuleViolation = { method: string; error: string; details: string[] };

export async function startFakeSlack(options: {
  botToken: string;
  appToken?: string;
  teamId?: string;
  botUserId?: string;
  /** The installed app's manifest (default: the repository's manifest.yml). */
  manifest?: SlackAppManifest;
  /**
   * chat.postMessage's special rate limit: about one post per second per channel, with short
   * bursts (a token bucket of `burst`, refilled `perSecond`); beyond it Slack answers 429 with
   * Retry-After. Off unless given, since most tests shorten the app's own pacing.
   */
  channelPostRate?: { perSecond: number; burst: number };
  /** false: uploads are counted, not kept (benchmarks moving gigabytes); `uploads` then has only their size. */
  keepUploads?: boolean;
}) {
  const manifest = options.manifest ?? readManifest();
  const botScopes = new Set(manifest.oauth_config?.scopes?.bot ?? []);
  const messagesTabEnabled = manifest.features?.app_home?.messages_tab_enabled === true;
  const violations: RuleViolation[] = [];
  const refuse = (method: string, error: string, details: string[] = [], extra: Record<string, unknown> = {}) => {
    violations.push({ method, error, details });
    return { ok: false, error, ...extra, ...(details.length > 0 ? { response_metadata: { messages: details } } : {}) };
  };
  /** A DM with a user: `D…` ids, or a user id given as the channel (Slack opens the DM). */
  const isDirectMessage = (channel: string) => /^[DUW]/.test(channel);
  const calls: SlackCall[] = [];
  const postBuckets = new Map<string, { tokens: number; at: number }>();
  /** Posts refused by the per-channel rate limit (429), per channel. */
  const rateLimitedPosts = new Map<string, number>();
  const overChannelRate = (channel: string): boolean => {
    const rate = options.channelPostRate;
    if (!rate) return false;
    const now = Date.now();
    const bucket = postBuckets.get(channel) ?? { tokens: rate.burst, at: now };
    bucket.tokens = Math.min(rate.burst, bucket.tokens + ((now - bucket.at) / 1000) * rate.perSecond);
    bucket.at = now;
    postBuckets.set(channel, bucket);
    if (bucket.tokens < 1) {
      rateLimitedPosts.set(channel, (rateLimitedPosts.get(channel) ?? 0) + 1);
      return true;
    }
    bucket.tokens -= 1;
    return false;
  };
  const messages: FakeMessage[] = [];
  const stalledDownloads = new Set<string>();
  const users = new Map<
    string,
    {
      id: string;
      name: string;
      real_name: string;
      display_name: string;
      flags: Required<SlackUserFlags>;
      tz?: SlackUserTimeZone;
    }
  >();
  const files = new Map<string, { id: string; name: string; mimetype: string; bytes: Buffer; title?: string }>();
  const uploads = new Map<string, { filename: string; bytes: Buffer | null; size?: number }>();
  const completed: {
    channel_id?: string;
    thread_ts?: string;
    initial_comment?: string;
    files: { id: string; title?: string }[];
    bytes: Buffer[];
  }[] = [];
  const views = new Map<string, { id: string; hash: string; view: unknown }>();
  /** File downloads (`GET /files/…`, what `url_private` points at): the file id, path and the Host they were sent to. */
  const downloads: { id: string; path: string; host: string }[] = [];
  const groups = new Map<string, string[]>();
  /** Standard emoji this workspace's Slack does not have yet (reactions.add answers invalid_name). */
  const missingEmoji = new Set<string>();
  const faults = new Map<string, Fault[]>();
  let idCounter = 0;
  // Real Slack ts: the posting time in epoch seconds plus a unique fraction (so `oldest` works).
  let lastSeconds = 0;
  let withinSecond = 0;
  const nextTs = () => {
    const seconds = Math.floor(Date.now() / 1000);
    if (seconds > lastSeconds) {
      lastSeconds = seconds;
      withinSecond = 0;
    }
    withinSecond++;
    return `${lastSeconds}.${String(withinSecond).padStart(6, '0')}`;
  };
  const shares = new Map<string, { channel: string; ts: string; thread_ts?: string }[]>();
  const after = (oldest: string | undefined) => (m: FakeMessage) =>
    oldest === undefined || Number(m.ts) > Number(oldest);
  let url = '';
  let uploadBase: string | null = null;
  let socketModeUrl: string | null = null;

  const activeFault = (method: string): Fault | null => {
    for (const key of [method, '*']) {
      const list = faults.get(key);
      if (!list) continue;
      for (const fault of list) {
        if (fault.remaining > 0 || fault.until > Date.now()) {
          if (fault.remaining > 0) fault.remaining--;
          return fault;
        }
      }
    }
    return null;
  };

  /** Slack's refusal of a call that breaks its rules, or null when the call may go ahead. */
  const ruleRefusal = (method: string, body: Record<string, unknown>): Record<string, unknown> | null => {
    const needed = METHOD_SCOPES[method];
    if (needed && !needed.some((scope) => botScopes.has(scope)))
      return refuse(method, 'missing_scope', [`${method} needs ${needed.join(' or ')}`], {
        needed: needed.join(','),
        provided: [...botScopes].join(','),
      });
    const channel = typeof body.channel === 'string' ? body.channel : body.channel_id;
    if (
      (method === 'chat.postMessage' || method === 'files.completeUploadExternal') &&
      typeof channel === 'string' &&
      isDirectMessage(channel) &&
      !messagesTabEnabled
    )
      return refuse(method, 'messages_tab_disabled');
    if (method === 'chat.postMessage' || method === 'chat.update' || method === 'chat.postEphemeral') {
      const problems = messageBlockProblems(body.blocks);
      if (problems.length > 0) return refuse(method, 'invalid_blocks', problems, { errors: problems });
      if (method !== 'chat.update' && !body.text && !body.blocks && !body.attachments) return refuse(method, 'no_text');
    }
    if (method === 'views.open' || method === 'views.push' || method === 'views.update' || method === 'views.publish') {
      const problems = viewProblems(body.view);
      if (problems.length > 0) return refuse(method, 'invalid_arguments', problems);
    }
    return null;
  };

  const handle = (method: string, body: Record<string, unknown>): Record<string, unknown> => {
    const str = (key: string) =>
      typeof body[key] === 'string' ? (body[key] as string) : body[key] === undefined ? undefined : String(body[key]);
    switch (method) {
      case 'apps.connections.open':
        return socketModeUrl ? { ok: true, url: socketModeUrl } : { ok: false, error: 'not_allowed_token_type' };
      case 'auth.test':
        return {
          ok: true,
          url: 'https://acme.slack.com/',
          team: 'Acme',
          user: 'bridge',
          team_id: options.teamId ?? 'T111',
          user_id: options.botUserId ?? 'UBOT',
          bot_id: 'BBOT',
        };
      case 'chat.postMessage': {
        const channel = str('channel');
        if (!channel) return { ok: false, error: 'channel_not_found' };
        if (channel.startsWith('CNOTIN')) return { ok: false, error: 'not_in_channel' };
        const threadTs = str('thread_ts');
        if (threadTs && !messages.some((m) => m.channel === channel && m.ts === threadTs && !m.thread_ts))
          return { ok: false, error: 'thread_not_found' };
        const message: FakeMessage = {
          channel,
          ts: nextTs(),
          text: str('text') ?? '',
          blocks: body.blocks,
          reactions: [],
          ...(threadTs ? { thread_ts: threadTs } : {}),
          ...(threadTs && (body.reply_broadcast === true || str('reply_broadcast') === 'true')
            ? { reply_broadcast: true }
            : {}),
          ...(str('username') ? { username: str('username') } : {}),
          ...(body.metadata ? { metadata: body.metadata as FakeMessage['metadata'] } : {}),
        };
        messages.push(message);
        return { ok: true, channel, ts: message.ts, message: { ...message, bot_id: 'BBOT' } };
      }
      case 'chat.update': {
        const message = messages.find((m) => m.channel === str('channel') && m.ts === str('ts'));
        if (!message) return { ok: false, error: 'message_not_found' };
        message.text = str('text') ?? message.text;
        if (body.blocks) message.blocks = body.blocks;
        return { ok: true, channel: message.channel, ts: message.ts };
      }
      case 'chat.postEphemeral':
        return { ok: true, message_ts: nextTs() };
      case 'chat.getPermalink':
        return {
          ok: true,
          channel: str('channel'),
          permalink: `https://acme.slack.com/archives/${str('channel')}/p${(str('message_ts') ?? '').replace('.', '')}`,
        };
      case 'reactions.add': {
        const message = messages.find((m) => m.channel === str('channel') && m.ts === str('timestamp'));
        if (!message) return { ok: false, error: 'message_not_found' };
        const name = str('name') ?? '';
        if (!REACTION_NAME.test(name) || missingEmoji.has(name.split('::')[0] ?? ''))
          return { ok: false, error: 'invalid_name' };
        if (message.reactions.includes(name)) return { ok: false, error: 'already_reacted' };
        message.reactions.push(name);
        return { ok: true };
      }
      case 'reactions.remove': {
        const message = messages.find((m) => m.channel === str('channel') && m.ts === str('timestamp'));
        if (!message?.reactions.includes(str('name') ?? '')) return { ok: false, error: 'no_reaction' };
        message.reactions = message.reactions.filter((r) => r !== str('name'));
        return { ok: true };
      }
      case 'conversations.replies': {
        const channel = str('channel');
        const ts = str('ts');
        const thread = messages.filter((m) => m.channel === channel && (m.ts === ts || m.thread_ts === ts));
        if (thread.length === 0) return { ok: false, error: 'thread_not_found' };
        return {
          ok: true,
          messages: thread.filter(after(str('oldest'))),
          has_more: false,
          response_metadata: { next_cursor: '' },
        };
      }
      case 'conversations.history':
        return {
          ok: true,
          messages: messages
            .filter((m) => m.channel === str('channel') && !m.thread_ts)
            .filter(after(str('oldest')))
            .reverse(),
          has_more: false,
          response_metadata: { next_cursor: '' },
        };
      case 'conversations.info':
        return {
          ok: true,
          channel: {
            id: str('channel'),
            name: `channel-${str('channel')?.toLowerCase()}`,
            is_channel: true,
            is_member: true,
          },
        };
      case 'conversations.open':
        return { ok: true, channel: { id: `D${str('users') ?? 'X'}` } };
      case 'users.info': {
        const user = users.get(str('user') ?? '');
        if (!user) return { ok: false, error: 'user_not_found' };
        return {
          ok: true,
          user: {
            id: user.id,
            name: user.name,
            real_name: user.real_name,
            deleted: user.flags.deleted,
            is_bot: user.flags.isBot,
            is_admin: user.flags.isAdmin,
            is_owner: user.flags.isOwner,
            is_primary_owner: user.flags.isPrimaryOwner,
            is_restricted: user.flags.isRestricted,
            is_ultra_restricted: user.flags.isUltraRestricted,
            team_id: user.flags.teamId,
            profile: { display_name: user.display_name, real_name: user.real_name },
            ...(user.tz ? { tz: user.tz.tz, tz_label: user.tz.label, tz_offset: user.tz.offset } : {}),
          },
        };
      }
      case 'usergroups.users.list':
        return { ok: true, users: groups.get(str('usergroup') ?? '') ?? [] };
      case 'usergroups.list':
        return {
          ok: true,
          usergroups: [...groups.keys()].map((id) => ({ id, handle: `group-${id.toLowerCase()}`, name: id })),
        };
      case 'views.open':
      case 'views.push': {
        if (!str('trigger_id')) return { ok: false, error: 'invalid_trigger_id' };
        const id = `V${++idCounter}`;
        const record = { id, hash: `h${idCounter}`, view: body.view };
        views.set(id, record);
        return { ok: true, view: { id, hash: record.hash, ...(body.view as object) } };
      }
      case 'views.update': {
        const id = str('view_id') ?? '';
        const existing = views.get(id);
        if (!existing) return { ok: false, error: 'not_found' };
        if (str('hash') && str('hash') !== existing.hash) return { ok: false, error: 'hash_conflict' };
        existing.view = body.view;
        existing.hash = `h${++idCounter}`;
        return { ok: true, view: { id, hash: existing.hash, ...(body.view as object) } };
      }
      case 'views.publish': {
        const id = `home-${str('user_id')}`;
        views.set(id, { id, hash: `h${++idCounter}`, view: body.view });
        return { ok: true, view: { id } };
      }
      case 'files.getUploadURLExternal': {
        const id = `F${++idCounter}`;
        uploads.set(id, { filename: str('filename') ?? 'file', bytes: null });
        return { ok: true, upload_url: `${uploadBase ?? url}upload/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal': {
        const list = (body.files as { id: string; title?: string }[] | undefined) ?? [];
        const threadTs = str('thread_ts');
        const channel = str('channel_id');
        completed.push({
          ...(channel ? { channel_id: channel } : {}),
          ...(threadTs ? { thread_ts: threadTs } : {}),
          ...(str('initial_comment') ? { initial_comment: str('initial_comment') } : {}),
          files: list,
          bytes: list.map((f) => uploads.get(f.id)?.bytes ?? Buffer.alloc(0)),
        });
        if (channel) {
          const ts = nextTs();
          for (const f of list)
            shares.set(f.id, [
              ...(shares.get(f.id) ?? []),
              { channel, ts, ...(threadTs ? { thread_ts: threadTs } : {}) },
            ]);
          messages.push({
            channel,
            ts,
            text: str('initial_comment') ?? '',
            reactions: [],
            ...(threadTs ? { thread_ts: threadTs } : {}),
            files: list.map((f) => ({ id: f.id, name: uploads.get(f.id)?.filename ?? f.id })),
          });
        }
        return { ok: true, files: list.map((f) => ({ id: f.id, name: uploads.get(f.id)?.filename, title: f.title })) };
      }
      case 'files.info': {
        const upload = uploads.get(str('file') ?? '');
        if (upload) {
          const shared = shares.get(str('file') ?? '') ?? [];
          const byChannel: Record<string, { ts: string; thread_ts?: string }[]> = {};
          for (const share of shared) byChannel[share.channel] = [...(byChannel[share.channel] ?? []), share];
          return {
            ok: true,
            file: {
              id: str('file'),
              name: upload.filename,
              ...(shared.length > 0 ? { shares: { public: byChannel } } : {}),
            },
          };
        }
        const file = files.get(str('file') ?? '');
        if (!file) return { ok: false, error: 'file_not_found' };
        return {
          ok: true,
          file: {
            id: file.id,
            name: file.name,
            mimetype: file.mimetype,
            size: file.bytes.length,
            url_private: `${url}files/${file.id}`,
          },
        };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void handleRequest(req, res).catch(() => {
      // A client that went away mid-request (a killed app) is not the fake's problem.
      if (!res.headersSent) res.destroy();
    });
  });
  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    };
    if (options.keepUploads === false && path.startsWith('/upload/')) {
      const upload = uploads.get(path.slice('/upload/'.length));
      let size = 0;
      for await (const chunk of req) size += (chunk as Buffer).length;
      if (!upload) return send(404, { ok: false });
      upload.size = size;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`OK - ${size}`);
      return;
    }
    const raw = await readBody(req);
    if (path.startsWith('/upload/')) {
      const id = path.slice('/upload/'.length);
      const upload = uploads.get(id);
      if (!upload) return send(404, { ok: false });
      upload.bytes = parseMultipartFile(raw, req.headers['content-type'] ?? '');
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`OK - ${upload.bytes.length}`);
      return;
    }
    if (path.startsWith('/files/')) {
      downloads.push({ id: path.slice('/files/'.length).split('/')[0] ?? '', path, host: req.headers.host ?? '' });
      const scopeMissing = !botScopes.has(FILE_DOWNLOAD_SCOPE);
      if (scopeMissing)
        violations.push({ method: 'url_private', error: 'missing_scope', details: [FILE_DOWNLOAD_SCOPE] });
      if (req.headers.authorization !== `Bearer ${options.botToken}` || scopeMissing) {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>login</html>');
        return;
      }
      const fileId = path.slice('/files/'.length).split('/')[0] ?? '';
      // Accepted and never answered: the download hangs until the client gives up or dies.
      if (stalledDownloads.has(fileId)) return;
      const file = files.get(fileId);
      if (!file) return send(404, { ok: false });
      res.writeHead(200, { 'content-type': file.mimetype, 'content-length': String(file.bytes.length) });
      res.end(file.bytes);
      return;
    }
    if (path.startsWith('/response/')) {
      const body = JSON.parse(raw.toString() || '{}') as Record<string, unknown>;
      calls.push({ method: 'response_url', body, at: Date.now(), path });
      const problems = messageBlockProblems(body.blocks);
      if (problems.length > 0) {
        refuse('response_url', 'invalid_blocks', problems);
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('invalid_blocks');
        return;
      }
      return send(200, { ok: true });
    }
    const method = path.replace(/^\/api\//, '').split('?')[0] ?? '';
    let body: Record<string, unknown> = {};
    const type = req.headers['content-type'] ?? '';
    if (type.includes('application/json')) body = JSON.parse(raw.toString() || '{}') as Record<string, unknown>;
    else for (const [k, v] of new URLSearchParams(raw.toString())) body[k] = parseValue(v);
    calls.push({ method, body, at: Date.now() });
    const fault = activeFault(method);
    if (fault?.kind === 'ratelimit')
      return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(fault.retryAfterSeconds) });
    if (fault?.kind === 'status') return send(fault.status, { ok: false, error: 'fatal_error' });
    const token =
      (req.headers.authorization ?? '').replace(/^Bearer /, '') || (typeof body.token === 'string' ? body.token : '');
    const appTokenCall =
      method === 'apps.connections.open' && options.appToken !== undefined && token === options.appToken;
    if (token !== options.botToken && !appTokenCall) return send(200, { ok: false, error: 'invalid_auth' });
    if (method === 'chat.postMessage' && typeof body.channel === 'string' && overChannelRate(body.channel))
      return send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': '1' });
    const result = ruleRefusal(method, body) ?? handle(method, body);
    if (fault?.kind === 'lost_response') return send(500, { ok: false, error: 'fatal_error' });
    send(200, result);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  return {
    url: `${url}api/`,
    baseUrl: url,
    calls,
    callsTo: (method: string) => calls.filter((c) => c.method === method),
    messages: (channel?: string) => messages.filter((m) => channel === undefined || m.channel === channel),
    /** Every message stored from position `from` on (all channels): cheap polling for benchmarks. */
    messagesFrom: (from: number) => messages.slice(from),
    messageCount: () => messages.length,
    threadReplies: (channel: string, threadTs: string) =>
      messages.filter((m) => m.channel === channel && m.thread_ts === threadTs),
    rootMessages: (channel: string) => messages.filter((m) => m.channel === channel && !m.thread_ts),
    /**
     * A message a person posted (the app only hears of it through an event): recorded so reactions
     * and permalinks on it behave as on Slack. Returns the stored message.
     */
    addMessage(message: { channel: string; ts: string; thread_ts?: string; text: string }): FakeMessage {
      const stored: FakeMessage = { ...message, reactions: [] };
      messages.push(stored);
      return stored;
    },
    deleteMessage(channel: string, ts: string) {
      const index = messages.findIndex((m) => m.channel === channel && m.ts === ts);
      if (index >= 0) messages.splice(index, 1);
    },
    completed,
    views,
    /**
     * Why Slack would not deliver this event subscription's events (`reaction_added`, …) to the app
     * as installed: tests check it before sending such an event, as Slack would not.
     */
    eventDeliveryProblems: (subscription: string) => eventDeliveryProblems(manifest, subscription),
    /** Makes this emoji name unknown to the workspace, as a standard emoji newer than its Slack. */
    removeEmoji(name: string) {
      missingEmoji.add(name);
    },
    /** Calls Slack refused for breaking its rules (scopes, Messages tab, Block Kit limits). */
    violations,
    /** chat.postMessage calls refused with a 429 by `channelPostRate`, per channel. */
    rateLimitedPosts,
    /** Throws when the app made calls that real Slack refuses for breaking its rules. */
    assertFollowedRules() {
      if (violations.length === 0) return;
      const lines = violations.map((v) => `${v.method}: ${v.error} ${v.details.join('; ')}`);
      throw new Error(`Slack refused calls that break its rules:\n${lines.join('\n')}`);
    },
    uploads,
    downloads,
    rateLimit(method: string, fault: { count?: number; untilMs?: number; retryAfterSeconds?: number }) {
      const list = faults.get(method) ?? [];
      list.push({
        kind: 'ratelimit',
        remaining: fault.count ?? 0,
        until: fault.untilMs ?? 0,
        retryAfterSeconds: fault.retryAfterSeconds ?? 1,
        status: 429,
      });
      faults.set(method, list);
    },
    failWith(method: string, fault: { status: number; count?: number; untilMs?: number }) {
      const list = faults.get(method) ?? [];
      list.push({
        kind: 'status',
        remaining: fault.count ?? 0,
        until: fault.untilMs ?? 0,
        retryAfterSeconds: 0,
        status: fault.status,
      });
      faults.set(method, list);
    },
    /** The next `count` calls take effect but answer 500, as if the response was lost on the way. */
    loseResponses(method: string, count: number) {
      const list = faults.get(method) ?? [];
      list.push({ kind: 'lost_response', remaining: count, until: 0, retryAfterSeconds: 0, status: 500 });
      faults.set(method, list);
    },
    /** Where files.getUploadURLExternal sends uploads (null: this fake itself). */
    setUploadBaseUrl(base: string | null) {
      uploadBase = base;
    },
    /** Where `apps.connections.open` points Socket Mode clients. */
    setSocketModeUrl(wsUrl: string) {
      socketModeUrl = wsUrl;
    },
    clearFaults() {
      faults.clear();
    },
    /** Adds (or replaces) a user; by default an active full member, as users.info reports one. */
    addUser(
      user: {
        id: string;
        name: string;
        realName?: string;
        displayName?: string;
        tz?: SlackUserTimeZone;
      } & SlackUserFlags,
    ) {
      users.set(user.id, {
        ...(user.tz ? { tz: user.tz } : {}),
        id: user.id,
        name: user.name,
        real_name: user.realName ?? user.name,
        display_name: user.displayName ?? '',
        flags: {
          deleted: user.deleted ?? false,
          isBot: user.isBot ?? false,
          isAdmin: user.isAdmin ?? false,
          isOwner: user.isOwner ?? false,
          isPrimaryOwner: user.isPrimaryOwner ?? false,
          isRestricted: user.isRestricted ?? false,
          isUltraRestricted: user.isUltraRestricted ?? false,
          teamId: user.teamId ?? options.teamId ?? 'T111',
        },
      });
    },
    addGroup(id: string, members: string[]) {
      groups.set(id, members);
    },
    /** Downloads of this file id are accepted and never answered (a stalled transfer). */
    stallDownloads(fileId: string) {
      stalledDownloads.add(fileId);
    },
    /** A file a person shared; returns what a Slack event would carry for it. */
    addFile(file: { id: string; name: string; mimetype: string; bytes: Buffer }) {
      files.set(file.id, file);
      return {
        id: file.id,
        name: file.name,
        mimetype: file.mimetype,
        size: file.bytes.length,
        url_private: `${url}files/${file.id}`,
        url_private_download: `${url}files/${file.id}/download`,
      };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
export type FakeSlack = Awaited<ReturnType<typeof startFakeSlack>>;
