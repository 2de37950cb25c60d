import type { OpenConversationResult } from '../../../bridge/open-conversation.js';
import { MAX_SESSIONS_PER_AGENT } from '../../../db/stores/agent-session-store.js';
import type { WaSubcommandHandler } from './wa-command.js';

export const CHAT_USAGE = 'Usage: `/wa chat <number> [from <sending number>]`, e.g. `/wa chat +44 7700 900123`.';

/** `/wa chat <number> [from <sending number>]` */
export function chatSubcommand(deps: {
  openConversation(input: { userId: string; number: string; from: string | null }): Promise<OpenConversationResult>;
  permalink(channelId: string, ts: string): Promise<string | null>;
}): WaSubcommandHandler {
  return async ({ rest, userId }) => {
    const match = /^(.+?)(?:\s+from\s+(.+))?$/i.exec(rest.trim());
    if (!rest.trim() || !match?.[1]) return CHAT_USAGE;
    const result = await deps.openConversation({ userId, number: match[1].trim(), from: match[2]?.trim() ?? null });
    if (!result.ok) return `:warning: ${result.error}\n${CHAT_USAGE}`;
    const link = await deps.permalink(result.thread.slack_channel_id, result.thread.thread_ts);
    const where = link
      ? `<${link}|Open the conversation thread>`
      : `The conversation is in <#${result.thread.slack_channel_id}>.`;
    const session =
      result.session === 'limit_reached'
        ? ` It was *not* added to My Sessions: you already have the maximum of ${MAX_SESSIONS_PER_AGENT}; remove one first.`
        : result.session === 'added'
          ? ' Added to My Sessions.'
          : ' Already in My Sessions.';
    return `${where}.${session}`;
  };
}
