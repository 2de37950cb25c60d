import type { Logger } from '../shared/logger.js';
import { escapeSlackText } from '../shared/slack-text.js';
import type { InboundMessageEvent, StatusEvent } from '../whatsapp/whatsapp-provider.js';

/**
 * Marketing opt-outs: the suppression list of the WhatsApp account the bridge sends from. A
 * customer gets on it by writing an opt-out keyword (the whole message), by tapping a template
 * quick-reply button whose payload is configured as opt-out, or when Meta refuses a marketing
 * template with 131050 (the customer stopped marketing messages in WhatsApp itself); marketers and
 * leads add numbers by hand or from a file. An opt-in keyword takes the customer off again.
 * Only MARKETING templates are held back: service replies, UTILITY and AUTHENTICATION templates
 * still go out.
 */

/** Meta's error for a marketing template to someone who stopped marketing messages from the business. */
export const STOPPED_MARKETING_ERROR = '131050';

export type OptOutReason =
  | 'keyword'
  | 'button'
  | 'provider_error'
  | 'manual'
  | 'file'
  | 'opt_in_keyword'
  | 'opt_in_button'
  | 'manual_removal';

export type OptOutChange = {
  phoneNumber: string;
  optedOut: boolean;
  reason: OptOutReason;
  /** The keyword or payload the customer sent, the provider's error, or the file's name. */
  detail: string | null;
  /** The Slack user who made a manual change or uploaded the file. */
  changedBy: string | null;
  /** When the event happened (an older event arriving late never undoes a newer one). */
  at: number;
};

export type OptOutEntry = {
  phoneNumber: string;
  reason: string;
  detail: string | null;
  changedBy: string | null;
  at: number;
};

export interface OptOutRepository {
  /** Applies the changes that are newer than each number's state; returns the numbers whose state changed. */
  apply(accountId: string, changes: readonly OptOutChange[], now: number): Promise<string[]>;
  /** The entry when the number is opted out. */
  get(accountId: string, phoneNumber: string): Promise<OptOutEntry | null>;
  /** Which of these numbers are opted out (one indexed lookup per 500 numbers). */
  suppressedAmong(accountId: string, phoneNumbers: readonly string[]): Promise<Set<string>>;
  /** Opted-out numbers in number order, after `afterPhoneNumber` (keyset paging). */
  list(accountId: string, afterPhoneNumber: string | null, limit: number): Promise<OptOutEntry[]>;
  count(accountId: string): Promise<number>;
}

export type OptOutSettings = {
  optOutKeywords: readonly string[];
  optInKeywords: readonly string[];
  optOutButtonPayloads: readonly string[];
};

/**
 * A message folded for keyword matching: accents dropped (ARRÊT = ARRET), upper case, runs of
 * spaces, dashes and underscores as one space, and punctuation or emoji around it ignored
 * ("Stop!" and "stop." are STOP; "please stop calling" stays itself).
 */
export function foldKeyword(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toUpperCase()
    .replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '')
    .replace(/[\s\-_]+/gu, ' ');
}

/** What an inbound message says about marketing consent, if anything. */
export function consentSignal(
  content: InboundMessageEvent['content'],
  settings: OptOutSettings,
): { optedOut: boolean; reason: OptOutReason; detail: string } | null {
  if (content.type === 'reply' && content.payload !== null) {
    const payload = content.payload.trim();
    if (settings.optOutButtonPayloads.includes(payload)) return { optedOut: true, reason: 'button', detail: payload };
  }
  const text = content.type === 'text' ? content.text : content.type === 'reply' ? content.text : null;
  if (text === null || text.length > 100) return null;
  const folded = foldKeyword(text);
  if (folded === '') return null;
  if (settings.optOutKeywords.some((k) => foldKeyword(k) === folded))
    return { optedOut: true, reason: 'keyword', detail: text.trim().slice(0, 100) };
  if (settings.optInKeywords.some((k) => foldKeyword(k) === folded))
    return { optedOut: false, reason: 'opt_in_keyword', detail: text.trim().slice(0, 100) };
  return null;
}

/** Whether a template category is held back for opted-out numbers (MARKETING, and anything unknown). */
export function isMarketingCategory(category: string | null | undefined): boolean {
  const upper = (category ?? 'MARKETING').toUpperCase();
  return upper !== 'UTILITY' && upper !== 'AUTHENTICATION';
}

/** Plain words for an entry's reason, as Slack mrkdwn (what the customer or a person typed is escaped). */
export function describeOptOut(raw: Pick<OptOutEntry, 'reason' | 'detail' | 'changedBy'>): string {
  const entry = { ...raw, detail: raw.detail === null ? null : escapeSlackText(raw.detail) };
  switch (entry.reason) {
    case 'keyword':
      return `wrote "${entry.detail ?? ''}"`;
    case 'button':
      return `tapped the opt-out button (${entry.detail ?? ''})`;
    case 'provider_error':
      return `WhatsApp refused a marketing message: the customer stopped marketing messages (${entry.detail ?? STOPPED_MARKETING_ERROR})`;
    case 'manual':
      return `added by ${entry.changedBy ? `<@${entry.changedBy}>` : 'someone'}${entry.detail ? `: ${entry.detail}` : ''}`;
    case 'file':
      return `uploaded by ${entry.changedBy ? `<@${entry.changedBy}>` : 'someone'}${entry.detail ? ` (${entry.detail})` : ''}`;
    default:
      return entry.reason;
  }
}

/**
 * The opt-out rules over a repository, for one account. `changed` hooks let the conversation's
 * thread header show the new state.
 */
export function createOptOuts(deps: {
  repository: OptOutRepository;
  accountId: string;
  settings: OptOutSettings;
  now: () => number;
  logger: Logger;
}) {
  const { repository, accountId } = deps;

  return {
    accountId,

    /** Records what the customer's message says about consent; true when their state changed. */
    async fromInbound(event: InboundMessageEvent): Promise<boolean> {
      const phone = event.contact.phoneNumber;
      if (!phone) return false;
      const signal = consentSignal(event.content, deps.settings);
      if (!signal) return false;
      const changed = await repository.apply(
        accountId,
        [{ phoneNumber: phone, ...signal, changedBy: null, at: event.timestamp }],
        deps.now(),
      );
      if (changed.length > 0)
        deps.logger.info(
          { optedOut: signal.optedOut, reason: signal.reason },
          'a customer changed their marketing consent',
        );
      return changed.length > 0;
    },

    /** A failed status with 131050 puts the recipient on the list; returns the number when it did. */
    async fromStatus(event: StatusEvent): Promise<string | null> {
      if (event.status !== 'failed' || !event.recipient) return null;
      if (!event.errors.some((e) => e.code === STOPPED_MARKETING_ERROR)) return null;
      return (await this.stoppedMarketing(event.recipient, event.timestamp)) ? event.recipient : null;
    },

    /** Meta said the customer stopped marketing messages (131050, on a send or in a status). */
    async stoppedMarketing(phoneNumber: string, at: number): Promise<boolean> {
      const changed = await repository.apply(
        accountId,
        [
          {
            phoneNumber,
            optedOut: true,
            reason: 'provider_error',
            detail: STOPPED_MARKETING_ERROR,
            changedBy: null,
            at,
          },
        ],
        deps.now(),
      );
      return changed.length > 0;
    },

    /** Manual additions (one number or a file) and removals by a Slack user. */
    async setByPerson(
      phoneNumbers: readonly string[],
      optedOut: boolean,
      person: { userId: string; reason: 'manual' | 'file' | 'manual_removal'; detail: string | null },
    ): Promise<string[]> {
      const at = deps.now();
      return repository.apply(
        accountId,
        phoneNumbers.map((phoneNumber) => ({
          phoneNumber,
          optedOut,
          reason: person.reason,
          detail: person.detail,
          changedBy: person.userId,
          at,
        })),
        at,
      );
    },

    state: (phoneNumber: string) => repository.get(accountId, phoneNumber),
    suppressedAmong: (phoneNumbers: readonly string[]) => repository.suppressedAmong(accountId, phoneNumbers),
    list: (after: string | null, limit: number) => repository.list(accountId, after, limit),
    count: () => repository.count(accountId),
  };
}
export type OptOuts = ReturnType<typeof createOptOuts>;
