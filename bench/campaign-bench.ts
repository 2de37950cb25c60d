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
  WABA_ID,
} from '../test/support/bridge-harness.js';
import { launchHelloWorld, recipientsFile } from '../test/support/campaign-driver.js';
import { startFakeMetaGraph } from '../test/support/fake-meta-graph.js';
import { startFakeSlack } from '../test/support/fake-slack.js';

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const rssOf = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** Highest number of sends that landed in any one-second window. */
function maxPerSecond(times: number[]): number {
  let max = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while ((times[end] ?? 0) - (times[start] ?? 0) >= 1000) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}

async function startStack(limit: number) {
  const slack = await startFakeSlack({ botToken: BOT_TOKEN });
  const meta = await startFakeMetaGraph();
  meta.setLatency(5);
  meta.setRateLimit(limit);
  const dir = mkdtempSync(join(tmpdir(), 'bridge-campaign-bench-'));
  const app = new AppProcess(
    {
      DATABASE_URL: join(dir, 'bench.sqlite'),
      LOG_LEVEL: 'warn',
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.url,
      SLACK_CHANNEL_ID: CHANNEL_ID,
      WHATSAPP_MAX_MPS: String(limit),
      META_ACCESS_TOKEN,
      META_APP_SECRET,
      META_VERIFY_TOKEN,
      META_WABA_ID: WABA_ID,
      META_GRAPH_URL: meta.url,
    },
    await freePort(),
  );
  await app.start();
  const pid = (app as unknown as { child: ChildProcess }).child.pid ?? 0;
  return { slack, meta, app, pid };
}

export async function runCampaignBenchmarks(): Promise<Record<string, unknown>> {
  const limit = 1000;
  const recipients = Number(process.env.BENCH_RECIPIENTS ?? 10_000);

  // Throughput against a provider limited to 1,000 msg/s with 5 ms latency.
  const stack = await startStack(limit);
  let peakRss = rssOf(stack.pid);
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, rssOf(stack.pid));
  }, 100);
  const launched = await launchHelloWorld({
    appUrl: stack.app.url,
    slack: stack.slack,
    recipientsFile: recipientsFile(recipients),
  });
  while (stack.meta.sendTimes.length < recipients) await new Promise((r) => setTimeout(r, 50));
  clearInterval(sampler);
  const times = [...stack.meta.sendTimes].sort((a, b) => a - b);
  const first = times[0] ?? 0;
  const last = times.at(-1) ?? 0;
  const achieved = (recipients - 1) / ((last - first) / 1000);
  const rejected =
    stack.meta.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages')).length - recipients;
  await stack.app.stop('SIGTERM');
  await stack.slack.close();
  await stack.meta.close();

  // A 10 MB recipients file: how fast the submission is acknowledged, and when the first message goes.
  const big = await startStack(limit);
  const lines = Math.floor((10 * 1024 * 1024) / 16);
  const file = recipientsFile(Math.min(lines, 799_999));
  let parsingPeakRss = rssOf(big.pid);
  const parsingSampler = setInterval(() => {
    parsingPeakRss = Math.max(parsingPeakRss, rssOf(big.pid));
  }, 20);
  const t0 = Date.now();
  const bigLaunch = await launchHelloWorld({ appUrl: big.app.url, slack: big.slack, recipientsFile: file });
  clearInterval(parsingSampler);
  while (big.meta.sendTimes.length === 0) await new Promise((r) => setTimeout(r, 20));
  const firstSend = (big.meta.sendTimes[0] ?? 0) - bigLaunch.confirmedAt;
  const prepare = bigLaunch.confirmedAt - t0;
  await big.app.stop('SIGKILL');
  await big.slack.close();
  await big.meta.close();

  return {
    throughput: {
      recipients,
      providerLimitPerSecond: limit,
      providerLatencyMs: 5,
      achievedPerSecond: round(achieved, 1),
      achievedOverLimit: { value: round(achieved / limit, 3), target: '≥ 0.95' },
      maxSendsInAnySecond: { value: maxPerSecond(times), target: `≤ ${limit}` },
      providerRejections429: rejected,
      formSubmitAckMs: round(launched.submitAckMs, 1),
    },
    peakRssMb: { value: round(peakRss, 1), target: '≤ 250' },
    tenMegabyteFile: {
      bytes: file.length,
      lines: file.toString().split('\n').length,
      submitAckMs: { value: round(bigLaunch.submitAckMs, 1), target: '< 3000 (Slack view_submission deadline)' },
      parseAndStoreUntilConfirmationMs: { value: prepare, target: '≤ 5000' },
      confirmToFirstSendMs: { value: firstSend, target: '≤ 1000' },
      peakRssWhileParsingMb: { value: round(parsingPeakRss, 1), target: '≤ 300' },
    },
  };
}
