import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { createDatabase } from '../../src/db/create-db.js';
import { isMigrated } from '../../src/db/migrate.js';
import { createPostgresDatabase, createSqliteDatabase, dialects } from '../support/databases.js';

const repo = resolve(import.meta.dirname, '../..');
const cleanEnv = (home: string, extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? '',
  HOME: home,
  ...extra,
});

describe('npm start without settings', () => {
  it('exits non-zero listing every missing setting, and prints no secrets', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'bridge-start-'));
    const result = spawnSync(process.execPath, [join(repo, 'dist/src/main.js')], {
      cwd,
      env: cleanEnv(cwd, { META_APP_SECRET: 'super-secret-app-secret' }),
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

  it('reads .env from the working directory, and the real environment wins over it', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'bridge-dotenv-'));
    writeFileSync(
      join(cwd, '.env'),
      [
        'SLACK_BOT_TOKEN=xoxb-from-dotenv-0123456789',
        'SLACK_SIGNING_SECRET=signing-secret-from-dotenv',
        'SLACK_CHANNEL_ID=C0FROMDOTENV',
        'META_ACCESS_TOKEN=EAAG-from-dotenv',
        'META_APP_SECRET=app-secret-from-dotenv',
        'META_VERIFY_TOKEN=verify-from-dotenv',
        'WHATSAPP_MAX_MPS=5000',
        '',
      ].join('\n'),
    );
    const result = spawnSync(process.execPath, [join(repo, 'dist/src/main.js')], {
      cwd,
      // The environment overrides one value from .env with an invalid one, and fixes another.
      env: cleanEnv(cwd, { SLACK_CHANNEL_ID: 'not-a-channel', WHATSAPP_MAX_MPS: '80' }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(2);
    // Only what neither source provides (or the environment got wrong) is listed.
    expect(result.stderr).toMatch(/SLACK_CHANNEL_ID must be a channel id/);
    expect(result.stderr).toMatch(/META_WABA_ID is required/);
    expect(result.stderr).toMatch(/\(2 problems\)/);
    for (const name of ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'META_ACCESS_TOKEN', 'WHATSAPP_MAX_MPS'])
      expect(result.stderr).not.toContain(name);
    expect(result.stderr).not.toContain('from-dotenv');
  });
});

/** A copy of the project whose node_modules holds only what `npm ci --omit=dev` would leave usable. */
function productionCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-prod-'));
  for (const entry of ['src', 'migrations']) cpSync(join(repo, entry), join(dir, entry), { recursive: true });
  for (const file of ['package.json', 'tsconfig.json', 'tsconfig.build.json'])
    cpSync(join(repo, file), join(dir, file));
  const devOnly = new Set(Object.keys(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).devDependencies));
  const modules = join(repo, 'node_modules');
  mkdirSync(join(dir, 'node_modules'));
  for (const name of readdirSync(modules)) {
    if (name.startsWith('@')) {
      mkdirSync(join(dir, 'node_modules', name));
      for (const scoped of readdirSync(join(modules, name)))
        if (!devOnly.has(`${name}/${scoped}`))
          symlinkSync(join(modules, name, scoped), join(dir, 'node_modules', name, scoped));
    } else if (!devOnly.has(name) && !name.startsWith('.')) {
      symlinkSync(join(modules, name), join(dir, 'node_modules', name));
    }
  }
  return dir;
}

describe('the build before npm start', () => {
  const build = (cwd: string, ...args: string[]) =>
    spawnSync(process.execPath, [join(repo, 'scripts/build.mjs'), ...args], {
      cwd,
      env: cleanEnv(cwd),
      encoding: 'utf8',
      timeout: 120_000,
    });

  it('builds without the dev-only type packages, and writes nothing when the sources did not change', () => {
    const dir = productionCopy();
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    // The copy really lacks dev-only types: a type-checking build fails there.
    expect(build(dir, '--force', '--typecheck').status).not.toBe(0);

    const first = build(dir);
    expect(first.status, first.stderr).toBe(0);
    const entry = join(dir, 'dist/src/main.js');
    const builtAt = statSync(entry).mtimeMs;
    const stamp = readFileSync(join(dir, 'dist/.build-hash'), 'utf8');

    // Unchanged sources: nothing is written, so an already-built, read-only dist/ starts as it is.
    const again = build(dir);
    expect(again.status, again.stderr).toBe(0);
    expect(statSync(entry).mtimeMs).toBe(builtAt);
    expect(readFileSync(join(dir, 'dist/.build-hash'), 'utf8')).toBe(stamp);

    // A changed source is rebuilt.
    const main = join(dir, 'src/main.ts');
    writeFileSync(main, `${readFileSync(main, 'utf8')}\n// changed\n`);
    const rebuilt = build(dir);
    expect(rebuilt.status, rebuilt.stderr).toBe(0);
    expect(readFileSync(entry, 'utf8')).toContain('// changed');
    expect(readFileSync(join(dir, 'dist/.build-hash'), 'utf8')).not.toBe(stamp);
  });

  it('keeps typescript a runtime dependency, so a production install can build', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8'));
    const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8'));
    expect(pkg.dependencies.typescript).toBeDefined();
    expect(pkg.devDependencies.typescript).toBeUndefined();
    expect(lock.packages[''].dependencies.typescript).toBe(pkg.dependencies.typescript);
    expect(lock.packages['node_modules/typescript'].dev).toBeUndefined();
    for (const script of ['prestart', 'premigrate', 'presimulate']) expect(pkg.scripts[script]).toContain('build.mjs');
  });
});

const databaseCases = await dialects();

describe('npm run migrate', () => {
  for (const dialect of databaseCases) {
    it.runIf(dialect.available)(`migrates a fresh ${dialect.name} database, then finds it up to date`, async () => {
      const database = dialect.name === 'sqlite' ? createSqliteDatabase() : await createPostgresDatabase();
      const url = database.target.kind === 'sqlite' ? `sqlite:${database.target.path}` : database.target.url;
      try {
        const migrate = () =>
          spawnSync('npm', ['run', '--silent', 'migrate'], {
            cwd: repo,
            env: cleanEnv(process.env.HOME ?? tmpdir(), { DATABASE_URL: url }),
            encoding: 'utf8',
            timeout: 120_000,
          });
        const first = migrate();
        expect(first.status, first.stderr).toBe(0);
        expect(first.stdout).toContain(`applied migrations: ${Object.keys(migrations).join(', ')}`);
        const second = migrate();
        expect(second.status, second.stderr).toBe(0);
        expect(second.stdout).toContain('database is already up to date');

        const handle = createDatabase(database.target);
        try {
          await handle.ping();
          expect(await isMigrated(handle.db)).toBe(true);
          const tables = await handle.db.introspection.getTables();
          expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['message', 'job', 'campaign_recipient']));
        } finally {
          await handle.close();
        }
      } finally {
        await database.drop();
      }
    });
  }

  it('exits non-zero with the problem when DATABASE_URL has an unsupported scheme', () => {
    const result = spawnSync('npm', ['run', '--silent', 'migrate'], {
      cwd: repo,
      env: cleanEnv(process.env.HOME ?? tmpdir(), { DATABASE_URL: 'mysql://root:hunter2@db/bridge' }),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/DATABASE_URL uses an unsupported scheme/);
    expect(result.stderr).not.toContain('hunter2');
  });
});
