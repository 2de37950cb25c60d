import type { Logger } from '../shared/logger.js';
import { escapeSlackText } from '../shared/slack-text.js';
import { describeSlackError } from './slack-errors.js';

/**
 * A file a person asked for: an export, a campaign report, the invalid lines of a recipients file.
 * Its content is in memory, or in a file on disk (a large export) that stays there until delivered.
 */
export type UserFile = { filename: string; title: string; mimeType: string } & (
  | { bytes: Buffer }
  | { path: string; length: number }
);

export type FileDeliveryOutcome =
  | { via: 'dm' }
  /** Slack refused the DM; the file waits behind a signed link until `expiresAt`. */
  | { via: 'link'; url: string; expiresAt: number; refusal: string }
  /** Slack refused the DM and no link can be offered (PUBLIC_URL is not set). */
  | { via: 'none'; refusal: string };

const LINK_TTL_MS = 60 * 60 * 1000;

/** Why Slack did not take a file into the person's DM, in words they can act on. */
export function dmRefusalReason(error: unknown): string {
  const info = describeSlackError(error);
  if (info.kind === 'platform' && info.error === 'messages_tab_disabled')
    return "the app's Messages tab is turned off, so Slack refuses files in your DM with the app (a Slack admin can turn it on under App Home in the app's settings)";
  if (info.kind === 'platform') return `Slack refused it (\`${info.error}\`)`;
  if (info.kind === 'rate_limited') return 'Slack is rate-limiting the app right now';
  return 'Slack could not be reached';
}

/**
 * Delivers a file to a person's DM with the app; when Slack refuses (the Messages tab is off, an
 * outage), the file is kept for an hour behind a signed download link served by the bridge, so
 * the caller can hand the person the link where they acted. Nothing fails silently.
 */
export function createUserFileDelivery(deps: {
  uploadToDm(userId: string, file: UserFile, comment: string): Promise<void>;
  /** Stores the file until `expiresAt`; returns its id. */
  keepForDownload(file: UserFile, expiresAt: number): Promise<string>;
  /** The signed link to a kept file, or null when the bridge has no public URL to offer. */
  downloadLink: ((id: string, ttlMs: number) => string) | null;
  now(): number;
  logger: Logger;
}) {
  return async function deliver(userId: string, file: UserFile, comment: string): Promise<FileDeliveryOutcome> {
    try {
      await deps.uploadToDm(userId, file, comment);
      return { via: 'dm' };
    } catch (error) {
      const refusal = dmRefusalReason(error);
      deps.logger.warn({ userId, file: file.filename, err: String(error) }, 'Slack refused a file for a DM');
      if (!deps.downloadLink) return { via: 'none', refusal };
      const expiresAt = deps.now() + LINK_TTL_MS;
      const id = await deps.keepForDownload(file, expiresAt);
      return { via: 'link', url: deps.downloadLink(id, LINK_TTL_MS), expiresAt, refusal };
    }
  };
}
export type UserFileDelivery = ReturnType<typeof createUserFileDelivery>;

/** What to tell the person about their file, where they acted (mrkdwn). */
export function describeFileDelivery(outcome: FileDeliveryOutcome, what: string, filename: string): string {
  if (outcome.via === 'dm') return `${what} is in your DM with the app.`;
  const refused = `${what} could not be sent to your DM: ${outcome.refusal}.`;
  if (outcome.via === 'none')
    return `${refused} The bridge has no PUBLIC_URL set, so it cannot offer a download link either; ask whoever runs it.`;
  const expires = Math.floor(outcome.expiresAt / 1000);
  return `${refused}\n:inbox_tray: <${escapeSlackText(outcome.url)}|Download ${escapeSlackText(filename)}> (the link works until <!date^${expires}^{time}|${new Date(outcome.expiresAt).toISOString()}> and only for those who have it).`;
}
