import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repo, run, SANDBOX_SETTINGS } from '../support/container-files.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The real image, built and run by a container engine: `npm run test:container`, which `.ci/run`
 * runs whenever `docker info` answers (and says so plainly when it does not). Nothing here is
 * skipped: without an engine these tests fail, so they are not part of `npm test`.
 */

describe('the image, with a container engine', () => {
  it('builds, runs read-only as a non-root user with SQLite on a volume, turns healthy, stops cleanly on SIGTERM', async () => {
    const tag = `slack-whatsapp-bridge:test-${randomBytes(4).toString('hex')}`;
    const volume = `bridge-test-${randomBytes(4).toString('hex')}`;
    let container = '';
    try {
      const build = run('docker', ['build', '-t', tag, '.'], { cwd: repo, timeout: 1_200_000 });
      expect(build.status, build.output.slice(-4000)).toBe(0);
      const started = run('docker', [
        'run',
        '--detach',
        '--read-only',
        '--tmpfs',
        '/tmp',
        '--volume',
        `${volume}:/data`,
        '--health-interval',
        '1s',
        '--publish',
        '127.0.0.1::3000',
        ...Object.entries(SANDBOX_SETTINGS).flatMap(([name, value]) => ['--env', `${name}=${value}`]),
        tag,
      ]);
      expect(started.status, started.output).toBe(0);
      container = started.stdout.trim();
      const inspect = (format: string) => run('docker', ['inspect', '--format', format, container]).stdout.trim();
      await waitFor(
        'the container to turn healthy',
        () => {
          const status = inspect('{{.State.Health.Status}}');
          if (status === 'unhealthy' || inspect('{{.State.Running}}') === 'false')
            throw new Error(`${status}: ${run('docker', ['logs', container]).output.slice(-2000)}`);
          return status === 'healthy';
        },
        120_000,
      );
      const port = run('docker', ['port', container, '3000/tcp']).stdout.trim().split(':').at(-1);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(run('docker', ['exec', container, 'id', '-u']).stdout.trim()).not.toBe('0');
      const write = run('docker', ['exec', container, 'touch', '/app/dist/written']);
      expect(write.status).not.toBe(0);
      expect(run('docker', ['exec', container, 'ls', '/data']).stdout).toContain('bridge.sqlite');
      expect(run('docker', ['stop', '--time', '35', container]).status).toBe(0);
      expect(inspect('{{.State.ExitCode}}')).toBe('0');
    } finally {
      if (container) run('docker', ['rm', '--force', container]);
      run('docker', ['volume', 'rm', '--force', volume]);
      run('docker', ['image', 'rm', '--force', tag]);
    }
  }, 1_500_000);

  it('docker compose accepts docker-compose.yml', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-compose-'));
    try {
      copyFileSync(join(repo, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
      cpSync(join(repo, 'deploy'), join(dir, 'deploy'), { recursive: true });
      writeFileSync(
        join(dir, '.env'),
        `${readFileSync(join(repo, '.env.example'), 'utf8')}\nPOSTGRES_PASSWORD=container-test\n`,
      );
      const config = run('docker', ['compose', 'config', '--quiet'], { cwd: dir });
      expect(config.status, config.output).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
