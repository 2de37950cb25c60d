import type { App } from '@slack/bolt';
import type { InboxAnswer } from '../../../bridge/team-inbox.js';
import { AssignIds, type AssignMetadata, assigneeState, assignMetadata } from '../../views/assign-view.js';

const parseMetadata = (raw: string): AssignMetadata | null => {
  try {
    const parsed = assignMetadata.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
};

/** Assign… submitted: a refusal (deactivated, bot, outside the workspace, full My Sessions) stays in the modal. */
export function registerAssignSubmission(
  app: App,
  deps: {
    assign(request: {
      metadata: AssignMetadata;
      ownerUserId: string;
      actorUserId: string;
      teamId: string | null;
    }): Promise<InboxAnswer>;
    tell(channelId: string, threadTs: string, userId: string, text: string): Promise<void>;
  },
): void {
  app.view(AssignIds.callback, async ({ ack, view, body }) => {
    const metadata = parseMetadata(view.private_metadata);
    const ownerUserId = assigneeState.parse(view.state.values);
    if (!metadata) {
      await ack();
      return;
    }
    if (!ownerUserId) {
      await ack({ response_action: 'errors', errors: { [AssignIds.userBlock]: 'Choose a person.' } });
      return;
    }
    const answer = await deps.assign({
      metadata,
      ownerUserId,
      actorUserId: body.user.id,
      teamId: body.team?.id ?? null,
    });
    if (!answer.ok) {
      // Slack shows errors as plain text: the <@U…> mentions of the reason read better as "the person".
      const plain = answer.text
        .replace(/:[a-z_]+: /g, '')
        .replace(/<@[A-Z0-9]+>/g, 'This person')
        .slice(0, 1900);
      await ack({ response_action: 'errors', errors: { [AssignIds.userBlock]: plain } });
      return;
    }
    await ack();
    await deps.tell(metadata.channelId, metadata.ts, body.user.id, answer.text);
  });
}
