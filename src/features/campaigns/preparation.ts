import type { CampaignDrafts } from '../../bridge/campaigns/campaign-drafts.js';
import type { AllowanceCheck } from '../../bridge/campaigns/messaging-limits.js';
import { SlackFileUnavailableError } from '../../bridge/ports.js';
import type { ConversationStore } from '../../db/stores/conversation-store.js';
import { JobInterruptedError } from '../../jobs/job-runner.js';
import { csvLine } from '../../shared/csv.js';
import { errorIdNote, logErrorWithId } from '../../shared/error-id.js';
import { HttpError } from '../../shared/http-client.js';
import type { Logger } from '../../shared/logger.js';
import type { DirectMessages } from '../../slack/direct-messages.js';
import type { CampaignPrepareRequest } from '../../slack/listeners/views/campaign-submissions.js';
import type { SlackGateway } from '../../slack/slack-gateway.js';
import { describeFileDelivery, type UserFileDelivery } from '../../slack/user-file-delivery.js';
import { withAllowance } from '../../slack/views/campaign-limit-blocks.js';
import { campaignConfirmView, campaignProblemView, INVALID_LINES_SHOWN } from '../../slack/views/campaign-views.js';
import { ProviderError } from '../../whatsapp/provider-errors.js';

type ModalView = ReturnType<typeof campaignProblemView>;

/**
 * The campaign form's heavy part, run as a job after the form is acknowledged: the recipients
 * parsed and validated, header media uploaded, a draft stored; then the modal shows the
 * confirmation (or the problem). Nothing is sent until the marketer confirms.
 */
export function createCampaignPreparation(deps: {
  drafts: CampaignDrafts;
  conversations: ConversationStore;
  gateway: SlackGateway;
  dms: DirectMessages;
  deliverFile: UserFileDelivery;
  logger: Logger;
  /** How the draft fits its sending number's messaging limit (null: nothing to show). */
  checkAllowance?(draftId: string, sendingNumberId: string): Promise<AllowanceCheck | null>;
}) {
  const showView = (request: CampaignPrepareRequest, view: ModalView) =>
    deps.gateway
      .direct((client) => client.views.update({ view_id: request.viewId, view }))
      .catch((error: unknown) => {
        // The person may have closed the modal; a failure is also sent by DM.
        deps.logger.info({ err: String(error) }, 'campaign modal no longer open');
        return null;
      });

  /** The full list of invalid lines goes to the marketer as a file; returns what to tell them of it. */
  async function deliverInvalidLines(
    userId: string,
    invalid: readonly { line: number; input: string; reason: string }[],
  ) {
    const lines = invalid.map((i) => csvLine([i.line, i.input, i.reason])).join('');
    const filename = 'invalid-recipients.csv';
    const outcome = await deps.deliverFile(
      userId,
      {
        bytes: Buffer.from(`line,input,reason\r\n${lines}`),
        filename,
        title: 'Invalid recipient lines',
        mimeType: 'text/csv',
      },
      `${invalid.length} recipient lines were invalid and will be skipped.`,
    );
    return describeFileDelivery(outcome, 'The full list', filename);
  }

  return {
    async prepare(request: CampaignPrepareRequest): Promise<void> {
      let result: Awaited<ReturnType<CampaignDrafts['prepare']>>;
      try {
        result = await deps.drafts.prepare({
          createdBy: request.userId,
          channelId: request.channelId,
          slackResponseUrl: request.responseUrl ?? null,
          sendingNumberId: request.sendingNumberId,
          templateName: request.templateName,
          language: request.language,
          values: request.values,
          headerFile: request.headerFile,
          typedRecipients: request.typedRecipients,
          recipientsFile: request.recipientsFile,
          scheduledAt: request.scheduledAt,
        });
      } catch (error) {
        if (error instanceof ProviderError && error.retryable) throw error;
        result = {
          ok: false,
          field: 'file',
          error: preparationProblem(deps.logger, error),
        };
      }
      if (!result.ok) {
        await showView(request, campaignProblemView(result.error));
        return;
      }
      const number = await deps.conversations.sendingNumber(request.sendingNumberId);
      const invalidLinesNote =
        result.summary.invalid.length > INVALID_LINES_SHOWN
          ? await deliverInvalidLines(request.userId, result.summary.invalid)
          : null;
      const allowance = await deps.checkAllowance?.(result.summary.draftId, request.sendingNumberId);
      await showView(
        request,
        withAllowance(
          campaignConfirmView(result.summary, number?.phone_number ?? request.sendingNumberId, invalidLinesNote),
          allowance ?? null,
        ),
      );
    },

    /** The preparation will not be tried again: the modal (if still open) and a DM say so. */
    async gaveUp(request: CampaignPrepareRequest, error: unknown): Promise<void> {
      const problem =
        error instanceof JobInterruptedError
          ? `The recipients file could not be processed: reading it was interrupted ${error.maxAttempts} times (the app stopped while preparing the campaign). Check the file, or split it, and run \`/wa send\` again.`
          : preparationProblem(deps.logger, error);
      await showView(request, campaignProblemView(problem));
      await deps.dms.post(request.userId, `:warning: ${problem} Nothing was sent.`);
    },
  };
}

/**
 * Why a campaign could not be prepared, for the marketer: what went wrong, what to do next, and the
 * error id of the log line. A file Slack would not hand over or that is too large says which (those
 * messages are written for people); anything else only says that it failed.
 */
function preparationProblem(logger: Logger, error: unknown): string {
  const errorId = logErrorWithId(logger, error, 'a campaign could not be prepared');
  if (error instanceof SlackFileUnavailableError && /exceeds/.test(error.message))
    return `The campaign could not be prepared: ${error.message}. Split the file into smaller ones and send each with \`/wa send\`. ${errorIdNote(errorId)}`;
  if (error instanceof SlackFileUnavailableError || (error instanceof HttpError && error.kind === 'too_large'))
    return `The campaign could not be prepared: ${error.message}. Upload the file again with \`/wa send\`; if it fails again, give whoever runs the bridge this error id. ${errorIdNote(errorId)}`;
  return `The campaign could not be prepared. Run \`/wa send\` again; if it fails again, give whoever runs the bridge this error id. ${errorIdNote(errorId)}`;
}
