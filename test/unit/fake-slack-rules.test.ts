import { WebClient } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { BOT_TOKEN } from '../support/bridge-harness.js';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { readManifest, viewProblems } from '../support/fake-slack-rules.js';
import { acknowledgementProblems, blockSuggestion } from '../support/slack-requests.js';

/**
 * The fake Slack refuses what real Slack refuses, so the suite fails where production would: a
 * scope missing from manifest.yml, a DM while the Messages tab is off, Block Kit over its limits.
 * Each call goes through the same @slack/web-api client the app uses.
 */

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const option = (text: string, value = 'v') => ({ text: { type: 'plain_text', text }, value });
const modal = (overrides: Record<string, unknown> = {}) => ({
  type: 'modal',
  title: { type: 'plain_text', text: 'A title' },
  blocks: [section('hello')],
  ...overrides,
});

/** The error code Slack answers a call with, or 'ok'. */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    return (error as { data?: { error?: string } }).data?.error ?? String(error);
  }
}

describe('the fake Slack follows Slack’s rules', () => {
  let slack: FakeSlack | undefined;
  const client = (fake: FakeSlack) => new WebClient(BOT_TOKEN, { slackApiUrl: fake.url, retryConfig: { retries: 0 } });
  afterEach(async () => {
    await slack?.close();
    slack = undefined;
  });

  it('refuses a method whose bot scope manifest.yml does not grant, and records it', async () => {
    const manifest = readManifest();
    const scopes = manifest.oauth_config?.scopes;
    if (scopes) scopes.bot = (scopes.bot ?? []).filter((s) => s !== 'reactions:write' && s !== 'users:read');
    slack = await startFakeSlack({ botToken: BOT_TOKEN, manifest });
    const web = client(slack);
    const posted = await web.chat.postMessage({ channel: 'C1', text: 'hi' });
    expect(await outcome(web.reactions.add({ channel: 'C1', timestamp: posted.ts ?? '', name: 'eyes' }))).toBe(
      'missing_scope',
    );
    expect(await outcome(web.users.info({ user: 'U1' }))).toBe('missing_scope');
    expect(slack.violations.map((v) => `${v.method}:${v.error}`)).toEqual([
      'reactions.add:missing_scope',
      'users.info:missing_scope',
    ]);
    expect(() => slack?.assertFollowedRules()).toThrow(/reactions.add: missing_scope/);
  });

  it('grants every scope manifest.yml lists (the app as installed from it)', async () => {
    slack = await startFakeSlack({ botToken: BOT_TOKEN });
    const web = client(slack);
    slack.addUser({ id: 'U1', name: 'ada' });
    const posted = await web.chat.postMessage({ channel: 'C1', text: 'hi' });
    expect(await outcome(web.reactions.add({ channel: 'C1', timestamp: posted.ts ?? '', name: 'eyes' }))).toBe('ok');
    expect(await outcome(web.users.info({ user: 'U1' }))).toBe('ok');
    expect(await outcome(web.conversations.open({ users: 'U1' }))).toBe('ok');
    expect(slack.violations).toEqual([]);
  });

  it('delivers reaction events only to an app subscribed to them with reactions:read', async () => {
    slack = await startFakeSlack({ botToken: BOT_TOKEN });
    expect(slack.eventDeliveryProblems('reaction_added')).toEqual([]);
    await slack.close();
    const manifest = readManifest();
    const scopes = manifest.oauth_config?.scopes;
    if (scopes) scopes.bot = (scopes.bot ?? []).filter((s) => s !== 'reactions:read');
    const events = manifest.settings?.event_subscriptions;
    if (events) events.bot_events = (events.bot_events ?? []).filter((e) => e !== 'reaction_removed');
    slack = await startFakeSlack({ botToken: BOT_TOKEN, manifest });
    expect(slack.eventDeliveryProblems('reaction_added')).toEqual(['reaction_added needs reactions:read']);
    expect(slack.eventDeliveryProblems('reaction_removed')).toEqual([
      'the manifest does not subscribe to reaction_removed',
      'reaction_removed needs reactions:read',
    ]);
  });

  it('refuses reaction names Slack has no emoji for', async () => {
    slack = await startFakeSlack({ botToken: BOT_TOKEN });
    const web = client(slack);
    const posted = await web.chat.postMessage({ channel: 'C1', text: 'hi' });
    const react = (name: string) => outcome(web.reactions.add({ channel: 'C1', timestamp: posted.ts ?? '', name }));
    expect(await react('+1::skin-tone-2')).toBe('ok');
    expect(await react(':tada:')).toBe('invalid_name');
    slack.removeEmoji('flamingo');
    expect(await react('flamingo')).toBe('invalid_name');
    expect(await react('+1::skin-tone-2')).toBe('already_reacted');
  });

  it('refuses messages and file shares into a DM while the Messages tab is off', async () => {
    const manifest = readManifest();
    const appHome = manifest.features?.app_home;
    if (appHome) appHome.messages_tab_enabled = false;
    slack = await startFakeSlack({ botToken: BOT_TOKEN, manifest });
    const web = client(slack);
    const dm = (await web.conversations.open({ users: 'U1' })).channel?.id ?? '';
    expect(await outcome(web.chat.postMessage({ channel: dm, text: 'your export' }))).toBe('messages_tab_disabled');
    expect(await outcome(web.chat.postMessage({ channel: 'U1', text: 'your export' }))).toBe('messages_tab_disabled');
    expect(
      await outcome(
        web.filesUploadV2({ channel_id: dm, file: Buffer.from('a,b'), filename: 'export.csv', title: 'Export' }),
      ),
    ).toBe('messages_tab_disabled');
    // Channels are unaffected.
    expect(await outcome(web.chat.postMessage({ channel: 'C1', text: 'progress' }))).toBe('ok');
  });

  it('takes DMs when the Messages tab is on, as manifest.yml has it', async () => {
    slack = await startFakeSlack({ botToken: BOT_TOKEN });
    const web = client(slack);
    expect(await outcome(web.chat.postMessage({ channel: 'DU1', text: 'your export' }))).toBe('ok');
  });

  it('refuses message blocks over Block Kit’s limits with invalid_blocks', async () => {
    slack = await startFakeSlack({ botToken: BOT_TOKEN });
    const web = client(slack);
    const post = (blocks: unknown[]) =>
      outcome(web.chat.postMessage({ channel: 'C1', text: 'x', blocks: blocks as never }));
    expect(await post(Array.from({ length: 50 }, () => section('a')))).toBe('ok');
    expect(await post(Array.from({ length: 51 }, () => section('a')))).toBe('invalid_blocks');
    expect(await post([section('a'.repeat(3000))])).toBe('ok');
    expect(await post([section('a'.repeat(3001))])).toBe('invalid_blocks');
    expect(await post([section('')])).toBe('invalid_blocks');
    const select = (options: unknown[], extra: Record<string, unknown> = {}) => [
      { type: 'actions', elements: [{ type: 'static_select', action_id: 's', options, ...extra }] },
    ];
    expect(await post(select(Array.from({ length: 100 }, (_, i) => option(`o${i}`, `v${i}`))))).toBe('ok');
    expect(await post(select(Array.from({ length: 101 }, (_, i) => option(`o${i}`, `v${i}`))))).toBe('invalid_blocks');
    expect(await post(select([option('a'.repeat(75))]))).toBe('ok');
    expect(await post(select([option('a'.repeat(76))]))).toBe('invalid_blocks');
    expect(await post(select([option('a', 'v1')], { initial_option: option('b', 'v2') }))).toBe('invalid_blocks');
    const button = (text: string) => [
      { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text } }] },
    ];
    expect(await post(button('b'.repeat(76)))).toBe('invalid_blocks');
    expect(await post([{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }])).toBe(
      'invalid_blocks',
    );
    expect(await post([section('a'), { ...section('b'), block_id: 'x' }, { ...section('c'), block_id: 'x' }])).toBe(
      'invalid_blocks',
    );
    expect(
      await outcome(
        web.chat.update({
          channel: 'C1',
          ts: '1.1',
          text: 'x',
          blocks: Array.from({ length: 51 }, () => section('a')) as never,
        }),
      ),
    ).toBe('invalid_blocks');
    expect(await outcome(web.chat.postMessage({ channel: 'C1' } as never))).toBe('no_text');
  });

  it('refuses views over Block Kit’s limits with invalid_arguments', async () => {
    slack = await startFakeSlack({ botToken: BOT_TOKEN });
    const web = client(slack);
    const open = (view: unknown) => outcome(web.views.open({ trigger_id: 't.1', view: view as never }));
    expect(await open(modal())).toBe('ok');
    expect(await open(modal({ blocks: Array.from({ length: 100 }, () => section('a')) }))).toBe('ok');
    expect(await open(modal({ blocks: Array.from({ length: 101 }, () => section('a')) }))).toBe('invalid_arguments');
    expect(await open(modal({ title: { type: 'plain_text', text: 't'.repeat(24) } }))).toBe('ok');
    expect(await open(modal({ title: { type: 'plain_text', text: 't'.repeat(25) } }))).toBe('invalid_arguments');
    expect(await open(modal({ submit: { type: 'plain_text', text: 's'.repeat(25) } }))).toBe('invalid_arguments');
    expect(await open(modal({ private_metadata: 'm'.repeat(3001) }))).toBe('invalid_arguments');
    const input = {
      type: 'input',
      label: { type: 'plain_text', text: 'Number' },
      element: { type: 'plain_text_input', action_id: 'n', max_length: 40, initial_value: 'x'.repeat(41) },
    };
    expect(await open(modal({ blocks: [input], submit: { type: 'plain_text', text: 'Go' } }))).toBe(
      'invalid_arguments',
    );
    expect(await open(modal({ blocks: [{ ...input, element: { type: 'plain_text_input', action_id: 'n' } }] }))).toBe(
      'invalid_arguments',
    );
    const home = { type: 'home', blocks: Array.from({ length: 101 }, () => section('a')) };
    expect(await outcome(web.views.publish({ user_id: 'U1', view: home as never }))).toBe('invalid_arguments');
    expect(
      await outcome(
        web.views.publish({ user_id: 'U1', view: { ...home, blocks: home.blocks.slice(0, 100) } as never }),
      ),
    ).toBe('ok');
  });

  it('checks views and blocks the app sends back in an HTTP acknowledgement too', () => {
    expect(acknowledgementProblems({ response_action: 'update', view: modal() })).toEqual([]);
    expect(
      acknowledgementProblems({
        response_action: 'update',
        view: modal({ title: { type: 'plain_text', text: 't'.repeat(25) } }),
      }),
    ).toHaveLength(1);
    expect(acknowledgementProblems({ text: 'x', blocks: Array.from({ length: 51 }, () => section('a')) })).toHaveLength(
      1,
    );
    expect(acknowledgementProblems({ response_action: 'errors', errors: { a: 'b' } })).toEqual([]);
  });

  it('checks the template form’s elements: external_select, option descriptions, dispatching inputs', () => {
    const withBlocks = (blocks: unknown[]) => modal({ blocks, submit: { type: 'plain_text', text: 'Go' } });
    const select = (element: Record<string, unknown>, block: Record<string, unknown> = {}) => ({
      type: 'input',
      block_id: 'b',
      dispatch_action: true,
      label: { type: 'plain_text', text: 'Template' },
      element: { action_id: 'a', ...element },
      ...block,
    });
    expect(viewProblems(withBlocks([select({ type: 'external_select', min_query_length: 0 })]))).toEqual([]);
    expect(viewProblems(withBlocks([select({ type: 'external_select', options: [option('x')] })]))).toHaveLength(1);
    expect(
      viewProblems(withBlocks([select({ type: 'external_select', initial_option: option('x'.repeat(76)) })])),
    ).toHaveLength(1);
    const described = { ...option('English (US)', 'en_US'), description: { type: 'plain_text', text: 'en_US' } };
    expect(viewProblems(withBlocks([select({ type: 'static_select', options: [described] })]))).toEqual([]);
    const tooLong = { ...described, description: { type: 'plain_text', text: 'd'.repeat(76) } };
    expect(viewProblems(withBlocks([select({ type: 'static_select', options: [tooLong] })]))).toHaveLength(1);
    const typing = {
      type: 'plain_text_input',
      dispatch_action_config: { trigger_actions_on: ['on_character_entered'] },
    };
    expect(viewProblems(withBlocks([select(typing)]))).toEqual([]);
    expect(viewProblems(withBlocks([select(typing, { dispatch_action: false })]))).toHaveLength(1);
    const wrong = { ...typing, dispatch_action_config: { trigger_actions_on: ['on_keypress'] } };
    expect(viewProblems(withBlocks([select(wrong)]))).toHaveLength(1);
  });

  it('checks answers to options requests, and submission errors against the submitted view’s input blocks', () => {
    const suggestion = { type: 'block_suggestion' };
    const options = (n: number) => Array.from({ length: n }, (_, i) => option(`t${i}`, `v${i}`));
    expect(acknowledgementProblems({ options: options(100) }, suggestion)).toEqual([]);
    expect(acknowledgementProblems({ options: options(101) }, suggestion)).toHaveLength(1);
    expect(acknowledgementProblems({ options: [option('x'.repeat(76))] }, suggestion)).toHaveLength(1);
    const group = (label: string) => ({ label: { type: 'plain_text', text: label }, options: options(100) });
    expect(acknowledgementProblems({ option_groups: [group('First 100')] }, suggestion)).toEqual([]);
    expect(acknowledgementProblems({ option_groups: [group('l'.repeat(76))] }, suggestion)).toHaveLength(1);
    expect(acknowledgementProblems({}, suggestion)).toHaveLength(1);

    const submitted = {
      type: 'view_submission',
      view: { blocks: [section('Sending number'), { type: 'input', block_id: 'cmp_recipients' }] },
    };
    const errors = (map: Record<string, string>) => ({ response_action: 'errors', errors: map });
    expect(acknowledgementProblems(errors({ cmp_recipients: 'Type numbers' }), submitted)).toEqual([]);
    expect(acknowledgementProblems(errors({ cmp_number: 'Choose a number' }), submitted)).toHaveLength(1);
  });

  it('sends options requests only to an app whose manifest has an Options Load URL', () => {
    const input = {
      actionId: 'tpl_template_select',
      blockId: 'tpl_template',
      value: '',
      view: { id: 'V1', hash: 'h1', callbackId: 'wa_campaign_form', privateMetadata: '{}' },
    };
    expect(() => blockSuggestion('secret', input)).not.toThrow();
    const manifest = readManifest();
    delete manifest.settings?.interactivity?.message_menu_options_url;
    expect(() => blockSuggestion('secret', input, manifest)).toThrow(/Options Load URL/);
  });
});
