import { type Kysely, sql } from 'kysely';
import type { CampaignConversationEntry, NewRecipients } from '../../bridge/campaigns/campaign-ports.js';
import { timeOrderedId } from '../../shared/time-ordered-id.js';
import type { CampaignRecipientRow, CampaignRow, Database, RecipientStatus } from '../database.js';
import { inPurgeBatches } from './purge-batches.js';

export type NewCampaign = {
  id: string;
  createdBy: string;
  slackChannelId: string;
  sendingNumberId: string;
  templateName: string;
  templateLanguage: string;
  templateCategory: string | null;
  parametersJson: string;
  scheduledAt: number | null;
  invalidCount: number;
  recipients: NewRecipients;
  /** The launching command's response_url, if launched from Slack. */
  slackResponseUrl?: string | null;
};

export type StatusCounts = Record<RecipientStatus, number>;

const RECIPIENT_RANK: Record<RecipientStatus, number> = {
  queued: 0,
  sending: 1,
  sent: 2,
  delivered: 3,
  read: 4,
  failed: 5,
  cancelled: 5,
  opted_out: 5,
};

/** Why a recipient found on the suppression list when claimed was not sent. */
export const OPTED_OUT_AT_SEND_TIME = 'opted out of marketing messages: not sent';

/** What a finished campaign's parameters become once retention has passed (still valid to read). */
export const PURGED_PARAMETERS = JSON.stringify({ values: {}, headerMedia: null });

const CANCELLED_RECIPIENT = {
  status: 'cancelled',
  error_code: 'cancelled',
  error_detail: 'campaign cancelled before sending',
} as const;

function campaignRow(campaign: NewCampaign, now: number, draft: boolean) {
  return {
    id: campaign.id,
    created_by: campaign.createdBy,
    slack_channel_id: campaign.slackChannelId,
    slack_message_ts: null,
    sending_number_id: campaign.sendingNumberId,
    template_name: campaign.templateName,
    template_language: campaign.templateLanguage,
    template_category: campaign.templateCategory,
    parameters_json: campaign.parametersJson,
    status: draft
      ? ('draft' as const)
      : campaign.scheduledAt && campaign.scheduledAt > now
        ? ('scheduled' as const)
        : ('sending' as const),
    scheduled_at: campaign.scheduledAt,
    total: campaign.recipients.length,
    invalid_count: campaign.invalidCount,
    created_at: now,
    started_at: null,
    finished_at: null,
    error: null,
    slack_response_url: campaign.slackResponseUrl ?? null,
  };
}

/**
 * Recipient rows in bulk: one statement per 5,000 with the rows as a single parameter (a JSON array
 * unpacked by SQLite, text arrays unnested by PostgreSQL), in the given order. Compiling a 500-row
 * multi-VALUES insert per chunk cost more than inserting the rows.
 */
async function insertRecipients(
  executor: Kysely<Database>,
  dialect: 'sqlite' | 'postgres',
  campaignId: string,
  recipients: NewCampaign['recipients'],
  now: number,
): Promise<void> {
  const columns = sql.raw(
    'campaign_id, phone_number, parameters_json, status, provider_message_id, error_code, error_detail, claimed_by, claimed_until, retry_at, updated_at',
  );
  for (let i = 0; i < recipients.length; i += 5000) {
    const chunk = recipients.slice(i, i + 5000);
    if (dialect === 'sqlite') {
      const rows = JSON.stringify(chunk.map((r) => [r.phoneNumber, r.parametersJson]));
      await sql`insert into campaign_recipient (${columns})
        select ${campaignId}, json_extract(value, '$[0]'), json_extract(value, '$[1]'), 'queued', null, null, null, null, null, null, ${now}
        from json_each(${rows}) where true
        on conflict do nothing`.execute(executor);
    } else {
      await sql`insert into campaign_recipient (${columns})
        select ${campaignId}, r.phone, r.params, 'queued', null, null, null, null, null, null, ${now}
        from unnest(${chunk.map((r) => r.phoneNumber)}::text[], ${chunk.map((r) => r.parametersJson)}::text[])
          with ordinality as r(phone, params, ord)
        order by r.ord
        on conflict do nothing`.execute(executor);
    }
  }
}

/** Sent, with each recipient's provider message id, in one statement per 200. */
async function markSent(
  executor: Kysely<Database>,
  sent: readonly { recipientId: number; providerMessageId: string }[],
  now: number,
): Promise<void> {
  for (let i = 0; i < sent.length; i += 200) {
    const slice = sent.slice(i, i + 200);
    const first = slice[0];
    if (!first) continue;
    await executor
      .updateTable('campaign_recipient')
      .set((eb) => {
        let providerId = eb.case().when('id', '=', first.recipientId).then(first.providerMessageId);
        for (const s of slice.slice(1))
          providerId = providerId.when('id', '=', s.recipientId).then(s.providerMessageId);
        return {
          status: 'sent',
          provider_message_id: providerId.end(),
          claimed_by: null,
          claimed_until: null,
          updated_at: now,
        };
      })
      .where(
        'id',
        'in',
        slice.map((s) => s.recipientId),
      )
      .where('status', '=', 'sending')
      .execute();
  }
}

/**
 * The conversation side of sent campaign templates, for many at once: what upsertContact,
 * insertOnce and recordActivity do one by one, in four statements (inside the caller's transaction).
 */
async function recordInConversations(
  trx: Kysely<Database>,
  entries: readonly CampaignConversationEntry[],
  now: number,
): Promise<void> {
  if (entries.length === 0) return;
  const byNumber = new Map<string, Set<string>>();
  for (const e of entries)
    byNumber.set(e.sendingNumberId, (byNumber.get(e.sendingNumberId) ?? new Set()).add(e.phoneNumber));
  const contactIds = new Map<string, string>();
  for (const [sendingNumberId, phones] of byNumber) {
    const phoneNumbers = [...phones];
    await trx
      .insertInto('contact')
      .values(
        phoneNumbers.map((phoneNumber) => ({
          id: timeOrderedId(now),
          sending_number_id: sendingNumberId,
          phone_number: phoneNumber,
          user_id: null,
          profile_name: null,
          note: null,
          last_inbound_at: null,
          last_message_at: null,
          last_direction: null,
          created_at: now,
          updated_at: now,
        })),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
    const contacts = await trx
      .selectFrom('contact')
      .select(['id', 'phone_number'])
      .where('sending_number_id', '=', sendingNumberId)
      .where('phone_number', 'in', phoneNumbers)
      .execute();
    for (const c of contacts) contactIds.set(`${sendingNumberId} ${c.phone_number}`, c.id);
  }
  const messages = entries.flatMap((e) => {
    const contactId = contactIds.get(`${e.sendingNumberId} ${e.phoneNumber}`);
    if (!contactId) return [];
    return [
      {
        id: e.messageId,
        contact_id: contactId,
        direction: 'outbound' as const,
        kind: 'template',
        body: e.body,
        media_json: e.mediaJson,
        provider_message_id: e.providerMessageId,
        alternate_message_id: null,
        slack_channel_id: null,
        slack_ts: null,
        status: 'sent' as const,
        error_code: null,
        error_detail: null,
        provider_timestamp: null,
        source: e.source,
        author_slack_user_id: e.authorSlackUserId,
        campaign_id: e.campaignId,
        created_at: now,
        updated_at: now,
      },
    ];
  });
  if (messages.length === 0) return;
  await trx
    .insertInto('message')
    .values(messages)
    .onConflict((oc) => oc.doNothing())
    .execute();
  // Last activity only moves forward (as recordActivity): an older write never wins.
  await trx
    .updateTable('contact')
    .set({ last_message_at: now, last_direction: 'outbound', updated_at: now })
    .where('id', 'in', [...new Set(messages.map((m) => m.contact_id))])
    .where((eb) => eb.or([eb('last_message_at', 'is', null), eb('last_message_at', '<=', now)]))
    .execute();
}

/**
 * Longer than 150 lines on purpose: a store is one closure of short queries sharing its connection
 * (and compiled statements); each method is the unit to read.
 */
export function createCampaignStore(db: Kysely<Database>, dialect: 'sqlite' | 'postgres') {
  /**
   * A recipient given back to the queue after its campaign was cancelled (the send was in flight
   * at the cancel) is not sent after all. A cancel that lands after this turns the row itself.
   */
  async function cancelIfCampaignCancelled(recipientId: number, now: number): Promise<void> {
    await db
      .updateTable('campaign_recipient')
      .set({ ...CANCELLED_RECIPIENT, updated_at: now })
      .where('id', '=', recipientId)
      .where('status', '=', 'queued')
      .where('campaign_id', 'in', db.selectFrom('campaign').select('id').where('status', '=', 'cancelled'))
      .execute();
  }

  return {
    /**
     * A campaign and its recipient rows. A real campaign is written in one transaction (whole or
     * not at all). A draft can't send until it is confirmed, so its recipients go in slices of
     * 20,000 rows: a 10 MB file doesn't become one huge transaction (and WAL) that stalls the rest.
     */
    async create(campaign: NewCampaign, now: number, options: { draft?: boolean } = {}): Promise<void> {
      const row = campaignRow(campaign, now, options.draft ?? false);
      if (!options.draft) {
        await db.transaction().execute(async (trx) => {
          await trx.insertInto('campaign').values(row).execute();
          await insertRecipients(trx, dialect, campaign.id, campaign.recipients, now);
        });
        return;
      }
      await db.insertInto('campaign').values(row).execute();
      for (let offset = 0; offset < campaign.recipients.length; offset += 20_000) {
        await db
          .transaction()
          .execute((trx) =>
            insertRecipients(trx, dialect, campaign.id, campaign.recipients.slice(offset, offset + 20_000), now),
          );
      }
    },

    /**
     * A campaign triggered through the API, recorded together with its idempotency key in one
     * transaction: a crash leaves either both or neither, never a key pointing at nothing. When the
     * key was already used, nothing is written and the id it points at is returned.
     */
    async createTriggered(
      campaign: NewCampaign,
      request: { apiKeyId: string; idempotencyKey: string },
      now: number,
    ): Promise<{ created: true } | { created: false; existingId: string }> {
      return db.transaction().execute(async (trx) => {
        const recorded = await trx
          .insertInto('api_request')
          .values({
            api_key_id: request.apiKeyId,
            idempotency_key: request.idempotencyKey,
            message_id: campaign.id,
            created_at: now,
          })
          .onConflict((oc) => oc.doNothing())
          .executeTakeFirst();
        if (Number(recorded.numInsertedOrUpdatedRows ?? 0n) === 0) {
          const existing = await trx
            .selectFrom('api_request')
            .select('message_id')
            .where('api_key_id', '=', request.apiKeyId)
            .where('idempotency_key', '=', request.idempotencyKey)
            .executeTakeFirstOrThrow();
          return { created: false as const, existingId: existing.message_id };
        }
        await trx
          .insertInto('campaign')
          .values(campaignRow(campaign, now, false))
          .execute();
        await insertRecipients(trx, dialect, campaign.id, campaign.recipients, now);
        return { created: true as const };
      });
    },

    async confirm(id: string, now: number): Promise<boolean> {
      const campaign = await db
        .selectFrom('campaign')
        .select(['scheduled_at'])
        .where('id', '=', id)
        .where('status', '=', 'draft')
        .executeTakeFirst();
      if (!campaign) return false;
      const result = await db
        .updateTable('campaign')
        .set({
          status: campaign.scheduled_at && campaign.scheduled_at > now ? 'scheduled' : 'sending',
          created_at: now,
        })
        .where('id', '=', id)
        .where('status', '=', 'draft')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** In batches (see inPurgeBatches): an abandoned 10 MB file's draft holds 650,000 recipients. */
    async purgeDrafts(olderThan: number): Promise<number> {
      const drafts = db
        .selectFrom('campaign')
        .select('id')
        .where('status', '=', 'draft')
        .where('created_at', '<', olderThan);
      await inPurgeBatches(async (limit) => {
        const result = await db
          .deleteFrom('campaign_recipient')
          .where('id', 'in', (eb) =>
            eb.selectFrom('campaign_recipient').select('id').where('campaign_id', 'in', drafts).limit(limit),
          )
          .executeTakeFirst();
        return Number(result.numDeletedRows);
      });
      const deleted = await db
        .deleteFrom('campaign')
        .where('status', '=', 'draft')
        .where('created_at', '<', olderThan)
        .executeTakeFirst();
      return Number(deleted.numDeletedRows);
    },

    /** In batches, found through `campaign_recipient_variables` (only recipients that still hold variables). */
    async purgeRecipientVariables(finishedBefore: number): Promise<number> {
      const finished = db
        .selectFrom('campaign')
        .select('id')
        .where('finished_at', 'is not', null)
        .where('finished_at', '<', finishedBefore);
      return inPurgeBatches(async (limit) => {
        const result = await db
          .updateTable('campaign_recipient')
          .set({ parameters_json: null })
          .where('id', 'in', (eb) =>
            eb
              .selectFrom('campaign_recipient')
              .select('id')
              .where('campaign_id', 'in', finished)
              .where('parameters_json', 'is not', null)
              .limit(limit),
          )
          .executeTakeFirst();
        return Number(result.numUpdatedRows);
      });
    },

    /**
     * Campaign-level variables (the form's values, an API send's name or one-time code) and header
     * media of campaigns finished before then; template, totals and statuses stay.
     */
    async purgeCampaignParameters(finishedBefore: number): Promise<number> {
      const result = await db
        .updateTable('campaign')
        .set({ parameters_json: PURGED_PARAMETERS })
        .where('finished_at', 'is not', null)
        .where('finished_at', '<', finishedBefore)
        .where('parameters_json', '!=', PURGED_PARAMETERS)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async cancel(id: string, now: number): Promise<boolean> {
      const cancelled = await this.finish(id, 'cancelled', now);
      if (cancelled) {
        await db
          .updateTable('campaign_recipient')
          .set({ ...CANCELLED_RECIPIENT, updated_at: now })
          .where('campaign_id', '=', id)
          .where('status', '=', 'queued')
          .execute();
      }
      return cancelled;
    },

    async get(id: string): Promise<CampaignRow | undefined> {
      return db.selectFrom('campaign').selectAll().where('id', '=', id).executeTakeFirst();
    },

    async setSlackMessage(id: string, channelId: string, ts: string): Promise<void> {
      await db
        .updateTable('campaign')
        .set({ slack_channel_id: channelId, slack_message_ts: ts })
        .where('id', '=', id)
        .where('slack_message_ts', 'is', null)
        .execute();
    },

    /** Campaigns with work to do now (scheduled ones become due and switch to sending). */
    async active(now: number): Promise<CampaignRow[]> {
      await db
        .updateTable('campaign')
        .set({ status: 'sending' })
        .where('status', '=', 'scheduled')
        .where('scheduled_at', '<=', now)
        .execute();
      return db.selectFrom('campaign').selectAll().where('status', '=', 'sending').orderBy('created_at').execute();
    },

    async markStarted(id: string, now: number): Promise<void> {
      await db
        .updateTable('campaign')
        .set({ started_at: now })
        .where('id', '=', id)
        .where('started_at', 'is', null)
        .execute();
    },

    async finish(
      id: string,
      status: 'completed' | 'cancelled' | 'failed',
      now: number,
      error: string | null = null,
    ): Promise<boolean> {
      const result = await db
        .updateTable('campaign')
        .set({ status, finished_at: now, error })
        .where('id', '=', id)
        // A paused campaign can be cancelled, and completes if its last sends finish as it pauses.
        .where('status', 'in', ['sending', 'scheduled', 'paused'])
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * Claims up to `limit` recipients to send now: queued ones, and ones whose claimer died mid-send
     * (their lease expired) — the only case that can send twice, bounded by the in-flight count.
     */
    async claimRecipients(
      campaignId: string,
      workerId: string,
      limit: number,
      leaseMs: number,
      now: number,
      skipOptedOutOf: string | null = null,
    ): Promise<CampaignRecipientRow[]> {
      if (limit <= 0) return [];
      // Queued recipients come straight off the (campaign_id, status, id) index; recipients whose
      // claimer died are looked for only when no queued ones are left, so the hot path stays cheap.
      const queued = (executor: Kysely<Database>) =>
        executor
          .selectFrom('campaign_recipient')
          .select('id')
          .where('campaign_id', '=', campaignId)
          .where('status', '=', 'queued')
          .where((eb) => eb.or([eb('retry_at', 'is', null), eb('retry_at', '<=', now)]))
          .orderBy('id')
          .limit(limit);
      const abandoned = (executor: Kysely<Database>) =>
        executor
          .selectFrom('campaign_recipient')
          .select('id')
          .where('campaign_id', '=', campaignId)
          .where('status', '=', 'sending')
          .where('claimed_until', '<', now)
          .orderBy('id')
          .limit(limit);
      // A MARKETING campaign's recipients who opted out meanwhile come back `opted_out` instead of
      // `sending`, in the same statement: one primary-key probe of the list per claimed row, no
      // extra round trip on the sending path.
      const optedOut = sql<boolean>`exists (select 1 from opt_out where opt_out.account_id = ${skipOptedOutOf} and opt_out.phone_number = campaign_recipient.phone_number and opt_out.opted_out = 1)`;
      const claim = (executor: Kysely<Database>) =>
        executor.updateTable('campaign_recipient').set((eb) => ({
          status:
            skipOptedOutOf === null
              ? 'sending'
              : sql<RecipientStatus>`case when ${optedOut} then 'opted_out' else 'sending' end`,
          ...(skipOptedOutOf === null
            ? {}
            : {
                error_code: sql<string | null>`case when ${optedOut} then 'opted_out' else error_code end`,
                error_detail: sql<
                  string | null
                >`case when ${optedOut} then ${OPTED_OUT_AT_SEND_TIME} else error_detail end`,
              }),
          claimed_by: workerId,
          claimed_until: now + leaseMs,
          attempts: eb('attempts', '+', 1),
          updated_at: now,
        }));
      // One statement on either database (PostgreSQL: rows another claimer holds are skipped, and
      // the row lock re-checks the condition, so two claimers never get the same recipient).
      const attempt = async (candidates: typeof queued): Promise<CampaignRecipientRow[]> =>
        claim(db)
          .where('id', 'in', dialect === 'postgres' ? candidates(db).forUpdate().skipLocked() : candidates(db))
          .returningAll()
          .execute();
      const claimed = await attempt(queued);
      if (claimed.length > 0) return claimed;
      return attempt(abandoned);
    },

    async renewLeases(workerId: string, recipientIds: readonly number[], until: number): Promise<void> {
      for (let i = 0; i < recipientIds.length; i += 500) {
        await db
          .updateTable('campaign_recipient')
          .set({ claimed_until: until })
          .where('id', 'in', recipientIds.slice(i, i + 500))
          .where('claimed_by', '=', workerId)
          .where('status', '=', 'sending')
          .execute();
      }
    },

    async recordSentMany(
      sent: readonly { recipientId: number; providerMessageId: string }[],
      now: number,
    ): Promise<void> {
      await markSent(db, sent, now);
    },

    async recordSentWithConversations(
      sent: readonly { recipientId: number; providerMessageId: string; conversation: CampaignConversationEntry }[],
      now: number,
    ): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await markSent(trx, sent, now);
        await recordInConversations(
          trx,
          sent.map((s) => s.conversation),
          now,
        );
      });
    },

    async recordFailed(recipientId: number, code: string, detail: string, now: number): Promise<void> {
      await db
        .updateTable('campaign_recipient')
        .set({
          status: 'failed',
          error_code: code,
          error_detail: detail,
          claimed_by: null,
          claimed_until: null,
          updated_at: now,
        })
        .where('id', '=', recipientId)
        .execute();
    },

    /** Gives a recipient back, to be tried again from `retryAt`: the provider certainly did not send it. */
    async requeue(recipientId: number, retryAt: number, now: number): Promise<void> {
      await db
        .updateTable('campaign_recipient')
        .set({ status: 'queued', claimed_by: null, claimed_until: null, retry_at: retryAt, updated_at: now })
        .where('id', '=', recipientId)
        .where('status', '=', 'sending')
        .execute();
      await cancelIfCampaignCancelled(recipientId, now);
    },

    async release(recipientId: number, now: number): Promise<void> {
      await db
        .updateTable('campaign_recipient')
        .set((eb) => ({
          status: 'queued',
          claimed_by: null,
          claimed_until: null,
          attempts: eb('attempts', '-', 1),
          updated_at: now,
        }))
        .where('id', '=', recipientId)
        .where('status', '=', 'sending')
        .execute();
      await cancelIfCampaignCancelled(recipientId, now);
    },

    /** Applies a delivery status to the recipient with this provider id; its campaign id, or null when none matches. */
    async applyStatus(
      providerMessageId: string,
      status: RecipientStatus,
      error: { code: string; detail: string } | null,
      now: number,
    ): Promise<string | null> {
      const recipient = await db
        .selectFrom('campaign_recipient')
        .select(['id', 'status', 'campaign_id'])
        .where('provider_message_id', '=', providerMessageId)
        .executeTakeFirst();
      if (!recipient) return null;
      if (RECIPIENT_RANK[recipient.status] >= RECIPIENT_RANK[status]) return recipient.campaign_id;
      await db
        .updateTable('campaign_recipient')
        .set({ status, error_code: error?.code ?? null, error_detail: error?.detail ?? null, updated_at: now })
        .where('id', '=', recipient.id)
        .where('status', '=', recipient.status)
        .execute();
      return recipient.campaign_id;
    },

    async counts(campaignId: string): Promise<StatusCounts> {
      const rows = await db
        .selectFrom('campaign_recipient')
        .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
        .where('campaign_id', '=', campaignId)
        .groupBy('status')
        .execute();
      const counts: StatusCounts = {
        queued: 0,
        sending: 0,
        sent: 0,
        delivered: 0,
        read: 0,
        failed: 0,
        cancelled: 0,
        opted_out: 0,
      };
      for (const row of rows) counts[row.status] = Number(row.count);
      return counts;
    },

    async failureReasons(campaignId: string, limit = 10): Promise<{ reason: string; count: number }[]> {
      const rows = await db
        .selectFrom('campaign_recipient')
        .select(['error_detail', (eb) => eb.fn.countAll<number>().as('count')])
        .where('campaign_id', '=', campaignId)
        .where('status', '=', 'failed')
        .groupBy('error_detail')
        .orderBy('count', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => ({ reason: r.error_detail ?? 'unknown', count: Number(r.count) }));
    },

    async recipients(campaignId: string, afterId: number, limit: number): Promise<CampaignRecipientRow[]> {
      return db
        .selectFrom('campaign_recipient')
        .selectAll()
        .where('campaign_id', '=', campaignId)
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(limit)
        .execute();
    },

    async updateTotals(campaignId: string, counts: StatusCounts): Promise<void> {
      await db
        .updateTable('campaign')
        .set({
          sent: counts.sent + counts.delivered + counts.read,
          delivered: counts.delivered + counts.read,
          read: counts.read,
          failed: counts.failed,
        })
        .where('id', '=', campaignId)
        .execute();
    },
  };
}
export type CampaignStore = ReturnType<typeof createCampaignStore>;
