import type {
  AgentNotice,
  PostMarker,
  SlackContent,
  SlackConversationPort,
  ThreadHeaderModel,
} from '../bridge/ports.js';
import { SlackFileUnavailableError, ThreadGoneError } from '../bridge/ports.js';
import { reserveBeforeBody } from '../shared/byte-budget.js';
import { type HttpClient, HttpError } from '../shared/http-client.js';
import { agentNoticeContent } from './blocks/agent-notices.js';
import { DELIVERY_MARKS, STATUS_REACTIONS } from './blocks/delivery-marks.js';
import { threadHeaderBlocks } from './blocks/thread-header.js';
import { describeSlackError } from './slack-errors.js';
import { hostOf, type SlackFileUrlCheck } from './slack-file-hosts.js';
import type { SlackGateway } from './slack-gateway.js';

type CachedName = { name: string; until: number };

const formatLimit = (bytes: number) => `${Math.round(bytes / (1024 * 1024))} MB`;

type SlackMessage = { ts?: string; metadata?: { event_type?: string; event_payload?: { key?: unknown } } };

/** The Slack side of conversations, over the paced gateway.
 *
 * Longer than 150 lines on purpose: the adapter is one closure of short methods, one per operation
 * of the interface it implements, sharing its client and caches.
 */
export function createSlackConversationPort(deps: {
  gateway: SlackGateway;
  http: HttpClient;
  botToken: string;
  /** Where the bot token may go with a download or upload (Slack's file hosts, the API's origin). */
  fileUrls: SlackFileUrlCheck;
  now: () => number;
}): SlackConversationPort {
  const { gateway } = deps;
  const names = new Map<string, CachedName>();
  const permalinks = new Map<string, string>();
  const NAME_TTL = 60 * 60 * 1000;

  async function cachedName(key: string, load: () => Promise<string>): Promise<string> {
    const hit = names.get(key);
    if (hit && hit.until > deps.now()) return hit.name;
    const name = await load().catch(() => null);
    if (name === null) return hit?.name ?? key.split(':')[1] ?? key;
    names.set(key, { name, until: deps.now() + NAME_TTL });
    return name;
  }

  const isThreadGone = (error: unknown) => {
    const info = describeSlackError(error);
    return info.kind === 'platform' && ['thread_not_found', 'message_not_found'].includes(info.error);
  };

  async function shareUploadedFile(channelId: string, threadTs: string, fileId: string, title: string | null) {
    await gateway.inChannel(channelId, (client) =>
      client.files.completeUploadExternal({
        files: [{ id: fileId, ...(title ? { title } : {}) }],
        channel_id: channelId,
        thread_ts: threadTs,
      }),
    );
  }

  return {
    async postThreadHeader(channelId: string, header: ThreadHeaderModel, marker: PostMarker) {
      const content = threadHeaderBlocks(header);
      const result = await gateway.inChannel(channelId, (client) =>
        client.chat.postMessage({
          channel: channelId,
          text: content.text,
          blocks: content.blocks as never,
          unfurl_links: false,
          metadata: { event_type: marker.type, event_payload: { key: marker.key } },
        }),
      );
      if (!result.ts) throw new Error('chat.postMessage returned no ts');
      return result.ts;
    },

    async updateThreadHeader(channelId, ts, header) {
      const content = threadHeaderBlocks(header);
      await gateway.inChannel(channelId, (client) =>
        client.chat.update({ channel: channelId, ts, text: content.text, blocks: content.blocks as never }),
      );
    },

    async postInThread(channelId: string, threadTs: string, content: SlackContent, marker: PostMarker | null) {
      try {
        const result = await gateway.inChannel(channelId, (client) =>
          client.chat.postMessage({
            channel: channelId,
            thread_ts: threadTs,
            text: content.text,
            ...(content.blocks ? { blocks: content.blocks as never } : {}),
            ...(content.author
              ? { username: content.author.name.slice(0, 80), icon_emoji: content.author.icon ?? ':speech_balloon:' }
              : {}),
            unfurl_links: content.unfurlLinks === true,
            unfurl_media: content.unfurlLinks === true,
            reply_broadcast: content.broadcast === true,
            ...(marker ? { metadata: { event_type: marker.type, event_payload: { key: marker.key } } } : {}),
          }),
        );
        if (!result.ts) throw new Error('chat.postMessage returned no ts');
        return result.ts;
      } catch (error) {
        if (isThreadGone(error)) throw new ThreadGoneError(channelId, threadTs);
        throw error;
      }
    },

    async uploadToThread(channelId, threadTs, file, fileIdAssigned) {
      const target = await gateway.direct((client) =>
        client.files.getUploadURLExternal({ filename: file.filename, length: file.bytes.length }),
      );
      if (!target.upload_url || !target.file_id) throw new Error('files.getUploadURLExternal returned no upload URL');
      // Checked before the file id is recorded: a retry must not share a file that was never uploaded.
      if (!deps.fileUrls(target.upload_url))
        throw new Error(`refusing to upload a file to ${hostOf(target.upload_url)}`);
      await fileIdAssigned(target.file_id);
      const uploaded = await deps.http.request({
        method: 'POST',
        url: target.upload_url,
        headers: { 'content-type': 'application/octet-stream' },
        body: file.bytes,
        timeoutMs: 120_000,
      });
      if (uploaded.status !== 200) throw new Error(`uploading the file to Slack failed (HTTP ${uploaded.status})`);
      await shareUploadedFile(channelId, threadTs, target.file_id, file.title);
    },

    shareUploadedFile,

    async fileShareState(fileId, channelId) {
      try {
        const result = await gateway.direct((client) => client.files.info({ file: fileId }));
        const shares = result.file?.shares as { public?: Record<string, unknown>; private?: Record<string, unknown> };
        return shares?.public?.[channelId] || shares?.private?.[channelId] ? 'shared' : 'not_shared';
      } catch (error) {
        const info = describeSlackError(error);
        if (info.kind === 'platform' && ['file_not_found', 'file_deleted'].includes(info.error)) return 'missing';
        throw error;
      }
    },

    async findMarkedPost(channelId, threadTs, marker, sinceMs) {
      const oldest = sinceMs !== null && sinceMs > 0 ? (sinceMs / 1000).toFixed(6) : undefined;
      let cursor: string | undefined;
      for (let page = 0; page < 10; page++) {
        let result: { messages?: unknown[]; response_metadata?: { next_cursor?: string } };
        try {
          result = await gateway.direct((client) =>
            threadTs
              ? client.conversations.replies({
                  channel: channelId,
                  ts: threadTs,
                  include_all_metadata: true,
                  limit: 200,
                  ...(oldest ? { oldest } : {}),
                  ...(cursor ? { cursor } : {}),
                })
              : client.conversations.history({
                  channel: channelId,
                  include_all_metadata: true,
                  limit: 200,
                  ...(oldest ? { oldest } : {}),
                  ...(cursor ? { cursor } : {}),
                }),
          );
        } catch (error) {
          if (threadTs && isThreadGone(error)) throw new ThreadGoneError(channelId, threadTs);
          throw error;
        }
        const messages = (result.messages ?? []) as SlackMessage[];
        const found = messages.find(
          (m) => m.metadata?.event_type === marker.type && m.metadata.event_payload?.key === marker.key,
        );
        if (found?.ts) return found.ts;
        cursor = result.response_metadata?.next_cursor || undefined;
        if (!cursor) return null;
      }
      return null;
    },

    definitelyNotPosted(error) {
      const info = describeSlackError(error);
      // Slack answered: a rate limit or an `ok:false` refusal never posts anything.
      return info.kind === 'rate_limited' || info.kind === 'platform';
    },

    async fileInfo(fileId) {
      const result = await gateway.direct((client) => client.files.info({ file: fileId }));
      const file = result.file;
      const urlPrivate = file?.url_private_download ?? file?.url_private;
      if (!file || !urlPrivate) throw new Error(`files.info returned no download URL for ${fileId}`);
      return {
        name: file.name ?? file.title ?? fileId,
        mimeType: file.mimetype ?? 'application/octet-stream',
        size: file.size ?? 0,
        urlPrivate,
      };
    },

    async setStatusReaction(channelId, ts, status, previous) {
      const name = STATUS_REACTIONS[status];
      const old = previous ? STATUS_REACTIONS[previous] : undefined;
      if (old && old !== name) {
        await gateway
          .direct((client) => client.reactions.remove({ channel: channelId, timestamp: ts, name: old }))
          .catch(() => {});
      }
      if (!name) return;
      try {
        await gateway.direct((client) => client.reactions.add({ channel: channelId, timestamp: ts, name }));
      } catch (error) {
        const info = describeSlackError(error);
        if (info.kind === 'platform' && ['already_reacted', 'message_not_found'].includes(info.error)) return;
        throw error;
      }
    },

    async addReaction(channelId, ts, name) {
      try {
        await gateway.direct((client) => client.reactions.add({ channel: channelId, timestamp: ts, name }));
        return 'added';
      } catch (error) {
        const info = describeSlackError(error);
        if (info.kind !== 'platform') throw error;
        if (info.error === 'already_reacted') return 'added';
        if (['invalid_name', 'too_many_reactions', 'too_many_emoji', 'not_reactable'].includes(info.error))
          return 'refused';
        if (info.error === 'message_not_found') return 'message_gone';
        throw error;
      }
    },

    async setPendingMark(channelId, ts, pending) {
      const name = DELIVERY_MARKS.pending;
      try {
        await gateway.direct((client) =>
          pending
            ? client.reactions.add({ channel: channelId, timestamp: ts, name })
            : client.reactions.remove({ channel: channelId, timestamp: ts, name }),
        );
      } catch (error) {
        const info = describeSlackError(error);
        const done = ['already_reacted', 'no_reaction', 'message_not_found'];
        if (info.kind === 'platform' && done.includes(info.error)) return;
        throw error;
      }
    },

    async removeReaction(channelId, ts, name, status) {
      // The bot's reactions are one set per message: a customer's 📘 and the read mark are the same one.
      if (STATUS_REACTIONS[status] === name) return;
      try {
        await gateway.direct((client) => client.reactions.remove({ channel: channelId, timestamp: ts, name }));
      } catch (error) {
        const info = describeSlackError(error);
        if (info.kind === 'platform' && ['no_reaction', 'message_not_found'].includes(info.error)) return;
        throw error;
      }
    },

    async postEphemeral(channelId, userId, content, threadTs) {
      await gateway.direct((client) =>
        client.chat.postEphemeral({
          channel: channelId,
          user: userId,
          text: content.text,
          ...(content.blocks ? { blocks: content.blocks as never } : {}),
          ...(threadTs ? { thread_ts: threadTs } : {}),
        }),
      );
    },

    async notifyAgent(channelId: string, threadTs: string, userId: string, notice: AgentNotice) {
      const content = agentNoticeContent(notice);
      await gateway.direct((client) =>
        client.chat.postEphemeral({
          channel: channelId,
          user: userId,
          thread_ts: threadTs,
          text: content.text,
          blocks: content.blocks as never,
        }),
      );
    },

    userName(userId) {
      return cachedName(`user:${userId}`, async () => {
        const result = await gateway.direct((client) => client.users.info({ user: userId }));
        const profile = result.user?.profile;
        return profile?.display_name || profile?.real_name || result.user?.real_name || result.user?.name || userId;
      });
    },

    channelName(channelId) {
      return cachedName(`channel:${channelId}`, async () => {
        const result = await gateway.direct((client) => client.conversations.info({ channel: channelId }));
        return result.channel?.name ?? channelId;
      });
    },

    userGroupName(groupId) {
      return cachedName(`group:${groupId}`, async () => {
        const result = await gateway.direct((client) => client.usergroups.list({ include_disabled: true }));
        const group = result.usergroups?.find((g) => g.id === groupId);
        return group?.handle ?? group?.name ?? groupId;
      });
    },

    async downloadFile(url, maxBytes, memory) {
      if (!URL.canParse(url)) throw new SlackFileUnavailableError('the file has no valid download link');
      if (!deps.fileUrls(url))
        throw new SlackFileUnavailableError(`refusing to download a Slack file from ${hostOf(url)}`);
      let response: Awaited<ReturnType<typeof deps.http.request>>;
      try {
        response = await deps.http.request({
          method: 'GET',
          url,
          headers: { authorization: `Bearer ${deps.botToken}` },
          maxResponseBytes: maxBytes,
          timeoutMs: 120_000,
          ...reserveBeforeBody(memory, maxBytes),
        });
      } catch (error) {
        if (error instanceof HttpError && error.kind === 'too_large')
          throw new SlackFileUnavailableError(`the file exceeds the ${formatLimit(maxBytes)} limit`);
        throw error; // timeouts, refused connections: worth another try
      }
      const type = response.headers['content-type'] ?? '';
      if (type.startsWith('text/html'))
        throw new SlackFileUnavailableError('Slack answered with its login page: the app needs the files:read scope');
      if ([401, 403, 404, 410].includes(response.status))
        throw new SlackFileUnavailableError(`Slack refused the download (HTTP ${response.status})`);
      if (response.status !== 200) throw new Error(`downloading the Slack file failed (HTTP ${response.status})`);
      return response.body;
    },

    async permalink(channelId, ts) {
      const key = `${channelId}:${ts}`;
      const hit = permalinks.get(key);
      if (hit) return hit;
      try {
        const result = await gateway.direct((client) =>
          client.chat.getPermalink({ channel: channelId, message_ts: ts }),
        );
        if (result.permalink) permalinks.set(key, result.permalink);
        return result.permalink ?? null;
      } catch {
        return null;
      }
    },
  };
}
