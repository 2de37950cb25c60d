import type { App } from '@slack/bolt';
import { noteModalMetadata, SessionIds } from '../../views/sessions-views.js';
import { parseViewState } from '../../views/template-form.js';

const parseMetadata = (raw: string) => {
  try {
    return noteModalMetadata.safeParse(JSON.parse(raw));
  } catch {
    return null;
  }
};

export function registerNoteSubmission(
  app: App,
  deps: {
    saveNote(userId: string, contactId: string, text: string): Promise<{ ok: true } | { ok: false; error: string }>;
    publishHome(userId: string): Promise<void>;
  },
): void {
  app.view(SessionIds.noteCallback, async ({ ack, view, body }) => {
    const metadata = parseMetadata(view.private_metadata);
    if (!metadata?.success) {
      await ack();
      return;
    }
    const { contactId, fromHome } = metadata.data;
    const text = parseViewState(view.state.values)[SessionIds.noteBlock]?.[SessionIds.noteAction]?.value ?? '';
    const result = await deps.saveNote(body.user.id, contactId, text);
    if (!result.ok) {
      await ack({ response_action: 'errors', errors: { [SessionIds.noteBlock]: result.error } });
      return;
    }
    await ack();
    // The Home tab under the closing modal shows the note: show the new one.
    if (fromHome) await deps.publishHome(body.user.id);
  });
}
