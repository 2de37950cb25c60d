import type { RoleCheck } from '../../../bridge/permissions.js';
import { escapeSlackText } from '../../../shared/slack-text.js';
import type { WaSubcommandHandler } from './wa-command.js';

const LIST_LIMIT = 50;
const USAGE = 'Usage: `/wa apikey create <name>`, `/wa apikey revoke <id>`, `/wa apikey list`.';

export type ApiKeyListing = {
  id: string;
  name: string;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  revoked_by: string | null;
  last_used_at: number | null;
};

/** A date Slack shows in the reader's time zone, with the UTC day as the fallback text. */
const slackDate = (ms: number) =>
  `<!date^${Math.floor(ms / 1000)}^{date_short} {time}|${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC>`;

/**
 * API keys for POST /api/v1/messages; the key itself is shown once, only to its creator. Every
 * action checks the marketer role again; keys expire, and stop working once their creator loses it.
 */
export function apikeySubcommand(deps: {
  mayManage: RoleCheck;
  create(name: string, userId: string): Promise<{ id: string; key: string; expiresAt: number }>;
  revoke(id: string, userId: string): Promise<boolean>;
  /** The newest `limit` keys. */
  list(limit: number): Promise<ApiKeyListing[]>;
  /** Lifetime of a key stored without an expiry (see api-key-access.ts). */
  ttlMs: number;
  now: () => number;
}): WaSubcommandHandler {
  const describe = async (k: ApiKeyListing): Promise<string> => {
    const expiresAt = k.expires_at ?? k.created_at + deps.ttlMs;
    const state = k.revoked_at
      ? `:no_entry: revoked ${slackDate(k.revoked_at)}${k.revoked_by ? ` by <@${k.revoked_by}>` : ''}`
      : expiresAt <= deps.now()
        ? `:hourglass: expired ${slackDate(expiresAt)}`
        : (await deps.mayManage(k.created_by))
          ? `expires ${slackDate(expiresAt)}`
          : `expires ${slackDate(expiresAt)} — :no_entry: refused: its creator is deactivated or no longer a marketer`;
    const used = k.last_used_at ? `last used ${slackDate(k.last_used_at)}` : 'never used';
    return `• \`${k.id}\` *${escapeSlackText(k.name)}* by <@${k.created_by}>, created ${slackDate(k.created_at)} — ${state} — ${used}`;
  };

  return async ({ rest, userId }) => {
    if (!(await deps.mayManage(userId))) return `:no_entry: Only ${deps.mayManage.holders} can manage API keys.`;
    const [action = '', ...args] = rest.trim().split(/\s+/);
    const argument = args.join(' ').trim();
    switch (action.toLowerCase()) {
      case 'create': {
        if (!argument || argument.length > 60) return `Give the key a name (at most 60 characters). ${USAGE}`;
        const { id, key, expiresAt } = await deps.create(argument, userId);
        return (
          `API key *${escapeSlackText(argument)}* created (id \`${id}\`), valid until ${slackDate(expiresAt)}. ` +
          `Copy it now; it is stored hashed and can't be shown again:\n\`${key}\`\n` +
          'Use it as `Authorization: Bearer <key>` on `POST /api/v1/messages`. ' +
          'It stops working when it expires, when it is revoked (`/wa apikey revoke`), and if you are deactivated or stop being a marketer.'
        );
      }
      case 'revoke':
        if (!argument) return USAGE;
        return (await deps.revoke(argument, userId))
          ? `API key \`${escapeSlackText(argument)}\` revoked.`
          : `No active API key with id \`${escapeSlackText(argument)}\`.`;
      case 'list': {
        const keys = await deps.list(LIST_LIMIT + 1);
        if (keys.length === 0) return 'No API keys yet.';
        const lines = await Promise.all(keys.slice(0, LIST_LIMIT).map(describe));
        const heading = keys.length > LIST_LIMIT ? `The ${LIST_LIMIT} newest API keys:\n` : '';
        return `${heading}${lines.join('\n')}`;
      }
      default:
        return USAGE;
    }
  };
}
