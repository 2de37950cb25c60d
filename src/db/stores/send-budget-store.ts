import { type Kysely, sql } from 'kysely';
import { SCHEDULE_LOOKAHEAD_MS, SEND_PACE } from '../../bridge/campaigns/campaign-ports.js';
import type { Database } from '../database.js';

/**
 * The send schedule of each sending number (see SEND_PACE): one row holding its next free slot,
 * so every replica reserves its slots from the same schedule and their sends together stay under
 * the limit. A reservation is one UPDATE: the row lock orders concurrent takers, each computing
 * from the value the previous one left.
 */
export function createSendBudgetStore(db: Kysely<Database>) {
  const known = new Set<string>();
  return {
    async take(
      sendingNumberId: string,
      wanted: number,
      limitPerSecond: number,
      now: number,
      lookaheadMs: number = SCHEDULE_LOOKAHEAD_MS,
    ): Promise<{ granted: number; firstSlotAt: number; spacingMs: number; nextFreeAt: number }> {
      // Whole microseconds keep the arithmetic exact on both databases; rounding the spacing up
      // only ever slows the pace.
      const spacingUs = Math.ceil(1_000_000 / (limitPerSecond * SEND_PACE));
      const nowUs = Math.floor(now * 1000);
      const horizonUs = nowUs + Math.round(lookaheadMs * 1000);
      const spacingMs = spacingUs / 1000;
      if (!known.has(sendingNumberId)) {
        await db
          .insertInto('send_schedule')
          .values({ sending_number_id: sendingNumberId, next_slot_us: 0, granted_from_us: 0 })
          .onConflict((oc) => oc.doNothing())
          .execute();
        known.add(sendingNumberId);
      }
      if (wanted > 0) {
        const bigint = (value: number) => sql<number>`cast(${value} as bigint)`;
        // The first free slot, no earlier than now; slots are granted while they start before the horizon.
        const start = sql<number>`(case when next_slot_us > ${bigint(nowUs)} then next_slot_us else ${bigint(nowUs)} end)`;
        const fitting = sql<number>`((${bigint(horizonUs)} - ${start} + ${bigint(spacingUs - 1)}) / ${bigint(spacingUs)})`;
        const count = sql<number>`(case when ${fitting} < ${bigint(wanted)} then ${fitting} else ${bigint(wanted)} end)`;
        const granted = await db
          .updateTable('send_schedule')
          .set({
            granted_from_us: start,
            next_slot_us: sql<number>`${start} + ${count} * ${bigint(spacingUs)}`,
          })
          .where('sending_number_id', '=', sendingNumberId)
          .where(start, '<', bigint(horizonUs))
          .returning(['granted_from_us', 'next_slot_us'])
          .executeTakeFirst();
        if (granted) {
          const first = Number(granted.granted_from_us);
          const next = Number(granted.next_slot_us);
          return {
            granted: Math.round((next - first) / spacingUs),
            firstSlotAt: first / 1000,
            spacingMs,
            nextFreeAt: next / 1000,
          };
        }
      }
      const row = await db
        .selectFrom('send_schedule')
        .select('next_slot_us')
        .where('sending_number_id', '=', sendingNumberId)
        .executeTakeFirst();
      const freeAt = Math.max(Number(row?.next_slot_us ?? 0), nowUs) / 1000;
      return { granted: 0, firstSlotAt: freeAt, spacingMs, nextFreeAt: freeAt };
    },
  };
}
export type SendBudgetStore = ReturnType<typeof createSendBudgetStore>;
