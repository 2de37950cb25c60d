import { describe, expect, it } from 'vitest';
import { renderInbound } from '../../src/bridge/inbound-rendering.js';
import { isEmoji } from '../../src/shared/slack-text.js';
import { agentNoticeContent } from '../../src/slack/blocks/agent-notices.js';
import { campaignProgressContent } from '../../src/slack/blocks/campaign-progress.js';
import { campaignConfirmView, campaignProblemView } from '../../src/slack/views/campaign-views.js';
import { templateFormBlocks } from '../../src/slack/views/template-form.js';
import { templatePickerView } from '../../src/slack/views/template-picker-view.js';
import type { MessageTemplate } from '../../src/whatsapp/whatsapp-provider.js';

/** The markup a provider or customer could slip into Slack text, raw. */
const MARKUP = /<!(channel|here)>|<https:\/\/evil|<@U1>/;
const HOSTILE = '<!channel> <https://evil.example|click> <@U1> & more';

describe('strings from customers and the provider are plain text in Slack', () => {
  it('recognises real emoji only', () => {
    for (const emoji of ['👍', '👍🏽', '❤️', '🇧🇷', '👩‍👩‍👧', '1️⃣', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '☺']) expect(isEmoji(emoji), emoji).toBe(true);
    for (const text of ['', ':+1:', '<!channel>', 'a', '1', '#', '👍 <!here>', '👍'.repeat(20), '\u200d', '\ufe0f'])
      expect(isEmoji(text), text).toBe(false);
  });

  it('shows a reaction that is not an emoji as escaped text', () => {
    const render = (emoji: string) =>
      renderInbound(
        { type: 'reaction', emoji, targetProviderMessageId: 'w' },
        { replyToLink: null, mediaProblem: null },
      );
    expect(render('👍')).toBe('Reacted 👍 to a message');
    expect(render('<@U1> & <!here>')).toBe('Reacted “&lt;@U1&gt; &amp; &lt;!here&gt;” to a message');
    expect(render(HOSTILE), 'at most 40 characters of it').toBe(
      'Reacted “&lt;!channel&gt; &lt;https://evil.example|click&gt; ” to a message',
    );
  });

  it('escapes provider errors and template names in campaign progress, confirmation and problems', () => {
    const progress = campaignProgressContent({
      campaign: {
        id: 'c1',
        created_by: 'UMARKETER',
        slack_channel_id: 'C1',
        slack_message_ts: null,
        sending_number_id: 'n1',
        template_name: `tpl ${HOSTILE}`,
        template_language: '<!here>',
        template_category: null,
        parameters_json: '{}',
        status: 'failed',
        scheduled_at: null,
        total: 2,
        invalid_count: 0,
        created_at: 0,
        started_at: 0,
        finished_at: 0,
        error: `stopped: ${HOSTILE}`,
        slack_response_url: null,
      },
      counts: { queued: 0, sending: 0, sent: 0, delivered: 0, read: 0, failed: 2, cancelled: 0, opted_out: 0 },
      failureReasons: [{ reason: `Meta: ${HOSTILE}`, count: 2 }],
      ratePerSecond: null,
      etaSeconds: null,
    });
    expect(JSON.stringify(progress)).not.toMatch(MARKUP);
    expect(JSON.stringify(progress)).toContain('2 × Meta: &lt;!channel&gt;');

    const confirm = campaignConfirmView(
      {
        draftId: 'd1',
        recipients: 1,
        invalid: [{ line: 2, input: '<!channel>', reason: `bad ${HOSTILE}` }],
        duplicates: 0,
        sendingNumberId: 'n1',
        templateName: HOSTILE,
        language: '<!here>',
        category: '<!here>',
        scheduledAt: null,
        perRecipientVariables: false,
        ignoredColumns: [`col ${HOSTILE}`],
        optedOut: 0,
        preview: {
          header: { kind: 'media', format: 'DOCUMENT', fileName: `menu ${HOSTILE}.pdf` },
          body: `Hi ${HOSTILE}`,
          footer: `Stop ${HOSTILE}`,
          buttons: [{ type: 'URL', text: `Go ${HOSTILE}`, url: `https://acme.example/${HOSTILE}` }],
        },
        previewRecipient: '+15550002222',
      },
      '+15550001111',
    );
    expect(JSON.stringify(confirm)).not.toMatch(MARKUP);
    expect(JSON.stringify(campaignProblemView(`The campaign could not be prepared: ${HOSTILE}`))).not.toMatch(MARKUP);
    expect(JSON.stringify(agentNoticeContent({ kind: 'not_sent', reason: `Not sent: ${HOSTILE}` }))).not.toMatch(
      MARKUP,
    );
  });

  it("escapes a template's body, header and category from the provider in the preview", () => {
    const template: MessageTemplate = {
      providerTemplateId: 't1',
      name: 'promo',
      language: 'en_US',
      status: 'APPROVED',
      category: '<!here>',
      header: { format: 'TEXT', text: '<!channel> sale' },
      body: `Hello {{1}} ${HOSTILE}`,
      footer: '<https://evil.example|unsubscribe>',
      buttons: [],
    };
    const blocks = templateFormBlocks([template], { templateName: 'promo', language: 'en_US' }, { '1': '<@U1>' });
    expect(JSON.stringify(blocks)).not.toMatch(MARKUP);
    const picker = templatePickerView({
      metadata: { contactId: 'c1', templateName: 'promo', language: 'en_US' },
      contactLabel: '<!channel> Eve (+447700900001)',
      templates: [template],
    });
    expect(JSON.stringify(picker)).not.toMatch(MARKUP);
  });
});
