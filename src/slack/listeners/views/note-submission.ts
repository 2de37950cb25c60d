import type { App } from '@slack/bolt';
import { SessionIds } from '../../views/sessions-views.js';
import { parseViewState } from '../../views/template-form.js';

export function registerNoteSubmission(
  app: App,
  deps: {
    saveNote(userId: string, contactId: string, text: string): Promise<{ ok: true } | { ok: false; error: string }>;
  },
): void {
  app.view(SessionIds.noteCallback, async ({ ack, view, body }) => {
    let contactId: string | undefined;
    try {
      contactId = (JSON.parse(view.private_metadata) as { contactId?: string }).contactId;
    } catch {
      contactId = undefined;
    }
    if (!contactId) {
      await ack();
      return;
    }
    const text = parseViewState(view.state.values)[SessionIds.noteBlock]?.[SessionIds.noteAction]?.value ?? '';
    const result = await deps.saveNote(body.user.id, contactId, text);
    if (!result.ok) {
      await ack({ response_action: 'errors', errors: { [SessionIds.noteBlock]: result.error } });
      return;
    }
    await ack();
  });
}
