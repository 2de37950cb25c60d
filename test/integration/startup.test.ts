import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');

describe('npm start without settings', () => {
  it('exits non-zero listing every missing setting, and prints no secrets', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'bridge-start-'));
    const result = spawnSync(process.execPath, [join(repo, 'dist/src/main.js')], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: cwd, META_APP_SECRET: 'super-secret-app-secret' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).not.toBe(0);
    expect(result.status).not.toBeNull();
    for (const name of [
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
      'SLACK_CHANNEL_ID',
      'META_ACCESS_TOKEN',
      'META_VERIFY_TOKEN',
      'META_WABA_ID',
    ]) {
      expect(result.stderr).toContain(name);
    }
    expect(result.stderr).not.toContain('META_APP_SECRET is required');
    expect(result.stderr + result.stdout).not.toContain('super-secret-app-secret');
  });
});
