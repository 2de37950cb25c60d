import type { CampaignReporter } from '../../bridge/campaigns/campaign-reporter.js';
import type { RoleCheck } from '../../bridge/permissions.js';
import type { CampaignStore } from '../../db/stores/campaign-store.js';
import { csvLine } from '../../shared/csv.js';
import { describeFileDelivery, type UserFileDelivery } from '../../slack/user-file-delivery.js';

const RECIPIENTS_PAGE = 5000;

/** The progress message's buttons: Cancel and the per-recipient CSV, both for marketers only. */
export function createCampaignReports(deps: {
  campaigns: CampaignStore;
  reporter: CampaignReporter;
  marketers: RoleCheck;
  deliverFile: UserFileDelivery;
  now: () => number;
  /** Numbers that wrote back within 72 hours of the campaign's message. */
  repliedNumbers?(campaignId: string): Promise<Set<string>>;
}) {
  const { campaigns, marketers } = deps;
  return {
    async cancel(campaignId: string, userId: string): Promise<string> {
      if (!(await marketers(userId))) return `:no_entry: Only ${marketers.holders} can cancel campaigns.`;
      if (!(await campaigns.get(campaignId))) return 'That campaign no longer exists.';
      const cancelled = await campaigns.cancel(campaignId, deps.now());
      await deps.reporter.now(campaignId);
      return cancelled
        ? 'Campaign cancelled: recipients not yet sent will not receive it.'
        : 'This campaign has already finished.';
    },

    /** The CSV goes to the marketer's DM (or, if Slack refuses it, behind a link); returns what to tell them. */
    async exportCsv(campaignId: string, userId: string): Promise<string> {
      if (!(await marketers(userId))) return `:no_entry: Only ${marketers.holders} can export campaign reports.`;
      const campaign = await campaigns.get(campaignId);
      if (!campaign) return 'That campaign no longer exists.';
      const replied = (await deps.repliedNumbers?.(campaignId)) ?? new Set<string>();
      // Each page's lines become bytes at once: the export holds its CSV once, not its rows and strings too.
      const chunks = [
        Buffer.from(
          csvLine([
            'phone_number',
            'status',
            'provider_message_id',
            'error_code',
            'error_detail',
            'attempts',
            'replied',
          ]),
        ),
      ];
      let after = 0;
      for (;;) {
        const page = await campaigns.recipients(campaignId, after, RECIPIENTS_PAGE);
        if (page.length === 0) break;
        let lines = '';
        for (const r of page)
          lines += csvLine([
            r.phone_number,
            r.status,
            r.provider_message_id,
            r.error_code,
            r.error_detail,
            r.attempts,
            replied.has(r.phone_number) ? 'yes' : 'no',
          ]);
        chunks.push(Buffer.from(lines));
        after = page[page.length - 1]?.id ?? after;
      }
      const filename = `campaign-${campaign.template_name}-${campaignId.slice(0, 8)}.csv`;
      const outcome = await deps.deliverFile(
        userId,
        {
          bytes: Buffer.concat(chunks),
          filename,
          title: `Campaign ${campaign.template_name} — per-recipient status`,
          mimeType: 'text/csv',
        },
        'Per-recipient status of your campaign.',
      );
      return describeFileDelivery(outcome, 'The per-recipient CSV', filename);
    },
  };
}
