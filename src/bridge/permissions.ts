/**
 * MARKETERS / LEADS: lists of Slack user ids (U…) and user-group ids (S…). Unset means everyone.
 * Group membership is looked up (and cached by the caller's lookup) when a group is listed.
 */
export function createPermissionCheck(
  allowed: readonly string[] | undefined,
  groupMembers: (groupId: string) => Promise<readonly string[]>,
) {
  return async (userId: string): Promise<boolean> => {
    if (!allowed) return true;
    if (allowed.includes(userId)) return true;
    for (const entry of allowed) {
      if (!entry.startsWith('S')) continue;
      try {
        if ((await groupMembers(entry)).includes(userId)) return true;
      } catch {
        // A lookup failure denies rather than grants.
      }
    }
    return false;
  };
}
export type PermissionCheck = ReturnType<typeof createPermissionCheck>;
