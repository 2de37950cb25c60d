import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, LEAD, SIGNING_SECRET, startHarness } from '../support/bridge-harness.js';
import { postSlack, slashCommand } from '../support/slack-requests.js';

/**
 * Issue #19 items 5 and 6, through signed slash commands: `/wa help` is short and grouped by role,
 * names the internal-note prefix, the history shortcut and App Home; an unknown subcommand gets the
 * closest one suggested; a subcommand that fails shows a plain sentence, what to do next and an
 * error id that is on a log line with the real error, never the exception's text.
 */
describe('/wa help and the errors people see', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { INTERNAL_NOTE_PREFIX: 'psst:' } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const command = async (text: string, userId = 'UAGENT1') => {
    const response = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text, userId }));
    expect(response.status).toBe(200);
    return (response.json as { text?: string } | null)?.text ?? '';
  };

  it('groups /wa help by agents, marketers and leads, and names the note prefix, the shortcut and App Home', async () => {
    const help = await command('help');
    const agents = help.indexOf('*Agents*');
    const marketers = help.indexOf('*Marketers*');
    const leads = help.indexOf('*Leads*');
    expect(agents).toBeGreaterThan(-1);
    expect(marketers).toBeGreaterThan(agents);
    expect(leads).toBeGreaterThan(marketers);
    // Each command under the group that uses it.
    for (const sub of ['chat', 'sessions', 'note', 'history'])
      expect(help.slice(agents, marketers)).toContain(`/wa ${sub}`);
    for (const sub of ['send', 'apikey']) expect(help.slice(marketers, leads)).toContain(`/wa ${sub}`);
    expect(help.slice(leads)).toContain('/wa replies');
    // The configured internal-note prefix (not the default), the history shortcut and App Home.
    expect(help).toContain('`psst:`');
    expect(help).not.toContain('`note:`');
    expect(help).toContain('*WhatsApp history* shortcut');
    expect(help).toContain('App Home');
    expect(help).toContain('--clear');
    // Short: one screen, no paragraph-long lines.
    expect(help.split('\n').length).toBeLessThanOrEqual(15);
    for (const line of help.split('\n')) expect(line.length).toBeLessThanOrEqual(170);
    expect(await command('')).toBe(help);
  });

  it('suggests the closest subcommand to an unknown one, and none when nothing is close', async () => {
    const help = await command('help');
    for (const [typed, meant] of [
      ['histroy', 'history'],
      ['notes', 'note'],
      ['snd', 'send'],
      ['sesions', 'sessions'],
      ['replys', 'replies'],
    ] as const) {
      const answer = await command(`${typed} +447911150000`);
      expect(answer).toMatch(new RegExp(`^Unknown subcommand \`${typed}\`\\. Did you mean \`/wa ${meant}\`\\?`));
      expect(answer).toContain(help);
    }
    const far = await command('frobnicate +447911150000');
    expect(far).toMatch(/^Unknown subcommand `frobnicate`\./);
    expect(far).not.toContain('Did you mean');
    expect(far).toContain(help);
  });

  it('shows a failed subcommand as a plain sentence with an error id that is on the log line, not the exception', async () => {
    // Slack fails the modal opening once (an HTTP 500): /wa history cannot open its modal.
    h.slack.failWith('views.open', { status: 500, count: 1 });
    const answer = await command('history', LEAD);
    expect(answer).toMatch(/^:warning: `\/wa history` could not be completed\. Try again in a moment/);
    const errorId = /error id `(E-[0-9A-F]{8})`/.exec(answer)?.[1];
    expect(errorId).toBeDefined();
    // None of the exception's wording reaches the person.
    expect(answer).not.toMatch(/Error|HTTP|500|statusCode|protocol|That did not work/);
    const line = h.logs.find((l) => l.includes(`"errorId":"${errorId}"`));
    expect(line, 'the log line with the same error id').toBeDefined();
    const logged = JSON.parse(line ?? '{}') as { level: number; err?: { message?: string }; subcommand?: string };
    expect(logged.level).toBe(50);
    expect(logged.subcommand).toBe('history');
    expect(logged.err?.message).toMatch(/500/);
    // The next try works: nothing was left broken.
    const opens = h.slack.callsTo('views.open').length;
    expect(await command('history', LEAD)).toBe('');
    expect(h.slack.callsTo('views.open').length).toBe(opens + 1);
  });
});
