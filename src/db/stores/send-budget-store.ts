import type { Kysely } from 'kysely';
import { BUDGET_BUCKET_MS as BUCKET_MS, BUDGET_WINDOW_MS } from '../../bridge/campaigns/campaign-ports.js';
import type { Database } from '../database.js';

/**
 * A per-number, per-second budget in the database: every replica draws from the same window, so
 * the sum of their sends never exceeds the limit.
 */

export function createSendBudgetStore(db: Kysely<Database>) {
  return {
    /**
     * Takes up to `wanted` sends for this number now (see BUDGET_BUCKET_MS): the rate holds over any
     * sliding second, not only over whole clock seconds, and across every replica.
     */
    async take(
      sendingNumberId: string,
      wanted: number,
      limitPerSecond: number,
      now: number,
    ): Promise<{ granted: number; windowEndsAt: number }> {
      const bucket = Math.floor(now / BUCKET_MS) * BUCKET_MS;
      const windowEndsAt = bucket + BUCKET_MS;
      await db
        .insertInto('send_budget')
        .values({ sending_number_id: sendingNumberId, window_start: bucket, used: 0 })
        .onConflict((oc) => oc.columns(['sending_number_id', 'window_start']).doNothing())
        .execute();
      for (let attempt = 0; attempt < 8; attempt++) {
        const rows = await db
          .selectFrom('send_budget')
          .select(['window_start', 'used'])
          .where('sending_number_id', '=', sendingNumberId)
          .where('window_start', '>', bucket - BUDGET_WINDOW_MS)
          .where('window_start', '<=', bucket)
          .execute();
        const current = rows.find((r) => r.window_start === bucket)?.used ?? 0;
        const inLastSecond = rows.reduce((sum, r) => sum + r.used, 0);
        const granted = Math.max(0, Math.min(wanted, limitPerSecond - inLastSecond));
        if (granted === 0) return { granted: 0, windowEndsAt };
        // Compare-and-set: only one taker wins a given `used` value.
        const result = await db
          .updateTable('send_budget')
          .set({ used: current + granted })
          .where('sending_number_id', '=', sendingNumberId)
          .where('window_start', '=', bucket)
          .where('used', '=', current)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 1) return { granted, windowEndsAt };
      }
      return { granted: 0, windowEndsAt };
    },
    async purgeBefore(cutoff: number): Promise<void> {
      await db.deleteFrom('send_budget').where('window_start', '<', cutoff).execute();
    },
  };
}
export type SendBudgetStore = ReturnType<typeof createSendBudgetStore>;
