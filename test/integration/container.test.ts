import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/app-process.js';
import {
  argumentsOf,
  copyPaths,
  dockerfileStages,
  dockerIgnores,
  execForm,
  flagsOf,
  healthcheckCommand,
  ofKind,
  propertiesOf,
  repo,
  run,
  SANDBOX_SETTINGS,
  type Stage,
} from '../support/container-files.js';
import { createPostgresDatabase, postgresIsReachable } from '../support/databases.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The image's runtime stage, reproduced on the host from the Dockerfile's own instructions, on every
 * machine (with or without a container engine): the build stage's commands, the lockfile's
 * production tree, the runtime stage's COPYs, its ENV, USER, CMD and HEALTHCHECK. Where an engine
 * exists, `.ci/run` also builds and runs the real image (test/container/); the files themselves are
 * checked by test/unit/container-files.test.ts.
 */

const postgres = await postgresIsReachable();
const caddy = run('caddy', ['version']).status === 0;

if (!caddy) console.warn('\n*** caddy is not installed: deploy/Caddyfile was checked as text only, not run. ***\n');

// --- the runtime stage, reproduced on the host --------------------------------------------------------

const stages = dockerfileStages();
const runtime = stages.at(-1)!;
const stageNamed = (name: string): Stage => stages.find((stage) => stage.name === name)!;
const workdirOf = (stage: Stage) => argumentsOf(ofKind(stage, 'WORKDIR').at(-1)!);

/** A RUN line split at `&&`, whitespace normalised. */
const commandsOf = (run: string) => run.split('&&').map((part) => part.trim());

/**
 * The deps stage: `npm ci --omit=dev` would take about two minutes here (it compiles better-sqlite3),
 * so the lockfile's production packages are copied from the installed tree instead (the same
 * packages `npm ci --omit=dev` installs: every lock entry not marked dev). The rest of the stage's
 * RUN line (removing the addon's build leftovers) runs as written, on that copy.
 */
function reproduceDepsStage(dir: string): void {
  const commands = ofKind(stageNamed('deps'), 'RUN').flatMap((run) => commandsOf(argumentsOf(run)));
  const install = commands.findIndex((command) => /^npm ci\b.*--omit=dev/.test(command));
  expect(install, 'the deps stage runs npm ci --omit=dev').toBeGreaterThanOrEqual(0);
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!/^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) || entry.dev) continue;
    // Optional packages for other platforms (the compiler's native builds) are not installed here.
    if (!existsSync(join(repo, path))) continue;
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    cpSync(join(repo, path), join(dir, path), { recursive: true, verbatimSymlinks: true });
  }
  const result = run('sh', ['-ec', commands.slice(install + 1).join('\n')], { cwd: dir });
  expect(result.status, result.output).toBe(0);
}

/**
 * The build stage: its COPYs from the build context (minus what .dockerignore leaves out), the full
 * installed node_modules in place of its `npm ci`, and its other RUN commands (`npm run build`) as written.
 */
function reproduceBuildStage(dir: string): void {
  const stage = stageNamed('build');
  for (const copy of ofKind(stage, 'COPY')) {
    const { sources, destination } = copyPaths(copy);
    for (const source of sources) {
      const target = destination.endsWith('/') ? join(dir, destination, source) : join(dir, destination);
      cpSync(join(repo, source), target, {
        recursive: true,
        filter: (path) => !dockerIgnores(relative(repo, path)),
      });
    }
  }
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  const commands = ofKind(stage, 'RUN')
    .flatMap((run) => commandsOf(argumentsOf(run)))
    .filter((command) => !/^npm ci\b/.test(command));
  expect(commands).toContain('npm run build');
  const result = run('sh', ['-ec', commands.join('\n')], { cwd: dir, timeout: 180_000 });
  expect(result.status, result.output).toBe(0);
}

/** Every file and directory under `dir` with its size and mtime (symbolic links not followed). */
function snapshot(dir: string): string[] {
  const entries: string[] = [];
  const walk = (path: string) => {
    const stat = lstatSync(path);
    entries.push(`${relative(dir, path)} ${stat.mode.toString(8)} ${stat.size} ${stat.mtimeMs}`);
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
  return entries.sort();
}

/** chmod -R a-w (or u+w back), without following symbolic links. */
function setWritable(path: string, writable: boolean): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  chmodSync(path, writable ? stat.mode | 0o200 : stat.mode & 0o555);
  if (stat.isDirectory()) for (const name of readdirSync(path)) setWritable(join(path, name), writable);
}

describe("the image's runtime stage, reproduced on the host", () => {
  const root = mkdtempSync(join(tmpdir(), 'bridge-image-'));
  const app = join(root, workdirOf(runtime));
  const data = join(root, 'data');
  const env = Object.fromEntries(propertiesOf(ofKind(runtime, 'ENV'))) as Record<string, string>;
  const [uid, gid] = argumentsOf(ofKind(runtime, 'USER').at(-1)!).split(':').map(Number) as [
    number,
    number | undefined,
  ];
  // As root, the processes run as the image's user, for whom root's read-only files really are
  // read-only (root itself ignores permission bits); otherwise as the current user, after chmod a-w.
  const asImageUser = process.getuid?.() === 0 ? { uid, gid: gid ?? uid } : {};
  const children: ChildProcess[] = [];
  let before: string[] = [];

  beforeAll(() => {
    chmodSync(root, 0o755);
    const stageDirs: Record<string, string> = {};
    for (const stage of stages.slice(0, -1)) {
      const dir = join(root, 'stages', stage.name!);
      mkdirSync(dir, { recursive: true });
      expect(workdirOf(stage)).toBe(workdirOf(runtime));
      if (stage.name === 'deps') reproduceDepsStage(dir);
      else if (stage.name === 'build') reproduceBuildStage(dir);
      else throw new Error(`no reproduction for the stage ${stage.name}`);
      stageDirs[stage.name] = dir;
    }
    // The runtime stage's COPYs, from the stages' results.
    mkdirSync(app, { recursive: true });
    for (const copy of ofKind(runtime, 'COPY')) {
      const from = flagsOf(copy).from;
      const { sources, destination } = copyPaths(copy);
      for (const source of sources) {
        const origin = from
          ? join(stageDirs[from]!, relative(workdirOf(runtime), source))
          : join(repo, source.replace(/^\.\//, ''));
        expect(existsSync(origin), `COPY ${from ? `--from=${from} ` : ''}${source}: nothing there`).toBe(true);
        const target = destination.endsWith('/')
          ? join(app, destination, source.split('/').at(-1)!)
          : join(app, destination);
        cpSync(origin, target, { recursive: true, verbatimSymlinks: true });
      }
    }
    rmSync(join(root, 'stages'), { recursive: true, force: true });
    // The runtime stage's `mkdir -p /data && chown <user> /data`: the volume is the user's.
    mkdirSync(data);
    if (asImageUser.uid !== undefined) chownSync(data, asImageUser.uid, asImageUser.gid!);
    setWritable(app, false);
    before = snapshot(app);
  }, 240_000);

  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    if (existsSync(app)) setWritable(app, true);
    rmSync(root, { recursive: true, force: true });
  });

  /** Runs a command of the image (`node …`) in /app as the image's user. */
  const imageCommand = (argv: string[], extraEnv: Record<string, string>) => {
    const [command, ...args] = argv;
    return {
      command: command === 'node' ? process.execPath : command!,
      args,
      options: {
        cwd: app,
        env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env, ...extraEnv },
        ...asImageUser,
      },
    };
  };

  const start = async (extraEnv: Record<string, string>) => {
    const cmd = execForm(ofKind(runtime, 'CMD').at(-1)!)!;
    const { command, args, options } = imageCommand(cmd, extraEnv);
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const url = `http://127.0.0.1:${extraEnv.PORT}`;
    await waitFor(
      'the app to answer /healthz',
      async () => {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${output.join('').slice(-2000)}`);
        return (await fetch(`${url}/healthz`).catch(() => null))?.status === 200;
      },
      30_000,
    );
    const stop = async () => {
      const exited = new Promise<number | null>((resolve) =>
        child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code)),
      );
      child.kill('SIGTERM');
      return exited;
    };
    return { child, url, output, stop };
  };

  const healthcheck = (port: number) => {
    const argv = healthcheckCommand(ofKind(runtime, 'HEALTHCHECK')[0]!)!;
    const { command, args, options } = imageCommand(argv, { PORT: String(port) });
    return spawnSync(command, args, { ...options, encoding: 'utf8', timeout: 10_000 });
  };

  it('starts read-only as the image user on SQLite in the volume, passes its HEALTHCHECK, writes nothing else, stops on SIGTERM', async () => {
    const port = await freePort();
    expect(healthcheck(port).status, 'HEALTHCHECK fails while nothing listens').toBe(1);
    // The image's DATABASE_URL, with the volume's mount point where the volume is here.
    expect(env.DATABASE_URL).toMatch(/^sqlite:\/data\//);
    const bridge = await start({
      ...SANDBOX_SETTINGS,
      PORT: String(port),
      DATABASE_URL: env.DATABASE_URL!.replace('sqlite:/data/', `sqlite:${data}/`),
    });
    const check = healthcheck(port);
    expect(check.status, check.stderr).toBe(0);

    // The files are not writable by the app's user, and `npm start`'s build step finds dist/ current.
    const { command, args, options } = imageCommand(
      ['node', '-e', "require('fs').writeFileSync('dist/written', '')"],
      {},
    );
    expect(spawnSync(command, args, { ...options, encoding: 'utf8' }).stderr).toMatch(/EACCES|EROFS|EPERM/);
    const prestart = imageCommand(['node', 'scripts/build.mjs'], {});
    const built = spawnSync(prestart.command, prestart.args, { ...prestart.options, encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);

    expect(await bridge.stop()).toBe(0);
    expect(snapshot(app)).toEqual(before);
    expect(readdirSync(data)).toContain('bridge.sqlite');
  }, 90_000);

  it.runIf(postgres)(
    'runs two replicas on PostgreSQL from it, behind deploy/Caddyfile when caddy is installed',
    async () => {
      const database = await createPostgresDatabase();
      const ports = [await freePort(), await freePort()];
      const settings = (port: number) => ({
        ...SANDBOX_SETTINGS,
        PORT: String(port),
        DATABASE_URL: database.target.kind === 'postgres' ? database.target.url : '',
      });
      let proxy: ChildProcess | undefined;
      try {
        // Both start at once, as compose starts them: migrations take a lock.
        const replicas = await Promise.all(ports.map((port) => start(settings(port))));
        if (!caddy) {
          for (const replica of replicas) expect(await replica.stop()).toBe(0);
          return;
        }
        const proxyPort = await freePort();
        const config = join(root, 'Caddyfile');
        writeFileSync(
          config,
          readFileSync(join(repo, 'deploy/Caddyfile'), 'utf8')
            .replace('bridge-1:3000', `127.0.0.1:${ports[0]}`)
            .replace('bridge-2:3000', `127.0.0.1:${ports[1]}`)
            .replace(/^:8080 \{/m, `:${proxyPort} {\n\tbind 127.0.0.1`),
        );
        const caddyHome = join(root, 'caddy');
        mkdirSync(caddyHome);
        const proxyOutput: string[] = [];
        proxy = spawn('caddy', ['run', '--config', config, '--adapter', 'caddyfile'], {
          env: { PATH: process.env.PATH ?? '', HOME: caddyHome, XDG_CONFIG_HOME: caddyHome, XDG_DATA_HOME: caddyHome },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        proxy.stdout?.on('data', (chunk: Buffer) => proxyOutput.push(chunk.toString()));
        proxy.stderr?.on('data', (chunk: Buffer) => proxyOutput.push(chunk.toString()));
        const through = (path: string, init?: RequestInit) =>
          fetch(`http://127.0.0.1:${proxyPort}${path}`, init).then((r) => r.status);
        await waitFor(
          'the proxy to answer',
          async () => {
            if (proxy?.exitCode !== null) throw new Error(`caddy exited: ${proxyOutput.join('').slice(-2000)}`);
            return (await through('/healthz').catch(() => 0)) === 200;
          },
          20_000,
        );

        // Public routes reach a replica (an unsigned webhook is refused by the bridge, not the proxy);
        // anything else, /metrics included, stops at the proxy.
        expect([401, 403]).toContain(await through('/webhooks/whatsapp', { method: 'POST', body: '{}' }));
        expect([401, 403]).toContain(await through('/api/v1/messages', { method: 'POST', body: '{}' }));
        expect(await through('/metrics')).toBe(404);
        expect(await through('/')).toBe(404);

        // Each replica alone serves everything: the proxy really has both.
        expect(await replicas[0]!.stop()).toBe(0);
        for (let i = 0; i < 4; i++) expect(await through('/healthz')).toBe(200);
        const again = await start(settings(ports[0]!));
        expect(await replicas[1]!.stop()).toBe(0);
        await waitFor(
          'the proxy to use the first replica again',
          async () => (await through('/healthz')) === 200,
          30_000,
        );
        for (let i = 0; i < 4; i++) expect(await through('/healthz')).toBe(200);
        expect(await again.stop()).toBe(0);
      } finally {
        proxy?.kill('SIGTERM');
        await database.drop();
      }
    },
    120_000,
  );
});
