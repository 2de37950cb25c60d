/**
 * Where the bot token may be sent with a file download (`url_private`) or upload (the
 * `upload_url` of files.getUploadURLExternal): Slack's own file hosts, exactly, over https, and the
 * origin (scheme, host and port) of the configured SLACK_API_URL. Nothing is derived from domain
 * names: `acme.slack.com` or a neighbour of the API host on the same domain never get the token.
 */

/**
 * Slack's file hosts: commercial Slack serves files and upload URLs from files.slack.com (and
 * redirects downloads to files-origin.slack.com), GovSlack from files.slack-gov.com.
 */
export const SLACK_FILE_HOSTS: ReadonlySet<string> = new Set([
  'files.slack.com',
  'files-origin.slack.com',
  'files.slack-gov.com',
]);

/** Whether the bot token may be sent to `url`. */
export type SlackFileUrlCheck = (url: string) => boolean;

export function slackFileUrls(apiUrl: string): SlackFileUrlCheck {
  const api = new URL(apiUrl);
  return (candidate) => {
    let url: URL;
    try {
      url = new URL(candidate);
    } catch {
      return false;
    }
    if (url.username !== '' || url.password !== '') return false;
    if (url.origin === api.origin) return true;
    const host = url.hostname.toLowerCase().replace(/\.$/, '');
    return url.protocol === 'https:' && url.port === '' && SLACK_FILE_HOSTS.has(host);
  };
}

/** The host named in a refusal (never the whole URL: it may carry a token or a file name). */
export function hostOf(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.host || parsed.protocol;
  } catch {
    return 'an invalid URL';
  }
}
