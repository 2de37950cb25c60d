import type { AuthorizeResult, AuthorizeSourceData } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Logger } from '../shared/logger.js';

/** A request from a workspace other than the one the bot token belongs to. */
export class ForeignWorkspaceError extends Error {
  readonly teamId: string | null;
  constructor(teamId: string | undefined) {
    super(
      teamId ? `requests from workspace ${teamId.slice(0, 40)} are not accepted` : 'the request names no workspace',
    );
    this.name = 'ForeignWorkspaceError';
    this.teamId = teamId ?? null;
  }
}

/**
 * Bolt `authorize` for one workspace and one bot token. The bot's ids come from one `auth.test`,
 * cached for the life of the process (a failed call is retried on the next request).
 *
 * Bolt calls it for every event, command, action, shortcut and view (over HTTP and Socket Mode)
 * with the workspace the request comes from, so this is the one place that refuses the others: an
 * app whose signing secret also serves other installations would otherwise run their requests
 * with this workspace's token.
 */
export function createSingleWorkspaceAuthorize(client: WebClient, botToken: string, logger: Logger) {
  let identity: Promise<{ botId: string; botUserId: string; teamId: string | undefined }> | undefined;
  return async (source: AuthorizeSourceData<boolean>): Promise<AuthorizeResult> => {
    identity ??= client.auth.test({ token: botToken }).then((result) => ({
      botId: result.bot_id ?? '',
      botUserId: result.user_id ?? '',
      teamId: result.team_id,
    }));
    let installed: Awaited<typeof identity>;
    try {
      installed = await identity;
    } catch (error) {
      identity = undefined;
      throw error;
    }
    const { botId, botUserId, teamId } = installed;
    if (teamId === undefined || source.teamId !== teamId) {
      logger.warn(
        {
          teamId: source.teamId?.slice(0, 40) ?? null,
          installedTeamId: teamId ?? null,
          userId: source.userId?.slice(0, 40),
        },
        'refused a Slack request from another workspace',
      );
      throw new ForeignWorkspaceError(source.teamId);
    }
    return { botToken, botId, botUserId, teamId };
  };
}
