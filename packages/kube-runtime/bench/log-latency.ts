/**
 * Latency: a container prints `lat <Date.now()>` every 10 ms for 30 s; our follower and `kubectl logs -f` follow the
 * same pod at the same time; p50/p99 of (receive time − print time). Same host clock (local cluster).
 * Target: p99 ≤ 250 ms and ≤ 1.2 × kubectl's p99.
 */
import { createPodLogSource, followPodLog } from '../src/internal.ts';
import {
  core,
  kubeConfig,
  kubectlFollow,
  percentile,
  readExitCode,
  startPod,
  waitRunning,
  withNamespace,
} from './log-bench-cluster.ts';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 30);
await withNamespace('bench-log-latency', async (namespace) => {
  const program = `const end = Date.now() + ${seconds * 1000}; const t = setInterval(() => { process.stdout.write('lat ' + Date.now() + '\\n'); if (Date.now() > end) clearInterval(t); }, 10);`;
  await startPod(namespace, 'latency', ['node', '-e', program]);
  await waitRunning(namespace, 'latency');
  const ours: [number, number][] = [];
  const theirs: [number, number][] = [];
  const collect = (sink: [number, number][]) => {
    let rest = '';
    return (text: string): void => {
      const now = Date.now();
      const lines = (rest + text).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const sent = Number(/^lat (\d+)$/.exec(line)?.[1]);
        if (Number.isFinite(sent)) sink.push([sent, now - sent]);
      }
    };
  };
  const onOurs = collect(ours);
  const onTheirs = collect(theirs);
  await Promise.all([
    followPodLog({
      source: createPodLogSource({ kubeConfig }),
      namespace,
      pod: 'latency',
      onOutput: (text) => onOurs(text),
      readOutcome: () => readExitCode(namespace, 'latency'),
    }),
    kubectlFollow(namespace, 'latency', (chunk) => onTheirs(chunk.toString('utf8'))),
  ]);
  void core;
  // Count only lines printed after both followers were attached (+1 s), so that connection set-up is not latency.
  const from = Math.max(ours[0]?.[0] ?? 0, theirs[0]?.[0] ?? 0) + 1000;
  const delays = (pairs: [number, number][]): number[] =>
    pairs.filter(([sent]) => sent >= from).map(([, delay]) => delay);
  const row = (name: string, values: number[]): string =>
    `${name.padEnd(16)} lines=${values.length} p50=${percentile(values, 50)} ms p99=${percentile(values, 99)} ms max=${Math.max(...values)} ms`;
  console.log(`log latency, a line every 10 ms for ${seconds} s`);
  console.log(row('followPodLog', delays(ours)));
  console.log(row('kubectl logs -f', delays(theirs)));
  const p99 = percentile(delays(ours), 99);
  const kubectlP99 = percentile(delays(theirs), 99);
  console.log(
    `target p99 <= 250 ms: ${p99 <= 250 ? 'met' : 'MISSED'}; <= 1.2 x kubectl p99 (${(1.2 * kubectlP99).toFixed(0)} ms): ${p99 <= 1.2 * kubectlP99 ? 'met' : 'MISSED'}`,
  );
});
