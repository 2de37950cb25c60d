/** The outcome of presenting an API key: its id, or the HTTP status and reason to answer with. */
export type ApiKeyAccess = { ok: true; keyId: string } | { ok: false; status: 401 | 403; error: string };

type StoredKey = {
  id: string;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
};

/**
 * Every use of an API key: unknown, revoked and expired keys are 401; a key whose creator is
 * deactivated or no longer a marketer is 403 (the role check is cached, not a Slack call per request).
 */
export function createApiKeyAccess(deps: {
  keys: { find(key: string): Promise<StoredKey | undefined>; recordUse(id: string, now: number): Promise<void> };
  mayHoldKeys(userId: string): Promise<boolean>;
  /** Lifetime of a key stored without an expiry (written by a replica older than the expiry migration). */
  ttlMs: number;
  now: () => number;
}) {
  return async (key: string): Promise<ApiKeyAccess> => {
    const row = await deps.keys.find(key);
    if (!row) return { ok: false, status: 401, error: 'a valid API key is required: Authorization: Bearer <key>' };
    if (row.revoked_at !== null)
      return { ok: false, status: 401, error: 'this API key was revoked; ask a marketer for a new one' };
    const now = deps.now();
    const expiresAt = row.expires_at ?? row.created_at + deps.ttlMs;
    if (expiresAt <= now)
      return {
        ok: false,
        status: 401,
        error: `this API key expired on ${new Date(expiresAt).toISOString()}; create a new one with /wa apikey create`,
      };
    if (!(await deps.mayHoldKeys(row.created_by)))
      return {
        ok: false,
        status: 403,
        error:
          'the person who created this API key is deactivated or no longer a marketer, so the key no longer works; a marketer can create a new one with /wa apikey create',
      };
    await deps.keys.recordUse(row.id, now);
    return { ok: true, keyId: row.id };
  };
}
export type ApiKeyAuthenticator = ReturnType<typeof createApiKeyAccess>;
