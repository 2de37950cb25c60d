import type { CampaignProgressModel } from '../../bridge/campaigns/campaign-reporter.js';
import { escapeSlackText } from '../../shared/slack-text.js';

export const CampaignActionId = {
  cancel: 'wa_campaign_cancel',
  downloadCsv: 'wa_campaign_csv',
  resume: 'wa_campaign_resume',
} as const;

export function progressBar(done: number, total: number, width = 20): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${Math.floor(ratio * 100)}%`;
}

const formatDuration = (seconds: number) =>
  seconds < 60
    ? `${seconds}s`
    : seconds < 3600
      ? `${Math.floor(seconds / 60)}m ${seconds % 60}s`
      : `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;

export function campaignProgressContent(model: CampaignProgressModel): { text: string; blocks: unknown[] } {
  const { campaign, counts } = model;
  const waitingUntil = campaign.status === 'sending' ? (model.control?.waitingUntil ?? null) : null;
  const total = campaign.total;
  const processed = counts.sent + counts.delivered + counts.read + counts.failed + counts.cancelled;
  const sentTotal = counts.sent + counts.delivered + counts.read;
  const state =
    campaign.status === 'completed'
      ? ':white_check_mark: Finished'
      : campaign.status === 'cancelled'
        ? ':no_entry_sign: Cancelled'
        : campaign.status === 'scheduled'
          ? `:calendar: Scheduled for <!date^${Math.floor((campaign.scheduled_at ?? 0) / 1000)}^{date_short_pretty} {time}|${new Date(campaign.scheduled_at ?? 0).toISOString()}>`
          : campaign.status === 'failed'
            ? `:x: Stopped: ${escapeSlackText(campaign.error ?? 'error')}`
            : campaign.status === 'paused'
              ? `:double_vertical_bar: Paused: ${escapeSlackText(model.control?.pausedReason ?? 'paused')}`
              : waitingUntil !== null
                ? ':hourglass_flowing_sand: Waiting for the messaging limit'
                : ':arrows_counterclockwise: Sending';
  const lines = [
    `*Campaign ${escapeSlackText(campaign.template_name)}* (${escapeSlackText(campaign.template_language)}) by <@${campaign.created_by}> — ${state}`,
    `\`${progressBar(processed, total)}\` ${processed} of ${total}`,
    `Sent *${sentTotal}* · Delivered *${counts.delivered + counts.read}* · Read *${counts.read}* · Failed *${counts.failed}* · Queued *${counts.queued + counts.sending}*${counts.cancelled > 0 ? ` · Cancelled *${counts.cancelled}*` : ''}`,
  ];
  if (counts.cancelled > 0)
    lines.push(`${counts.cancelled} recipient(s) were not sent because the campaign was cancelled.`);
  const dailyLimit = model.control?.dailyLimit ?? null;
  if (waitingUntil !== null && dailyLimit !== null) {
    lines.push(
      `This campaign spans several days: WhatsApp allows this account ${dailyLimit.toLocaleString('en-US')} new customers a day (${escapeSlackText(model.control?.limitTier ?? '')}), and that is reached. ` +
        `Sending resumes <!date^${Math.floor(waitingUntil / 1000)}^{date_short_pretty} {time}|${new Date(waitingUntil).toISOString()}>; ` +
        `${counts.queued + counts.sending} recipient(s) wait.`,
    );
  } else if (campaign.status === 'sending' && model.etaSeconds !== null) {
    lines.push(`About ${formatDuration(model.etaSeconds)} left (${model.ratePerSecond?.toFixed(1)} msg/s)`);
  }
  if (campaign.status === 'paused')
    lines.push('Nothing more is sent until a marketer resumes it (*Resume*) or cancels it.');
  if (campaign.invalid_count > 0) lines.push(`${campaign.invalid_count} invalid number(s) were skipped.`);
  if (model.failureReasons.length > 0) {
    lines.push('*Failures:*');
    for (const reason of model.failureReasons) lines.push(`• ${reason.count} × ${escapeSlackText(reason.reason)}`);
  }
  const buttons: unknown[] = [];
  if (campaign.status === 'paused') buttons.push(resumeButton(campaign.id));
  if (campaign.status === 'sending' || campaign.status === 'scheduled' || campaign.status === 'paused') {
    buttons.push(cancelButton(campaign.id));
  }
  buttons.push({
    type: 'button',
    action_id: CampaignActionId.downloadCsv,
    text: { type: 'plain_text', text: 'Per-recipient CSV' },
    value: campaign.id,
  });
  return {
    text: `Campaign ${escapeSlackText(campaign.template_name)}: ${processed}/${total} processed, ${counts.failed} failed${counts.cancelled > 0 ? `, ${counts.cancelled} cancelled` : ''}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n').slice(0, 3000) } },
      { type: 'actions', block_id: `campaign:${campaign.id}`, elements: buttons },
    ],
  };
}

export function resumeButton(campaignId: string) {
  return {
    type: 'button',
    action_id: CampaignActionId.resume,
    style: 'primary',
    text: { type: 'plain_text', text: 'Resume' },
    value: campaignId,
  };
}

export function cancelButton(campaignId: string) {
  return {
    type: 'button',
    action_id: CampaignActionId.cancel,
    style: 'danger',
    text: { type: 'plain_text', text: 'Cancel' },
    value: campaignId,
    confirm: {
      title: { type: 'plain_text', text: 'Cancel the campaign?' },
      text: { type: 'plain_text', text: 'Recipients not yet sent will not receive the message.' },
      confirm: { type: 'plain_text', text: 'Cancel campaign' },
      deny: { type: 'plain_text', text: 'Keep it' },
    },
  };
}
