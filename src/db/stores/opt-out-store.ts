import type { Kysely } from 'kysely';
import type { OptOutChange, OptOutEntry, OptOutRepository } from '../../bridge/opt-outs.js';
import type { Database } from '../database.js';

/** Numbers per statement: well under SQLite's and PostgreSQL's parameter limits. */
const CHUNK = 500;

/**
 * The suppression list: one row per (account, number), its latest state. Every lookup goes through
 * the primary key (account_id, phone_number); listing pages through (account_id, opted_out,
 * phone_number).
 */
export function createOptOutStore(db: Kysely<Database>): OptOutRepository {
  const toEntry = (row: {
    phone_number: string;
    reason: string;
    detail: string | null;
    changed_by: string | null;
    changed_at: number;
  }): OptOutEntry => ({
    phoneNumber: row.phone_number,
    reason: row.reason,
    detail: row.detail,
    changedBy: row.changed_by,
    at: Number(row.changed_at),
  });

  /**
   * Writes the changes (at most one per number) unless a newer event already set the number's
   * state; returns the numbers whose state changed.
   */
  async function applyChunk(accountId: string, changes: readonly OptOutChange[], now: number): Promise<string[]> {
    const phones = changes.map((c) => c.phoneNumber);
    const before = new Map(
      (
        await db
          .selectFrom('opt_out')
          .select(['phone_number', 'opted_out', 'changed_at'])
          .where('account_id', '=', accountId)
          .where('phone_number', 'in', phones)
          .execute()
      ).map((r) => [r.phone_number, { optedOut: r.opted_out === 1, at: Number(r.changed_at) }]),
    );
    const fresh = changes.filter((c) => (before.get(c.phoneNumber)?.at ?? Number.NEGATIVE_INFINITY) <= c.at);
    if (fresh.length === 0) return [];
    await db
      .insertInto('opt_out')
      .values(
        fresh.map((c) => ({
          account_id: accountId,
          phone_number: c.phoneNumber,
          opted_out: c.optedOut ? 1 : 0,
          reason: c.reason,
          detail: c.detail,
          changed_by: c.changedBy,
          changed_at: c.at,
          updated_at: now,
        })),
      )
      .onConflict((oc) =>
        oc
          .columns(['account_id', 'phone_number'])
          .doUpdateSet((eb) => ({
            opted_out: eb.ref('excluded.opted_out'),
            reason: eb.ref('excluded.reason'),
            detail: eb.ref('excluded.detail'),
            changed_by: eb.ref('excluded.changed_by'),
            changed_at: eb.ref('excluded.changed_at'),
            updated_at: eb.ref('excluded.updated_at'),
          }))
          // A newer state written meanwhile (another replica) wins.
          .where('opt_out.changed_at', '<=', (eb) => eb.ref('excluded.changed_at')),
      )
      .execute();
    return fresh.filter((c) => (before.get(c.phoneNumber)?.optedOut ?? false) !== c.optedOut).map((c) => c.phoneNumber);
  }

  return {
    async apply(accountId, changes, now) {
      // One change per number (the last given wins), in chunks.
      const latest = [...new Map(changes.map((c) => [c.phoneNumber, c])).values()];
      const changed: string[] = [];
      for (let i = 0; i < latest.length; i += CHUNK)
        changed.push(...(await applyChunk(accountId, latest.slice(i, i + CHUNK), now)));
      return changed;
    },

    async get(accountId, phoneNumber) {
      const row = await db
        .selectFrom('opt_out')
        .select(['phone_number', 'reason', 'detail', 'changed_by', 'changed_at'])
        .where('account_id', '=', accountId)
        .where('phone_number', '=', phoneNumber)
        .where('opted_out', '=', 1)
        .executeTakeFirst();
      return row ? toEntry(row) : null;
    },

    async suppressedAmong(accountId, phoneNumbers) {
      const found = new Set<string>();
      const unique = [...new Set(phoneNumbers)];
      for (let i = 0; i < unique.length; i += CHUNK) {
        const rows = await db
          .selectFrom('opt_out')
          .select('phone_number')
          .where('account_id', '=', accountId)
          .where('phone_number', 'in', unique.slice(i, i + CHUNK))
          .where('opted_out', '=', 1)
          .execute();
        for (const row of rows) found.add(row.phone_number);
      }
      return found;
    },

    async list(accountId, afterPhoneNumber, limit) {
      let query = db
        .selectFrom('opt_out')
        .select(['phone_number', 'reason', 'detail', 'changed_by', 'changed_at'])
        .where('account_id', '=', accountId)
        .where('opted_out', '=', 1);
      if (afterPhoneNumber !== null) query = query.where('phone_number', '>', afterPhoneNumber);
      const rows = await query.orderBy('phone_number').limit(limit).execute();
      return rows.map(toEntry);
    },

    async count(accountId) {
      const row = await db
        .selectFrom('opt_out')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('account_id', '=', accountId)
        .where('opted_out', '=', 1)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}
export type OptOutStore = ReturnType<typeof createOptOutStore>;
