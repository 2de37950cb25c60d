import type { Kysely } from 'kysely';
import type { CampaignControl } from '../../bridge/campaigns/campaign-pauses.js';
import { ALLOWANCE_WINDOW_MS } from '../../bridge/campaigns/messaging-limits.js';
import type { CampaignControlTable, CampaignRecipientRow, CampaignRow, Database } from '../database.js';
import { OPTED_OUT_AT_SEND_TIME } from './campaign-store.js';

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

/** A campaign held to a messaging limit: its account, and how many new customers a day it may reach. */
export type CampaignAllowance = { accountKey: string; perDay: number };

/**
 * Campaign pauses (the campaign's status and `campaign_control`) and messaging limits: the customers
 * each account reached in the last 24 hours (`messaging_allowance_use`), handed out under a lock on
 * the account's `messaging_allowance` row, so replicas never hand out the same remainder twice.
 *
 * Longer than 150 lines on purpose: a store is one closure of short queries sharing its connection
 * (and compiled statements); each method is the unit to read.
 */
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

    /** Customers the account reached with limited campaigns in the 24 hours before `now`. */
    async allowanceUsed(accountKey: string, now: number): Promise<number> {
      const row = await db
        .selectFrom('messaging_allowance_use')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('account_key', '=', accountKey)
        .where('counted_at', '>', now - ALLOWANCE_WINDOW_MS)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** The campaign's queued recipients the account has not reached in the 24 hours before `now`. */
    async newRecipients(campaignId: string, accountKey: string, now: number): Promise<number> {
      const row = await db
        .selectFrom('campaign_recipient as r')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('r.campaign_id', '=', campaignId)
        .where('r.status', '=', 'queued')
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('messaging_allowance_use as u')
                .select('u.phone_number')
                .whereRef('u.phone_number', '=', 'r.phone_number')
                .where('u.account_key', '=', accountKey)
                .where('u.counted_at', '>', now - ALLOWANCE_WINDOW_MS),
            ),
          ),
        )
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    /** Holds the campaign to its account's messaging limit (set when it is confirmed). */
    async setAllowance(campaignId: string, allowance: CampaignAllowance & { tier: string }, now: number) {
      const limit = {
        account_key: allowance.accountKey,
        limit_tier: allowance.tier,
        daily_limit: allowance.perDay,
        updated_at: now,
      };
      await db
        .insertInto('campaign_control')
        .values({ ...EMPTY_CONTROL, campaign_id: campaignId, ...limit })
        .onConflict((oc) => oc.column('campaign_id').doUpdateSet(limit))
        .execute();
      // Customers counted more than 24 hours ago no longer count: the account's list stays one day long.
      await db
        .deleteFrom('messaging_allowance_use')
        .where('account_key', '=', allowance.accountKey)
        .where('counted_at', '<=', now - ALLOWANCE_WINDOW_MS)
        .execute();
    },

    async allowanceOf(campaignId: string): Promise<CampaignAllowance | null> {
      const row = await db
        .selectFrom('campaign_control')
        .select(['account_key', 'daily_limit'])
        .where('campaign_id', '=', campaignId)
        .executeTakeFirst();
      if (!row?.account_key || row.daily_limit === null) return null;
      return { accountKey: row.account_key, perDay: Number(row.daily_limit) };
    },

    async waitingUntil(campaignId: string, now: number): Promise<number | null> {
      const row = await db
        .selectFrom('campaign_control')
        .select('waiting_until')
        .where('campaign_id', '=', campaignId)
        .executeTakeFirst();
      const until = row?.waiting_until === null || row?.waiting_until === undefined ? null : Number(row.waiting_until);
      return until !== null && until > now ? until : null;
    },

    /**
     * claimRecipients for a campaign held to a messaging limit, in one transaction under the
     * account's lock: recipients the account reached in the last 24 hours go as usual, new ones only
     * while the account has allowance left (each is counted as it is claimed). When new ones must
     * wait, the campaign records when the allowance next frees up (`waiting_until`).
     */
    async claimWithinAllowance(
      campaignId: string,
      workerId: string,
      limit: number,
      leaseMs: number,
      now: number,
      allowance: CampaignAllowance,
      skipOptedOutOf: string | null = null,
    ): Promise<CampaignRecipientRow[]> {
      if (limit <= 0) return [];
      const { accountKey } = allowance;
      const since = now - ALLOWANCE_WINDOW_MS;
      return db.transaction().execute(async (trx) => {
        // The account's row is written first: on PostgreSQL its row lock, on SQLite the write lock,
        // makes every other claimer of this account wait until this one has counted.
        await trx
          .insertInto('messaging_allowance')
          .values({ account_key: accountKey, updated_at: now })
          .onConflict((oc) => oc.column('account_key').doUpdateSet({ updated_at: now }))
          .execute();
        const candidates = async (status: 'queued' | 'sending') => {
          let query = trx
            .selectFrom('campaign_recipient')
            .select(['id', 'phone_number'])
            .where('campaign_id', '=', campaignId)
            .where('status', '=', status);
          query =
            status === 'queued'
              ? query.where((eb) => eb.or([eb('retry_at', 'is', null), eb('retry_at', '<=', now)]))
              : query.where('claimed_until', '<', now);
          return query.orderBy('id').limit(limit).execute();
        };
        let found = await candidates('queued');
        if (found.length === 0) found = await candidates('sending');
        if (found.length === 0) return [];
        // Numbers on the suppression list (a MARKETING campaign) are claimed as opted out, as
        // claimRecipients does, and cost no allowance: they are not sent.
        const optedOut =
          skipOptedOutOf === null
            ? new Set<string>()
            : new Set(
                (
                  await trx
                    .selectFrom('opt_out')
                    .select('phone_number')
                    .where('account_id', '=', skipOptedOutOf)
                    .where('phone_number', 'in', [...new Set(found.map((f) => f.phone_number))])
                    .where('opted_out', '=', 1)
                    .execute()
                ).map((r) => r.phone_number),
              );
        const reached = new Set(
          (
            await trx
              .selectFrom('messaging_allowance_use')
              .select('phone_number')
              .where('account_key', '=', accountKey)
              .where('phone_number', 'in', [...new Set(found.map((f) => f.phone_number))])
              .where('counted_at', '>', since)
              .execute()
          ).map((r) => r.phone_number),
        );
        const used = await trx
          .selectFrom('messaging_allowance_use')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('account_key', '=', accountKey)
          .where('counted_at', '>', since)
          .executeTakeFirstOrThrow();
        let room = allowance.perDay - Number(used.n);
        const taken: number[] = [];
        const skipped: number[] = [];
        const counted: string[] = [];
        let mustWait = false;
        for (const candidate of found) {
          if (optedOut.has(candidate.phone_number)) skipped.push(candidate.id);
          else if (reached.has(candidate.phone_number)) taken.push(candidate.id);
          else if (room > 0) {
            taken.push(candidate.id);
            counted.push(candidate.phone_number);
            reached.add(candidate.phone_number);
            room--;
          } else mustWait = true;
        }
        if (counted.length > 0)
          await trx
            .insertInto('messaging_allowance_use')
            .values(counted.map((phone) => ({ account_key: accountKey, phone_number: phone, counted_at: now })))
            .onConflict((oc) => oc.columns(['account_key', 'phone_number']).doUpdateSet({ counted_at: now }))
            .execute();
        let waitingUntil: number | null = null;
        if (mustWait) {
          const oldest = await trx
            .selectFrom('messaging_allowance_use')
            .select((eb) => eb.fn.min('counted_at').as('at'))
            .where('account_key', '=', accountKey)
            .where('counted_at', '>', since)
            .executeTakeFirst();
          waitingUntil =
            oldest?.at === null || oldest?.at === undefined ? now : Number(oldest.at) + ALLOWANCE_WINDOW_MS;
        }
        await trx
          .updateTable('campaign_control')
          .set({ waiting_until: waitingUntil, updated_at: now })
          .where('campaign_id', '=', campaignId)
          .execute();
        const claim = (ids: number[], status: 'sending' | 'opted_out') =>
          ids.length === 0
            ? Promise.resolve([])
            : trx
                .updateTable('campaign_recipient')
                .set((eb) => ({
                  status,
                  ...(status === 'opted_out' ? { error_code: 'opted_out', error_detail: OPTED_OUT_AT_SEND_TIME } : {}),
                  claimed_by: workerId,
                  claimed_until: now + leaseMs,
                  attempts: eb('attempts', '+', 1),
                  updated_at: now,
                }))
                .where('id', 'in', ids)
                .where('status', 'in', ['queued', 'sending'])
                .returningAll()
                .execute();
        return [...(await claim(skipped, 'opted_out')), ...(await claim(taken, 'sending'))];
      });
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
