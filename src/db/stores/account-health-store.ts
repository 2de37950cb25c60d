import type { Kysely } from 'kysely';
import type { NumberHealthUpdate } from '../../bridge/account-health.js';
import type { Database } from '../database.js';

/** What the account health webhooks change: a number's health, and which campaigns a template stop concerns. */
export function createAccountHealthStore(db: Kysely<Database>) {
  return {
    async updateNumberHealth(id: string, update: NumberHealthUpdate, now: number): Promise<void> {
      await db
        .updateTable('sending_number')
        .set({
          ...(update.health !== undefined ? { health: update.health } : {}),
          ...(update.healthReason !== undefined ? { health_reason: update.healthReason } : {}),
          ...(update.qualityRating !== undefined ? { quality_rating: update.qualityRating } : {}),
          ...(update.messagingLimitTier !== undefined ? { messaging_limit_tier: update.messagingLimitTier } : {}),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
    },

    /**
     * Campaigns sending, or scheduled to, with a template (Meta writes the language `en-US` in
     * webhooks and `en_US` in the template list: both are looked for).
     */
    async activeWithTemplate(template: { name: string; language: string }): Promise<{ id: string; status: string }[]> {
      const languages = [...new Set([template.language, template.language.replace(/-/g, '_')])];
      return db
        .selectFrom('campaign')
        .select(['id', 'status'])
        .where('template_name', '=', template.name)
        .where('template_language', 'in', languages)
        .where('status', 'in', ['sending', 'scheduled'])
        .execute();
    },
  };
}
export type AccountHealthStore = ReturnType<typeof createAccountHealthStore>;
