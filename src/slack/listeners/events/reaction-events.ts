import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { AgentReaction, AgentReactionOutcome } from '../../../bridge/agent-reactions.js';
import type { Logger } from '../../../shared/logger.js';

const reactionEventSchema = z.object({
  type: z.enum(['reaction_added', 'reaction_removed']),
  user: z.string().min(1),
  reaction: z.string().min(1).max(200),
  // Reactions on files and file comments have other item types: not messages, never sent.
  item: z.object({ type: z.literal('message'), channel: z.string().min(1), ts: z.string().min(1) }),
  event_ts: z.string().min(1),
});

/**
 * People's reactions on messages (`reaction_added` / `reaction_removed`, which need reactions:read):
 * on a customer's message in a conversation thread they go to WhatsApp. The bot's own reactions —
 * delivery statuses (⏳ ✔️ ✅ 📘 ❌ 🚫) and customers' reactions shown in Slack — never do.
 */
export function registerReactionEvents(
  app: App,
  deps: { acceptAgentReaction(reaction: AgentReaction): Promise<AgentReactionOutcome>; logger: Logger },
): void {
  const handle = async (event: unknown, botUserId: string | undefined) => {
    const parsed = reactionEventSchema.safeParse(event);
    if (!parsed.success) return;
    const reaction = parsed.data;
    // Bolt's ignoreSelf drops these already; sending them would echo every status mark to the customer.
    if (reaction.user === botUserId) return;
    const outcome = await deps.acceptAgentReaction({
      channelId: reaction.item.channel,
      ts: reaction.item.ts,
      userId: reaction.user,
      name: reaction.reaction,
      added: reaction.type === 'reaction_added',
      eventTs: reaction.event_ts,
    });
    deps.logger.debug({ channel: reaction.item.channel, ts: reaction.item.ts, outcome }, 'slack reaction handled');
  };
  app.event('reaction_added', async ({ event, context }) => handle(event, context.botUserId));
  app.event('reaction_removed', async ({ event, context }) => handle(event, context.botUserId));
}
