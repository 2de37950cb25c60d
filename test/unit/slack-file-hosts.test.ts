import { describe, expect, it } from 'vitest';
import { registrableDomain, slackFileHosts } from '../../src/slack/slack-file-hosts.js';

describe('Slack file hosts', () => {
  it("accepts Slack's and GovSlack's file hosts whatever SLACK_API_URL is", () => {
    for (const apiUrl of ['https://slack.com/api/', 'https://slack-gov.com/api/', 'https://proxy.corp.example/api/']) {
      const allowed = slackFileHosts(apiUrl);
      for (const host of [
        'files.slack.com',
        'acme.slack.com',
        'a.slack-edge.com',
        'slack-files.com',
        'files.slack-gov.com',
        'acme.slack-gov.com',
        'FILES.SLACK.COM.',
      ])
        expect(allowed(host), `${host} for ${apiUrl}`).toBe(true);
    }
  });

  it('accepts the configured API host and its registrable domain, and nothing else', () => {
    const proxy = slackFileHosts('https://slack-proxy.corp.example.co.uk/api/');
    expect(proxy('slack-proxy.corp.example.co.uk')).toBe(true);
    expect(proxy('files.example.co.uk')).toBe(true);
    expect(proxy('example.co.uk')).toBe(true);
    expect(proxy('co.uk')).toBe(false);
    expect(proxy('evil.co.uk')).toBe(false);

    const local = slackFileHosts('http://127.0.0.1:4567/api/');
    expect(local('127.0.0.1')).toBe(true);
    expect(local('127.0.0.2')).toBe(false);
    expect(local('localhost')).toBe(false);

    const allowed = slackFileHosts('https://slack.com/api/');
    for (const host of [
      'evil.com',
      'slack.com.evil.com',
      'evilslack.com',
      'files-slack.com',
      'slack-gov.com.attacker.net',
      'notslack-edge.com',
      'localhost',
      '169.254.169.254',
      '',
    ])
      expect(allowed(host), host).toBe(false);
  });

  it('derives registrable domains without a public-suffix list, conservatively', () => {
    expect(registrableDomain('files.slack.com')).toBe('slack.com');
    expect(registrableDomain('a.b.example.com.br')).toBe('example.com.br');
    expect(registrableDomain('proxy.example.io')).toBe('example.io');
    expect(registrableDomain('localhost')).toBeNull();
    expect(registrableDomain('10.0.0.1')).toBeNull();
    expect(registrableDomain('[::1]')).toBeNull();
  });
});
