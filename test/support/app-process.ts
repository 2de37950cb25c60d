import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { DatabaseTarget } from '../../src/config.js';
import {
  BOT_TOKEN,
  CHANNEL_ID,
  META_ACCESS_TOKEN,
  META_APP_SECRET,
  META_VERIFY_TOKEN,
  SIGNING_SECRET,
  WABA_ID,
} from './bridge-harness.js';
import { waitFor } from './wait-for.js';

/**
 * The environment of an app process wired to the local fakes: Slack always, Meta when its fake's
 * URL is given (otherwise set WHATSAPP_PROVIDER yourself), plus per-test settings.
 */
export function bridgeEnv(
  input: { slackUrl: string; metaUrl?: string; database: DatabaseTarget },
  settings: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: input.database.kind === 'sqlite' ? input.database.path : input.database.url,
    LOG_LEVEL: process.env.BRIDGE_TEST_LOGS ? 'debug' : 'warn',
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: input.slackUrl,
    SLACK_CHANNEL_ID: CHANNEL_ID,
    ...(input.metaUrl
      ? { META_ACCESS_TOKEN, META_APP_SECRET, META_VERIFY_TOKEN, META_WABA_ID: WABA_ID, META_GRAPH_URL: input.metaUrl }
      : {}),
    ...settings,
  };
}

const repo = resolve(import.meta.dirname, '../..');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** The bridge as a real OS process (`tsx src/main.ts`), for kill -9 and signal tests. */
export class AppProcess {
  private child: ChildProcess | null = null;
  readonly output: string[] = [];
  constructor(
    readonly env: Record<string, string>,
    readonly port: number,
    /** Extra node flags, e.g. `--cpu-prof` for a profiling run. */
    readonly nodeArgs: readonly string[] = [],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    // Exactly what `npm start` runs (the build is made by test/support/global-setup.ts).
    const child = spawn(
      process.execPath,
      [...startScriptNodeFlags(), ...this.nodeArgs, join(repo, 'dist/src/main.js')],
      {
        cwd: repo,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...this.env, PORT: String(this.port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    await waitFor(
      'the app to answer /healthz',
      async () => {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${this.output.join('').slice(-2000)}`);
        const response = await fetch(`${this.url}/healthz`).catch(() => null);
        return response?.status === 200;
      },
      30_000,
    );
  }

  /** SIGKILL: no chance to clean up, exactly like a crash. */
  async kill9(): Promise<void> {
    await this.stop('SIGKILL');
  }

  /** Resolves with the exit code once the process has exited (at once if it already has). */
  exited(): Promise<number | null> {
    const child = this.running();
    if (!child) return Promise.resolve(this.child?.exitCode ?? null);
    return new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  }

  /** Sends a signal without waiting for anything (see stop() for a signal that ends the process). */
  signal(signal: NodeJS.Signals): void {
    this.running()?.kill(signal);
  }

  /** Sends the signal and waits for the process to exit; an exited process is left alone. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const exited = this.exited();
    this.signal(signal);
    return exited;
  }

  private running(): ChildProcess | null {
    const child = this.child;
    return child && child.exitCode === null && child.signalCode === null ? child : null;
  }
}

/** The node flags of package.json's start script (`node <flags> dist/src/main.js`), so tests and benchmarks run what production runs. */
export function startScriptNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.trim().split(/\s+/);
  if (words[0] !== 'node' || words.at(-1) !== 'dist/src/main.js')
    throw new Error(`unexpected start script: ${pkg.scripts.start}`);
  return words.slice(1, -1);
}
