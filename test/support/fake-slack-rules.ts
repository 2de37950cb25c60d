import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';

/**
 * The rules real Slack applies and the fake enforces, so a test fails where production would:
 * the bot scopes and App Home settings of the app's own `manifest.yml`, and Block Kit's limits
 * (https://docs.slack.dev/reference/block-kit; ../shared/docs/slack.md §5.1).
 */

export type SlackAppManifest = {
  features?: {
    app_home?: { home_tab_enabled?: boolean; messages_tab_enabled?: boolean; messages_tab_read_only_enabled?: boolean };
  };
  oauth_config?: { scopes?: { bot?: string[] } };
  settings?: {
    event_subscriptions?: { bot_events?: string[] };
    interactivity?: { is_enabled?: boolean; request_url?: string; message_menu_options_url?: string };
    socket_mode_enabled?: boolean;
  };
};

/**
 * Why Slack would not ask the app for a select menu's options (`block_suggestion`), empty when it
 * would: over HTTP it sends them only to the manifest's Options Load URL.
 */
export function optionsLoadProblems(manifest: SlackAppManifest): string[] {
  const interactivity = manifest.settings?.interactivity;
  if (!interactivity?.is_enabled) return ['interactivity is not enabled in the manifest'];
  if (manifest.settings?.socket_mode_enabled) return [];
  return interactivity.message_menu_options_url
    ? []
    : ['the manifest has no settings.interactivity.message_menu_options_url (Options Load URL)'];
}

export const MANIFEST_PATH = resolve(import.meta.dirname, '../../manifest.yml');

export function readManifest(path = MANIFEST_PATH): SlackAppManifest {
  return parse(readFileSync(path, 'utf8')) as SlackAppManifest;
}

/**
 * The bot scopes a Web API method needs: any one of them is enough (conversations.* accept the
 * scope of the kind of conversation). Methods that need none are absent; unknown methods are
 * answered `unknown_method` by the fake anyway.
 */
export const METHOD_SCOPES: Readonly<Record<string, readonly string[]>> = {
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.delete': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'reactions.add': ['reactions:write'],
  'reactions.remove': ['reactions:write'],
  'reactions.get': ['reactions:read'],
  'conversations.replies': ['channels:history', 'groups:history', 'im:history', 'mpim:history'],
  'conversations.history': ['channels:history', 'groups:history', 'im:history', 'mpim:history'],
  'conversations.info': ['channels:read', 'groups:read', 'im:read', 'mpim:read'],
  'conversations.members': ['channels:read', 'groups:read', 'im:read', 'mpim:read'],
  'conversations.open': ['im:write', 'mpim:write'],
  'users.info': ['users:read'],
  'users.list': ['users:read'],
  'usergroups.list': ['usergroups:read'],
  'usergroups.users.list': ['usergroups:read'],
  'files.getUploadURLExternal': ['files:write'],
  'files.completeUploadExternal': ['files:write'],
  'files.info': ['files:read'],
  'chat.unfurl': ['links:write'],
};

/**
 * The bot scopes without which Slack delivers none of an event subscription's events, however the
 * manifest subscribes (https://docs.slack.dev/reference/events; ../shared/docs/slack.md).
 */
export const EVENT_SCOPES: Readonly<Record<string, readonly string[]>> = {
  app_home_opened: [],
  'message.channels': ['channels:history'],
  'message.groups': ['groups:history'],
  reaction_added: ['reactions:read'],
  reaction_removed: ['reactions:read'],
};

/** Why Slack would not deliver this subscription's events to the app (empty: it would). */
export function eventDeliveryProblems(manifest: SlackAppManifest, subscription: string): string[] {
  const problems: string[] = [];
  if (!manifest.settings?.event_subscriptions?.bot_events?.includes(subscription))
    problems.push(`the manifest does not subscribe to ${subscription}`);
  const scopes = new Set(manifest.oauth_config?.scopes?.bot ?? []);
  const needed = EVENT_SCOPES[subscription] ?? [];
  if (needed.length > 0 && !needed.some((scope) => scopes.has(scope)))
    problems.push(`${subscription} needs ${needed.join(' or ')}`);
  return problems;
}

/** A reaction name as Slack writes it: no colons around it, a skin tone as a `::skin-tone-N` suffix. */
export const REACTION_NAME = /^[a-z0-9_+'-]+(::skin-tone-[2-6])?$/;

/** `url_private` downloads need files:read: without it Slack answers with its HTML login page. */
export const FILE_DOWNLOAD_SCOPE = 'files:read';

export const LIMITS = {
  messageBlocks: 50,
  surfaceBlocks: 100,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  blockId: 255,
  actionId: 255,
  buttonText: 75,
  buttonValue: 2000,
  url: 3000,
  optionText: 75,
  optionDescription: 75,
  optionValue: 150,
  optionGroupLabel: 75,
  optionGroups: 100,
  selectOptions: 100,
  choiceOptions: 10,
  overflowOptions: 5,
  placeholder: 150,
  inputLabel: 2000,
  inputHint: 2000,
  textInputLength: 3000,
  modalTitle: 24,
  privateMetadata: 3000,
  callbackId: 255,
  imageAltText: 2000,
} as const;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Collects what is wrong with blocks, in Slack's `[ERROR] … [json-pointer:…]` style. */
class Problems {
  readonly list: string[] = [];
  add(path: string, message: string) {
    this.list.push(`[ERROR] ${message} [json-pointer:${path}]`);
  }
  max(path: string, value: unknown, limit: number, what: string) {
    if (typeof value === 'string' && value.length > limit)
      this.add(path, `must be less than ${limit + 1} characters (${what} has ${value.length})`);
  }
}

function textObject(p: Problems, path: string, value: unknown, options: { plainOnly?: boolean; max?: number } = {}) {
  if (!isObject(value)) return p.add(path, 'must be a text object');
  if (value.type !== 'plain_text' && value.type !== 'mrkdwn')
    return p.add(`${path}/type`, 'must be plain_text or mrkdwn');
  if (options.plainOnly && value.type !== 'plain_text') p.add(`${path}/type`, 'must be plain_text');
  if (typeof value.text !== 'string') return p.add(`${path}/text`, 'must be a string');
  if (value.text.length === 0) p.add(`${path}/text`, 'must be more than 0 characters');
  if (options.max !== undefined) p.max(`${path}/text`, value.text, options.max, 'text');
}

function option(p: Problems, path: string, value: unknown) {
  if (!isObject(value)) return p.add(path, 'must be an option object');
  textObject(p, `${path}/text`, value.text, { max: LIMITS.optionText });
  if (value.description !== undefined)
    textObject(p, `${path}/description`, value.description, { plainOnly: true, max: LIMITS.optionDescription });
  if (typeof value.value !== 'string') p.add(`${path}/value`, 'must be a string');
  else p.max(`${path}/value`, value.value, LIMITS.optionValue, 'value');
}

const sameOption = (a: unknown, b: unknown) =>
  isObject(a) && isObject(b) && a.value === b.value && JSON.stringify(a.text) === JSON.stringify(b.text);

function optionList(p: Problems, path: string, element: Json, max: number, required: boolean) {
  const options = element.options;
  const groups = element.option_groups;
  if (options === undefined && groups === undefined) {
    if (required) p.add(path, 'must provide options');
    return [];
  }
  const all: unknown[] = [];
  if (options !== undefined) {
    if (!Array.isArray(options)) {
      p.add(`${path}/options`, 'must be an array');
      return [];
    }
    if (options.length > max) p.add(`${path}/options`, `must provide at most ${max} items (has ${options.length})`);
    for (const [i, o] of options.entries()) option(p, `${path}/options/${i}`, o);
    all.push(...options);
  }
  if (Array.isArray(groups)) {
    groups.forEach((group: unknown, g) => {
      const items = isObject(group) && Array.isArray(group.options) ? group.options : [];
      if (items.length > max) p.add(`${path}/option_groups/${g}/options`, `must provide at most ${max} items`);
      for (const [i, o] of items.entries()) option(p, `${path}/option_groups/${g}/options/${i}`, o);
      all.push(...items);
    });
  }
  return all;
}

function element(p: Problems, path: string, value: unknown, surface: Surface) {
  if (!isObject(value)) return p.add(path, 'must be an element object');
  p.max(`${path}/action_id`, value.action_id, LIMITS.actionId, 'action_id');
  if (value.placeholder !== undefined)
    textObject(p, `${path}/placeholder`, value.placeholder, { plainOnly: true, max: LIMITS.placeholder });
  switch (value.type) {
    case 'button':
      textObject(p, `${path}/text`, value.text, { plainOnly: true, max: LIMITS.buttonText });
      p.max(`${path}/value`, value.value, LIMITS.buttonValue, 'value');
      p.max(`${path}/url`, value.url, LIMITS.url, 'url');
      if (value.style !== undefined && value.style !== 'primary' && value.style !== 'danger')
        p.add(`${path}/style`, 'must be primary or danger');
      return;
    case 'static_select':
    case 'multi_static_select': {
      const all = optionList(p, path, value, LIMITS.selectOptions, true);
      if (value.initial_option !== undefined && !all.some((o) => sameOption(o, value.initial_option)))
        p.add(`${path}/initial_option`, 'must match one of the provided options');
      return;
    }
    case 'overflow': {
      const all = optionList(p, path, value, LIMITS.overflowOptions, true);
      if (all.length < 1) p.add(`${path}/options`, 'must provide at least 1 item');
      return;
    }
    case 'checkboxes':
    case 'radio_buttons': {
      const all = optionList(p, path, value, LIMITS.choiceOptions, true);
      if (value.initial_option !== undefined && !all.some((o) => sameOption(o, value.initial_option)))
        p.add(`${path}/initial_option`, 'must match one of the provided options');
      return;
    }
    case 'plain_text_input': {
      if (value.dispatch_action_config !== undefined) {
        const config = value.dispatch_action_config;
        const triggers =
          isObject(config) && Array.isArray(config.trigger_actions_on) ? config.trigger_actions_on : null;
        if (!triggers || triggers.length === 0)
          p.add(`${path}/dispatch_action_config/trigger_actions_on`, 'must provide at least 1 item');
        else
          triggers.forEach((t, i) => {
            if (t !== 'on_enter_pressed' && t !== 'on_character_entered')
              p.add(
                `${path}/dispatch_action_config/trigger_actions_on/${i}`,
                'must be on_enter_pressed or on_character_entered',
              );
          });
      }
      const max = typeof value.max_length === 'number' ? value.max_length : LIMITS.textInputLength;
      if (max > LIMITS.textInputLength) p.add(`${path}/max_length`, `must be at most ${LIMITS.textInputLength}`);
      if (typeof value.initial_value === 'string' && value.initial_value.length > max)
        p.add(`${path}/initial_value`, `must be at most max_length (${max}) characters`);
      return;
    }
    case 'file_input':
      if (surface === 'message') p.add(path, 'file_input is only allowed in modals and Home tabs');
      return;
    case 'image':
      p.max(`${path}/image_url`, value.image_url, LIMITS.url, 'image_url');
      p.max(`${path}/alt_text`, value.alt_text, LIMITS.imageAltText, 'alt_text');
      return;
    case 'external_select':
      // Its options come from the app's Options Load URL; an initial option must be a valid option.
      if (value.options !== undefined || value.option_groups !== undefined)
        p.add(path, 'external_select takes no options: they are loaded from the app');
      if (value.initial_option !== undefined) option(p, `${path}/initial_option`, value.initial_option);
      if (
        value.min_query_length !== undefined &&
        (typeof value.min_query_length !== 'number' || value.min_query_length < 0)
      )
        p.add(`${path}/min_query_length`, 'must be a number of at least 0');
      return;
    case 'multi_external_select':
    case 'users_select':
    case 'multi_users_select':
    case 'conversations_select':
    case 'multi_conversations_select':
    case 'channels_select':
    case 'multi_channels_select':
    case 'datepicker':
    case 'datetimepicker':
    case 'timepicker':
    case 'number_input':
    case 'email_text_input':
    case 'url_text_input':
    case 'rich_text_input':
    case 'workflow_button':
      return;
    default:
      p.add(`${path}/type`, `unknown element type ${String(value.type)}`);
  }
}

type Surface = 'message' | 'modal' | 'home';

function block(p: Problems, path: string, value: unknown, surface: Surface, blockIds: Set<string>) {
  if (!isObject(value)) return p.add(path, 'must be a block object');
  if (value.block_id !== undefined) {
    if (typeof value.block_id !== 'string') p.add(`${path}/block_id`, 'must be a string');
    else {
      p.max(`${path}/block_id`, value.block_id, LIMITS.blockId, 'block_id');
      if (blockIds.has(value.block_id)) p.add(`${path}/block_id`, `duplicate block_id ${value.block_id}`);
      blockIds.add(value.block_id);
    }
  }
  switch (value.type) {
    case 'section': {
      if (value.text === undefined && value.fields === undefined) p.add(path, 'must provide text or fields');
      if (value.text !== undefined) textObject(p, `${path}/text`, value.text, { max: LIMITS.sectionText });
      if (value.fields !== undefined) {
        if (!Array.isArray(value.fields)) p.add(`${path}/fields`, 'must be an array');
        else {
          if (value.fields.length > LIMITS.sectionFields)
            p.add(`${path}/fields`, `must provide at most ${LIMITS.sectionFields} items`);
          for (const [i, f] of value.fields.entries())
            textObject(p, `${path}/fields/${i}`, f, { max: LIMITS.sectionFieldText });
        }
      }
      if (value.accessory !== undefined) element(p, `${path}/accessory`, value.accessory, surface);
      return;
    }
    case 'header':
      return textObject(p, `${path}/text`, value.text, { plainOnly: true, max: LIMITS.headerText });
    case 'context': {
      const elements = Array.isArray(value.elements) ? value.elements : null;
      if (!elements || elements.length === 0) return p.add(`${path}/elements`, 'must provide at least 1 item');
      if (elements.length > LIMITS.contextElements)
        p.add(`${path}/elements`, `must provide at most ${LIMITS.contextElements} items`);
      elements.forEach((e, i) => {
        if (isObject(e) && e.type === 'image') element(p, `${path}/elements/${i}`, e, surface);
        else textObject(p, `${path}/elements/${i}`, e);
      });
      return;
    }
    case 'actions': {
      const elements = Array.isArray(value.elements) ? value.elements : null;
      if (!elements || elements.length === 0) return p.add(`${path}/elements`, 'must provide at least 1 item');
      if (elements.length > LIMITS.actionsElements)
        p.add(`${path}/elements`, `must provide at most ${LIMITS.actionsElements} items`);
      for (const [i, e] of elements.entries()) element(p, `${path}/elements/${i}`, e, surface);
      return;
    }
    case 'input':
      if (surface === 'message') p.add(path, 'input blocks are only allowed in modals and Home tabs');
      if (value.dispatch_action !== undefined && typeof value.dispatch_action !== 'boolean')
        p.add(`${path}/dispatch_action`, 'must be a boolean');
      if (
        isObject(value.element) &&
        value.element.dispatch_action_config !== undefined &&
        value.dispatch_action !== true
      )
        p.add(`${path}/dispatch_action`, 'must be true for the element to dispatch (dispatch_action_config is set)');
      textObject(p, `${path}/label`, value.label, { plainOnly: true, max: LIMITS.inputLabel });
      if (value.hint !== undefined)
        textObject(p, `${path}/hint`, value.hint, { plainOnly: true, max: LIMITS.inputHint });
      element(p, `${path}/element`, value.element, surface);
      return;
    case 'image':
      p.max(`${path}/image_url`, value.image_url, LIMITS.url, 'image_url');
      p.max(`${path}/alt_text`, value.alt_text, LIMITS.imageAltText, 'alt_text');
      return;
    case 'divider':
    case 'rich_text':
    case 'file':
    case 'video':
    case 'markdown':
      return;
    default:
      p.add(`${path}/type`, `unknown block type ${String(value.type)}`);
  }
}

function blockList(p: Problems, value: unknown, surface: Surface, max: number) {
  if (!Array.isArray(value)) return p.add('/blocks', 'must be an array');
  if (value.length > max) p.add('/blocks', `must provide at most ${max} items (has ${value.length})`);
  const ids = new Set<string>();
  for (const [i, b] of value.entries()) block(p, `/blocks/${i}`, b, surface, ids);
}

/** What Slack would refuse in a message's blocks (chat.postMessage, chat.update, responses). */
export function messageBlockProblems(blocks: unknown): string[] {
  const p = new Problems();
  if (blocks === undefined || blocks === null || blocks === '') return p.list;
  blockList(p, blocks, 'message', LIMITS.messageBlocks);
  return p.list;
}

/** What Slack would refuse in a view (views.open/push/update/publish, `response_action` views). */
export function viewProblems(view: unknown): string[] {
  const p = new Problems();
  if (!isObject(view)) {
    p.add('/view', 'must be a view object');
    return p.list;
  }
  const surface: Surface = view.type === 'home' ? 'home' : 'modal';
  if (view.type !== 'modal' && view.type !== 'home') p.add('/view/type', 'must be modal or home');
  blockList(p, view.blocks, surface, LIMITS.surfaceBlocks);
  p.max('/view/private_metadata', view.private_metadata, LIMITS.privateMetadata, 'private_metadata');
  p.max('/view/callback_id', view.callback_id, LIMITS.callbackId, 'callback_id');
  if (surface === 'modal') {
    textObject(p, '/view/title', view.title, { plainOnly: true, max: LIMITS.modalTitle });
    for (const key of ['submit', 'close'] as const)
      if (view[key] !== undefined)
        textObject(p, `/view/${key}`, view[key], { plainOnly: true, max: LIMITS.modalTitle });
    const hasInput = Array.isArray(view.blocks) && view.blocks.some((b) => isObject(b) && b.type === 'input');
    if (hasInput && view.submit === undefined) p.add('/view/submit', 'is required when a view has input blocks');
  }
  return p.list;
}

/**
 * What Slack would refuse in the answer to an options request (`block_suggestion`): at most 100
 * options (or 100 groups of at most 100), each a valid option.
 */
export function optionsResponseProblems(response: unknown): string[] {
  const p = new Problems();
  if (!isObject(response)) {
    p.add('', 'must be an object with options or option_groups');
    return p.list;
  }
  if (response.options === undefined && response.option_groups === undefined)
    p.add('', 'must provide options or option_groups');
  if (response.options !== undefined) optionList(p, '', { options: response.options }, LIMITS.selectOptions, false);
  if (response.option_groups !== undefined) {
    if (!Array.isArray(response.option_groups)) p.add('/option_groups', 'must be an array');
    else {
      if (response.option_groups.length > LIMITS.optionGroups)
        p.add('/option_groups', `must provide at most ${LIMITS.optionGroups} items`);
      for (const [g, group] of (response.option_groups as unknown[]).entries()) {
        if (!isObject(group)) p.add(`/option_groups/${g}`, 'must be an option group');
        else textObject(p, `/option_groups/${g}/label`, group.label, { plainOnly: true, max: LIMITS.optionGroupLabel });
      }
      optionList(p, '', { option_groups: response.option_groups }, LIMITS.selectOptions, false);
    }
  }
  return p.list;
}

/**
 * What Slack would refuse in a view submission's `errors` answer: each key must be the block_id of
 * an input block of the submitted view (Slack shows the error under it).
 */
export function submissionErrorProblems(errors: unknown, viewBlocks: unknown): string[] {
  const p = new Problems();
  if (!isObject(errors)) {
    p.add('/errors', 'must be an object');
    return p.list;
  }
  const inputs = new Set(
    (Array.isArray(viewBlocks) ? viewBlocks : []).flatMap((b) =>
      isObject(b) && b.type === 'input' && typeof b.block_id === 'string' ? [b.block_id] : [],
    ),
  );
  for (const [blockId, message] of Object.entries(errors)) {
    if (!inputs.has(blockId)) p.add(`/errors/${blockId}`, `${blockId} is not an input block of this view`);
    if (typeof message !== 'string' || message.length === 0) p.add(`/errors/${blockId}`, 'must be a message');
  }
  return p.list;
}
