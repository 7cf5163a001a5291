/**
 * The "adapter" process of the fake-apiserver scale benchmark: N concurrent runs through one runtime (real client-node
 * HTTP to the fake apiserver of `scale-server.ts`, real `pods/log` follow), each following its output. Prints one JSON
 * line of figures. `--code current` uses `../src`, `--code baseline` the copy of the code before the shared streams
 * that `scale-fake.ts` extracts to `.baseline/`. Started by `scale-fake.ts`.
 */
import type * as Runtime from '../src/internal.ts';
import { KubeConfig } from '@kubernetes/client-node';

const [, , code = 'current', apiUrl = '', logUrl = '', runsArg = '2000'] = process.argv;
const runs = Number(runsArg);
const NS = process.env['BENCH_NAMESPACE'] ?? 'bench';
const LINES = Number(process.env['BENCH_LINES'] ?? 20);
/** Delay of each `onOutput` call (a slow consumer such as a loaded Paperclip `onLog`). Milliseconds. */
const CONSUMER_DELAY_MS = Number(process.env['BENCH_CONSUMER_DELAY_MS'] ?? 0);

type RuntimeModule = typeof Runtime;
const runtimeModule = (await import(
  code === 'baseline' ? './.baseline/src/internal.ts' : '../src/internal.ts'
)) as RuntimeModule;

const kubeConfigOf = (server: string): KubeConfig => {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromClusterAndUser({ name: 'fake', server, skipTLSVerify: true }, { name: 'fake', token: 'fake' });
  return kubeConfig;
};
const runtime = runtimeModule.createKubeRuntime({
  kubeConfig: kubeConfigOf(apiUrl),
  logSource: runtimeModule.createPodLogSource({ kubeConfig: kubeConfigOf(logUrl) }),
  namespace: NS,
  runtimeId: 'bench',
  ...(process.env['BENCH_DEBUG'] === '1'
    ? {
        logger: {
          debug: (message: string, data?: object) =>
            console.error(new Date().toISOString(), 'debug', message, JSON.stringify(data)),
          info: (message: string, data?: object) => console.error('info', message, JSON.stringify(data)),
          warn: (message: string, data?: object) => console.error('warn', message, JSON.stringify(data)),
        },
      }
    : {}),
});

const stats = async (): Promise<Record<string, unknown>> =>
  (await (await fetch(`${logUrl}/stats`)).json()) as Record<string, unknown>;

globalThis.gc?.();
await new Promise((resolve) => setTimeout(resolve, 100));
const base = process.memoryUsage();
let peakRss = base.rss;
let peakHeap = base.heapUsed;
const sampler = setInterval(() => {
  const usage = process.memoryUsage();
  peakRss = Math.max(peakRss, usage.rss);
  peakHeap = Math.max(peakHeap, usage.heapUsed);
}, 50);

const latencies: number[] = [];
const problems: string[] = [];
let running = 0;
let maxRunning = 0;
let statsAtPeak: Record<string, unknown> | null = null;
let probing = false;
const startedAt = performance.now();

const results = await Promise.all(
  Array.from({ length: runs }, (_, index) =>
    runOne(index).catch((error: unknown) => `error: ${String(error).slice(0, 80)}`),
  ),
);

async function runOne(index: number): Promise<string> {
  let partial = '';
  const seen: number[] = [];
  const handle = await runtime.startRun({
    runId: `bench-${index}`,
    agentId: `agent-${index}`,
    image: 'bench',
    command: ['sh'],
    timeoutSeconds: 600,
    files: { 'prompt.md': 'x' },
    lockPolicy: 'reject',
    onOutput: async (text) => {
      const now = Date.now();
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const parsed = JSON.parse(line) as { i: number; t: number };
        seen.push(parsed.i);
        latencies.push(now - parsed.t);
      }
      if (CONSUMER_DELAY_MS > 0) await new Promise((resolve) => setTimeout(resolve, CONSUMER_DELAY_MS));
    },
  });
  await handle.containerStarted;
  running += 1;
  if (running > maxRunning) {
    maxRunning = running;
    if (running >= runs * 0.95 && !probing) {
      probing = true;
      statsAtPeak = await stats();
    }
  }
  const outcome = await handle.outcome;
  running -= 1;
  const exact = seen.length === LINES && seen.every((value, position) => value === position);
  if (!exact) problems.push(`run ${index}: lines ${JSON.stringify(seen.slice(0, 30))}`);
  return outcome.code;
}
clearInterval(sampler);
const seconds = (performance.now() - startedAt) / 1000;
const end = await stats();
latencies.sort((a, b) => a - b);
const quantile = (q: number): number =>
  latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
const codes: Record<string, number> = {};
for (const value of results) codes[value] = (codes[value] ?? 0) + 1;
console.log(
  JSON.stringify({
    code,
    runs,
    seconds,
    codes,
    exactlyOnce: problems.length === 0,
    problems: problems.slice(0, 3),
    maxRunning,
    statsAtPeak,
    end,
    rssPerRunKiB: (peakRss - base.rss) / 1024 / runs,
    heapPerRunKiB: (peakHeap - base.heapUsed) / 1024 / runs,
    peakRssMiB: peakRss / 1024 / 1024,
    baseRssMiB: base.rss / 1024 / 1024,
    lines: latencies.length,
    latencyMs: { p50: quantile(0.5), p99: quantile(0.99), max: latencies.at(-1) ?? NaN },
  }),
);
process.exit(0);
