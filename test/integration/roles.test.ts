import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, postMetaWebhook, SIGNING_SECRET, startHarness } from '../support/bridge-harness.js';
import { launchCampaign, recipientsFile } from '../support/campaign-driver.js';
import { dialects } from '../support/databases.js';
import { DEFAULT_TEMPLATES } from '../support/fake-meta-graph.js';
import { inboundWebhook, nextWamid } from '../support/meta-webhooks.js';
import {
  blockActionsPayload,
  interactivity,
  postSlack,
  slashCommand,
  viewSubmissionPayload,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Issue #14, "Roles are open by default": who holds MARKETERS and LEADS (closed by default, `*`,
 * lists), the role checked again at every step that acts, MARKETING templates from a thread, and
 * API keys that expire, can be revoked and stop working with their creator's role. Everything
 * goes through the app's real entry points: signed Slack requests and HTTP calls, on fakes.
 */

const cases = await dialects();
const SENDING_NUMBER_ID = '1906385232743451';
const METRICS_TOKEN = 'metrics-token-for-roles-0123456789';
const DAY = 24 * 60 * 60 * 1000;
/** Past the one minute for which Slack's answers about users and groups are kept. */
const ROLE_CACHE_PASSED = 61_000;

type StoredView = {
  id: string;
  hash: string;
  view: { private_metadata?: string; callback_id?: string; blocks?: unknown[] };
};

const textOf = (response: { json: unknown }) => (response.json as { text?: string } | null)?.text ?? '';

async function command(h: Harness, text: string, userId: string) {
  const response = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text, userId, channelId: 'C0MARKETING' }));
  expect(response.status).toBe(200);
  return textOf(response);
}

async function createKey(h: Harness, userId: string, name: string): Promise<{ key: string; id: string; text: string }> {
  const text = await command(h, `apikey create ${name}`, userId);
  const key = /`(wab_[^`]+)`/.exec(text)?.[1];
  const id = /id `([^`]+)`/.exec(text)?.[1];
  expect(key, text).toBeDefined();
  return { key: key as string, id: id as string, text };
}

function apiSend(h: Harness, key: string, idempotencyKey: string, to = '+44 7911 124001') {
  return fetch(`${h.url}/api/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      from: '+15550001111',
      to,
      template: 'hello_world',
      language: 'en_US',
      variables: { '1': 'Ana' },
      idempotency_key: idempotencyKey,
    }),
  });
}

const metrics = (h: Harness, token: string) =>
  fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });

/** The history modal's Export CSV button; the answer is pushed as a small modal. */
async function exportHistory(h: Harness, userId: string): Promise<string> {
  const pushes = h.slack.callsTo('views.push').length;
  await postSlack(
    h.url,
    interactivity(
      SIGNING_SECRET,
      blockActionsPayload({
        userId,
        actionId: 'wa_history_export',
        value: 'export',
        view: { id: 'VHISTORY', callbackId: 'wa_history_modal', privateMetadata: JSON.stringify({ page: 0 }) },
      }),
    ),
  );
  const pushed = await waitFor(`history export answer for ${userId}`, () => h.slack.callsTo('views.push')[pushes]);
  return JSON.stringify(pushed.body.view);
}

for (const dialect of cases) {
  describe.runIf(dialect.available)(`roles closed by default (MARKETERS and LEADS unset) on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create(), env: { MARKETERS: '', LEADS: '' } });
      h.slack.addUser({ id: 'UADMIN', name: 'admin', isAdmin: true });
      h.slack.addUser({ id: 'UOWNER', name: 'owner', isOwner: true, isPrimaryOwner: true });
      h.slack.addUser({ id: 'UMEMBER', name: 'member' });
      h.slack.addUser({ id: 'UGUEST', name: 'guest', isRestricted: true });
      h.slack.addUser({ id: 'USINGLE', name: 'single-channel guest', isRestricted: true, isUltraRestricted: true });
      h.slack.addUser({ id: 'UGONEADMIN', name: 'former admin', isAdmin: true, deleted: true });
      h.slack.addUser({ id: 'UBOTUSER', name: 'a bot', isBot: true, isAdmin: true });
      // A MARKETING template without header media, so a marketer's send needs nothing but a variable.
      h.meta?.setTemplates([
        ...DEFAULT_TEMPLATES,
        {
          id: 't9',
          name: 'weekly_offer',
          language: 'en_US',
          status: 'APPROVED',
          category: 'MARKETING',
          components: [{ type: 'BODY', text: 'Hi {{1}}, 10% off this week.' }],
        },
      ]);
    });
    afterAll(async () => {
      await h?.stop();
    });

    it('/wa send: workspace admins and owners get the campaign form; members, guests, bots and a deactivated admin are refused', async () => {
      for (const userId of ['UMEMBER', 'UGUEST', 'USINGLE', 'UGONEADMIN', 'UBOTUSER', 'UNOBODY']) {
        const opens = h.slack.callsTo('views.open').length;
        expect(await command(h, 'send', userId), userId).toMatch(
          /Only workspace admins and owners \(MARKETERS is not set\) can launch WhatsApp campaigns/,
        );
        expect(h.slack.callsTo('views.open').length, userId).toBe(opens);
      }
      for (const userId of ['UADMIN', 'UOWNER']) {
        const opens = h.slack.callsTo('views.open').length;
        expect(await command(h, 'send', userId), userId).toBe('');
        expect(h.slack.callsTo('views.open').length, userId).toBe(opens + 1);
      }
    });

    it('/wa apikey: only admins and owners create keys; a member, a guest and a deactivated admin are refused', async () => {
      for (const userId of ['UMEMBER', 'UGUEST', 'UGONEADMIN']) {
        expect(await command(h, `apikey create by ${userId}`, userId)).toMatch(
          /Only workspace admins and owners \(MARKETERS is not set\) can manage API keys/,
        );
        expect(await command(h, 'apikey list', userId)).toMatch(/can manage API keys/);
      }
      expect(await h.app.database.db.selectFrom('api_key').select('name').execute()).toEqual([]);
      const { key, text } = await createKey(h, 'UADMIN', 'admin key');
      expect(text).toMatch(/valid until <!date\^\d+\^/);
      expect((await apiSend(h, key, 'admin-1')).status).toBe(202);
    });

    it('history export (LEADS unset): an admin gets the CSV; a member and a guest are refused', async () => {
      for (const userId of ['UMEMBER', 'UGUEST']) {
        expect(await exportHistory(h, userId)).toContain(
          'Only workspace admins and owners (LEADS is not set) can export history.',
        );
      }
      expect(await exportHistory(h, 'UADMIN')).toContain('is in your DM with the app');
      await waitFor('CSV in the admin DM', () => h.slack.completed.find((c) => c.channel_id === 'DUADMIN'));
      expect(h.slack.completed.some((c) => c.channel_id === 'DUMEMBER' || c.channel_id === 'DUGUEST')).toBe(false);
    });

    it('a MARKETING template from a thread needs the marketer role (from the catalog); UTILITY stays open to every agent', async () => {
      const from = '447700900601';
      const id = nextWamid();
      expect(
        (await postMetaWebhook(h.url, inboundWebhook({ type: 'text', text: { body: 'hi' } }, { from, id }))).status,
      ).toBe(200);
      const post = await waitFor('inbound post', () =>
        h.slack.messages(CHANNEL_ID).find((m) => m.thread_ts && m.metadata?.event_payload.key === id),
      );
      const threadTs = post.thread_ts as string;
      const contact = await h.app.database.db
        .selectFrom('contact')
        .select('id')
        .where('phone_number', '=', `+${from}`)
        .executeTakeFirstOrThrow();

      /** Send template (thread header) → picker → choose the template; returns the filled-in picker. */
      async function pick(userId: string, template: string): Promise<StoredView> {
        const before = new Set(h.slack.views.keys());
        await postSlack(
          h.url,
          interactivity(
            SIGNING_SECRET,
            blockActionsPayload({
              userId,
              actionId: 'wa_template_open',
              value: contact.id,
              message: { channelId: CHANNEL_ID, ts: threadTs },
            }),
          ),
        );
        const opened = await waitFor('picker filled', () =>
          [...(h.slack.views.values() as Iterable<StoredView>)].find(
            (v) => !before.has(v.id) && JSON.stringify(v.view).includes('tpl_template_select'),
          ),
        );
        await postSlack(
          h.url,
          interactivity(
            SIGNING_SECRET,
            blockActionsPayload({
              userId,
              actionId: 'tpl_template_select',
              selectedOption: template,
              view: {
                id: opened.id,
                hash: opened.hash,
                callbackId: 'wa_template_picker',
                privateMetadata: opened.view.private_metadata ?? '',
              },
            }),
          ),
        );
        return waitFor(`${template} chosen`, () => {
          const view = h.slack.views.get(opened.id) as StoredView;
          const metadata = JSON.parse(view.view.private_metadata ?? '{}') as {
            templateName?: string;
            language?: string;
          };
          return metadata.templateName === template && metadata.language ? view : null;
        });
      }
      const submit = (userId: string, view: StoredView, values: Record<string, Record<string, unknown>>) =>
        postSlack(
          h.url,
          interactivity(
            SIGNING_SECRET,
            viewSubmissionPayload({
              userId,
              viewId: view.id,
              callbackId: 'wa_template_picker',
              privateMetadata: view.view.private_metadata ?? '',
              values,
              // As Slack sends them: an `errors` answer must name one of the view's input blocks.
              blocks: view.view.blocks ?? [],
            }),
          ),
        );
      const body1 = (value: string) => ({ 'tpl_var:body.1': { value: { type: 'plain_text_input', value } } });
      const templatesSent = () =>
        (h.meta?.sent() ?? [])
          .filter((b) => b.to === from && b.type === 'template')
          .map((b) => (b.template as { name: string }).name);

      // A member who is not a marketer: the MARKETING template is refused on the template field of the
      // picker (which stays open, nothing pushed over it), nothing stored or sent.
      const refused = await submit('UMEMBER', await pick('UMEMBER', 'weekly_offer'), body1('Ana'));
      expect(refused.status).toBe(200);
      expect(refused.json).toEqual({
        response_action: 'errors',
        errors: {
          tpl_template:
            'weekly_offer is a MARKETING template: only workspace admins and owners (MARKETERS is not set) can send those. Choose a UTILITY or AUTHENTICATION template, or ask a marketer.',
        },
      });
      // spring_sale (MARKETING, with a header image) is refused before its missing image is even mentioned.
      const refusedToo = await submit('UGUEST', await pick('UGUEST', 'spring_sale'), body1('20%'));
      expect(refusedToo.json).toMatchObject({ response_action: 'errors' });
      expect(Object.keys((refusedToo.json as { errors: object }).errors)).toEqual(['tpl_template']);
      expect(JSON.stringify(refusedToo.json)).toContain('spring_sale is a MARKETING template');

      // The same member sends a UTILITY template; an admin sends the MARKETING one.
      expect((await submit('UMEMBER', await pick('UMEMBER', 'hello_world'), body1('Ana'))).json).toBeNull();
      expect((await submit('UADMIN', await pick('UADMIN', 'weekly_offer'), body1('Bo'))).json).toBeNull();
      await waitFor('both allowed templates sent', () => templatesSent().length === 2);
      await h.settle();
      expect(templatesSent().sort()).toEqual(['hello_world', 'weekly_offer']);
      const stored = await h.app.database.db
        .selectFrom('message')
        .select(['author_slack_user_id', 'media_json'])
        .where('contact_id', '=', contact.id)
        .where('kind', '=', 'template')
        .execute();
      expect(
        stored.map((m) => `${m.author_slack_user_id} ${JSON.parse(m.media_json ?? '{}').template}`).sort(),
      ).toEqual(['UADMIN weekly_offer', 'UMEMBER hello_world']);
    });
  });

  describe.runIf(dialect.available)(`MARKETERS=* and LEADS=* on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create(), env: { MARKETERS: '*', LEADS: '*' } });
      h.slack.addUser({ id: 'UMEMBER', name: 'member' });
      h.slack.addUser({ id: 'UGUEST', name: 'guest', isRestricted: true });
      h.slack.addUser({ id: 'UGONE', name: 'deactivated member', deleted: true });
    });
    afterAll(async () => {
      await h?.stop();
    });

    it('grants every active full member; guests and deactivated members are refused', async () => {
      expect(await command(h, 'send', 'UMEMBER')).toBe('');
      for (const userId of ['UGUEST', 'UGONE']) {
        expect(await command(h, 'send', userId), userId).toMatch(
          /Only full members of the workspace \(MARKETERS=\*\) can launch WhatsApp campaigns/,
        );
        expect(await exportHistory(h, userId)).toContain(
          'Only full members of the workspace (LEADS=*) can export history.',
        );
      }
      expect(await exportHistory(h, 'UMEMBER')).toContain('is in your DM with the app');
      const { key } = await createKey(h, 'UMEMBER', 'member key');
      expect((await apiSend(h, key, 'member-1')).status).toBe(202);
    });
  });

  describe.runIf(dialect.available)(`roles checked again at every step that acts on ${dialect.name}`, () => {
    let h: Harness;
    let clockOffset = 0;
    let growth = ['UGROWTH1', 'UGROWTH2', 'UGROWTH3', 'UKEYS1', 'UKEYS2'];
    const leaveGroup = (userId: string) => {
      growth = growth.filter((id) => id !== userId);
      h.slack.addGroup('SGROWTH', growth);
    };
    const deactivate = (userId: string) => h.slack.addUser({ id: userId, name: userId.toLowerCase(), deleted: true });
    beforeAll(async () => {
      h = await startHarness({
        database: await dialect.create(),
        env: { MARKETERS: 'UMARKETER,SGROWTH', METRICS_TOKEN, API_KEY_TTL_DAYS: '7' },
        now: () => Date.now() + clockOffset,
      });
      h.slack.addGroup('SGROWTH', growth);
      for (const id of growth) h.slack.addUser({ id, name: id.toLowerCase() });
    });
    afterAll(async () => {
      await h?.stop();
    });

    const prepareDraft = (userId: string, start: number) =>
      launchCampaign({
        appUrl: h.url,
        slack: h.slack,
        userId,
        channelId: 'C0MARKETING',
        sendingNumberId: SENDING_NUMBER_ID,
        template: 'hello_world',
        variables: { 'body.1': 'friend' },
        recipientsFile: recipientsFile(2, start),
        confirm: false,
      });
    async function confirm(userId: string, draftId: string) {
      const view = [...(h.slack.views.values() as Iterable<StoredView>)].find(
        (v) => v.view.callback_id === 'wa_campaign_confirm' && (v.view.private_metadata ?? '').includes(draftId),
      );
      expect(view).toBeDefined();
      return postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            userId,
            viewId: view?.id ?? '',
            callbackId: 'wa_campaign_confirm',
            privateMetadata: view?.view.private_metadata ?? '',
            values: {},
          }),
        ),
      );
    }
    const campaignStatus = async (id: string) =>
      (await h.app.database.db.selectFrom('campaign').select('status').where('id', '=', id).executeTakeFirst())?.status;
    const sentTo = (numbers: string[]) => (h.meta?.sent() ?? []).filter((b) => numbers.includes(String(b.to)));

    it('refuses at confirm a draft whose author has left the marketer group, or been deactivated, since preparing it', async () => {
      const left = await prepareDraft('UGROWTH1', 250000);
      const deactivated = await prepareDraft('UGROWTH2', 250010);
      leaveGroup('UGROWTH1');
      deactivate('UGROWTH2');
      clockOffset += ROLE_CACHE_PASSED;
      for (const [userId, draft] of [
        ['UGROWTH1', left],
        ['UGROWTH2', deactivated],
      ] as const) {
        const response = await confirm(userId, draft.campaignId);
        expect(response.status).toBe(200);
        expect(response.json).toMatchObject({ response_action: 'update' });
        const text = JSON.stringify(response.json);
        expect(text).toContain('You can no longer launch campaigns: only the people listed in MARKETERS can');
        expect(text).toContain('Nothing was sent');
        expect(await campaignStatus(draft.campaignId)).toBe('draft');
      }
      await h.settle();
      expect(sentTo(['447911250000', '447911250001', '447911250010', '447911250011'])).toEqual([]);
    });

    it("re-checks Cancel and the CSV export: the campaign's own creator is refused once deactivated", async () => {
      const { campaignId } = await launchCampaign({
        appUrl: h.url,
        slack: h.slack,
        userId: 'UGROWTH3',
        channelId: 'C0MARKETING',
        sendingNumberId: SENDING_NUMBER_ID,
        template: 'hello_world',
        variables: { 'body.1': 'friend' },
        recipientsFile: recipientsFile(1, 250020),
      });
      const ts = await waitFor(
        'progress message',
        async () =>
          (
            await h.app.database.db
              .selectFrom('campaign')
              .select('slack_message_ts')
              .where('id', '=', campaignId)
              .executeTakeFirst()
          )?.slack_message_ts,
      );
      const click = async (actionId: string) => {
        const answered = h.slack.callsTo('response_url').length;
        await postSlack(
          h.url,
          interactivity(
            SIGNING_SECRET,
            blockActionsPayload({
              userId: 'UGROWTH3',
              actionId,
              value: campaignId,
              message: { channelId: 'C0MARKETING', ts },
              responseUrl: `${h.slack.baseUrl}response/${actionId}`,
            }),
          ),
        );
        return String((await waitFor(`${actionId} answer`, () => h.slack.callsTo('response_url')[answered])).body.text);
      };
      const dmUploads = () => h.slack.completed.filter((c) => c.channel_id === 'DUGROWTH3').length;
      // While a marketer, the creator gets the per-recipient CSV.
      expect(await click('wa_campaign_csv')).toContain('in your DM');
      expect(dmUploads()).toBe(1);

      deactivate('UGROWTH3');
      clockOffset += ROLE_CACHE_PASSED;
      expect(await click('wa_campaign_csv')).toMatch(/Only the people listed in MARKETERS can export campaign reports/);
      expect(await click('wa_campaign_cancel')).toMatch(/Only the people listed in MARKETERS can cancel campaigns/);
      expect(dmUploads()).toBe(1);
      expect(await campaignStatus(campaignId)).not.toBe('cancelled');
    });

    it('API keys expire after API_KEY_TTL_DAYS: 401 on the API and /metrics, and /wa apikey list says so', async () => {
      const { key, id, text } = await createKey(h, 'UMARKETER', 'expiring');
      expect(text).toMatch(/valid until <!date\^\d+\^/);
      const expiresAt = (
        await h.app.database.db
          .selectFrom('api_key')
          .select('expires_at')
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).expires_at;
      expect(Math.abs((expiresAt ?? 0) - (Date.now() + clockOffset + 7 * DAY))).toBeLessThan(60_000);
      const accepted = await apiSend(h, key, 'expiring-1');
      expect(accepted.status).toBe(202);
      const { id: messageId } = (await accepted.json()) as { id: string };
      expect((await metrics(h, key)).status).toBe(200);

      clockOffset += 7 * DAY + 60_000;
      const expired = await apiSend(h, key, 'expiring-2');
      expect(expired.status).toBe(401);
      expect(((await expired.json()) as { error: string }).error).toMatch(
        /this API key expired on .*\/wa apikey create/,
      );
      const status = await fetch(`${h.url}/api/v1/messages/${messageId}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(status.status).toBe(401);
      expect((await metrics(h, key)).status).toBe(401);
      expect(await command(h, 'apikey list', 'UMARKETER')).toMatch(
        new RegExp(
          `\`${id}\` \\*expiring\\* by <@UMARKETER>, created <!date.*:hourglass: expired <!date.* — last used`,
        ),
      );
    });

    it('a revoked key gets 401 at once; only a marketer can revoke, and the list shows who did', async () => {
      const { key, id } = await createKey(h, 'UMARKETER', 'to revoke');
      expect(await command(h, `apikey revoke ${id}`, 'URANDOM')).toMatch(
        /Only the people listed in MARKETERS can manage API keys/,
      );
      expect((await apiSend(h, key, 'revoke-1')).status).toBe(202);
      expect(await command(h, `apikey revoke ${id}`, 'UKEYS2')).toBe(`API key \`${id}\` revoked.`);
      const refused = await apiSend(h, key, 'revoke-2');
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: string }).error).toContain('revoked');
      expect(await command(h, 'apikey list', 'UMARKETER')).toMatch(
        new RegExp(`\`${id}\` \\*to revoke\\* .*:no_entry: revoked <!date[^>]*> by <@UKEYS2> — last used`),
      );
    });

    it('a key whose creator is deactivated gets 403 on the API and /metrics (one Slack lookup a minute, not one per request)', async () => {
      const { key, id } = await createKey(h, 'UKEYS1', 'creator leaves');
      const accepted = await apiSend(h, key, 'leaves-1');
      expect(accepted.status).toBe(202);
      const { id: messageId } = (await accepted.json()) as { id: string };
      const lookups = () => h.slack.callsTo('users.info').filter((c) => c.body.user === 'UKEYS1').length;
      const before = lookups();
      for (let i = 0; i < 5; i++) {
        const response = await fetch(`${h.url}/api/v1/messages/${messageId}`, {
          headers: { authorization: `Bearer ${key}` },
        });
        expect(response.status).toBe(200);
      }
      expect((await metrics(h, key)).status).toBe(200);
      expect(lookups() - before).toBeLessThanOrEqual(1);

      deactivate('UKEYS1');
      clockOffset += ROLE_CACHE_PASSED;
      const refused = await apiSend(h, key, 'leaves-2', '+44 7911 124002');
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: string }).error).toMatch(
        /the person who created this API key is deactivated or no longer a marketer/,
      );
      const status = await fetch(`${h.url}/api/v1/messages/${messageId}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(status.status).toBe(403);
      const metricsRefused = await metrics(h, key);
      expect(metricsRefused.status).toBe(403);
      expect(await metricsRefused.text()).toContain('deactivated or no longer a marketer');
      expect((await metrics(h, METRICS_TOKEN)).status).toBe(200);
      expect(await command(h, 'apikey list', 'UMARKETER')).toMatch(
        new RegExp(`\`${id}\` \\*creator leaves\\* .*refused: its creator is deactivated or no longer a marketer`),
      );
      await h.settle();
      expect(sentTo(['447911124002'])).toEqual([]);
    });

    it('a key whose creator has left the marketer group gets 403', async () => {
      const { key } = await createKey(h, 'UKEYS2', 'creator demoted');
      expect((await apiSend(h, key, 'demoted-1', '+44 7911 124003')).status).toBe(202);
      leaveGroup('UKEYS2');
      clockOffset += ROLE_CACHE_PASSED;
      expect((await apiSend(h, key, 'demoted-2', '+44 7911 124004')).status).toBe(403);
      expect(await command(h, 'apikey create another', 'UKEYS2')).toMatch(/can manage API keys/);
    });
  });
}
