import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHANNEL_ID,
  type Harness,
  MARKETER,
  postMetaWebhook,
  SIGNING_SECRET,
  startHarness,
} from '../support/bridge-harness.js';
import { launchHelloWorld } from '../support/campaign-driver.js';
import { chatDriver } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import { statusWebhook } from '../support/meta-webhooks.js';
import { blockActionsPayload, interactivity, postSlack, slashCommand } from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Campaign results (issue #17, item 5): the report (live message and CSV) has delivered, read,
 * failed by reason, opted out and replied (customers who wrote back within 72 hours of their
 * campaign message); the reply's thread is told once which campaign it answers; `/wa campaigns`
 * lists recent campaigns with these figures. Signed Slack requests and Meta webhooks only.
 */

const cases = await dialects();
const HOURS_73 = 73 * 60 * 60 * 1000;

for (const dialect of cases) {
  describe.runIf(dialect.available)(`campaign results on ${dialect.name}`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
      chat = chatDriver(h);
    });
    afterAll(async () => {
      await h?.stop();
    });

    const db = () => h.app.database.db;
    const numbers = ['+447911210001', '+447911210002', '+447911210003', '+447911210004'];

    it('reports delivered, read, failed by reason and replied within 72 hours, with the campaign named once in the reply thread', async () => {
      const { campaignId } = await launchHelloWorld({
        appUrl: h.url,
        slack: h.slack,
        recipientsFile: Buffer.from(numbers.join('\n')),
      });
      const campaign = await waitFor('campaign finished', async () => {
        const row = await db().selectFrom('campaign').selectAll().where('id', '=', campaignId).executeTakeFirst();
        return row?.status === 'completed' && row.slack_message_ts ? row : null;
      });
      const rows = await db()
        .selectFrom('campaign_recipient')
        .select(['phone_number', 'provider_message_id'])
        .where('campaign_id', '=', campaignId)
        .orderBy('phone_number')
        .execute();
      const wamid = (i: number) => rows[i]?.provider_message_id as string;
      await postMetaWebhook(h.url, statusWebhook(wamid(0), 'delivered'));
      await postMetaWebhook(h.url, statusWebhook(wamid(1), 'read'));
      await postMetaWebhook(
        h.url,
        statusWebhook(wamid(2), 'failed', [{ code: 131026, title: 'Message undeliverable' }]),
      );

      // The second recipient's campaign message is 73 hours old when they write: not a reply to it.
      await db()
        .updateTable('message')
        .set((eb) => ({ created_at: eb('created_at', '-', HOURS_73) }))
        .where('campaign_id', '=', campaignId)
        .where('contact_id', '=', (await chat.contact('+447911210002')).id)
        .execute();

      const reply = await chat.metaContactWrites('Yes please, tell me more', { from: '447911210001' });
      const context = await waitFor('campaign context in the thread', () =>
        h.slack.threadReplies(CHANNEL_ID, reply.threadTs).find((m) => m.text.includes('answering the campaign')),
      );
      expect(context.text).toContain('*hello_world*');
      expect(context.text).toContain(`<@${MARKETER}>`);
      const again = await chat.metaContactWrites('Also: do you ship to Spain?', { from: '447911210001' });
      await chat.postOf(again.id);
      const late = await chat.metaContactWrites('Hello?', { from: '447911210002' });
      await chat.postOf(late.id);
      await h.settle();
      expect(
        h.slack.threadReplies(CHANNEL_ID, reply.threadTs).filter((m) => m.text.includes('answering the campaign')),
      ).toHaveLength(1);
      expect(h.slack.threadReplies(CHANNEL_ID, late.threadTs).some((m) => m.text.includes('answering'))).toBe(false);

      const report = await waitFor('report with replies', () => {
        const message = h.slack.messages(campaign.slack_channel_id).find((m) => m.ts === campaign.slack_message_ts);
        const text = JSON.stringify(message?.blocks ?? []);
        return text.includes('Replied *1*') && text.includes('Failed *1*') ? text : null;
      });
      expect(report).toContain('Delivered *2*');
      expect(report).toContain('Read *1*');
      expect(report).toContain('Opted out *0*');
      expect(report).toContain('1 × Message undeliverable');

      await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            userId: MARKETER,
            actionId: 'wa_campaign_csv',
            value: campaignId,
            message: { channelId: campaign.slack_channel_id, ts: campaign.slack_message_ts as string },
            responseUrl: `${h.slack.baseUrl}response/3`,
          }),
        ),
      );
      const csv = await waitFor('CSV in DM', () =>
        h.slack.completed
          .find((c) => c.files.some((f) => (f.title ?? '').includes('per-recipient')))
          ?.bytes[0]?.toString(),
      );
      const lines = csv.split('\r\n');
      expect(lines[0]).toBe('phone_number,status,provider_message_id,error_code,error_detail,attempts,replied');
      expect(lines.find((l) => l.startsWith('+447911210001,'))).toMatch(/,yes$/);
      expect(lines.find((l) => l.startsWith('+447911210002,'))).toMatch(/^\+447911210002,read,.*,no$/);
      expect(lines.find((l) => l.startsWith('+447911210003,'))).toMatch(/^\+447911210003,failed,.*131026.*,no$/);
    });

    it('lists recent campaigns with their figures in /wa campaigns, for marketers and leads only', async () => {
      const listed = await postSlack(
        h.url,
        slashCommand(SIGNING_SECRET, { text: 'campaigns', userId: MARKETER, channelId: 'C0MARKETING' }),
      );
      const body = listed.json as { text: string; blocks: { type: string; text?: { text: string } }[] };
      expect(body.blocks.length).toBeLessThanOrEqual(50);
      const first = body.blocks.find((b) => b.type === 'section')?.text?.text ?? '';
      expect(first).toContain('*hello_world*');
      expect(first).toContain('Recipients *4*');
      expect(first).toContain('Delivered *2*');
      expect(first).toContain('Read *1*');
      expect(first).toContain('Failed *1*');
      expect(first).toContain('Opted out *0*');
      expect(first).toContain('Replied *1*');
      for (const block of body.blocks) if (block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);

      h.slack.addUser({ id: 'UOUTSIDER', name: 'outsider' });
      const refused = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'campaigns', userId: 'UOUTSIDER' }));
      expect((refused.json as { text: string }).text).toContain(':no_entry:');
    });
  });
}
