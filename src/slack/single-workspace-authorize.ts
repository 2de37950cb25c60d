import type { AuthorizeResult } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';

/**
 * Bolt `authorize` for one workspace and one bot token. The bot's ids come from one `auth.test`,
 * cached for the life of the process (a failed call is retried on the next request).
 */
export function createSingleWorkspaceAuthorize(client: WebClient, botToken: string) {
  let identity: Promise<{ botId: string; botUserId: string; teamId: string | undefined }> | undefined;
  return async (): Promise<AuthorizeResult> => {
    identity ??= client.auth.test({ token: botToken }).then((result) => ({
      botId: result.bot_id ?? '',
      botUserId: result.user_id ?? '',
      teamId: result.team_id,
    }));
    try {
      const { botId, botUserId, teamId } = await identity;
      return { botToken, botId, botUserId, ...(teamId ? { teamId } : {}) };
    } catch (error) {
      identity = undefined;
      throw error;
    }
  };
}
