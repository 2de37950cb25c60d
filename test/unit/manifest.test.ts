import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const repo = resolve(import.meta.dirname, '../..');
const schema = JSON.parse(
  readFileSync(resolve(repo, 'test/fixtures/slack-manifest-schema/manifest.schema.1.0.0.json'), 'utf8'),
) as object;
const manifest = parse(readFileSync(resolve(repo, 'manifest.yml'), 'utf8')) as Record<string, any>;

const ajv = new Ajv({ strict: false, allErrors: true });
const validate = ajv.compile(schema);

describe('manifest.yml', () => {
  it("validates against Slack's manifest schema", () => {
    const valid = validate(manifest);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('fails the schema when a field breaks its rules (the check can fail)', () => {
    const broken = structuredClone(manifest);
    broken.features.shortcuts[0].name = 'A shortcut name that is far too long';
    expect(validate(broken)).toBe(false);
    const misspelled = structuredClone(manifest);
    misspelled.settings.interactivty = { is_enabled: true };
    expect(validate(misspelled)).toBe(false);
  });

  it('asks for no scope the product does not use', () => {
    expect(manifest.oauth_config.scopes.bot).not.toEqual(expect.arrayContaining(['app_mentions:read']));
  });

  it("subscribes to reactions, with the scope Slack delivers them under: agents' reactions go to WhatsApp", () => {
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(
      expect.arrayContaining(['reaction_added', 'reaction_removed']),
    );
    expect(manifest.oauth_config.scopes.bot).toEqual(expect.arrayContaining(['reactions:read', 'reactions:write']));
  });

  it('declares everything the product uses', () => {
    expect(manifest.features.slash_commands.map((c: { command: string }) => c.command)).toEqual(['/wa']);
    expect(manifest.features.slash_commands[0].usage_hint).toContain('chat <number>');
    expect(
      manifest.features.shortcuts
        .map((s: { type: string; callback_id: string }) => `${s.type}:${s.callback_id}`)
        .sort(),
    ).toEqual(['global:wa_history', 'message:wa_history_thread', 'message:wa_resolve']);
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    // Files and progress reach people in their DM with the app: Slack refuses DMs while the tab is off.
    expect(manifest.features.app_home.messages_tab_enabled).toBe(true);
    expect(manifest.features.app_home.messages_tab_read_only_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(
      expect.arrayContaining(['message.channels', 'message.groups', 'app_home_opened']),
    );
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    for (const url of [
      manifest.settings.event_subscriptions.request_url,
      manifest.settings.interactivity.request_url,
      // The Options Load URL: the searchable template menu (external_select) loads its options there.
      manifest.settings.interactivity.message_menu_options_url,
      manifest.features.slash_commands[0].url,
    ]) {
      expect(url).toMatch(/\/slack\/events$/);
    }
    expect(manifest.oauth_config.scopes.bot).toEqual(
      expect.arrayContaining([
        'chat:write',
        'chat:write.customize',
        'commands',
        'channels:history',
        'files:read',
        'files:write',
        'reactions:write',
        'users:read',
        'usergroups:read',
        'im:write',
      ]),
    );
  });
});
