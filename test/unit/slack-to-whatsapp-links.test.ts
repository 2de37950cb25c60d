import { describe, expect, it } from 'vitest';
import { slackToWhatsApp } from '../../src/bridge/formatting/slack-to-whatsapp.js';

const lookups = { userName: async (id: string) => id, channelName: async (id: string) => id };
const mrkdwn = (text: string) => slackToWhatsApp({ text }, lookups);

describe('mrkdwn fallback: links', () => {
  it('unescapes a link label once, like the text around it', async () => {
    // An agent typed the literal text "&lt;b&gt;" as a link label; Slack escapes its "&" as "&amp;".
    expect(await mrkdwn('<https://acme.example|&amp;lt;b&amp;gt;>')).toBe('&lt;b&gt; (https://acme.example)');
  });

  it('never rewrites emoji shortcodes inside a link target', async () => {
    expect(await mrkdwn('<https://acme.example/docs/:de:/intro|docs>')).toBe(
      'docs (https://acme.example/docs/:de:/intro)',
    );
    expect(await mrkdwn('<https://acme.example/docs/:de:/intro>')).toBe('https://acme.example/docs/:de:/intro');
  });
});
