import type { AgentSessionStore } from '../../db/stores/agent-session-store.js';
import type { ConversationStore } from '../../db/stores/conversation-store.js';
import { createLatestWins } from '../../shared/latest-wins.js';
import type { SlackGateway } from '../../slack/slack-gateway.js';
import { type HomeState, homeView } from '../../slack/views/sessions-views.js';

const ALL_SESSIONS_PAGE = 15;

/**
 * Each agent's App Home: the queues (see home-queues.ts), My Sessions and a searchable All Sessions. Publishes for one user run one
 * at a time, the last one with the latest state and data; the search state is kept per user.
 */
export function createAppHome(deps: {
  sessions: AgentSessionStore;
  conversations: ConversationStore;
  gateway: SlackGateway;
  now: () => number;
  /** The queues shown above My Sessions (and whether the user sees the team's). */
  queues?: (userId: string) => Promise<{ blocks: unknown[]; lead: boolean }>;
  /** Told after each publish (the background refresh keeps track of whose Home is out there). */
  published?: (userId: string, lead: boolean) => void;
}) {
  const states = new Map<string, HomeState>();
  const republish = createLatestWins(async (userId: string) => {
    const state = states.get(userId) ?? { query: '', sendingNumberId: null, page: 0 };
    states.set(userId, state);
    const [mine, all, numbers, queues] = await Promise.all([
      deps.sessions.list(userId),
      deps.conversations.searchContacts({
        query: state.query,
        sendingNumberId: state.sendingNumberId ?? undefined,
        limit: ALL_SESSIONS_PAGE,
        offset: state.page * ALL_SESSIONS_PAGE,
      }),
      deps.conversations.listSendingNumbers(),
      deps.queues?.(userId),
    ]);
    const view = homeView({ mine, all, numbers, state, now: deps.now(), ...(queues ? { top: queues.blocks } : {}) });
    await deps.gateway.direct((client) => client.views.publish({ user_id: userId, view }));
    deps.published?.(userId, queues?.lead ?? false);
  });
  return async function publishHome(userId: string, state?: HomeState): Promise<void> {
    if (state) states.set(userId, state);
    await republish(userId);
  };
}
