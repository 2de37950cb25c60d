import { isIP } from 'node:net';

/**
 * Which hosts a Slack file (`url_private`) may be downloaded from. The download carries the bot
 * token, so it goes only to Slack: commercial Slack, GovSlack, and the configured `SLACK_API_URL`
 * host with its registrable domain (a proxy at `slack-proxy.corp.example` serves files from
 * `*.corp.example` too).
 */

/** Domains Slack serves files from; GovSlack runs on slack-gov.com. */
export const SLACK_FILE_DOMAINS: readonly string[] = [
  'slack.com',
  'slack-edge.com',
  'slack-files.com',
  'slack-gov.com',
];

/** Second-level labels under which country-code domains are registered (example.co.uk, example.com.br). */
const COUNTRY_SECOND_LEVELS = new Set(['ac', 'co', 'com', 'edu', 'gob', 'gov', 'mil', 'ne', 'net', 'or', 'org']);

const normalize = (host: string) => host.toLowerCase().replace(/\.$/, '');

/**
 * The domain a host was registered under: the last two labels, or three under a country-code
 * second level (`co.uk`). Null for IP addresses and single-label hosts such as `localhost`, which
 * only ever match themselves. A heuristic, not the public-suffix list: it is only used to widen
 * the allow-list to the operator's own configured API host.
 */
export function registrableDomain(host: string): string | null {
  const name = normalize(host);
  if (name.startsWith('[') || isIP(name) !== 0) return null;
  const labels = name.split('.').filter((label) => label !== '');
  if (labels.length < 2) return null;
  const tld = labels[labels.length - 1] ?? '';
  const second = labels[labels.length - 2] ?? '';
  const take = labels.length >= 3 && tld.length === 2 && COUNTRY_SECOND_LEVELS.has(second) ? 3 : 2;
  return labels.slice(-take).join('.');
}

export function slackFileHosts(apiUrl: string): (host: string) => boolean {
  const apiHost = normalize(new URL(apiUrl).hostname);
  const own = registrableDomain(apiHost);
  const domains = own ? [...SLACK_FILE_DOMAINS, own] : [...SLACK_FILE_DOMAINS];
  return (host) => {
    const name = normalize(host);
    return name === apiHost || domains.some((domain) => name === domain || name.endsWith(`.${domain}`));
  };
}
