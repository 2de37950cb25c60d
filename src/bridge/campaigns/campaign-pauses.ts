import type { Logger } from '../../shared/logger.js';
import type { RoleCheck } from '../permissions.js';
import { type CampaignRecord, isApiTriggered } from './campaign-ports.js';

/** Who paused a campaign when no person did (a spam-rate error, its template paused by Meta). */
export const PAUSED_BY_SYSTEM = 'system';

/** A campaign's pause and messaging limit, as stored (null fields: not paused / not limited). */
export type CampaignControl = {
  pausedReason: string | null;
  pausedAt: number | null;
  pausedBy: string | null;
  /** The sending number's tier at confirmation (TIER_1K…), null when the campaign is not limited. */
  limitTier: string | null;
  /** New customers a day the campaign's account may reach; null: not limited. */
  dailyLimit: number | null;
  /** While the campaign waits for the limit to free up: when it next does. */
  waitingUntil: number | null;
};

/** What pausing needs from storage (implemented by src/db/stores/campaign-control-store.ts). */
export interface CampaignControlRepository {
  get(id: string): Promise<CampaignRecord | undefined>;
  /**
   * Pauses a campaign that is sending or scheduled (status `paused`, which no replica's dispatcher
   * claims recipients for), with the reason; false when it was not running (finished, already paused).
   */
  pause(campaignId: string, reason: string, pausedBy: string, now: number): Promise<boolean>;
  /** Back to sending (or scheduled, if its time has not come); false when it was not paused. */
  resume(campaignId: string, now: number): Promise<boolean>;
  control(campaignId: string): Promise<CampaignControl | null>;
  /** Campaigns sending, scheduled or paused with this template (any language when null). */
  runningWithTemplate(templateName: string, language: string | null): Promise<CampaignRecord[]>;
}

/** Tells the campaign's marketer it was paused and why, with Resume and Cancel. */
export interface CampaignPauseNotice {
  tellPaused(campaign: CampaignRecord, reason: string): Promise<void>;
}

/**
 * Pausing and resuming campaigns. The pause lives in the database (the campaign's status), so every
 * replica's dispatcher stops claiming its recipients within a moment, and a restart keeps it paused;
 * recipients already being sent finish, the rest stay queued until a marketer resumes or cancels.
 */
export function createCampaignPauses(deps: {
  campaigns: CampaignControlRepository;
  notice: CampaignPauseNotice;
  marketers: RoleCheck;
  /** Shows the campaign's progress message again (its state, the reason, the buttons). */
  showProgress(campaignId: string): Promise<void>;
  /** Lets the dispatcher look at the campaigns again at once. */
  wake(): void;
  now: () => number;
  logger: Logger;
}) {
  const { campaigns, logger } = deps;

  /**
   * Pauses the campaign and says why: in its progress message and to the marketer who launched it.
   * Returns false when there was nothing to pause (finished, cancelled, already paused, unknown).
   * A template triggered through the HTTP API is never paused: it has no marketer to resume it.
   */
  async function pauseCampaign(campaignId: string, reason: string, pausedBy: string = PAUSED_BY_SYSTEM) {
    const campaign = await campaigns.get(campaignId);
    if (!campaign || isApiTriggered(campaign)) return false;
    if (!(await campaigns.pause(campaignId, reason, pausedBy, deps.now()))) return false;
    logger.info({ campaignId, reason }, 'campaign paused');
    deps.wake();
    await deps.showProgress(campaignId).catch((error: unknown) => {
      logger.warn({ err: String(error), campaignId }, 'showing the paused campaign failed');
    });
    await deps.notice.tellPaused(campaign, reason).catch((error: unknown) => {
      logger.warn({ err: String(error), campaignId }, 'telling the marketer about the pause failed');
    });
    return true;
  }

  return {
    pauseCampaign,

    /**
     * Pauses every running campaign sending this template (any language when `language` is null),
     * e.g. when Meta pauses or disables it; returns the ids paused.
     */
    async pauseCampaignsUsingTemplate(templateName: string, language: string | null, reason: string) {
      const paused: string[] = [];
      for (const campaign of await campaigns.runningWithTemplate(templateName, language))
        if (await pauseCampaign(campaign.id, reason)) paused.push(campaign.id);
      return paused;
    },

    /** The Resume button: a marketer sends the rest; returns what to tell them. */
    async resume(campaignId: string, userId: string): Promise<string> {
      if (!(await deps.marketers(userId))) return `:no_entry: Only ${deps.marketers.holders} can resume campaigns.`;
      const campaign = await campaigns.get(campaignId);
      if (!campaign) return 'That campaign no longer exists.';
      if (!(await campaigns.resume(campaignId, deps.now()))) return 'This campaign is not paused.';
      logger.info({ campaignId, userId }, 'campaign resumed');
      deps.wake();
      await deps.showProgress(campaignId);
      return 'Campaign resumed: the recipients not yet sent will receive it.';
    },
  };
}
export type CampaignPauses = ReturnType<typeof createCampaignPauses>;
