import type { Kysely } from 'kysely';
import type { Database } from '../database.js';

/** The number each marketer last sent a campaign test to, offered again next time. */
export function createCampaignTestStore(db: Kysely<Database>) {
  return {
    async remembered(slackUserId: string): Promise<string | null> {
      const row = await db
        .selectFrom('campaign_test_recipient')
        .select('phone_number')
        .where('slack_user_id', '=', slackUserId)
        .executeTakeFirst();
      return row?.phone_number ?? null;
    },

    async remember(slackUserId: string, phoneNumber: string, now: number): Promise<void> {
      await db
        .insertInto('campaign_test_recipient')
        .values({ slack_user_id: slackUserId, phone_number: phoneNumber, updated_at: now })
        .onConflict((oc) => oc.column('slack_user_id').doUpdateSet({ phone_number: phoneNumber, updated_at: now }))
        .execute();
    },

    /** The first recipient of a draft, whose variables the preview and the test use. */
    async firstRecipient(campaignId: string): Promise<{ phone_number: string; parameters_json: string | null } | null> {
      const row = await db
        .selectFrom('campaign_recipient')
        .select(['phone_number', 'parameters_json'])
        .where('campaign_id', '=', campaignId)
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
      return row ?? null;
    },
  };
}
export type CampaignTestStore = ReturnType<typeof createCampaignTestStore>;
