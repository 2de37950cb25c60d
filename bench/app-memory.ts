import { readFileSync } from 'node:fs';

/** METRICS_TOKEN given to the benchmarked app, so that the bench can read its heap from /metrics. */
export const BENCH_METRICS_TOKEN = 'bench-metrics-token-0123456789';

const round = (n: number) => Math.round(n * 10) / 10;

/** The app's RSS in MB, read from outside (/proc). */
export const rssOf = (pid: number): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

export type MainThreadHeap = {
  /** V8 heap of the main thread (worker threads have their own, not counted here). */
  heapTotalMb: number;
  heapUsedMb: number;
  /** Reserved size of each heap space: `new` (young generation), `old`, `code`, `large_object`… */
  spacesMb: Record<string, number>;
  /** Buffers and other memory outside the heap that V8 knows of. */
  externalMb: number;
};

/** The main thread's V8 heap, from the app's GET /metrics (prom-client's default metrics). */
export async function mainThreadHeap(appUrl: string): Promise<MainThreadHeap | null> {
  const response = await fetch(`${appUrl}/metrics`, {
    headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` },
  }).catch(() => null);
  if (!response?.ok) return null;
  const text = await response.text();
  const mb = (name: string) => round(Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0) / 1048576);
  const spacesMb: Record<string, number> = {};
  for (const match of text.matchAll(/^bridge_nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\S+)/gm)) {
    const mbs = round(Number(match[2]) / 1048576);
    if (mbs > 0) spacesMb[match[1] ?? ''] = mbs;
  }
  return {
    heapTotalMb: mb('bridge_nodejs_heap_size_total_bytes'),
    heapUsedMb: mb('bridge_nodejs_heap_size_used_bytes'),
    spacesMb,
    externalMb: mb('bridge_nodejs_external_memory_bytes'),
  };
}

/**
 * The app's peak RSS, sampled every `rssEveryMs`, and its main-thread heap at the heap sample
 * (every `heapEveryMs`: reading /metrics costs the app a little) that saw the highest RSS.
 */
export function samplePeakMemory(pid: number, appUrl: string, rssEveryMs: number, heapEveryMs = 500) {
  let peakRssMb = rssOf(pid);
  let atPeak: ({ rssMb: number } & MainThreadHeap) | null = null;
  const rssTimer = setInterval(() => {
    peakRssMb = Math.max(peakRssMb, rssOf(pid));
  }, rssEveryMs);
  let reading = false;
  const heapTimer = setInterval(() => {
    if (reading) return;
    reading = true;
    void mainThreadHeap(appUrl)
      .then((heap) => {
        const rssMb = rssOf(pid);
        if (heap && (atPeak === null || rssMb > atPeak.rssMb)) atPeak = { rssMb: round(rssMb), ...heap };
      })
      .catch(() => {})
      .finally(() => {
        reading = false;
      });
  }, heapEveryMs);
  return {
    stop() {
      clearInterval(rssTimer);
      clearInterval(heapTimer);
      return { peakRssMb: round(peakRssMb), mainThreadHeapAtHighestSample: atPeak };
    },
  };
}
