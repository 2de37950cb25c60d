import type { App } from '@slack/bolt';
import type { QuickReplySave } from '../../../bridge/quick-replies.js';
import { escapeSlackText } from '../../../shared/slack-text.js';
import {
  type EditMetadata,
  editMetadata,
  type PickerMetadata,
  pickerMetadata,
  QuickReplyIds,
  readMetadata,
} from '../../views/quick-reply-views.js';
import { parseViewState } from '../../views/template-form.js';
import { pickedReplyId } from '../actions/quick-reply-actions.js';

export type QuickReplySendResult = { ok: true } | { ok: false; error: string };

/**
 * Saving a quick reply (errors shown on the field, the list under it refreshed) and sending one
 * from the picker (stored and queued before Slack gets its answer).
 */
export function registerQuickReplySubmissions(
  app: App,
  deps: {
    save(userId: string, id: string | null, input: { title: unknown; body: unknown }): Promise<QuickReplySave>;
    /** Refreshes the list the editor was opened from. */
    showList(metadata: EditMetadata, notice: string): Promise<void>;
    send(request: {
      userId: string;
      metadata: PickerMetadata;
      replyId: string;
      key: string;
    }): Promise<QuickReplySendResult>;
  },
): void {
  app.view(QuickReplyIds.editCallback, async ({ ack, view, body }) => {
    const metadata = readMetadata(editMetadata, view.private_metadata);
    if (!metadata) {
      await ack();
      return;
    }
    const state = parseViewState(view.state.values);
    const result = await deps.save(body.user.id, metadata.id, {
      title: state[QuickReplyIds.titleBlock]?.[QuickReplyIds.inputAction]?.value ?? '',
      body: state[QuickReplyIds.bodyBlock]?.[QuickReplyIds.inputAction]?.value ?? '',
    });
    if (!result.ok) {
      const errors =
        'refused' in result
          ? { [QuickReplyIds.titleBlock]: result.refused }
          : {
              ...(result.errors.title ? { [QuickReplyIds.titleBlock]: result.errors.title } : {}),
              ...(result.errors.body ? { [QuickReplyIds.bodyBlock]: result.errors.body } : {}),
            };
      await ack({ response_action: 'errors', errors });
      return;
    }
    await ack();
    await deps.showList(metadata, `:white_check_mark: Saved "${escapeSlackText(result.reply.title)}".`);
  });

  app.view(QuickReplyIds.pickerCallback, async ({ ack, view, body }) => {
    const metadata = readMetadata(pickerMetadata, view.private_metadata);
    if (!metadata) {
      await ack();
      return;
    }
    const replyId = pickedReplyId(view);
    // Slack shows errors only under an input that is in the modal: the search when nothing matched it.
    const shown = view.blocks.map((block) => block.block_id);
    const field =
      shown.includes(QuickReplyIds.searchBlock) && !shown.includes(QuickReplyIds.pickBlock)
        ? QuickReplyIds.searchBlock
        : QuickReplyIds.pickBlock;
    if (!replyId) {
      await ack({ response_action: 'errors', errors: { [field]: 'Choose a quick reply to send.' } });
      return;
    }
    const result = await deps.send({ userId: body.user.id, metadata, replyId, key: view.id });
    if (!result.ok) {
      await ack({ response_action: 'errors', errors: { [field]: result.error } });
      return;
    }
    await ack();
  });
}
