import {
  AuthorizationError,
  HTTPModuleFunctions,
  type ReceiverProcessEventErrorHandlerArgs,
  type SocketModeReceiverProcessEventErrorHandlerArgs,
  defaultProcessEventErrorHandler as socketModeDefaultHandler,
} from '@slack/bolt';
import { z } from 'zod';
import { ForeignWorkspaceError } from './single-workspace-authorize.js';

/** A signed Slack request the bridge will not process: answered with `status`, nothing runs. */
export class SlackRequestRefusedError extends Error {
  readonly status: 400 | 403;
  constructor(status: 400 | 403, message: string) {
    super(message);
    this.name = 'SlackRequestRefusedError';
    this.status = status;
  }
}

/*
 * The shapes Bolt relies on before any listener runs. Bolt reads these fields without checking them
 * (`'channel' in event`, `body.user.id`, `[payload] = body.actions`, `body.view.callback_id`), so a
 * validly signed body with `event: null` or an action list that is not one made it throw, and the
 * request end as a 500. Only what Bolt touches is checked; listeners validate the rest themselves.
 */
const record = z.object({}).loose();
const str = z.string().optional();
const eventSchema = z.object({
  event: z
    .object({
      type: z.string().min(1),
      channel: z.union([z.string(), record]).optional(),
      channel_id: str,
      item: record.optional(),
      user: z.union([z.string(), z.object({ id: z.string() }).loose()]).optional(),
      subteam: record.optional(),
    })
    .loose(),
  team_id: str,
  authorizations: z.array(z.object({ team_id: z.string().nullish() }).loose()).optional(),
});
const commandSchema = z.object({
  command: z.string().min(1),
  text: str,
  user_id: z.string(),
  channel_id: str,
  team_id: str,
  trigger_id: str,
  response_url: str,
});
const interactionSchema = z.object({
  type: z.string(),
  user: z.object({ id: z.string(), team_id: str }).loose(),
  team: z.object({ id: z.string() }).loose().nullish(),
  channel: record.optional(),
  view: z.object({ id: str, callback_id: str }).loose().optional(),
  actions: z
    .array(z.object({ action_id: str, block_id: str }).loose())
    .min(1)
    .optional(),
  callback_id: str,
  action_id: str,
  block_id: str,
});

const VIEW_TYPES = new Set(['view_submission', 'view_closed']);
const INTERACTION_TYPES = new Set([
  'block_actions',
  'block_suggestion',
  'interactive_message',
  'dialog_submission',
  'shortcut',
  'message_action',
]);

/** Why Bolt could not handle this body, or null when it can (or will ignore it as unknown). */
export function malformedSlackRequest(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'the body is not a JSON object';
  const fields = body as Record<string, unknown>;
  const type = typeof fields.type === 'string' ? fields.type : '';
  let result: z.ZodSafeParseResult<unknown> | null = null;
  if (fields.event !== undefined) result = eventSchema.safeParse(body);
  else if (fields.command !== undefined) result = commandSchema.safeParse(body);
  else if (fields.name !== undefined || fields.actions !== undefined || INTERACTION_TYPES.has(type))
    result = interactionSchema.safeParse(body);
  else if (VIEW_TYPES.has(type)) {
    result = interactionSchema.safeParse(body);
    if (result.success && fields.view === undefined) return 'a view payload without its view';
  }
  if (!result || result.success) return null;
  const issue = result.error.issues[0];
  return `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`.slice(0, 200);
}

/** The answer for a request the bridge refuses on purpose (malformed, another workspace), or null. */
export function refusalOf(error: unknown): { status: 400 | 403; message: string } | null {
  if (error instanceof SlackRequestRefusedError) return { status: error.status, message: error.message };
  if (error instanceof AuthorizationError && error.original instanceof ForeignWorkspaceError)
    return { status: 403, message: error.original.message };
  return null;
}

/** ExpressReceiver: refusals get their 4xx; anything else keeps Bolt's answer (401 or 500). */
export async function answerRefusals(args: ReceiverProcessEventErrorHandlerArgs): Promise<boolean> {
  const refusal = refusalOf(args.error);
  if (!refusal) return HTTPModuleFunctions.defaultProcessEventErrorHandler(args);
  if (!args.response.headersSent) {
    const body = JSON.stringify({ error: refusal.message });
    args.response.writeHead(refusal.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    args.response.end(body);
  }
  return true;
}

/** Socket Mode has no status to answer with: a refusal is acknowledged (Slack stops retrying) and dropped. */
export async function acknowledgeRefusals(args: SocketModeReceiverProcessEventErrorHandlerArgs): Promise<boolean> {
  return refusalOf(args.error) !== null || socketModeDefaultHandler(args);
}
