import type { App } from '@slack/bolt';
import { MAX_RECIPIENTS_FILE_BYTES } from '../../../bridge/campaigns/campaign-drafts.js';
import { escapeSlackText } from '../../../shared/slack-text.js';
import { OptOutViewIds, optOutMessageView } from '../../views/opt-out-views.js';
import { parseViewState } from '../../views/template-form.js';

export type OptOutUploadRequest = {
  viewId: string;
  userId: string;
  file: { name: string; size: number; urlPrivate: string };
};

/**
 * The opt-out upload modal: the file checked on its field (type, size), then the request stored as
 * a job before Slack gets its answer; the modal says it is being read, and shows the outcome.
 */
export function registerOptOutSubmissions(
  app: App,
  deps: {
    mayManage(userId: string): Promise<boolean>;
    holders: string;
    queueUpload(request: OptOutUploadRequest): Promise<void>;
  },
): void {
  app.view(OptOutViewIds.uploadCallback, async ({ ack, view, body }) => {
    const state = parseViewState(view.state.values);
    const file = state[OptOutViewIds.fileBlock]?.[OptOutViewIds.fileAction]?.files?.[0] ?? null;
    if (!file) {
      // The result view (no input) closes like any other.
      await ack();
      return;
    }
    const extension = file.name.toLowerCase().split('.').pop() ?? '';
    const problem = !['txt', 'csv'].includes(extension)
      ? `\`${file.name}\` is not a .txt or .csv file.`
      : file.size > MAX_RECIPIENTS_FILE_BYTES
        ? `\`${file.name}\` is larger than 10 MB.`
        : null;
    if (problem) {
      await ack({ response_action: 'errors', errors: { [OptOutViewIds.fileBlock]: problem } });
      return;
    }
    if (!(await deps.mayManage(body.user.id))) {
      await ack({
        response_action: 'errors',
        errors: { [OptOutViewIds.fileBlock]: `Only ${deps.holders} can manage the opt-out list.` },
      });
      return;
    }
    await deps.queueUpload({
      viewId: view.id,
      userId: body.user.id,
      file: { name: file.name, size: file.size, urlPrivate: file.url_private_download ?? file.url_private },
    });
    await ack({
      response_action: 'update',
      view: optOutMessageView(
        'Upload opt-outs',
        `:hourglass_flowing_sand: Reading \`${escapeSlackText(file.name.replace(/`/g, "'"))}\`…`,
      ),
    });
  });
}
