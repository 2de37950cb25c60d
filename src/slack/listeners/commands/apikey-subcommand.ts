import type { WaSubcommandHandler } from './wa-command.js';

const USAGE = 'Usage: `/wa apikey create <name>`, `/wa apikey revoke <id>`, `/wa apikey list`.';

/** API keys for POST /api/v1/messages; the key itself is shown once, only to its creator. */
export function apikeySubcommand(deps: {
  mayManage(userId: string): Promise<boolean>;
  create(name: string, userId: string): Promise<{ id: string; key: string }>;
  revoke(id: string): Promise<boolean>;
  list(): Promise<
    { id: string; name: string; created_by: string; revoked_at: number | null; last_used_at: number | null }[]
  >;
}): WaSubcommandHandler {
  return async ({ rest, userId }) => {
    if (!(await deps.mayManage(userId))) return ':no_entry: Only the people listed in MARKETERS can manage API keys.';
    const [action = '', ...args] = rest.trim().split(/\s+/);
    const argument = args.join(' ').trim();
    switch (action.toLowerCase()) {
      case 'create': {
        if (!argument || argument.length > 60) return `Give the key a name (at most 60 characters). ${USAGE}`;
        const { id, key } = await deps.create(argument, userId);
        return `API key *${argument}* created (id \`${id}\`). Copy it now; it is stored hashed and can't be shown again:\n\`${key}\`\nUse it as \`Authorization: Bearer <key>\` on \`POST /api/v1/messages\`.`;
      }
      case 'revoke':
        if (!argument) return USAGE;
        return (await deps.revoke(argument))
          ? `API key \`${argument}\` revoked.`
          : `No active API key with id \`${argument}\`.`;
      case 'list': {
        const keys = await deps.list();
        if (keys.length === 0) return 'No API keys yet.';
        return keys
          .map(
            (k) =>
              `• \`${k.id}\` *${k.name}* by <@${k.created_by}>${k.revoked_at ? ' — revoked' : ''}${k.last_used_at ? ` — last used <!date^${Math.floor(k.last_used_at / 1000)}^{date_short_pretty}|recently>` : ''}`,
          )
          .join('\n');
      }
      default:
        return USAGE;
    }
  };
}
