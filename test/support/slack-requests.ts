import { createHmac } from 'node:crypto';
import {
  messageBlockProblems,
  optionsLoadProblems,
  optionsResponseProblems,
  readManifest,
  type SlackAppManifest,
  submissionErrorProblems,
  viewProblems,
} from './fake-slack-rules.js';

/**
 * Requests exactly as Slack sends them: v0 signature over `v0:<ts>:<raw body>`, form bodies for
 * slash commands and interactivity (`payload=<json>`), JSON for the Events API.
 */

export type SignedRequest = { body: string; headers: Record<string, string> };

export function signSlackRequest(
  secret: string,
  body: string,
  contentType: string,
  options: { timestamp?: number } = {},
): SignedRequest {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    body,
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signature,
    },
  };
}

export function slashCommand(
  secret: string,
  command: {
    text: string;
    userId?: string;
    channelId?: string;
    triggerId?: string;
    responseUrl?: string;
    command?: string;
  },
  options: { timestamp?: number } = {},
): SignedRequest {
  const form = new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: 'T111',
    team_domain: 'acme',
    channel_id: command.channelId ?? 'C0AGENTS',
    channel_name: 'agents',
    user_id: command.userId ?? 'UAGENT1',
    user_name: 'agent1',
    command: command.command ?? '/wa',
    text: command.text,
    api_app_id: 'A111',
    is_enterprise_install: 'false',
    response_url: command.responseUrl ?? 'https://hooks.slack.com/commands/T111/1/abc',
    trigger_id: command.triggerId ?? `trigger.${Date.now()}.${Math.random().toString(36).slice(2)}`,
  });
  return signSlackRequest(secret, form.toString(), 'application/x-www-form-urlencoded', options);
}

export function interactivity(secret: string, payload: unknown, options: { timestamp?: number } = {}): SignedRequest {
  return signSlackRequest(
    secret,
    new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
    'application/x-www-form-urlencoded',
    options,
  );
}

let eventCounter = 0;

export function eventCallback(
  secret: string,
  event: Record<string, unknown>,
  options: { eventId?: string; timestamp?: number } = {},
): SignedRequest {
  const body = JSON.stringify({
    token: 'legacy-verification-token',
    team_id: 'T111',
    api_app_id: 'A111',
    event,
    type: 'event_callback',
    event_id: options.eventId ?? `Ev${Date.now()}${++eventCounter}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: 'T111', user_id: 'UBOT', is_bot: true, is_enterprise_install: false }],
  });
  return signSlackRequest(secret, body, 'application/json', options);
}

export function urlVerification(
  secret: string,
  challenge: string,
  options: { timestamp?: number } = {},
): SignedRequest {
  return signSlackRequest(
    secret,
    JSON.stringify({ token: 'legacy', challenge, type: 'url_verification' }),
    'application/json',
    options,
  );
}

const user = (id: string) => ({ id, username: id.toLowerCase(), name: id.toLowerCase(), team_id: 'T111' });

export function blockActionsPayload(input: {
  userId?: string;
  actionId: string;
  value?: string;
  selectedOption?: string;
  /** The element's type as Slack names it (default: static_select with a selected option, else button). */
  actionType?: string;
  blockId?: string;
  message?: { channelId: string; ts: string };
  view?: {
    id: string;
    hash?: string;
    callbackId: string;
    privateMetadata: string;
    state?: Record<string, unknown>;
    type?: 'modal' | 'home';
  };
  triggerId?: string;
  responseUrl?: string;
}): Record<string, unknown> {
  const action: Record<string, unknown> = {
    action_id: input.actionId,
    block_id: input.blockId ?? 'block',
    action_ts: String(Date.now() / 1000),
    type: input.actionType ?? (input.selectedOption !== undefined ? 'static_select' : 'button'),
  };
  if (input.value !== undefined) action.value = input.value;
  if (input.selectedOption !== undefined)
    action.selected_option = { text: { type: 'plain_text', text: input.selectedOption }, value: input.selectedOption };
  return {
    type: 'block_actions',
    user: user(input.userId ?? 'UAGENT1'),
    api_app_id: 'A111',
    token: 'legacy',
    trigger_id: input.triggerId ?? `trigger.${Date.now()}`,
    team: { id: 'T111', domain: 'acme' },
    is_enterprise_install: false,
    container: input.message
      ? { type: 'message', message_ts: input.message.ts, channel_id: input.message.channelId, is_ephemeral: false }
      : { type: 'view', view_id: input.view?.id ?? 'V0' },
    ...(input.message
      ? {
          channel: { id: input.message.channelId, name: 'conversations' },
          message: { ts: input.message.ts, text: '' },
          response_url: input.responseUrl ?? 'https://hooks.slack.com/actions/T111/1/abc',
        }
      : {}),
    ...(input.view
      ? {
          view: {
            id: input.view.id,
            team_id: 'T111',
            type: input.view.type ?? 'modal',
            callback_id: input.view.callbackId,
            private_metadata: input.view.privateMetadata,
            hash: input.view.hash ?? 'h0',
            state: { values: input.view.state ?? {} },
            blocks: [],
          },
        }
      : {}),
    actions: [action],
  };
}

export function viewSubmissionPayload(input: {
  userId?: string;
  viewId: string;
  callbackId: string;
  privateMetadata: string;
  values: Record<string, Record<string, unknown>>;
  hash?: string;
  /** The submitted view's blocks, as Slack sends them: the `errors` answer is then checked against them. */
  blocks?: unknown[];
}): Record<string, unknown> {
  return {
    type: 'view_submission',
    team: { id: 'T111', domain: 'acme' },
    user: user(input.userId ?? 'UAGENT1'),
    api_app_id: 'A111',
    token: 'legacy',
    trigger_id: `trigger.${Date.now()}`,
    view: {
      id: input.viewId,
      team_id: 'T111',
      type: 'modal',
      callback_id: input.callbackId,
      private_metadata: input.privateMetadata,
      hash: input.hash ?? 'h0',
      state: { values: input.values },
      blocks: input.blocks ?? [],
      title: { type: 'plain_text', text: 'x' },
    },
    response_urls: [],
  };
}

/**
 * What Slack sends when someone opens or types in an `external_select` (the app answers with the
 * options). Slack sends it only to an app whose manifest has an Options Load URL (over HTTP).
 */
export function blockSuggestion(
  secret: string,
  input: {
    userId?: string;
    actionId: string;
    blockId: string;
    value: string;
    view: { id: string; hash: string; callbackId: string; privateMetadata: string };
  },
  manifest: SlackAppManifest = readManifest(),
): SignedRequest {
  const problems = optionsLoadProblems(manifest);
  if (problems.length > 0) throw new Error(`Slack would not send this options request: ${problems.join('; ')}`);
  return interactivity(secret, {
    type: 'block_suggestion',
    user: user(input.userId ?? 'UAGENT1'),
    container: { type: 'view', view_id: input.view.id },
    api_app_id: 'A111',
    token: 'legacy',
    action_id: input.actionId,
    block_id: input.blockId,
    value: input.value,
    team: { id: 'T111', domain: 'acme' },
    is_enterprise_install: false,
    view: {
      id: input.view.id,
      team_id: 'T111',
      type: 'modal',
      callback_id: input.view.callbackId,
      private_metadata: input.view.privateMetadata,
      hash: input.view.hash,
      state: { values: {} },
      blocks: [],
    },
  });
}

export function shortcutPayload(input: {
  callbackId: string;
  userId?: string;
  triggerId?: string;
}): Record<string, unknown> {
  return {
    type: 'shortcut',
    token: 'legacy',
    action_ts: String(Date.now() / 1000),
    team: { id: 'T111', domain: 'acme' },
    user: user(input.userId ?? 'UAGENT1'),
    callback_id: input.callbackId,
    trigger_id: input.triggerId ?? `trigger.${Date.now()}`,
  };
}

export function messageShortcutPayload(input: {
  callbackId: string;
  channelId: string;
  messageTs: string;
  threadTs?: string;
  userId?: string;
  responseUrl?: string;
}): Record<string, unknown> {
  return {
    type: 'message_action',
    token: 'legacy',
    action_ts: String(Date.now() / 1000),
    team: { id: 'T111', domain: 'acme' },
    user: user(input.userId ?? 'UAGENT1'),
    channel: { id: input.channelId, name: 'conversations' },
    callback_id: input.callbackId,
    trigger_id: `trigger.${Date.now()}`,
    message_ts: input.messageTs,
    message: {
      type: 'message',
      ts: input.messageTs,
      text: 'x',
      ...(input.threadTs ? { thread_ts: input.threadTs } : {}),
    },
    response_url: input.responseUrl ?? 'https://hooks.slack.com/app/T111/1/abc',
  };
}

export async function postSlack(
  baseUrl: string,
  request: SignedRequest,
): Promise<{ status: number; text: string; json: unknown }> {
  const response = await fetch(`${baseUrl}/slack/events`, {
    method: 'POST',
    headers: request.headers,
    body: request.body,
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  // A refusal (4xx) is not an acknowledgement Slack reads; an empty 200 leaves a menu empty.
  const problems = acknowledgementProblems(
    json,
    response.status === 200 && json !== null ? interactionOf(request) : null,
  );
  if (problems.length > 0) throw new Error(`Slack would refuse this acknowledgement:\n${problems.join('\n')}\n${text}`);
  return { status: response.status, text, json };
}

/** The interactivity payload a signed request carries, if it is one. */
function interactionOf(request: SignedRequest): Record<string, unknown> | null {
  if (!request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return null;
  const payload = new URLSearchParams(request.body).get('payload');
  if (!payload) return null;
  try {
    return JSON.parse(payload) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/**
 * What Slack would refuse in an HTTP acknowledgement: a view sent back, a command's blocks, an
 * options request's answer, and a submission's `errors` naming a block that is not an input block
 * of the submitted view (checked when the request carried the view's blocks, as Slack's do).
 */
export function acknowledgementProblems(json: unknown, interaction: Record<string, unknown> | null = null): string[] {
  if (interaction?.type === 'block_suggestion') return optionsResponseProblems(json);
  if (typeof json !== 'object' || json === null) return [];
  const ack = json as { response_action?: unknown; view?: unknown; blocks?: unknown; errors?: unknown };
  if ((ack.response_action === 'update' || ack.response_action === 'push') && ack.view !== undefined)
    return viewProblems(ack.view);
  if (ack.response_action === 'errors' && interaction?.type === 'view_submission') {
    const view = interaction.view as { blocks?: unknown[] } | undefined;
    if (view?.blocks && view.blocks.length > 0) return submissionErrorProblems(ack.errors, view.blocks);
  }
  return messageBlockProblems(ack.blocks);
}
