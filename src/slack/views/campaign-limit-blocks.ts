import type { KnownBlock, ModalView } from '@slack/web-api';
import {
  type AllowanceCheck,
  describeQuality,
  describeTier,
  type MessagingTier,
  messagingTier,
  shortTier,
} from '../../bridge/campaigns/messaging-limits.js';
import type { SendingNumberRecord } from '../../bridge/records.js';
import { escapeSlackText } from '../../shared/slack-text.js';

export const CampaignLimitIds = {
  choiceBlock: 'cmp_limit_choice',
  choiceAction: 'choice',
  /** Send what fits now, the rest as the allowance frees up. */
  split: 'split',
  cancel: 'cancel',
} as const;

export type LimitChoice = typeof CampaignLimitIds.split | typeof CampaignLimitIds.cancel;

const count = (n: number) => n.toLocaleString('en-US');

/** A sending number in the picker: its number and name, messaging limit and quality rating. */
export function sendingNumberOptionText(n: SendingNumberRecord): string {
  const name = n.display_name ? ` · ${n.display_name}` : '';
  const tier = messagingTier(n.messaging_limit_tier);
  return `${n.phone_number}${name} · ${shortTier(tier)} · ${describeQuality(n.quality_rating)}`;
}

/** Under the picker, in words, for the number chosen. */
export function sendingNumberLimitLine(n: SendingNumberRecord): string {
  const tier = messagingTier(n.messaging_limit_tier);
  return `${tierLine(tier)} · ${escapeSlackText(qualityLine(n.quality_rating))}`;
}

function tierLine(tier: MessagingTier): string {
  if (tier.kind === 'limited') return `Messaging limit: *${describeTier(tier)}* (${tier.tier})`;
  if (tier.kind === 'unlimited') return 'Messaging limit: *unlimited*';
  return `Messaging limit: *unknown*${tier.tier ? ` (${escapeSlackText(tier.tier)})` : ''}: WhatsApp does not report it, so campaigns are not held to one`;
}

const qualityLine = (rating: string | null) =>
  `${describeQuality(rating).replace('quality', 'Quality')}${rating ? ` (${rating})` : ''}`;

/**
 * The confirmation's messaging-limit section: the tier and quality, how many recipients count
 * against the limit and how many it has left; when the campaign does not fit, a required choice
 * between sending what fits now (the rest as the allowance frees up) and cancelling.
 */
export function withAllowance(view: ModalView, check: AllowanceCheck | null): ModalView {
  if (!check) return view;
  const lines = [`${tierLine(check.tier)} · ${escapeSlackText(qualityLine(check.qualityRating))}`];
  if (check.tier.kind === 'limited' && check.remaining !== null) {
    lines.push(
      `*New customers* (not messaged in the last 24 hours): ${count(check.newRecipients)}` +
        `${check.alreadyReached > 0 ? ` · already messaged (do not count again): ${count(check.alreadyReached)}` : ''}` +
        ` · *allowance left now:* ${count(check.remaining)}`,
    );
  }
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } }];
  let metadata = view.private_metadata;
  let submit = view.submit;
  if (!check.fits && check.remaining !== null && check.tier.kind === 'limited') {
    const later = check.newRecipients - check.remaining;
    blocks.push(
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `:warning: This campaign does not fit WhatsApp's messaging limit today: ${count(later)} of its new customers would go over it.`,
        },
      },
      {
        type: 'input',
        block_id: CampaignLimitIds.choiceBlock,
        label: { type: 'plain_text', text: 'What should happen?' },
        element: {
          type: 'radio_buttons',
          action_id: CampaignLimitIds.choiceAction,
          options: [
            {
              value: CampaignLimitIds.split,
              text: {
                type: 'plain_text',
                text: `Send ${count(check.remaining + check.alreadyReached)} now and the other ${count(later)} as the limit frees up`,
              },
              description: {
                type: 'plain_text',
                text: `It then spans at least ${check.extraDays + 1} days; its progress says when sending resumes.`,
              },
            },
            {
              value: CampaignLimitIds.cancel,
              text: { type: 'plain_text', text: 'Cancel: send nothing' },
            },
          ],
        },
      },
    );
    metadata = JSON.stringify({ ...JSON.parse(view.private_metadata || '{}'), limitChoice: true });
    submit = { type: 'plain_text', text: 'Continue' };
  }
  const all = [...(view.blocks as unknown[])];
  // Before the closing note ("Nothing has been sent yet"), when there is one.
  const last = all[all.length - 1] as { type?: string } | undefined;
  const at = last?.type === 'context' ? all.length - 1 : all.length;
  all.splice(at, 0, ...blocks);
  return { ...view, private_metadata: metadata ?? '', ...(submit ? { submit } : {}), blocks: all as KnownBlock[] };
}

/** The choice made in the confirmation (null: none was offered, or none was made). */
export function limitChoiceFrom(values: unknown): LimitChoice | null {
  const block = (
    values as Record<string, Record<string, { selected_option?: { value?: unknown } | null }>> | undefined
  )?.[CampaignLimitIds.choiceBlock];
  const value = block?.[CampaignLimitIds.choiceAction]?.selected_option?.value;
  return value === CampaignLimitIds.split || value === CampaignLimitIds.cancel ? value : null;
}
