import type { App } from '@slack/bolt';
import type { Logger } from '../shared/logger.js';
import { malformedSlackRequest, SlackRequestRefusedError } from './request-guard.js';

/**
 * How every Slack request gets a deliberate answer, whatever listeners did with it:
 *
 * - A signed body Bolt cannot handle (`event: null`, actions that are not a list, no user) is
 *   refused with a 400 before Bolt reads it, instead of failing inside Bolt as a 500.
 * - A request no listener acknowledges (an unknown action id or callback id, a button on a message
 *   from an older version of the app) would sit in Bolt until its 3-second timeout and then get a
 *   404, which Slack shows the person as an error. Once every listener has run, it is acknowledged
 *   empty instead: a 200 that changes nothing.
 * - An interaction whose listener fails after acknowledging (say `views.update` refused a stale
 *   view hash) would turn the stored acknowledgement into a 500. The acknowledgement is sent and the
 *   failure logged. Events API callbacks keep failing with a 5xx, so Slack delivers them again.
 */
export function guardAcknowledgements(app: App, logger: Logger): void {
  const processEvent = app.processEvent.bind(app);
  app.processEvent = async (event) => {
    const problem = malformedSlackRequest(event.body);
    if (problem) {
      logger.warn({ problem }, 'refused a malformed Slack request');
      throw new SlackRequestRefusedError(400, `malformed Slack request: ${problem}`);
    }
    let acknowledged = false;
    try {
      await processEvent({
        ...event,
        ack: (response) => {
          acknowledged = true;
          return event.ack(response);
        },
      });
    } catch (error) {
      if (!acknowledged || event.body.type === 'event_callback') throw error;
      logger.warn(
        { request: describeRequest(event.body), err: error instanceof Error ? error.message : String(error) },
        'a Slack listener failed after acknowledging',
      );
      return;
    }
    if (acknowledged) return;
    logger.info({ request: describeRequest(event.body) }, 'no listener handled this Slack request; acknowledged it');
    await event.ack();
  };
}

function describeRequest(body: Record<string, unknown>): string {
  const text = (value: unknown) => (typeof value === 'string' ? value.slice(0, 80) : undefined);
  const type = text(body.type) ?? text(body.command) ?? 'unknown';
  const actions = Array.isArray(body.actions) ? body.actions : [];
  const first: unknown = actions[0];
  const actionId = first && typeof first === 'object' && 'action_id' in first ? text(first.action_id) : undefined;
  const view = body.view && typeof body.view === 'object' && 'callback_id' in body.view ? body.view : undefined;
  const id = actionId ?? text(body.callback_id) ?? text(view?.callback_id);
  return id ? `${type} ${id}` : type;
}
