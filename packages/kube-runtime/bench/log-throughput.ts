/**
 * Throughput: a container prints 200-byte lines as fast as it can for 20 s; our follower and `kubectl logs -f` (to
 * nothing) follow it at the same time; bytes per second each delivered, from first byte to last. Target: ours ≥ 0.9 ×
 * kubectl's. (Both follow live: the log is rotated at containerLogMaxSize, so a replay afterwards would see only the
 * newest file.) Also prints the follower's RSS and gap events (rotation outrunning a follower would show there).
 */
import { createPodLogSource, followPodLog } from '../src/index.ts';
import { kubeConfig, kubectlFollow, readExitCode, startPod, waitRunning, withNamespace } from './log-bench-cluster.ts';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 20);
await withNamespace('bench-log-throughput', async (namespace) => {
  await startPod(namespace, 'throughput', ['bash', '-c', `sleep 2; timeout ${seconds} yes "$(head -c 199 /dev/zero | tr '\\0' x)" || true`]);
  await waitRunning(namespace, 'throughput');
  const measure = () => ({ bytes: 0, first: 0, last: 0 });
  const ours = measure();
  const theirs = measure();
  const note = (m: ReturnType<typeof measure>, bytes: number): void => {
    const now = performance.now();
    if (m.first === 0) m.first = now;
    m.last = now;
    m.bytes += bytes;
  };
  let gaps = 0;
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  await Promise.all([
    followPodLog({
      source: createPodLogSource({ kubeConfig }),
      namespace,
      pod: 'throughput',
      onOutput: (text) => note(ours, Buffer.byteLength(text)),
      onEvent: (event) => void (event.type === 'gap' && gaps++),
      readOutcome: () => readExitCode(namespace, 'throughput'),
    }),
    kubectlFollow(namespace, 'throughput', (chunk) => note(theirs, chunk.length)),
  ]);
  clearInterval(sampler);
  const rate = (m: ReturnType<typeof measure>): number => m.bytes / ((m.last - m.first) / 1000);
  const mb = (value: number): string => (value / 1e6).toFixed(1);
  console.log(`log throughput, yes(1) for ${seconds} s`);
  console.log(`followPodLog     ${mb(ours.bytes)} MB in ${((ours.last - ours.first) / 1000).toFixed(1)} s = ${mb(rate(ours))} MB/s, gaps=${gaps}, peak RSS ${mb(peakRss)} MB`);
  console.log(`kubectl logs -f  ${mb(theirs.bytes)} MB in ${((theirs.last - theirs.first) / 1000).toFixed(1)} s = ${mb(rate(theirs))} MB/s`);
  console.log(`ratio ${(rate(ours) / rate(theirs)).toFixed(2)} (target >= 0.9: ${rate(ours) >= 0.9 * rate(theirs) ? 'met' : 'MISSED'})`);
});
