import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
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
  signMetaBody,
  WABA_ID,
} from '../test/support/bridge-harness.js';
import { startFakeMetaGraph } from '../test/support/fake-meta-graph.js';
import { startFakeSlack } from '../test/support/fake-slack.js';
import { inboundWebhook } from '../test/support/meta-webhooks.js';

const MB = 1024 * 1024;
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** VmRSS (now) and VmHWM (the highest RSS the process ever had), in MB. */
function memoryOf(pid: number): { rssMb: number; peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: round(kb('VmRSS') / 1024), peakRssMb: round(kb('VmHWM') / 1024) };
}

/**
 * Issue #14 point 8: twenty customers send a 50 MB document at the same moment, through signed
 * Meta webhooks; the fake Graph API serves the bytes and the fake Slack takes the uploads. The app
 * process's peak RSS is what is measured (target < 400 MB). `BENCH_MEDIA_BUDGET_MB` overrides the
 * app's MEDIA_MEMORY_BUDGET_MB (e.g. 4096, to see what holding every file at once costs).
 */
export async function runMediaBenchmark() {
  const customers = Number(process.env.BENCH_MEDIA_CUSTOMERS ?? 20);
  const fileMb = Number(process.env.BENCH_MEDIA_FILE_MB ?? 50);
  const slack = await startFakeSlack({ botToken: BOT_TOKEN, keepUploads: false });
  const meta = await startFakeMetaGraph();
  // One buffer behind every media id: the benchmark process itself stays small.
  const document = Buffer.alloc(fileMb * MB, 0x25);
  for (let i = 0; i < customers; i++) meta.addMedia(`9100${i}`, document, 'application/pdf');
  const dir = mkdtempSync(join(tmpdir(), 'bridge-media-bench-'));
  const budgetOverride = process.env.BENCH_MEDIA_BUDGET_MB;
  const app = new AppProcess(
    {
      DATABASE_URL: join(dir, 'bench.sqlite'),
      LOG_LEVEL: 'warn',
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.url,
      SLACK_CHANNEL_ID: CHANNEL_ID,
      SLACK_CHANNEL_POST_INTERVAL_MS: '1',
      META_ACCESS_TOKEN,
      META_APP_SECRET,
      META_VERIFY_TOKEN,
      META_WABA_ID: WABA_ID,
      META_GRAPH_URL: meta.url,
      ...(budgetOverride ? { MEDIA_MEMORY_BUDGET_MB: budgetOverride } : {}),
    },
    await freePort(),
  );
  await app.start();
  const pid = (app as unknown as { child: ChildProcess }).child.pid ?? 0;
  // Let start-up garbage go first, so the peak below belongs to the transfers.
  await new Promise((r) => setTimeout(r, 5_000));
  const before = memoryOf(pid);

  let highest = before.rssMb;
  const sampler = setInterval(() => {
    highest = Math.max(highest, memoryOf(pid).rssMb);
  }, 20);
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: customers }, async (_, i) => {
      const body = JSON.stringify(
        inboundWebhook(
          {
            type: 'document',
            document: { id: `9100${i}`, mime_type: 'application/pdf', sha256: 'x', filename: `contract-${i}.pdf` },
          },
          { from: `4477009${String(20000 + i)}`, id: `wamid.MEDIA.${i}.${Date.now()}` },
        ),
      );
      const response = await fetch(`${app.url}/webhooks/whatsapp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(body) },
        body,
      });
      return response.status;
    }),
  );
  const uploaded = () => [...slack.uploads.values()].filter((u) => u.size === fileMb * MB).length;
  while (uploaded() < customers && performance.now() - started < 600_000) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const after = memoryOf(pid);
  const files = uploaded();
  await app.stop('SIGTERM');
  await slack.close();
  await meta.close();
  return {
    peakRssMb: {
      value: Math.max(after.peakRssMb, highest),
      target: '< 400',
      note: 'the app process: VmHWM (the highest RSS it ever had, start-up included) and 20 ms VmRSS samples',
    },
    rssBeforeMb: before.rssMb,
    rssAfterMb: after.rssMb,
    customers,
    fileMb,
    webhooksAcknowledged: answers.filter((status) => status === 200).length,
    filesUploadedWhole: files,
    seconds: round(seconds),
    mediaMemoryBudgetMb: budgetOverride ? Number(budgetOverride) : 96,
    note: 'each customer sends one document through a signed Meta webhook at the same moment; the fake Graph API serves it (with its Content-Length) and the fake Slack counts the uploaded bytes',
  };
}
