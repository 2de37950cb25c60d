import type { App, BlockAction } from '@slack/bolt';
import { MAX_SESSIONS_PER_AGENT } from '../../../db/stores/agent-session-store.js';
import { ActionId } from '../../blocks/thread-header.js';

/** "Add to My Sessions" on a thread header. */
export function registerThreadHeaderActions(
  app: App,
  deps: { addSession(userId: string, contactId: string): Promise<'added' | 'already' | 'limit_reached'> },
): void {
  app.action<BlockAction>(ActionId.addToMySessions, async ({ ack, body, action, respond }) => {
    await ack();
    const contactId = 'value' in action && typeof action.value === 'string' ? action.value : null;
    if (!contactId) return;
    const result = await deps.addSession(body.user.id, contactId);
    const text =
      result === 'added'
        ? ':white_check_mark: Added to your My Sessions.'
        : result === 'already'
          ? 'This conversation is already in your My Sessions.'
          : `:no_entry: Not added: My Sessions holds at most ${MAX_SESSIONS_PER_AGENT} conversations. Remove one first (\`/wa sessions\`).`;
    await respond({ response_type: 'ephemeral', replace_original: false, text });
  });
}
