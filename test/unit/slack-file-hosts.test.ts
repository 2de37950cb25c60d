import { describe, expect, it } from 'vitest';
import { hostOf, slackFileUrls } from '../../src/slack/slack-file-hosts.js';

describe('where the bot token may go with a Slack file', () => {
  it("accepts Slack's and GovSlack's exact file hosts over https, whatever SLACK_API_URL is", () => {
    for (const apiUrl of ['https://slack.com/api/', 'https://slack-gov.com/api/', 'https://proxy.corp.example/api/']) {
      const allowed = slackFileUrls(apiUrl);
      for (const url of [
        'https://files.slack.com/files-pri/T1-F1/report.pdf',
        'https://files-origin.slack.com/files-pri/T1-F1/download/report.pdf',
        'https://files.slack-gov.com/files-pri/T1-F1/report.pdf',
        'https://files.slack.com/upload/v1/ABC123',
        'https://FILES.SLACK.COM./files-pri/T1-F1/a.png',
        'https://files.slack.com:443/files-pri/T1-F1/a.png',
      ])
        expect(allowed(url), `${url} for ${apiUrl}`).toBe(true);
    }
  });

  it('refuses other hosts on Slack domains, plain http, other ports and credentials in the URL', () => {
    const allowed = slackFileUrls('https://slack.com/api/');
    for (const url of [
      'http://files.slack.com/files-pri/T1-F1/a.png',
      'https://files.slack.com:8443/files-pri/T1-F1/a.png',
      'https://acme.slack.com/files-pri/T1-F1/a.png',
      'https://a.slack-edge.com/x.png',
      'https://slack-files.com/T1-F1-abc',
      'https://acme.slack-gov.com/x',
      'https://files.slack.com.evil.com/x',
      'https://evilfiles.slack.com/x',
      'https://user:pass@files.slack.com/x',
      'https://evil.com/x',
      'https://localhost/x',
      'https://169.254.169.254/latest/meta-data',
      'javascript:alert(1)',
      'file:///etc/passwd',
      'http://[::1',
      '',
    ])
      expect(allowed(url), url).toBe(false);
  });

  it("accepts SLACK_API_URL's own origin, and not its neighbours on the same domain", () => {
    const proxy = slackFileUrls('https://slack-proxy.corp.example.co.uk/api/');
    expect(proxy('https://slack-proxy.corp.example.co.uk/files/F1')).toBe(true);
    expect(proxy('http://slack-proxy.corp.example.co.uk/files/F1'), 'another scheme').toBe(false);
    expect(proxy('https://slack-proxy.corp.example.co.uk:8443/files/F1'), 'another port').toBe(false);
    expect(proxy('https://files.corp.example.co.uk/files/F1')).toBe(false);
    expect(proxy('https://corp.example.co.uk/files/F1')).toBe(false);

    const azure = slackFileUrls('https://bridge-slack.azurewebsites.net/api/');
    expect(azure('https://bridge-slack.azurewebsites.net/files/F1')).toBe(true);
    expect(azure('https://attacker.azurewebsites.net/files/F1')).toBe(false);

    // The test fake runs on plain http: allowed only because it is SLACK_API_URL's own origin.
    const local = slackFileUrls('http://127.0.0.1:4567/api/');
    expect(local('http://127.0.0.1:4567/files/F1')).toBe(true);
    expect(local('http://127.0.0.1:4568/files/F1')).toBe(false);
    expect(local('https://127.0.0.1:4567/files/F1')).toBe(false);
    expect(local('http://127.0.0.2:4567/files/F1')).toBe(false);
    expect(local('http://localhost:4567/files/F1')).toBe(false);
  });

  it('names only the host of a refused URL', () => {
    expect(hostOf('https://attacker.example:8080/files/secret-name.pdf?t=abc')).toBe('attacker.example:8080');
    expect(hostOf('javascript:alert(1)')).toBe('javascript:');
    expect(hostOf('http://[::1')).toBe('an invalid URL');
  });
});
