import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { AgentMessage, AgentMessageOutcome } from '../../../bridge/agent-replies.js';
import type { Logger } from '../../../shared/logger.js';

const slackFileSchema = z.object({
  id: z.string(),
  name: z.string().nullish(),
  title: z.string().nullish(),
  mimetype: z.string().nullish(),
  size: z.number().nullish(),
  url_private: z.string().nullish(),
  url_private_download: z.string().nullish(),
});

const messageEventSchema = z.object({
  type: z.literal('message'),
  channel: z.string(),
  ts: z.string(),
  thread_ts: z.string().optional(),
  user: z.string().optional(),
  bot_id: z.string().optional(),
  subtype: z.string().optional(),
  text: z.string().optional(),
  blocks: z.array(z.unknown()).optional(),
  files: z.array(slackFileSchema).optional(),
  deleted_ts: z.string().optional(),
});

export function toAgentMessage(event: z.infer<typeof messageEventSchema>): AgentMessage {
  return {
    channelId: event.channel,
    ts: event.ts,
    threadTs: event.thread_ts ?? null,
    userId: event.user ?? null,
    botId: event.bot_id ?? null,
    subtype: event.subtype ?? null,
    text: event.text ?? '',
    blocks: event.blocks,
    files: (event.files ?? []).map((file) => ({
      id: file.id,
      name: file.name ?? file.title ?? file.id,
      mimeType: file.mimetype ?? 'application/octet-stream',
      size: file.size ?? 0,
      urlPrivate: file.url_private_download ?? file.url_private ?? '',
    })),
  };
}

/**
 * Channel messages: a person's reply in a conversation thread goes to WhatsApp. The app's HTTP
 * receiver acknowledges only after this listener returns (processBeforeResponse), so a reply is
 * stored before Slack considers it delivered.
 */
export function registerMessageEvents(
  app: App,
  deps: {
    acceptAgentMessage(message: AgentMessage): Promise<AgentMessageOutcome>;
    headerDeleted(channelId: string, ts: string): Promise<void>;
    logger: Logger;
  },
): void {
  app.event('message', async ({ event }) => {
    const parsed = messageEventSchema.safeParse(event);
    if (!parsed.success) return;
    const message = parsed.data;
    if (message.subtype === 'message_deleted' && message.deleted_ts) {
      await deps.headerDeleted(message.channel, message.deleted_ts);
      return;
    }
    const outcome = await deps.acceptAgentMessage(toAgentMessage(message));
    deps.logger.debug({ channel: message.channel, ts: message.ts, outcome }, 'slack message handled');
  });
}
