import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppProcess, freePort } from '../test/support/app-process.js';
import {
  BOT_TOKEN,
  CHANNEL_ID,
  META_ACCESS_TOKEN,
  META_APP_SECRET,
  META_VERIFY_TOKEN,
  SIGNING_SECRET,
  WABA_ID,
} from '../test/support/bridge-harness.js';
import { startFakeMetaGraph } from '../test/support/fake-meta-graph.js';
import { startFakeSlack } from '../test/support/fake-slack.js';
import { BENCH_METRICS_TOKEN, mainThreadHeap } from './app-memory.js';

/**
 * `npm run bench -- memory` (issue #18 item 2): what the idle app's RSS is made of, 30 s after start
 * (SQLite, Meta), read from outside the process in /proc/<pid>/smaps: the V8 heap and other anonymous
 * memory (malloc: SQLite's page cache, Node's and the libraries' native allocations), the code and
 * data mapped from files (the node binary, better-sqlite3's addon, shared libraries), thread stacks,
 * and the threads themselves by name.
 */

const round = (n: number) => Math.round(n * 10) / 10;

type Mapping = { name: string; rssKb: number };

function mappings(pid: number): Mapping[] {
  const result: Mapping[] = [];
  let current: Mapping | null = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+\s+\S+\s+\S+\s+\S+\s+\d+\s*(.*)$/.exec(line);
    if (header) {
      current = { name: (header[1] ?? '').trim(), rssKb: 0 };
      result.push(current);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && current) current.rssKb = Number(rss[1]);
  }
  return result;
}

export async function runMemoryBenchmark(): Promise<Record<string, unknown>> {
  const slack = await startFakeSlack({ botToken: BOT_TOKEN });
  const meta = await startFakeMetaGraph();
  const dir = mkdtempSync(join(tmpdir(), 'bridge-memory-bench-'));
  const app = new AppProcess(
    {
      DATABASE_URL: join(dir, 'bench.sqlite'),
      LOG_LEVEL: 'warn',
      METRICS_TOKEN: BENCH_METRICS_TOKEN,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.url,
      SLACK_CHANNEL_ID: CHANNEL_ID,
      META_ACCESS_TOKEN,
      META_APP_SECRET,
      META_VERIFY_TOKEN,
      META_WABA_ID: WABA_ID,
      META_GRAPH_URL: meta.url,
    },
    await freePort(),
    (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean),
  );
  await app.start();
  const pid = (app as unknown as { child: ChildProcess }).child.pid ?? 0;
  await new Promise((r) => setTimeout(r, 30_000));
  const maps = mappings(pid);
  const sum = (keep: (m: Mapping) => boolean) => round(maps.filter(keep).reduce((a, m) => a + m.rssKb, 0) / 1024);
  const byFile = new Map<string, number>();
  for (const m of maps) if (m.name.startsWith('/')) byFile.set(m.name, (byFile.get(m.name) ?? 0) + m.rssKb / 1024);
  const threads = readdirSync(`/proc/${pid}/task`).map((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(),
  );
  const threadCounts: Record<string, number> = {};
  for (const name of threads) threadCounts[name] = (threadCounts[name] ?? 0) + 1;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => round(Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024);
  // Read last: answering /metrics allocates.
  const heap = await mainThreadHeap(app.url);
  const result = {
    idleRssMb: { value: kb('VmRSS'), target: '≤ 120', note: '30 s after start, SQLite, Meta' },
    anonymousMb: {
      value: sum((m) => m.name === '' || m.name === '[heap]'),
      note: 'V8 heap (old/new space, code space) and malloc: SQLite page cache, Node/undici/pino native allocations',
    },
    fileMappedMb: {
      value: sum((m) => m.name.startsWith('/')),
      largest: Object.fromEntries(
        [...byFile.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 6)
          .map(([name, mb]) => [name.split('/').slice(-2).join('/'), round(mb)]),
      ),
      note: 'code and read-only data mapped from files: the node binary, better-sqlite3’s addon, libc/libstdc++',
    },
    mainThreadHeap: {
      ...heap,
      note: 'the main thread’s V8 heap from GET /metrics (part of anonymousMb); the rest of anonymousMb is malloc and the worker threads’ heaps (SQLite connection, WAL checkpointer): SQLite’s page cache is at most 4 MB per connection',
    },
    stacksAndOtherMb: { value: sum((m) => m.name.startsWith('[') && m.name !== '[heap]') },
    rssBreakdownFromStatus: { anonMb: kb('RssAnon'), fileMb: kb('RssFile'), shmemMb: kb('RssShmem') },
    threads: { count: threads.length, byName: threadCounts },
  };
  await app.stop('SIGTERM');
  await slack.close();
  await meta.close();
  return result;
}
