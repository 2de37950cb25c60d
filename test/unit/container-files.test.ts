import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ENVIRONMENT_VARIABLES, loadConfig } from '../../src/config.js';
import { WEBHOOK_BODY_LIMIT_BYTES } from '../../src/http/whatsapp-webhook-routes.js';
import { startScriptNodeFlags } from '../support/app-process.js';
import {
  argumentsOf,
  copyPaths,
  dockerfileStages,
  dockerfileText,
  dockerIgnores,
  execForm,
  flagsOf,
  healthcheckCommand,
  ofKind,
  propertiesOf,
  repo,
} from '../support/container-files.js';

/**
 * The container files, checked without a container engine: the Dockerfile with the linter behind
 * VS Code's Dockerfile diagnostics (dockerfile-utils) plus this project's rules, docker-compose.yml
 * against the structure the deployment needs, and the proxy's configuration. test/integration/
 * container.test.ts builds and runs the image where an engine exists, and otherwise reproduces the
 * runtime stage on the host.
 */

const lint = (text: string) =>
  validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message} (${d.severity === 1 ? 'error' : 'warning'})`);

describe('Dockerfile', () => {
  const stages = dockerfileStages();
  const runtime = stages.at(-1)!;
  const runs = stages.flatMap((stage) => ofKind(stage, 'RUN').map(argumentsOf));

  it('has no linter diagnostics (errors or warnings)', () => {
    expect(lint(dockerfileText())).toEqual([]);
  });

  it('the linter is live: it reports what the Docker builder would refuse', () => {
    const broken = 'FROM node:20-bookworm-slim\nHEALTHCHECK --interva=30s CMD ls\nCOPY onlyone\nEXPOSE port\n';
    expect(lint(broken).length).toBeGreaterThanOrEqual(3);
  });

  it('is multi-stage on one pinned Debian Node major, with named stages it really uses', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.image).toMatch(/^node:20-bookworm(-slim)?(@sha256:[0-9a-f]{64})?$/);
    const named = new Set(stages.map((stage) => stage.name).filter(Boolean));
    const copiedFrom = stages.flatMap((stage) =>
      ofKind(stage, 'COPY')
        .map((c) => flagsOf(c).from)
        .filter(Boolean),
    );
    expect(new Set(copiedFrom)).toEqual(named);
    // Build tools only where the native addon is compiled, never in the runtime image.
    expect(ofKind(runtime, 'RUN').map(argumentsOf).join('\n')).not.toMatch(/apt-get|g\+\+|npm (ci|install)/);
  });

  it('installs production dependencies with npm ci --omit=dev and builds (type-checked) dist/', () => {
    expect(runs.some((run) => /\bnpm ci\b[^&]*--omit=dev/.test(run) || /\bnpm prune\b[^&]*--omit=dev/.test(run))).toBe(
      true,
    );
    expect(runs.some((run) => /\bnpm run build\b/.test(run))).toBe(true);
    expect(JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')).scripts.build).toContain('--typecheck');
  });

  it('runs as a non-root user, from files it cannot write', () => {
    const user = argumentsOf(ofKind(runtime, 'USER').at(-1)!);
    expect(user).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    for (const copy of ofKind(runtime, 'COPY')) expect(flagsOf(copy)).not.toHaveProperty('chown');
    for (const copy of ofKind(runtime, 'COPY')) expect(flagsOf(copy)).not.toHaveProperty('chmod');
    // The USER switch comes after every instruction that writes into the image.
    const keywords = runtime.instructions.map((i) => i.getKeyword());
    expect(keywords.lastIndexOf('USER')).toBeGreaterThan(
      Math.max(keywords.lastIndexOf('COPY'), keywords.lastIndexOf('RUN')),
    );
  });

  it('starts node on the prebuilt dist/ directly, and stops on SIGTERM', () => {
    expect(ofKind(runtime, 'ENTRYPOINT')).toEqual([]);
    const cmd = execForm(ofKind(runtime, 'CMD').at(-1)!);
    expect(cmd?.[0]).toBe('node');
    expect(cmd?.at(-1)).toBe('dist/src/main.js');
    // The same flags as `npm start` (which the tests and benchmarks run), the heap limit among them.
    expect(cmd?.slice(1, -1)).toEqual(startScriptNodeFlags());
    expect(startScriptNodeFlags()).toContain('--max-old-space-size=512');
    expect(argumentsOf(ofKind(runtime, 'STOPSIGNAL').at(-1)!)).toBe('SIGTERM');
    expect(ofKind(runtime, 'COPY').some((c) => copyPaths(c).destination.replace(/\/$/, '') === './dist')).toBe(true);
  });

  it('checks its health on /healthz with node (exec form, no curl in slim images)', () => {
    const [healthcheck, ...more] = ofKind(runtime, 'HEALTHCHECK');
    expect(more).toEqual([]);
    const command = healthcheckCommand(healthcheck!);
    expect(command?.[0]).toBe('node');
    expect(command?.join(' ')).toMatch(/http:\/\/127\.0\.0\.1:.*process\.env\.PORT.*\/healthz/);
    expect(flagsOf(healthcheck!)).toMatchObject({ interval: expect.any(String), timeout: expect.any(String) });
  });

  it('keeps SQLite on the /data volume, exposes the configured port, sets NODE_ENV=production', () => {
    const env = Object.fromEntries(propertiesOf(ofKind(runtime, 'ENV')));
    expect(env).toMatchObject({ NODE_ENV: 'production', DATABASE_URL: 'sqlite:/data/bridge.sqlite' });
    expect(ofKind(runtime, 'VOLUME').flatMap((v) => execForm(v) ?? argumentsOf(v).split(' '))).toContain('/data');
    expect(argumentsOf(ofKind(runtime, 'EXPOSE').at(-1)!)).toBe(env.PORT);
    // The image's settings are valid for the bridge itself (with the Slack settings a deployment adds).
    const config = loadConfig({
      ...env,
      WHATSAPP_PROVIDER: 'sandbox',
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_SIGNING_SECRET: 's',
      SLACK_CHANNEL_ID: 'C0123',
    });
    expect(config.database).toEqual({ kind: 'sqlite', path: '/data/bridge.sqlite' });
    expect(config.port).toBe(3000);
  });

  it('bakes in no secrets and fetches nothing by URL', () => {
    for (const stage of stages) {
      for (const add of ofKind(stage, 'ADD')) expect(argumentsOf(add)).not.toMatch(/https?:\/\/|git@/);
      const names = propertiesOf([...ofKind(stage, 'ENV'), ...ofKind(stage, 'ARG')]).map(([name]) => name);
      for (const name of names) expect(name).not.toMatch(/TOKEN|SECRET|PASSWORD|KEY|CREDENTIAL/i);
      // Of the bridge's own settings, the image sets only where it listens and where its data lives.
      expect(names.filter((name) => ENVIRONMENT_VARIABLES.includes(name)).sort()).toEqual(
        stage === runtime ? ['DATABASE_URL', 'PORT'] : [],
      );
    }
    expect(dockerfileText()).not.toMatch(/\b(curl|wget)\b[^\n]*https?:\/\//);
  });

  it('copies from the build context only what exists, and .dockerignore keeps secrets and local state out', () => {
    const fromContext = stages.flatMap((stage) =>
      ofKind(stage, 'COPY')
        .filter((c) => !flagsOf(c).from)
        .flatMap((c) => copyPaths(c).sources),
    );
    expect(fromContext.length).toBeGreaterThan(0);
    for (const source of fromContext) {
      expect(existsSync(join(repo, source)), source).toBe(true);
      expect(dockerIgnores(source), `${source} is left out of the context by .dockerignore`).toBe(false);
    }
    for (const path of ['.env', 'src/.env', 'node_modules', 'dist', 'data/bridge.sqlite', '.git', 'x.sqlite-wal'])
      expect(dockerIgnores(path), path).toBe(true);
    for (const path of ['src/main.ts', 'migrations/index.ts', 'scripts/build.mjs', 'package-lock.json'])
      expect(dockerIgnores(path), path).toBe(false);
  });
});

// --- docker-compose.yml -------------------------------------------------------------------------------

const healthy = z.object({ condition: z.literal('service_healthy') });
const started = z.object({ condition: z.enum(['service_started', 'service_healthy']) });
const noPorts = { ports: z.never().optional(), network_mode: z.never().optional() };

const bridgeService = z.looseObject({
  ...noPorts,
  build: z.union([z.literal('.'), z.looseObject({ context: z.literal('.') })]),
  read_only: z.literal(true),
  tmpfs: z.array(z.string()).refine((mounts) => mounts.some((m) => m.split(':')[0] === '/tmp'), 'needs /tmp'),
  env_file: z.union([z.literal('.env'), z.array(z.literal('.env')).length(1)]),
  environment: z
    .record(z.string(), z.string())
    .refine((env) => /^postgres(ql)?:\/\/[^@]+@postgres:5432\/\w+$/.test(env.DATABASE_URL ?? ''), {
      message: 'DATABASE_URL must point at the postgres service',
    }),
  depends_on: z.looseObject({ postgres: healthy }),
  restart: z.string(),
  stop_grace_period: z.string().regex(/^\d+s$/),
});

const composeSchema = z.object({
  name: z.string().optional(),
  services: z.looseObject({
    postgres: z.looseObject({
      ...noPorts,
      image: z.string().regex(/^postgres:\d+/, 'the official image, major version pinned'),
      environment: z.looseObject({ POSTGRES_PASSWORD: z.string().min(1) }),
      volumes: z.array(z.string().regex(/^[\w-]+:\/var\/lib\/postgresql\/data$/)).length(1),
      healthcheck: z.looseObject({ test: z.array(z.string()).refine((t) => t.join(' ').includes('pg_isready')) }),
    }),
    'bridge-1': bridgeService,
    'bridge-2': bridgeService,
    proxy: z.looseObject({
      image: z.string().regex(/^caddy:\d+/, 'the official image, major version pinned'),
      volumes: z.array(z.string()).refine((v) => v.includes('./deploy/Caddyfile:/etc/caddy/Caddyfile:ro')),
      ports: z.array(z.string().regex(/:8080$/)).length(1),
      read_only: z.literal(true),
      depends_on: z.looseObject({ 'bridge-1': started, 'bridge-2': started }),
    }),
  }),
  volumes: z.looseObject({ 'postgres-data': z.null() }),
});

describe('docker-compose.yml', () => {
  const text = readFileSync(join(repo, 'docker-compose.yml'), 'utf8');
  const document = parseDocument(text, { merge: true });
  const compose = document.toJS({ maxAliasCount: 10 }) as Record<string, unknown>;

  it('parses as YAML without errors or warnings', () => {
    expect(document.errors.map(String)).toEqual([]);
    expect(document.warnings.map(String)).toEqual([]);
  });

  it('runs PostgreSQL, two identical bridge replicas on it and the proxy', () => {
    const parsed = composeSchema.safeParse(compose);
    expect(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([]);
    const services = compose.services as Record<string, Record<string, unknown>>;
    expect(Object.keys(services).sort()).toEqual(['bridge-1', 'bridge-2', 'postgres', 'proxy']);
    expect(services['bridge-2']).toEqual(services['bridge-1']);
  });

  it('publishes a port for the proxy only', () => {
    const services = compose.services as Record<string, Record<string, unknown>>;
    const publishing = Object.entries(services).filter(([, service]) => service.ports !== undefined);
    expect(publishing.map(([name]) => name)).toEqual(['proxy']);
    for (const service of Object.values(services)) expect(service.network_mode).toBeUndefined();
  });

  it('sets only settings the bridge knows, and the bridges answer on the port the proxy targets', () => {
    const bridge = (compose.services as Record<string, { environment: Record<string, string> }>)['bridge-1']!;
    for (const name of Object.keys(bridge.environment)) expect(ENVIRONMENT_VARIABLES).toContain(name);
    expect(bridge.environment.PORT).toBe('3000');
    // Socket Mode off: the replicas get Slack's requests through the proxy.
    expect(bridge.environment.SLACK_APP_TOKEN).toBe('');
  });

  it('documents every variable it interpolates in .env.example', () => {
    const example = readFileSync(join(repo, '.env.example'), 'utf8');
    const interpolated = [...text.matchAll(/\$\{(\w+)/g)].map((m) => m[1]!);
    expect(interpolated).toEqual(expect.arrayContaining(['POSTGRES_PASSWORD']));
    for (const name of new Set(interpolated)) expect(example, name).toMatch(new RegExp(`^${name}=`, 'm'));
  });
});

describe('deploy/Caddyfile (the proxy)', () => {
  const path = join(repo, 'deploy/Caddyfile');
  const caddyfile = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const directives = caddyfile.replace(/#.*$/gm, '');

  it('exists and sends every public route round-robin to both replicas', () => {
    expect(statSync(path).isFile()).toBe(true);
    const upstreams = /reverse_proxy\s+([^{\n]+)\{/.exec(directives)?.[1]?.trim().split(/\s+/);
    expect(upstreams).toEqual(['bridge-1:3000', 'bridge-2:3000']);
    expect(directives).toMatch(/lb_policy\s+round_robin/);
    const matcher = /@bridge\s+path\s+([^\n]+)/.exec(directives)?.[1]?.trim().split(/\s+/);
    expect(matcher).toEqual(
      expect.arrayContaining(['/slack/events', '/webhooks/whatsapp', '/api/*', '/media/*', '/healthz']),
    );
    expect(matcher).not.toContain('/metrics');
    expect(directives).toMatch(/handle\s*\{\s*respond\s+404\s*\}/);
  });

  it('checks the replicas on /healthz and lets webhook bodies through up to the bridge own limit', () => {
    expect(directives).toMatch(/health_uri\s+\/healthz/);
    const size = /max_size\s+(\d+)\s*(MB|MiB|KB|KiB)/.exec(directives);
    const unit = { MB: 1e6, MiB: 2 ** 20, KB: 1e3, KiB: 2 ** 10 }[size?.[2] as 'MB'];
    expect(Number(size?.[1]) * unit).toBeGreaterThanOrEqual(WEBHOOK_BODY_LIMIT_BYTES);
    expect(directives).toMatch(/dial_timeout\s+\d+s/);
    expect(directives).toMatch(/response_header_timeout\s+\d+s/);
  });
});
