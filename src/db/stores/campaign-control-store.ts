import type { Kysely } from 'kysely';
import type { CampaignControl } from '../../bridge/campaigns/campaign-pauses.js';
import type { CampaignControlTable, CampaignRow, Database } from '../database.js';

const RUNNING = ['sending', 'scheduled'] as const;

function toControl(row: CampaignControlTable): CampaignControl {
  return {
    pausedReason: row.paused_reason,
    pausedAt: row.paused_at === null ? null : Number(row.paused_at),
    pausedBy: row.paused_by,
    limitTier: row.limit_tier,
    dailyLimit: row.daily_limit === null ? null : Number(row.daily_limit),
    waitingUntil: row.waiting_until === null ? null : Number(row.waiting_until),
  };
}

const EMPTY_CONTROL = {
  paused_reason: null,
  paused_at: null,
  paused_by: null,
  account_key: null,
  limit_tier: null,
  daily_limit: null,
  waiting_until: null,
};

/** Campaign pauses (the campaign's status and `campaign_control`). */
export function createCampaignControlStore(db: Kysely<Database>) {
  return {
    async get(id: string): Promise<CampaignRow | undefined> {
      return db.selectFrom('campaign').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async pause(campaignId: string, reason: string, pausedBy: string, now: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('campaign')
          .set({ status: 'paused' })
          .where('id', '=', campaignId)
          .where('status', 'in', RUNNING)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) return false;
        const pause = { paused_reason: reason, paused_at: now, paused_by: pausedBy, updated_at: now };
        await trx
          .insertInto('campaign_control')
          .values({ ...EMPTY_CONTROL, campaign_id: campaignId, ...pause })
          .onConflict((oc) => oc.column('campaign_id').doUpdateSet(pause))
          .execute();
        return true;
      });
    },

    async resume(campaignId: string, now: number): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('campaign')
          .set((eb) => ({
            // A campaign paused before its scheduled time waits for it again.
            status: eb
              .case()
              .when(eb.and([eb('scheduled_at', 'is not', null), eb('scheduled_at', '>', now)]))
              .then('scheduled' as const)
              .else('sending' as const)
              .end(),
          }))
          .where('id', '=', campaignId)
          .where('status', '=', 'paused')
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) return false;
        await trx
          .updateTable('campaign_control')
          .set({ paused_reason: null, paused_at: null, paused_by: null, updated_at: now })
          .where('campaign_id', '=', campaignId)
          .execute();
        return true;
      });
    },

    async control(campaignId: string): Promise<CampaignControl | null> {
      const row = await db
        .selectFrom('campaign_control')
        .selectAll()
        .where('campaign_id', '=', campaignId)
        .executeTakeFirst();
      return row ? toControl(row) : null;
    },

    async runningWithTemplate(templateName: string, language: string | null): Promise<CampaignRow[]> {
      let query = db
        .selectFrom('campaign')
        .selectAll()
        .where('template_name', '=', templateName)
        .where('status', 'in', [...RUNNING, 'paused']);
      if (language !== null) query = query.where('template_language', '=', language);
      return query.orderBy('created_at').execute();
    },
  };
}
export type CampaignControlStore = ReturnType<typeof createCampaignControlStore>;
