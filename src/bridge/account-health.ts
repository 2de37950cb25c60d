import type { Logger } from '../shared/logger.js';
import { escapeSlackText } from '../shared/slack-text.js';
import type { AccountHealthChange, AccountHealthEvent } from '../whatsapp/whatsapp-provider.js';
import { describeTier, messagingTier } from './campaigns/messaging-limits.js';
import type { SendingNumberRecord } from './records.js';

/**
 * What the account health webhooks change in the bridge, and how they are told to people: the
 * sending numbers' health (the number picker), the template list (the template pickers), the
 * running campaigns of a template Meta stopped, and a plain-words alert in the ops channel.
 */

/** Template statuses in which Meta refuses to send the template. */
const NOT_SENDABLE = new Set(['PAUSED', 'DISABLED', 'REJECTED', 'DELETED', 'PENDING_DELETION', 'ARCHIVED', 'LOCKED']);

/** A template's status change, for the template catalog: the status a picker should now see, if any. */
export function catalogStatusFor(status: string): string | null {
  if (status === 'APPROVED' || status === 'REINSTATED') return 'APPROVED';
  if (NOT_SENDABLE.has(status) || status === 'PENDING' || status === 'IN_APPEAL') return status;
  return null; // FLAGGED (a warning: still sendable), LIMIT_EXCEEDED, and anything new: no change
}

export const stopsSending = (status: string): boolean => NOT_SENDABLE.has(status);

export type NumberHealthUpdate = {
  health?: string;
  healthReason?: string | null;
  qualityRating?: string | null;
  messagingLimitTier?: string | null;
};

export type AccountHealthDeps = {
  numbers: {
    all(): Promise<SendingNumberRecord[]>;
    update(id: string, update: NumberHealthUpdate): Promise<void>;
  };
  templates: {
    /** The pickers see the new status at once. */
    applyStatus(change: { templateId: string | null; name: string; language: string; status: string }): void;
  };
  campaigns: {
    /** Pauses the campaigns sending (or about to) with this template; their ids. */
    pauseUsingTemplate(template: { name: string; language: string }, reason: string): Promise<string[]>;
  };
  /** Posts to the ops channel. */
  alert(text: string): Promise<void>;
  /** The WhatsApp Business Account the bridge sends from, when the provider names it (Meta's WABA id). */
  accountId: string | null;
  logger: Logger;
};

/** Messaging limit tiers in words ("1,000 new customers a day"). */
export function tierInWords(reported: string | null): string | null {
  if (!reported) return null;
  const tier = messagingTier(reported);
  if (tier.kind === 'limited') return describeTier(tier);
  if (tier.kind === 'unlimited') return 'no daily limit on new customers';
  if (tier.tier === 'TIER_NOT_SET') return 'not set yet (the number has not sent a message)';
  return escapeSlackText(reported);
}

/** A Meta date: epoch seconds as a Slack date (shown in each reader's time zone), or its words. */
function when(value: string | null): string | null {
  if (!value) return null;
  if (/^\d{9,11}$/.test(value))
    return `<!date^${value}^{date_short_pretty} {time}|${new Date(Number(value) * 1000).toISOString()}>`;
  return escapeSlackText(value);
}

/** A Meta date in plain text (for the number picker, which shows it as is). */
const plainDate = (value: string) =>
  /^\d{9,11}$/.test(value)
    ? `${new Date(Number(value) * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`
    : value;

const code = (value: string) => `\`${escapeSlackText(value.replace(/`/g, "'")).slice(0, 120)}\``;

const templateLabel = (c: { name: string; language: string }) => `${code(c.name)} (${escapeSlackText(c.language)})`;

type Alert = { headline: string; meaning: string; todo: string | null };

const format = (alert: Alert): string =>
  [alert.headline, `*What it means:* ${alert.meaning}`, ...(alert.todo ? [`*What to do:* ${alert.todo}`] : [])].join(
    '\n',
  );

function numberQualityAlert(c: Extract<AccountHealthChange, { type: 'number_quality' }>, number: string): Alert {
  const limit = tierInWords(c.currentLimit);
  const limitNote = limit ? ` Its messaging limit is ${limit}.` : '';
  switch (c.event) {
    case 'FLAGGED':
      return {
        headline: `:warning: *The quality rating of ${number} dropped to low.*`,
        meaning: `Customers have been blocking or reporting its messages. If its quality does not improve within 7 days, Meta lowers its messaging limit.${limitNote}`,
        todo: 'Slow down or pause marketing campaigns from this number, send only to customers who asked for your messages, and check that its templates are relevant and easy to opt out of.',
      };
    case 'UNFLAGGED':
      return {
        headline: `:white_check_mark: *The quality rating of ${number} is no longer low.*`,
        meaning: `Meta will not lower its messaging limit for now.${limitNote}`,
        todo: null,
      };
    case 'DOWNGRADE':
      return {
        headline: `:warning: *Meta lowered the messaging limit of ${number}${limit ? ` to ${limit}` : ''}.*`,
        meaning: `Its quality stayed low, so it may now message fewer new customers each day${c.oldLimit ? ` (it was ${tierInWords(c.oldLimit)})` : ''}.`,
        todo: 'Keep campaigns from this number within the new limit, and improve its quality before sending more.',
      };
    case 'UPGRADE':
      return {
        headline: `:tada: *Meta raised the messaging limit of ${number}${limit ? ` to ${limit}` : ''}.*`,
        meaning: `It may now message more new customers each day${c.oldLimit ? ` (it was ${tierInWords(c.oldLimit)})` : ''}.`,
        todo: null,
      };
    default:
      return {
        headline: `:information_source: *Meta updated ${number}: ${escapeSlackText(c.event.toLowerCase().replace(/_/g, ' '))}.*`,
        meaning: limit
          ? `Its messaging limit is ${limit}.`
          : 'Meta reported a change of its messaging limit or throughput.',
        todo: null,
      };
  }
}

function templateAlert(c: Extract<AccountHealthChange, { type: 'template_status' }>, paused: string[]): Alert {
  const label = templateLabel(c);
  const reason = c.reason ? ` (reason given by Meta: ${escapeSlackText(c.reason)})` : '';
  const metaSays = c.detail ? ` Meta says: “${escapeSlackText(c.detail.slice(0, 300))}”` : '';
  const pausedNote =
    paused.length > 0
      ? ` ${paused.length === 1 ? 'The campaign' : `${paused.length} campaigns`} sending it ${paused.length === 1 ? 'was' : 'were'} paused.`
      : '';
  switch (c.status) {
    case 'APPROVED':
      return {
        headline: `:white_check_mark: *Template ${label} is approved.*`,
        meaning: `It can be sent: it is offered in \`/wa send\` and the template picker.${metaSays}`,
        todo: null,
      };
    case 'REINSTATED':
      return {
        headline: `:white_check_mark: *Template ${label} was reinstated.*`,
        meaning: `It can be sent again and is offered in the pickers.${metaSays}`,
        todo: 'Campaigns paused because of it stay paused until someone resumes them.',
      };
    case 'REJECTED':
      return {
        headline: `:no_entry: *Template ${label} was rejected${reason}.*`,
        meaning: `It cannot be sent, and the pickers do not offer it.${pausedNote}${metaSays}`,
        todo: 'Edit it in WhatsApp Manager and submit it again, or request a review if you think the decision is wrong.',
      };
    case 'PAUSED':
      return {
        headline: `:double_vertical_bar: *Meta paused template ${label}${reason}.*`,
        meaning: `Customers blocked or reported it too often. It cannot be sent while paused (Meta pauses for 3 hours the first time, 6 hours the second) and the pickers do not offer it.${pausedNote}${metaSays}`,
        todo: 'Review who receives it and what it says before using it again; a third pause disables it.',
      };
    case 'DISABLED':
      return {
        headline: `:no_entry: *Meta disabled template ${label}${reason}.*`,
        meaning: `It can no longer be sent and the pickers do not offer it.${pausedNote}${metaSays}`,
        todo: 'Create a new template with different content, and send it only to customers who asked for it.',
      };
    case 'FLAGGED':
      return {
        headline: `:warning: *Template ${label} has a low quality rating${c.disableDate ? ` and will be disabled on ${when(c.disableDate)}` : ''}.*`,
        meaning: `It can still be sent, but customers block or report it. Unless its quality improves${c.disableDate ? ' before that date' : ''}, Meta disables it.${metaSays}`,
        todo: 'Send it less, only to customers who asked for it, or replace it with a better one.',
      };
    default:
      return {
        headline: `:information_source: *Template ${label} is now ${escapeSlackText(c.status.toLowerCase().replace(/_/g, ' '))}${reason}.*`,
        meaning: stopsSending(c.status)
          ? `It cannot be sent, and the pickers do not offer it.${pausedNote}${metaSays}`
          : `Meta changed its status.${metaSays}`,
        todo: null,
      };
  }
}

const RESTRICTIONS: Record<string, string> = {
  RESTRICTED_ADD_PHONE_NUMBER_ACTION: 'adding phone numbers',
  RESTRICTED_BIZ_INITIATED_MESSAGING: 'starting conversations (templates and campaigns)',
  RESTRICTED_CUSTOMER_INITIATED_MESSAGING: 'replying to customers',
};

function accountAlert(c: Extract<AccountHealthChange, { type: 'account' }>, numbersAffected: string[]): Alert {
  const affected =
    numbersAffected.length > 0 ? ` Marked unavailable for campaigns: ${numbersAffected.join(', ')}.` : '';
  switch (c.event) {
    case 'VERIFIED_ACCOUNT':
      return {
        headline: `:white_check_mark: *The WhatsApp Business Account is verified${c.phoneNumber ? ` (${c.phoneNumber})` : ''}.*`,
        meaning: 'Meta verified the business behind the account.',
        todo: null,
      };
    case 'DISABLED_UPDATE': {
      const date = when(c.banDate);
      if (c.banState === 'SCHEDULE_FOR_DISABLE')
        return {
          headline: `:rotating_light: *Meta scheduled the WhatsApp Business Account to be disabled${date ? ` on ${date}` : ''}.*`,
          meaning:
            'It broke WhatsApp Business or Commerce policy. Once disabled, none of its numbers can send or receive messages.',
          todo: 'Read the notice in WhatsApp Manager (Account quality) and request a review before that date.',
        };
      if (c.banState === 'REINSTATE')
        return {
          headline: ':white_check_mark: *Meta reinstated the WhatsApp Business Account.*',
          meaning: 'Its numbers can send again once Meta lists them as connected (the bridge checks every 10 minutes).',
          todo: null,
        };
      return {
        headline: `:rotating_light: *Meta disabled the WhatsApp Business Account${date ? ` (${date})` : ''}.*`,
        meaning: `None of its numbers can send messages.${affected}`,
        todo: 'Read the notice in WhatsApp Manager (Account quality) and request a review.',
      };
    }
    case 'ACCOUNT_RESTRICTION': {
      const items = c.restrictions.map((r) => {
        const what = RESTRICTIONS[r.type] ?? escapeSlackText(r.type.toLowerCase().replace(/_/g, ' '));
        const until = when(r.expiration);
        return `${what}${until ? ` until ${until}` : ''}`;
      });
      return {
        headline: `:rotating_light: *Meta restricted the WhatsApp Business Account${c.phoneNumber ? ` (${c.phoneNumber})` : ''}.*`,
        meaning: `It may not use: ${items.join('; ') || 'some features'}.${affected}`,
        todo: 'Read the notice in WhatsApp Manager (Account quality); stop campaigns until the restriction ends.',
      };
    }
    case 'ACCOUNT_VIOLATION':
      return {
        headline: `:warning: *Meta found a policy violation on the WhatsApp Business Account${c.violationType ? ` (${escapeSlackText(c.violationType)})` : ''}.*`,
        meaning: 'Further violations can restrict or disable the account.',
        todo: 'Read the notice in WhatsApp Manager (Account quality) and change what caused it.',
      };
    default:
      return {
        headline: `:information_source: *WhatsApp Business Account update: ${escapeSlackText(c.event.toLowerCase().replace(/_/g, ' '))}.*`,
        meaning: 'Meta reported a change to the account; see WhatsApp Manager for details.',
        todo: null,
      };
  }
}

function reviewAlert(decision: string): Alert {
  if (decision === 'APPROVED')
    return {
      headline: ':white_check_mark: *Meta approved the review of the WhatsApp Business Account.*',
      meaning: 'The account can send messages.',
      todo: null,
    };
  if (decision === 'REJECTED')
    return {
      headline: ':no_entry: *Meta rejected the review of the WhatsApp Business Account.*',
      meaning: 'The account cannot send messages until it passes a review.',
      todo: 'Check the business information in WhatsApp Manager and request a new review.',
    };
  return {
    headline: `:information_source: *The review of the WhatsApp Business Account is ${escapeSlackText(decision.toLowerCase())}.*`,
    meaning: 'Meta has not decided yet.',
    todo: null,
  };
}

function nameAlert(c: Extract<AccountHealthChange, { type: 'number_name' }>, number: string): Alert {
  const name = c.requestedName ? ` “${escapeSlackText(c.requestedName)}”` : '';
  if (c.decision === 'APPROVED')
    return {
      headline: `:white_check_mark: *Meta approved the display name${name} of ${number}.*`,
      meaning: 'Customers see this name on its messages.',
      todo: null,
    };
  if (c.decision === 'REJECTED')
    return {
      headline: `:no_entry: *Meta rejected the display name${name} of ${number}${c.rejectionReason ? ` (${escapeSlackText(c.rejectionReason)})` : ''}.*`,
      meaning: 'The number keeps its previous name.',
      todo: 'Choose a name that matches the business and submit it again in WhatsApp Manager.',
    };
  return {
    headline: `:information_source: *The display name${name} of ${number} is ${escapeSlackText(c.decision.toLowerCase())}.*`,
    meaning: 'Meta has not decided yet.',
    todo: null,
  };
}

export function createAccountHealth(deps: AccountHealthDeps) {
  const { logger } = deps;

  async function knownNumber(phoneNumber: string | null): Promise<SendingNumberRecord | undefined> {
    if (!phoneNumber) return undefined;
    return (await deps.numbers.all()).find((n) => n.phone_number === phoneNumber);
  }

  async function unknownNumber(event: AccountHealthEvent, phoneNumber: string | null): Promise<void> {
    logger.warn(
      { eventId: event.eventId, type: event.change.type, phoneNumber },
      'account health webhook for a number the bridge does not know; acknowledged and ignored',
    );
  }

  /** Applies one change and tells the ops channel. Safe to run again (a retried job). */
  async function handle(event: AccountHealthEvent): Promise<void> {
    const c = event.change;
    // An app subscribed to several accounts hears of all of them: another account's template of the
    // same name must not change this one's pickers or pause its campaigns.
    if (deps.accountId && event.accountId && event.accountId !== deps.accountId) {
      logger.warn(
        { eventId: event.eventId, type: c.type, accountId: event.accountId },
        'account health webhook for another WhatsApp Business Account; acknowledged and ignored',
      );
      return;
    }
    switch (c.type) {
      case 'unreadable':
        logger.warn(
          { eventId: event.eventId, field: c.field, problem: c.problem },
          'account health webhook the bridge could not read; acknowledged and ignored',
        );
        return;
      case 'number_quality': {
        const number = await knownNumber(c.phoneNumber);
        if (!number) return unknownNumber(event, c.phoneNumber);
        const update: NumberHealthUpdate = c.currentLimit ? { messagingLimitTier: c.currentLimit.toUpperCase() } : {};
        if (c.event === 'FLAGGED') {
          update.qualityRating = 'RED';
          if (number.health === 'connected') update.healthReason = 'quality rating low (flagged by Meta)';
        } else if (c.event === 'UNFLAGGED') {
          // No longer low; which rating it has now, the next listing of the numbers says.
          update.qualityRating = null;
          if (number.health === 'connected') update.healthReason = null;
        }
        if (Object.keys(update).length > 0) await deps.numbers.update(number.id, update);
        await deps.alert(format(numberQualityAlert(c, number.phone_number)));
        return;
      }
      case 'template_status': {
        // Campaigns are paused before the pickers (and the sending) see the new status: a
        // campaign still running would otherwise fail its remaining recipients.
        const paused = stopsSending(c.status)
          ? await deps.campaigns.pauseUsingTemplate(
              { name: c.name, language: c.language },
              `Meta ${c.status === 'PAUSED' ? 'paused' : c.status === 'DISABLED' ? 'disabled' : `marked ${c.status.toLowerCase().replace(/_/g, ' ')}`} the template ${c.name} (${c.language})${c.reason ? `: ${c.reason}` : ''}`,
            )
          : [];
        const status = catalogStatusFor(c.status);
        if (status)
          deps.templates.applyStatus({ templateId: c.templateId, name: c.name, language: c.language, status });
        await deps.alert(format(templateAlert(c, paused)));
        return;
      }
      case 'account': {
        const affected: string[] = [];
        const disabled = c.event === 'DISABLED_UPDATE' && c.banState === 'DISABLE';
        const restricted =
          c.event === 'ACCOUNT_RESTRICTION' &&
          c.restrictions.some((r) => r.type === 'RESTRICTED_BIZ_INITIATED_MESSAGING');
        if (disabled || restricted) {
          const numbers = await deps.numbers.all();
          const named = c.phoneNumber ? numbers.filter((n) => n.phone_number === c.phoneNumber) : [];
          if (c.phoneNumber && named.length === 0) await unknownNumber(event, c.phoneNumber);
          const expiration = c.restrictions.find((r) => r.type === 'RESTRICTED_BIZ_INITIATED_MESSAGING')?.expiration;
          const reason = disabled
            ? 'the WhatsApp Business Account is disabled by Meta'
            : `Meta restricts starting conversations${expiration ? ` until ${plainDate(expiration)}` : ''}`;
          for (const n of named.length > 0 ? named : c.phoneNumber ? [] : numbers) {
            await deps.numbers.update(n.id, { health: 'unavailable', healthReason: reason });
            affected.push(n.phone_number);
          }
        }
        await deps.alert(format(accountAlert(c, affected)));
        return;
      }
      case 'account_review':
        await deps.alert(format(reviewAlert(c.decision)));
        return;
      case 'number_name': {
        const number = await knownNumber(c.phoneNumber);
        if (!number) return unknownNumber(event, c.phoneNumber);
        await deps.alert(format(nameAlert(c, number.phone_number)));
        return;
      }
    }
  }

  return { handle };
}
export type AccountHealth = ReturnType<typeof createAccountHealth>;
