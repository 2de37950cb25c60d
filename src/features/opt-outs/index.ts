import { MAX_RECIPIENTS_FILE_BYTES } from '../../bridge/campaigns/campaign-drafts.js';
import { consentSignal, describeOptOut } from '../../bridge/opt-outs.js';
import { parseRecipientsFile } from '../../bridge/recipients.js';
import { csvLine } from '../../shared/csv.js';
import { optoutSubcommand } from '../../slack/listeners/commands/optout-subcommand.js';
import {
  type OptOutUploadRequest,
  registerOptOutSubmissions,
} from '../../slack/listeners/views/opt-out-submissions.js';
import { describeFileDelivery } from '../../slack/user-file-delivery.js';
import {
  OPT_OUT_INVALID_SHOWN,
  optOutMessageView,
  optOutUploadResultView,
  optOutUploadView,
} from '../../slack/views/opt-out-views.js';
import type { AppContext } from '../context.js';
import type { FeatureRegistry } from '../registry.js';
import type { SessionChat } from '../session-chat/index.js';

const UPLOAD_JOB = 'optout.upload';
const EXPORT_PAGE = 5000;
const UPLOAD_SLICE = 5000;

/**
 * Marketing opt-outs: customers' keywords, opt-out buttons and Meta's 131050 put numbers on the
 * account's suppression list (the thread header shows it); `/wa optout` lists, adds, removes,
 * exports and uploads it. Campaigns and the API read the list (see the campaigns feature).
 *
 * Longer than 150 lines on purpose: a feature's composition reads top to bottom (its stores, its
 * services, then one short registration per Slack surface); each part is a few lines.
 */
export function installOptOuts(ctx: AppContext, registry: FeatureRegistry, chat: SessionChat) {
  const { logger, optOuts, conversations } = ctx;
  const { marketers, leads } = ctx.roles;
  const mayManage = async (userId: string) => (await marketers(userId)) || (await leads(userId));
  const holders = `${marketers.holders}, and ${leads.holders} (LEADS)`;

  // The customer's message is posted as usual; when it changes their consent the header says so.
  chat.onInbound({
    stored: async (event) => {
      await optOuts.fromInbound(event);
    },
    posted: async (event) => consentSignal(event.content, ctx.config.optOuts) !== null,
  });

  // Meta's 131050 on any template (a campaign's, or one sent from a thread).
  chat.onDeliveryStatus(async (event) => {
    const phone = await optOuts.fromStatus(event);
    if (phone && event.sendingNumberId) {
      const contact = await conversations.findContact({
        sendingNumberId: event.sendingNumberId,
        phoneNumber: phone,
        userId: null,
      });
      if (contact)
        await ctx.threads
          .refreshHeader(contact)
          .catch((error: unknown) => logger.warn({ err: String(error) }, 'showing an opt-out in the header failed'));
    }
    // Not this listener's message: the others decide.
    return false;
  });

  async function exportCsv(userId: string): Promise<string> {
    const chunks = [csvLine(['phone_number', 'opted_out_at', 'reason', 'detail', 'changed_by'])];
    let after: string | null = null;
    for (;;) {
      const page = await optOuts.list(after, EXPORT_PAGE);
      if (page.length === 0) break;
      for (const e of page)
        chunks.push(csvLine([e.phoneNumber, new Date(e.at).toISOString(), e.reason, e.detail, e.changedBy]));
      after = page[page.length - 1]?.phoneNumber ?? after;
      if (page.length < EXPORT_PAGE) break;
    }
    const filename = 'whatsapp-opt-outs.csv';
    const outcome = await ctx.deliverFile(
      userId,
      { bytes: Buffer.from(chunks.join('')), filename, title: 'WhatsApp marketing opt-outs', mimeType: 'text/csv' },
      `The marketing opt-out list: ${chunks.length - 1} number(s).`,
    );
    return describeFileDelivery(outcome, 'The opt-out list', filename);
  }

  registry.subcommand(
    'optout',
    optoutSubcommand({
      mayManage,
      holders,
      list: (after, limit) => optOuts.list(after, limit),
      count: () => optOuts.count(),
      add: async (phone, userId, reason) =>
        (await optOuts.setByPerson([phone], true, { userId, reason: 'manual', detail: reason })).length > 0,
      remove: async (phone, userId) =>
        (await optOuts.setByPerson([phone], false, { userId, reason: 'manual_removal', detail: null })).length > 0,
      exportCsv,
      openUpload: async (triggerId) => {
        await ctx.slack.client.views.open({ trigger_id: triggerId, view: optOutUploadView() });
      },
    }),
  );

  const showView = (viewId: string, view: ReturnType<typeof optOutMessageView>) =>
    ctx.slack.gateway
      .direct((client) => client.views.update({ view_id: viewId, view }))
      .catch((error: unknown) => logger.info({ err: String(error) }, 'opt-out upload modal no longer open'));

  async function upload(request: OptOutUploadRequest): Promise<void> {
    const bytes = await ctx.slack.conversations.downloadFile(request.file.urlPrivate, MAX_RECIPIENTS_FILE_BYTES);
    const parsed = await parseRecipientsFile(bytes, { variableKeys: [], maxBytes: MAX_RECIPIENTS_FILE_BYTES });
    if (!parsed.ok) {
      await showView(
        request.viewId,
        optOutMessageView('Upload opt-outs', `:warning: ${parsed.error} Nothing was added.`),
      );
      return;
    }
    // Still allowed? The role is checked again at each step that acts.
    if (!(await mayManage(request.userId))) {
      await showView(
        request.viewId,
        optOutMessageView('Upload opt-outs', `:no_entry: Only ${holders} can manage the opt-out list.`),
      );
      return;
    }
    // In slices, so a 100,000-number file never holds that many change records at once.
    let already = 0;
    let added = 0;
    for (let i = 0; i < parsed.numbers.length; i += UPLOAD_SLICE) {
      const slice = parsed.numbers.slice(i, i + UPLOAD_SLICE);
      const listed = await optOuts.suppressedAmong(slice);
      already += listed.size;
      const changed = await optOuts.setByPerson(
        slice.filter((n) => !listed.has(n)),
        true,
        { userId: request.userId, reason: 'file', detail: request.file.name.slice(0, 200) },
      );
      added += changed.length;
    }
    let invalidNote: string | null = null;
    if (parsed.invalid.length > OPT_OUT_INVALID_SHOWN) {
      const lines = parsed.invalid.map((i) => csvLine([i.line, i.input, i.reason])).join('');
      const filename = 'invalid-opt-out-lines.csv';
      const outcome = await ctx.deliverFile(
        request.userId,
        {
          bytes: Buffer.from(`line,input,reason\r\n${lines}`),
          filename,
          title: 'Invalid opt-out lines',
          mimeType: 'text/csv',
        },
        `${parsed.invalid.length} lines of the opt-out file were invalid and were skipped.`,
      );
      invalidNote = describeFileDelivery(outcome, 'The full list', filename);
    }
    logger.info({ added, invalid: parsed.invalid.length }, 'opt-out file uploaded');
    await showView(
      request.viewId,
      optOutUploadResultView({
        fileName: request.file.name,
        added,
        already,
        duplicates: parsed.duplicates,
        invalid: parsed.invalid,
        invalidNote,
      }),
    );
  }

  ctx.jobs.handle(UPLOAD_JOB, {
    pool: 'slack',
    handler: (payload) => upload(payload as OptOutUploadRequest),
    onGaveUp: async (payload, error) => {
      const request = payload as OptOutUploadRequest;
      const problem = `The opt-out file could not be read: ${error instanceof Error ? error.message : String(error)}`;
      await showView(request.viewId, optOutMessageView('Upload opt-outs', `:warning: ${problem}`));
      await ctx.slack.dms.post(request.userId, `:warning: ${problem}`);
    },
  });
  registry.slackListeners((app) =>
    registerOptOutSubmissions(app, {
      mayManage,
      holders,
      queueUpload: async (request) => {
        await ctx.jobs.queue.enqueue({
          kind: UPLOAD_JOB,
          payload: request,
          idempotencyKey: `optout-upload:${request.viewId}:${request.file.urlPrivate}`,
          maxAttempts: 5,
        });
        ctx.jobs.wake('slack');
      },
    }),
  );

  return { describe: describeOptOut };
}
