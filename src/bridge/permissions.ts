import type { RoleMembers } from '../config.js';

/** What Slack's users.info says about an account, as far as roles are concerned. */
export type SlackAccount = {
  deleted: boolean;
  isBot: boolean;
  /** Workspace admin, owner or primary owner. */
  isAdmin: boolean;
  /** A multi-channel (restricted) or single-channel (ultra-restricted) guest. */
  isGuest: boolean;
  /** The workspace the account belongs to (another one's: a Slack Connect user); null when Slack did not say. */
  teamId: string | null;
};

export interface RoleDirectory {
  /** null when Slack knows no such user; throws when Slack could not be asked. */
  account(userId: string): Promise<SlackAccount | null>;
  groupMembers(groupId: string): Promise<readonly string[]>;
}

/** Asks whether a user holds a role now; `holders` says who does, for refusal messages. */
export type RoleCheck = ((userId: string) => Promise<boolean>) & { readonly holders: string };

/**
 * A role (MARKETERS, LEADS) checked against Slack every time it is needed (the directory caches
 * answers briefly). Unset grants workspace admins and owners, `*` every full member, a list the
 * listed users and user-group members; deactivated accounts and bots are always refused. Guests
 * hold a role only when listed. Anything that cannot be checked (Slack unreachable) is refused.
 */
export function createRoleCheck(
  name: string,
  members: RoleMembers,
  directory: RoleDirectory,
  onLookupFailure: (userId: string, error: unknown) => void = () => {},
): RoleCheck {
  const listed = async (userId: string): Promise<boolean> => {
    if (members.kind !== 'listed') return true;
    if (members.ids.includes(userId)) return true;
    for (const entry of members.ids) {
      if (!entry.startsWith('S')) continue;
      if ((await directory.groupMembers(entry)).includes(userId)) return true;
    }
    return false;
  };
  const check = async (userId: string): Promise<boolean> => {
    try {
      // The list first: people outside it are refused without asking Slack about them.
      if (!(await listed(userId))) return false;
      const account = await directory.account(userId);
      if (!account || account.deleted || account.isBot) return false;
      if (members.kind === 'admins') return account.isAdmin && !account.isGuest;
      if (members.kind === 'everyone') return !account.isGuest;
      return true;
    } catch (error) {
      onLookupFailure(userId, error);
      return false;
    }
  };
  return Object.assign(check, { holders: describeHolders(name, members) });
}

function describeHolders(name: string, members: RoleMembers): string {
  switch (members.kind) {
    case 'admins':
      return `workspace admins and owners (${name} is not set)`;
    case 'everyone':
      return `full members of the workspace (${name}=*)`;
    case 'listed':
      return `the people listed in ${name}`;
  }
}

/**
 * Template categories any agent may send to one number from a thread. MARKETING, and any category
 * not known here, needs the marketer role.
 */
const OPEN_TEMPLATE_CATEGORIES: ReadonlySet<string> = new Set(['UTILITY', 'AUTHENTICATION']);

export function templateNeedsMarketer(category: string): boolean {
  return !OPEN_TEMPLATE_CATEGORIES.has(category.toUpperCase());
}
