import { createCampaignMessages } from '../../bridge/campaigns/campaign-messages.js';
import { JobKind } from '../../bridge/job-kinds.js';
import { formatForDisplay } from '../../bridge/phone-number.js';
import type { CampaignStore } from '../../db/stores/campaign-store.js';
import { createCampaignTestStore } from '../../db/stores/campaign-test-store.js';
import type { JobContext } from '../../jobs/job-runner.js';
import { errorIdNote, logErrorWithId } from '../../shared/error-id.js';
import { escapeSlackText } from '../../shared/slack-text.js';
import { type CampaignTestRequest, registerCampaignTestSend } from '../../slack/listeners/views/campaign-test-send.js';
import { campaignTestResultView } from '../../slack/views/campaign-test-views.js';
import { describeFailure, ProviderError } from '../../whatsapp/provider-errors.js';
import type { AppContext } from '../context.js';
import type { FeatureRegistry } from '../registry.js';

/** A test is one message a person is waiting for: a few quick tries, then they are told. */
const TEST_SEND_ATTEMPTS = 3;

/**
 * *Send a test to me* on the campaign confirmation: the draft's message, built exactly as its first
 * recipient's will be (their variables, the header media already uploaded), sent once to the number
 * the marketer gives. The number is remembered per person; the campaign stays a draft.
 */
export function installCampaignTestSends(ctx: AppContext, registry: FeatureRegistry, campaigns: CampaignStore) {
  const { clock } = ctx;
  const logger = ctx.logger.child({ component: 'campaign-tests' });
  const tests = createCampaignTestStore(ctx.database.db);
  const messages = createCampaignMessages();

  /**
   * Why a test was not sent, in words a marketer can act on: the provider's answer described, or an
   * error id of the logged exception (never its text).
   */
  function testFailure(error: unknown): string {
    const errorId = logErrorWithId(logger, error, 'a campaign test was not sent');
    const cause =
      error instanceof ProviderError
        ? escapeSlackText(describeFailure(error.code, error.providerCode ?? null))
        : 'the bridge hit an unexpected error';
    return `${cause}. Try again in a minute; if it fails again, give whoever runs the bridge this error id. ${errorIdNote(errorId)}`;
  }

  /** Shows the outcome in the test modal; if it was closed, in the person's DM. */
  async function tell(request: CampaignTestRequest, text: string): Promise<void> {
    try {
      await ctx.slack.gateway.direct((client) =>
        client.views.update({ view_id: request.viewId, view: campaignTestResultView(text) }),
      );
    } catch (error) {
      logger.info({ err: String(error) }, 'campaign test modal no longer open; told by DM');
      await ctx.slack.dms.post(request.userId, text);
    }
  }

  async function send(request: CampaignTestRequest, job: JobContext): Promise<void> {
    const to = formatForDisplay(request.phoneNumber);
    const campaign = await campaigns.get(request.draftId);
    if (!campaign) {
      await tell(request, ':warning: This campaign draft no longer exists; the test was not sent.');
      return;
    }
    const template = await ctx.templates.find(campaign.template_name, campaign.template_language);
    if (!template) {
      await tell(
        request,
        `:warning: Template \`${escapeSlackText(campaign.template_name)}\` (${escapeSlackText(campaign.template_language)}) is not approved any more (Meta may have paused it); the test was not sent.`,
      );
      return;
    }
    const first = await tests.firstRecipient(campaign.id);
    const { message } = messages.prepare(
      campaign,
      {
        id: 0,
        campaign_id: campaign.id,
        phone_number: request.phoneNumber,
        parameters_json: first?.parameters_json ?? null,
        status: 'queued',
        provider_message_id: null,
        error_code: null,
        error_detail: null,
        attempts: 0,
      },
      template,
    );
    messages.forget(campaign.id);
    try {
      const result = await ctx.provider.send(campaign.sending_number_id, message, { singleAttempt: true });
      logger.info(
        { campaignId: campaign.id, providerMessageId: result.providerMessageId },
        'campaign test sent (the campaign is still a draft)',
      );
    } catch (error) {
      // Tried again only when the provider surely did not take it: a test must not arrive twice.
      const again = error instanceof ProviderError && error.retryable && !error.mayHaveBeenSent && !job.isLastAttempt;
      if (again) throw error;
      await tell(request, `:warning: The test to ${to} was not sent: ${testFailure(error)}`);
      return;
    }
    await tell(
      request,
      `:white_check_mark: Test sent to ${to}: the message of the first recipient${first ? ` (${formatForDisplay(first.phone_number)})` : ''}, with their variables. Check it on WhatsApp.`,
    );
  }

  ctx.jobs.handle(JobKind.campaignTestSend, {
    pool: 'provider',
    handler: (payload, job) => send(payload as CampaignTestRequest, job),
    onGaveUp: async (payload, error) => {
      const request = payload as CampaignTestRequest;
      await tell(request, `:warning: The test was not sent: ${testFailure(error)}`);
    },
  });

  registry.slackListeners((app) =>
    registerCampaignTestSend(app, {
      mayLaunchCampaigns: ctx.roles.marketers,
      isOwnDraft: async (draftId, userId) => {
        const draft = await campaigns.get(draftId);
        return draft?.status === 'draft' && draft.created_by === userId;
      },
      remembered: (userId) => tests.remembered(userId),
      queueTest: async (request) => {
        await tests.remember(request.userId, request.phoneNumber, clock.now());
        await ctx.jobs.queue.enqueue({
          kind: JobKind.campaignTestSend,
          payload: request,
          // One send per test modal: a repeated submission of the same modal is the same test.
          idempotencyKey: `campaign-test:${request.viewId}`,
          maxAttempts: TEST_SEND_ATTEMPTS,
        });
      },
    }),
  );
}
