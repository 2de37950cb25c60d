import { type AgentReactionPayload, createAgentReactions } from '../../bridge/agent-reactions.js';
import {
  type AgentMessageOutcome,
  type AgentReplyPayload,
  createAgentReplies,
  type QuickReplyRequest,
} from '../../bridge/agent-replies.js';
import { createConversationTemplates, type TemplateSendPayload } from '../../bridge/conversation-templates.js';
import { createDeliveryStatusHandler, type StatusListener } from '../../bridge/delivery-statuses.js';
import {
  createHeaderRefreshHandler,
  createInboundMessageHandler,
  type HeaderRefreshPayload,
  type InboundObserver,
} from '../../bridge/inbound-messages.js';
import { createInboundReactions } from '../../bridge/inbound-reactions.js';
import { JobKind } from '../../bridge/job-kinds.js';
import { createOpenConversation } from '../../bridge/open-conversation.js';
import { jobsForWebhookEvents } from '../../bridge/webhook-intake.js';
import type { NewJob } from '../../db/stores/job-store.js';
import { createProcessedEventStore } from '../../db/stores/processed-event-store.js';
import { createReactionStore } from '../../db/stores/reaction-store.js';
import { createWhatsAppWebhookHandler } from '../../http/whatsapp-webhook-routes.js';
import { errorIdNote, logErrorWithId } from '../../shared/error-id.js';
import { createGroupCommit } from '../../shared/group-commit.js';
import { quickReplyPostContent } from '../../slack/blocks/quick-reply-post.js';
import { registerRefusedReplyActions } from '../../slack/listeners/actions/refused-reply-actions.js';
import {
  registerTemplatePickerActions,
  templatePickerRebuilder,
} from '../../slack/listeners/actions/template-picker-actions.js';
import { registerThreadHeaderActions } from '../../slack/listeners/actions/thread-header-actions.js';
import { chatSubcommand } from '../../slack/listeners/commands/chat-subcommand.js';
import { registerMessageEvents } from '../../slack/listeners/events/message-events.js';
import { registerReactionEvents } from '../../slack/listeners/events/reaction-events.js';
import { registerTemplatePickerSubmission } from '../../slack/listeners/views/template-picker-submission.js';
import { TEMPLATE_PICKER_CALLBACK } from '../../slack/views/template-picker-view.js';
import type { SandboxProvider } from '../../whatsapp/sandbox/sandbox-provider.js';
import type { InboundMessageEvent, StatusEvent, WebhookEvent } from '../../whatsapp/whatsapp-provider.js';
import type { AppContext } from '../context.js';
import type { FeatureRegistry } from '../registry.js';

type AddSession = (userId: string, contactId: string) => Promise<'added' | 'already' | 'limit_reached'>;

/** The team inbox's side of messages (see src/features/team-inbox). */
type InboxHooks = {
  customerWrote(message: { contactId: string; messageId: string; at: number }): Promise<{
    broadcast: boolean;
    mention: string | null;
  }>;
  agentAnswered(answer: { contactId: string; agentUserId: string }): Promise<void>;
};

/**
 * Session chat: each WhatsApp conversation is a Slack thread. Provider webhooks come in (stored,
 * then posted in order), agents' thread replies and templates go out, delivery statuses come back
 * as reactions. Also `/wa chat`, the thread header's buttons and the template picker.
 */
export function installSessionChat(
  ctx: AppContext,
  registry: FeatureRegistry,
  deps: { addSession: AddSession; inbox: InboxHooks },
) {
  const { config, clock, logger, conversations, messages, threads, provider } = ctx;
  const slack = ctx.slack.conversations;
  const deliveries = createProcessedEventStore(ctx.database.db);
  const reactions = createReactionStore(ctx.database.db);
  const statusListeners: StatusListener[] = [];
  const inboundObservers: InboundObserver[] = [];

  // What replies, templates and inbound messages all work with.
  const common = {
    conversations,
    messages,
    slack,
    provider,
    jobs: ctx.jobs.queue,
    mediaBudget: ctx.media.budget,
    now: clock.now,
  };
  const agentReplies = createAgentReplies({
    ...common,
    deliveries,
    intents: ctx.postIntents,
    threads,
    quickReplyPost: quickReplyPostContent,
    internalNotePrefix: config.chat.internalNotePrefix,
    signAgentName: config.chat.signAgentName,
    logger: logger.child({ component: 'agent-replies' }),
  });
  const conversationTemplates = createConversationTemplates({
    ...common,
    threads,
    catalog: ctx.templates,
    intents: ctx.postIntents,
    logger: logger.child({ component: 'templates' }),
  });
  const agentReactions = createAgentReactions({
    ...common,
    reactions,
    deliveries,
    logger: logger.child({ component: 'agent-reactions' }),
  });
  const handleInbound = createInboundMessageHandler({
    ...common,
    threads,
    intents: ctx.postIntents,
    showReaction: createInboundReactions({
      messages,
      reactions,
      slack,
      now: clock.now,
      logger: logger.child({ component: 'inbound-reactions' }),
    }),
    inbox: deps.inbox,
    observers: inboundObservers,
    unfurlCustomerLinks: ctx.config.chat.unfurlCustomerLinks,
    logger: logger.child({ component: 'inbound' }),
  });
  const handleStatus = createDeliveryStatusHandler({
    messages,
    conversations,
    slack,
    intents: ctx.postIntents,
    deliveries,
    now: clock.now,
    logger: logger.child({ component: 'statuses' }),
    otherListeners: statusListeners,
  });

  ctx.jobs.handle(JobKind.inboundMessage, {
    pool: 'slack',
    handler: (payload, attempt) => handleInbound(payload as InboundMessageEvent, attempt),
    onGaveUp: async (payload, error) => {
      // Never silent: the message stays in the history, marked as not shown in Slack.
      const event = payload as InboundMessageEvent;
      const row = await messages.byProviderId(event.providerMessageId);
      // History shows the reason to people: the error id, not the exception's text (that is logged).
      const errorId = logErrorWithId(
        logger,
        error,
        'an inbound WhatsApp message could not be posted to Slack; it is kept in the history',
        { providerMessageId: event.providerMessageId },
      );
      const reason = `could not be posted to Slack ${errorIdNote(errorId)}`;
      if (row && !row.slack_ts) await messages.recordFailure(row.id, 'not_posted', reason, clock.now());
    },
  });
  ctx.jobs.handle(JobKind.deliveryStatus, {
    pool: 'slack',
    handler: (payload, attempt) => handleStatus(payload as StatusEvent, attempt),
  });
  const refreshHeaderAtWindowClose = createHeaderRefreshHandler({ conversations, threads });
  ctx.jobs.handle(JobKind.headerRefresh, {
    pool: 'slack',
    handler: (payload) => refreshHeaderAtWindowClose(payload as HeaderRefreshPayload),
  });
  ctx.jobs.handle(JobKind.agentReply, {
    pool: 'provider',
    handler: (payload, attempt) => agentReplies.send(payload as AgentReplyPayload, attempt),
  });
  ctx.jobs.handle(JobKind.agentReaction, {
    pool: 'provider',
    handler: (payload, attempt) => agentReactions.send(payload as AgentReactionPayload, attempt),
  });
  ctx.jobs.handle(JobKind.templateSend, {
    pool: 'provider',
    handler: (payload, attempt) => conversationTemplates.send(payload as TemplateSendPayload, attempt),
  });

  registry.providerWebhook(createProviderWebhookIntake(ctx));

  /** A reply accepted for sending is the agent answering: the inbox moves (status, auto-assign). */
  const answered = async (
    where: { channelId: string; threadTs: string | null; userId: string | null },
    outcome: AgentMessageOutcome,
  ): Promise<AgentMessageOutcome> => {
    if (outcome.result !== 'queued' || !where.threadTs || !where.userId) return outcome;
    const thread = await conversations.threadByTs(where.channelId, where.threadTs);
    if (thread)
      await deps.inbox
        .agentAnswered({ contactId: thread.contact_id, agentUserId: where.userId })
        .catch((error: unknown) =>
          logger.warn({ err: String(error), contactId: thread.contact_id }, 'recording an answer in the inbox failed'),
        );
    return outcome;
  };

  const contactLabel = async (contactId: string) => {
    const contact = await conversations.getContact(contactId);
    if (!contact) return null;
    return contact.profile_name
      ? `${contact.profile_name} (${contact.phone_number ?? ''})`
      : (contact.phone_number ?? contact.id);
  };
  const openConversation = createOpenConversation({
    conversations,
    threads,
    sendingNumbers: () => ctx.sendingNumbers.list(),
    addSession: deps.addSession,
    now: clock.now,
  });
  registry.subcommand('chat', chatSubcommand({ openConversation, permalink: (c, ts) => slack.permalink(c, ts) }));
  registry.slackListeners((app) =>
    registerMessageEvents(app, {
      acceptAgentMessage: async (message) => answered(message, await agentReplies.accept(message)),
      headerDeleted: async (channelId, ts) => {
        const thread = await conversations.threadByTs(channelId, ts);
        if (thread) await conversations.deactivateThread(thread.id);
      },
      logger: logger.child({ component: 'slack-events' }),
    }),
  );
  registry.slackListeners((app) =>
    registerReactionEvents(app, {
      acceptAgentReaction: (reaction) => agentReactions.accept(reaction),
      logger: logger.child({ component: 'slack-events' }),
    }),
  );
  registry.slackListeners((app) => registerThreadHeaderActions(app, { addSession: deps.addSession }));
  const picker = { catalog: ctx.templates, contactLabel, refusedDraft: agentReplies.refusedDraft, logger };
  registry.slackListeners((app) =>
    registerRefusedReplyActions(app, {
      sendAgain: async (request) => {
        const outcome = await agentReplies.sendAgain(request);
        const row = outcome === 'queued' ? await messages.get(request.messageId) : undefined;
        if (row)
          await deps.inbox
            .agentAnswered({ contactId: row.contact_id, agentUserId: request.userId })
            .catch((error: unknown) =>
              logger.warn({ err: String(error), contactId: row.contact_id }, 'recording an answer in the inbox failed'),
            );
        return outcome;
      },
    }),
  );
  registry.slackListeners((app) => registerTemplatePickerActions(app, picker));
  registry.templateForm(TEMPLATE_PICKER_CALLBACK, templatePickerRebuilder(picker));
  registry.slackListeners((app) =>
    registerTemplatePickerSubmission(app, {
      catalog: ctx.templates,
      isMarketer: ctx.roles.marketers,
      queueTemplate: async (request) => {
        const result = await conversationTemplates.queue(request);
        // A template sent from the thread answers the customer too.
        if (result.ok)
          await deps.inbox
            .agentAnswered({ contactId: request.contactId, agentUserId: request.requestedBy })
            .catch((error: unknown) =>
              logger.warn(
                { err: String(error), contactId: request.contactId },
                'recording an answer in the inbox failed',
              ),
            );
        return result;
      },
    }),
  );
  registry.lifecycle({
    async prepare() {
      // SQLite means one process: post intents leased by a crashed run belong to nobody.
      if (ctx.database.dialect === 'sqlite') await ctx.postIntents.releaseAllLeases();
    },
  });

  return {
    /** A quick reply picked in Slack, sent the way a typed reply is (see the quick-replies feature). */
    acceptQuickReply: async (request: QuickReplyRequest) =>
      answered(request, await agentReplies.acceptQuickReply(request)),
    /** Provider statuses for messages this feature did not send (a campaign's) go to these too. */
    onDeliveryStatus(listener: StatusListener): void {
      statusListeners.push(listener);
    },
    /** Customers' messages, for features that read them too (opt-out keywords, campaign replies). */
    onInbound(observer: InboundObserver): void {
      inboundObservers.push(observer);
    },
    retention: {
      purgeProcessedEvents: async (cutoff: number) =>
        // Post intents are removed when their post is recorded; old ones are left by given-up jobs.
        (await deliveries.purgeOlderThan(cutoff)) + (await ctx.postIntents.purgeOlderThan(cutoff)),
    },
  };
}
export type SessionChat = ReturnType<typeof installSessionChat>;

/**
 * Provider webhooks are acknowledged only once their events are stored as jobs. Webhooks that
 * arrive while a transaction is being written share the next one; a transaction holds at most 500
 * jobs, so a few webhooks carrying many events do not hold SQLite's single writer for long.
 */
function createProviderWebhookIntake(ctx: AppContext) {
  const { clock, metrics } = ctx;
  const intake = createGroupCommit<NewJob[]>((lists) => ctx.jobStore.enqueueAll(lists.flat(), clock.now()), {
    maxBatch: 500,
    sizeOf: (list) => list.length,
  });
  const store = async (events: readonly WebhookEvent[]) => {
    const jobs = jobsForWebhookEvents(events);
    if (jobs.length > 0) await intake.add(jobs);
    ctx.jobs.wake('slack');
  };
  // The sandbox's simulated delivery statuses take the same durable path as real webhooks.
  if ('connect' in ctx.rawProvider && typeof ctx.rawProvider.connect === 'function')
    (ctx.rawProvider as SandboxProvider).connect(store);
  return createWhatsAppWebhookHandler({
    provider: ctx.provider,
    logger: ctx.logger.child({ component: 'webhook' }),
    accept: async (events) => {
      for (const event of events) if (event.kind === 'status') metrics.statuses.inc({ status: event.status });
      await store(events);
    },
    onStarted: () => ctx.ingest.started(clock.now()),
    onFinished: () => ctx.ingest.finished(clock.now()),
    onResult: (outcome, durationMs) => {
      metrics.webhooks.inc({ outcome });
      if (outcome === 'accepted') metrics.webhookAckSeconds.observe(durationMs / 1000);
    },
  });
}
