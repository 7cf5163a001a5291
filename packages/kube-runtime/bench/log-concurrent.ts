/**
 * 20 concurrent runs on the local cluster, each printing checksummed lines (300 KB lines, multibyte, bursts): every
 * line of every run exactly once, and the follower process's memory per run (RSS and heap growth over the baseline
 * while all 20 follow, divided by 20).
 */
import { analyzeLogLines, buildLogLinesScript, describeLogLinesProblems } from '@claude-k8s/kube-fakes';
import { createPodLogSource, followPodLog } from '../src/internal.ts';
import { kubeConfig, readExitCode, startPod, withNamespace } from './log-bench-cluster.ts';

const runs = Number(process.env['BENCH_RUNS'] ?? 20);
const count = Number(process.env['BENCH_LINES'] ?? 400);
await withNamespace('bench-log-concurrent', async (namespace) => {
  globalThis.gc?.();
  const baseline = process.memoryUsage();
  let peakRss = baseline.rss;
  let peakHeap = baseline.heapUsed;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  }, 100);
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: runs }, async (_, run) => {
      const name = `run-${run}`;
      await startPod(namespace, name, [
        'node',
        '-e',
        buildLogLinesScript({ count, seed: 100 + run, burst: 20, pauseMs: 50 }),
      ]);
      // Each run stores only a digest-sized record here (the check needs the text; a real adapter hands it on).
      let text = '';
      await followPodLog({
        source: createPodLogSource({ kubeConfig }),
        namespace,
        pod: name,
        onOutput: (chunk) => void (text += chunk),
        onEvent: (event) => {
          if (event.type !== 'final-read') console.error(`${name}: ${JSON.stringify(event).slice(0, 300)}`);
        },
        readOutcome: () => readExitCode(namespace, name),
      });
      const problems = describeLogLinesProblems(analyzeLogLines(text, 100 + run), count);
      return { name, bytes: Buffer.byteLength(text), problems };
    }),
  );
  clearInterval(sampler);
  const failed = results.filter((result) => result.problems.length > 0);
  const totalBytes = results.reduce((sum, result) => sum + result.bytes, 0);
  console.log(
    `log follow, ${runs} concurrent runs x ${count} lines, ${(totalBytes / 1e6).toFixed(1)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  console.log(
    `exactly once, in order: ${runs - failed.length}/${runs} runs${failed.length ? ` (${failed.map((f) => `${f.name}: ${f.problems[0]}`).join('; ')})` : ''}`,
  );
  console.log(
    `memory per run (incl. the test's own copy of the text): RSS +${((peakRss - baseline.rss) / runs / 1e6).toFixed(1)} MB, heap +${((peakHeap - baseline.heapUsed) / runs / 1e6).toFixed(1)} MB`,
  );
});
