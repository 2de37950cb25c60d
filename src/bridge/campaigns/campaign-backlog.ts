import { errorIdNote, logErrorWithId, newErrorId } from '../../shared/error-id.js';
import type { Logger } from '../../shared/logger.js';
import type { MessageTemplate } from '../../whatsapp/whatsapp-provider.js';
import type { TemplateCatalog } from '../templates.js';
import type { RecipientLeases } from './campaign-leases.js';
import { createCampaignMessages, type PreparedRecipient } from './campaign-messages.js';
import type { CampaignRecipientRecord, CampaignRecord, CampaignRepository } from './campaign-ports.js';
import type { MessagingAllowance } from './messaging-limits.js';

/** How long a campaign waits before asking again for a template list the provider could not give. */
const CATALOG_RETRY_MS = 5_000;

/** A recipient this worker claimed, with its campaign. */
export type ClaimedRecipient = { campaign: CampaignRecord; recipient: CampaignRecipientRecord };

export type CampaignBacklogDeps = {
  campaigns: CampaignRepository;
  catalog: TemplateCatalog;
  workerId: string;
  leaseMs: number;
  /** How long a campaign with nothing to claim (but not done) waits before it is looked at again. */
  idleDelayMs: number;
  now: () => number;
  logger: Logger;
  /** Where claimed recipients are held (and their leases renewed) until they are settled. */
  leases: RecipientLeases;
  /** A claimed recipient is settled without being sent (its message could not be prepared). */
  settle(claimed: ClaimedRecipient): void;
  /** A claimed recipient goes back to the queue unsent (a database write failed on the way). */
  release(claimed: ClaimedRecipient): void;
  /** This worker finished the campaign. */
  onFinished(campaignId: string): void;
  /** A campaign has nothing left: the list of active campaigns is out of date. */
  onActiveChanged(): void;
  /** Campaigns held to a messaging limit: when one that has nothing to claim may claim again. */
  allowance?: MessagingAllowance;
  /** A campaign started waiting for its messaging limit to free up (its progress should say so). */
  onWaiting?(campaignId: string): void;
  /**
   * The account whose suppression list holds for this campaign (a MARKETING one), null for none:
   * recipients who opted out since it was confirmed are claimed as opted out and never sent.
   */
  suppressionFor?(campaign: CampaignRecord): string | null;
};

/** A campaign waiting for its messaging limit looks again at least this often (the tier may have grown). */
const ALLOWANCE_RECHECK_MS = 60_000;

/**
 * Claims campaign recipients under a lease into sending numbers' backlogs, their messages built,
 * and finishes campaigns that have nothing left.
 *
 * Longer than 150 lines on purpose: the steps of one flow as short inner functions sharing its
 * dependencies; splitting them into modules would only pass the same dependencies around.
 */
export function createCampaignBacklog(deps: CampaignBacklogDeps) {
  const { campaigns, logger } = deps;
  const messages = createCampaignMessages();
  /** Campaigns with nothing to claim right now (the rest is in flight or backing off), until then. */
  const quietUntil = new Map<string, number>();
  const started = new Set<string>();
  /**
   * Per campaign, one error id per cause of messages that could not be built: the progress message
   * groups failures by their reason, so a thousand recipients failing alike show as one line.
   */
  const buildErrorIds = new Map<string, Map<string, string>>();
  /** The time each campaign was last seen waiting for its messaging limit until. */
  const waiting = new Map<string, number>();

  /** Claims up to `room` recipients for this number's backlog from its campaigns, oldest campaign first. */
  async function refill(
    lane: { backlog: PreparedRecipient[] },
    laneCampaigns: CampaignRecord[],
    room: number,
  ): Promise<void> {
    for (const campaign of laneCampaigns) {
      if (room <= 0) return;
      if ((quietUntil.get(campaign.id) ?? 0) > deps.now()) continue;
      const found = await findTemplate(campaign);
      if (!found) continue;
      const claimed = await claim(campaign, room);
      if (claimed.length === 0) {
        await finishIfDone(campaign);
        continue;
      }
      room -= claimed.length;
      for (const [index, recipient] of claimed.entries()) {
        if (recipient.status === 'opted_out') {
          deps.settle({ campaign, recipient });
          continue;
        }
        let prepared: PreparedRecipient | null;
        try {
          prepared = await prepare(campaign, recipient, found.template);
        } catch (error) {
          // Recording a failure failed: the rest of the claim goes back instead of staying held
          // (its leases renewed) without ever reaching the backlog.
          for (const rest of claimed.slice(index)) deps.release({ campaign, recipient: rest });
          throw error;
        }
        if (prepared) lane.backlog.push(prepared);
        else deps.settle({ campaign, recipient });
      }
    }
  }

  /** The campaign's template (undefined: no longer approved), or null while the template list is unavailable. */
  async function findTemplate(campaign: CampaignRecord): Promise<{ template: MessageTemplate | undefined } | null> {
    // Looked up before claiming: while the provider cannot list templates the campaign waits,
    // instead of failing its recipients as if the template had been withdrawn.
    try {
      return { template: await deps.catalog.find(campaign.template_name, campaign.template_language) };
    } catch (error) {
      logger.warn(
        { err: String(error), campaignId: campaign.id },
        'the template list is unavailable; the campaign waits for it',
      );
      quietUntil.set(campaign.id, deps.now() + CATALOG_RETRY_MS);
      return null;
    }
  }

  async function claim(campaign: CampaignRecord, limit: number): Promise<CampaignRecipientRecord[]> {
    const claimed = await campaigns.claimRecipients(
      campaign.id,
      deps.workerId,
      limit,
      deps.leaseMs,
      deps.now(),
      deps.suppressionFor?.(campaign) ?? null,
    );
    if (claimed.length === 0) return claimed;
    for (const recipient of claimed) deps.leases.hold(recipient.id);
    if (!started.has(campaign.id)) {
      try {
        await campaigns.markStarted(campaign.id, deps.now());
      } catch (error) {
        for (const recipient of claimed) deps.release({ campaign, recipient });
        throw error;
      }
      started.add(campaign.id);
    }
    return claimed;
  }

  /** A claimed recipient's message, or null when it cannot be built (the recipient is failed). */
  async function prepare(
    campaign: CampaignRecord,
    recipient: CampaignRecipientRecord,
    template: MessageTemplate | undefined,
  ): Promise<PreparedRecipient | null> {
    try {
      if (!template) {
        await campaigns.recordFailed(
          recipient.id,
          'template_missing',
          'the template is no longer approved',
          deps.now(),
        );
        return null;
      }
      return messages.prepare(campaign, recipient, template);
    } catch (error) {
      const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      const ids = buildErrorIds.get(campaign.id) ?? new Map<string, string>();
      buildErrorIds.set(campaign.id, ids);
      const errorId = logErrorWithId(
        logger,
        error,
        'preparing a campaign message failed',
        { campaignId: campaign.id, recipientId: recipient.id },
        ids.get(cause) ?? newErrorId(),
      );
      ids.set(cause, errorId);
      await campaigns.recordFailed(
        recipient.id,
        'invalid_message',
        `the message could not be built from the template and its values, so it was not sent; give whoever runs the bridge this error id ${errorIdNote(errorId)}`,
        deps.now(),
      );
      return null;
    }
  }

  /** Nothing claimable: finish the campaign when nothing is left, else look again a little later. */
  async function finishIfDone(campaign: CampaignRecord): Promise<void> {
    const counts = await campaigns.counts(campaign.id);
    if (counts.queued === 0 && counts.sending === 0) {
      await campaigns.updateTotals(campaign.id, counts);
      if (await campaigns.finish(campaign.id, 'completed', deps.now())) deps.onFinished(campaign.id);
      messages.forget(campaign.id);
      buildErrorIds.delete(campaign.id);
      started.delete(campaign.id);
      deps.onActiveChanged();
      waiting.delete(campaign.id);
      return;
    }
    const now = deps.now();
    const until = (await deps.allowance?.waitingUntil(campaign.id, now)) ?? null;
    if (until !== null) {
      // Nothing more may go out before the messaging limit frees up: no point asking sooner.
      quietUntil.set(campaign.id, Math.min(until, now + ALLOWANCE_RECHECK_MS));
      if (waiting.get(campaign.id) !== until) {
        waiting.set(campaign.id, until);
        deps.onWaiting?.(campaign.id);
      }
      return;
    }
    waiting.delete(campaign.id);
    quietUntil.set(campaign.id, now + deps.idleDelayMs);
  }

  return {
    refill,
    /** Looks at the campaign again on the next refill: it may be done now, or have a retry due. */
    lookAgain(campaignId: string): void {
      quietUntil.delete(campaignId);
    },
    /** Looks at every campaign again on the next refill. */
    lookAgainAtAll(): void {
      quietUntil.clear();
    },
  };
}

export type CampaignBacklog = ReturnType<typeof createCampaignBacklog>;
