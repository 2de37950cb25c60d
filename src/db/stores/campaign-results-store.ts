import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.js';

/** A customer's message within this long of a campaign's message counts as a reply to it. */
export const REPLY_WINDOW_MS = 72 * 60 * 60 * 1000;

/** Providers stamp messages to the second, and clocks differ: a reply may look a little older than the send. */
const CLOCK_SKEW_MS = 60_000;

const OPTED_OUT = { status: 'opted_out', error_code: 'opted_out' } as const;

/**
 * What campaigns learn after sending, and the opt-out side of sending: recipients skipped because
 * they opted out, customers who replied, the recent campaigns with their figures.
 *
 * Longer than 150 lines on purpose: a store is one closure of short queries sharing its connection
 * (and compiled statements); each method is the unit to read.
 */
export function createCampaignResultsStore(db: Kysely<Database>) {
  return {
    /**
     * The draft's recipients on the account's suppression list become `opted_out` (one statement,
     * through the list's primary key); returns how many.
     */
    async skipOptedOutInDraft(campaignId: string, accountId: string, detail: string, now: number): Promise<number> {
      const result = await db
        .updateTable('campaign_recipient')
        .set({ ...OPTED_OUT, error_detail: detail, updated_at: now })
        .where('campaign_id', '=', campaignId)
        .where('status', '=', 'queued')
        // One primary-key probe of the list per recipient (not the whole list materialised).
        .where(
          sql<boolean>`exists (select 1 from opt_out where opt_out.account_id = ${accountId} and opt_out.phone_number = campaign_recipient.phone_number and opt_out.opted_out = 1)`,
        )
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    /** Claimed (or queued) recipients not sent because they opted out. */
    async markOptedOut(recipientIds: readonly number[], detail: string, now: number): Promise<void> {
      for (let i = 0; i < recipientIds.length; i += 500) {
        await db
          .updateTable('campaign_recipient')
          .set({ ...OPTED_OUT, error_detail: detail, claimed_by: null, claimed_until: null, updated_at: now })
          .where('id', 'in', recipientIds.slice(i, i + 500))
          .where('status', 'in', ['queued', 'sending'])
          .execute();
      }
    },

    /**
     * The campaign message a customer's message (at `at`) answers: the latest one sent to the
     * conversation from a Slack campaign within 72 hours before. Recorded once per campaign and
     * conversation; `contextPosted` says whether the thread was already told.
     */
    async recordReply(
      contactId: string,
      at: number,
    ): Promise<{
      campaignId: string;
      templateName: string;
      createdBy: string;
      sentAt: number;
      contextPosted: boolean;
    } | null> {
      const answered = await db
        .selectFrom('message')
        .innerJoin('campaign', 'campaign.id', 'message.campaign_id')
        .select([
          'message.campaign_id as campaignId',
          'campaign.template_name as templateName',
          'campaign.created_by as createdBy',
          'message.created_at',
        ])
        .where('message.contact_id', '=', contactId)
        .where('message.campaign_id', 'is not', null)
        .where('message.source', '=', 'campaign')
        .where('message.created_at', '>=', at - REPLY_WINDOW_MS)
        .where('message.created_at', '<=', at + CLOCK_SKEW_MS)
        .orderBy('message.created_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (!answered?.campaignId) return null;
      await db
        .insertInto('campaign_reply')
        .values({ campaign_id: answered.campaignId, contact_id: contactId, replied_at: at })
        .onConflict((oc) => oc.doNothing())
        .execute();
      const row = await db
        .selectFrom('campaign_reply')
        .select('context_posted')
        .where('campaign_id', '=', answered.campaignId)
        .where('contact_id', '=', contactId)
        .executeTakeFirst();
      return {
        campaignId: answered.campaignId,
        templateName: answered.templateName,
        createdBy: answered.createdBy,
        sentAt: Number(answered.created_at),
        contextPosted: (row?.context_posted ?? 0) === 1,
      };
    },

    async markContextPosted(campaignId: string, contactId: string): Promise<void> {
      await db
        .updateTable('campaign_reply')
        .set({ context_posted: 1 })
        .where('campaign_id', '=', campaignId)
        .where('contact_id', '=', contactId)
        .execute();
    },

    async repliedCount(campaignId: string): Promise<number> {
      const row = await db
        .selectFrom('campaign_reply')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('campaign_id', '=', campaignId)
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    /** The numbers that replied to the campaign (for its CSV). */
    async repliedNumbers(campaignId: string): Promise<Set<string>> {
      const rows = await db
        .selectFrom('campaign_reply')
        .innerJoin('contact', 'contact.id', 'campaign_reply.contact_id')
        .select('contact.phone_number')
        .where('campaign_reply.campaign_id', '=', campaignId)
        .execute();
      return new Set(rows.flatMap((r) => (r.phone_number ? [r.phone_number] : [])));
    },

    /** The newest campaigns launched from Slack (drafts and API sends left out), with their figures. */
    async recent(limit: number) {
      const campaigns = await db
        .selectFrom('campaign')
        .select(['id', 'template_name', 'template_language', 'created_by', 'created_at', 'status', 'total'])
        .where('status', '!=', 'draft')
        .where('created_by', 'not like', 'api:%')
        .orderBy('created_at', 'desc')
        .limit(limit)
        .execute();
      if (campaigns.length === 0) return [];
      const ids = campaigns.map((c) => c.id);
      const counts = await db
        .selectFrom('campaign_recipient')
        .select(['campaign_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('campaign_id', 'in', ids)
        .groupBy(['campaign_id', 'status'])
        .execute();
      const replies = await db
        .selectFrom('campaign_reply')
        .select(['campaign_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where('campaign_id', 'in', ids)
        .groupBy('campaign_id')
        .execute();
      return campaigns.map((c) => {
        const of = (status: string) =>
          Number(counts.find((r) => r.campaign_id === c.id && r.status === status)?.n ?? 0);
        return {
          id: c.id,
          templateName: c.template_name,
          language: c.template_language,
          createdBy: c.created_by,
          createdAt: Number(c.created_at),
          status: c.status,
          total: Number(c.total),
          sent: of('sent') + of('delivered') + of('read'),
          delivered: of('delivered') + of('read'),
          read: of('read'),
          failed: of('failed'),
          optedOut: of('opted_out'),
          replied: Number(replies.find((r) => r.campaign_id === c.id)?.n ?? 0),
        };
      });
    },
  };
}
export type CampaignResultsStore = ReturnType<typeof createCampaignResultsStore>;
