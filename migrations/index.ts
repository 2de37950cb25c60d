import type { Migration } from 'kysely';
import * as createSchema from './2026_11_24_0900_create_schema.js';
import * as sendBudget from './2026_11_24_1300_send_budget.js';
import * as slackPostIntents from './2026_12_01_0900_slack_post_intents.js';
import * as recipientRetryAt from './2026_12_01_1200_campaign_recipient_retry_at.js';
import * as sendSchedule from './2026_12_01_1300_send_schedule.js';
import * as userDownloads from './2026_12_04_1000_user_downloads.js';
import * as apiKeyExpiry from './2026_12_04_1100_api_key_expiry.js';
import * as quickReplies from './2026_12_04_1300_quick_replies.js';
import * as messageReactions from './2026_12_04_1400_message_reactions.js';
import * as teamInbox from './2026_12_04_1500_team_inbox.js';
import * as optOuts from './2026_12_04_1600_opt_outs.js';
import * as queueChanges from './2026_12_04_1600_queue_changes.js';
import * as campaignLimits from './2026_12_04_1700_campaign_limits.js';
import * as campaignTestSends from './2026_12_04_1800_campaign_test_sends.js';
import * as scaleIndexes from './2026_12_04_1900_scale_indexes.js';
import * as contactSearch from './2026_12_05_0900_contact_search.js';

/**
 * Every migration, in order. Listed statically (not read from the folder at run time) so they load
 * the same way under tsx, vitest and any bundler. Add new files here.
 */
export const migrations: Record<string, Migration> = {
  '2026_11_24_0900_create_schema': createSchema,
  '2026_11_24_1300_send_budget': sendBudget,
  '2026_12_01_0900_slack_post_intents': slackPostIntents,
  '2026_12_01_1200_campaign_recipient_retry_at': recipientRetryAt,
  '2026_12_01_1300_send_schedule': sendSchedule,
  '2026_12_04_1000_user_downloads': userDownloads,
  '2026_12_04_1100_api_key_expiry': apiKeyExpiry,
  '2026_12_04_1300_quick_replies': quickReplies,
  '2026_12_04_1400_message_reactions': messageReactions,
  '2026_12_04_1500_team_inbox': teamInbox,
  '2026_12_04_1600_opt_outs': optOuts,
  '2026_12_04_1600_queue_changes': queueChanges,
  '2026_12_04_1700_campaign_limits': campaignLimits,
  '2026_12_04_1800_campaign_test_sends': campaignTestSends,
  '2026_12_04_1900_scale_indexes': scaleIndexes,
  '2026_12_05_0900_contact_search': contactSearch,
};
