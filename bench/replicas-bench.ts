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
import { createPostgresDatabase, postgresIsReachable } from '../test/support/databases.js';
import { startFakeMetaGraph } from '../test/support/fake-meta-graph.js';
import { startFakeSlack } from '../test/support/fake-slack.js';

/**
 * `npm run bench -- replicas` (issue #18 item 3): two app processes on one PostgreSQL database share
 * one sending number; a 10,000-recipient campaign against a provider limited to 1,000 msg/s (sliding
 * second, 5 ms latency). Both replicas send from the shared schedule of send slots.
 */

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

function maxPerSecond(times: number[]): number {
  let max = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while ((times[end] ?? 0) - (times[start] ?? 0) >= 1000) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}

export async function runReplicasBenchmark(): Promise<Record<string, unknown>> {
  if (!(await postgresIsReachable())) return { skipped: 'PostgreSQL unreachable' };
  const limit = 1000;
  const recipients = Number(process.env.BENCH_RECIPIENTS ?? 10_000);
  const database = await createPostgresDatabase();
  if (database.target.kind !== 'postgres') throw new Error('expected PostgreSQL');
  const slack = await startFakeSlack({ botToken: BOT_TOKEN });
  const meta = await startFakeMetaGraph();
  meta.setLatency(5);
  meta.setRateLimit(limit);
  const env = {
    DATABASE_URL: database.target.url,
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
  };
  const first = new AppProcess(env, await freePort());
  await first.start();
  const second = new AppProcess(env, await freePort());
  await second.start();
  try {
    await launchHelloWorld({ appUrl: first.url, slack, recipientsFile: recipientsFile(recipients) });
    const deadline = Date.now() + 120_000;
    while (meta.sendTimes.length < recipients && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const times = [...meta.sendTimes].sort((a, b) => a - b);
    const span = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000;
    const achieved = (times.length - 1) / span;
    // Sends per whole second from the first: where a campaign loses pace (its start, or throughout).
    const sendsPerSecond: number[] = [];
    for (const t of times) {
      const second = Math.floor((t - (times[0] ?? 0)) / 1000);
      sendsPerSecond[second] = (sendsPerSecond[second] ?? 0) + 1;
    }
    const attempts = meta.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages')).length;
    return {
      replicas: 2,
      database: 'postgres',
      recipients,
      sent: times.length,
      providerLimitPerSecond: limit,
      providerLatencyMs: 5,
      achievedPerSecond: round(achieved, 1),
      achievedOverLimit: { value: round(achieved / limit), target: '≥ 0.95' },
      maxSendsInAnySecond: { value: maxPerSecond(times), target: `≤ ${limit}` },
      providerRejections429: attempts - times.length,
      sendsPerSecond: sendsPerSecond.map((n) => n ?? 0),
    };
  } finally {
    await first.stop('SIGTERM');
    await second.stop('SIGTERM');
    await slack.close();
    await meta.close();
    await database.drop();
  }
}
