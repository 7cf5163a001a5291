/**
 * Throughput: a container prints numbered 200-byte lines (`seq`) as fast as it can for 20 s; our follower and `kubectl logs -f` (to
 * nothing) follow it at the same time; bytes per second each delivered, from first byte to last. Target: ours ≥ 0.9 ×
 * kubectl's. (Both follow live: the log is rotated at containerLogMaxSize, so a replay afterwards would see only the
 * newest file.) Also prints the follower's RSS and gap events (rotation outrunning a follower would show there).
 */
import { createPodLogSource, followPodLog } from '../src/internal.ts';
import { kubeConfig, kubectlFollow, readExitCode, startPod, waitRunning, withNamespace } from './log-bench-cluster.ts';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 20);
await withNamespace('bench-log-throughput', async (namespace) => {
  await startPod(namespace, 'throughput', [
    'bash',
    '-c',
    `sleep 2; timeout ${seconds} seq -f '%0199.0f' 1 100000000000 || true`,
  ]);
  await waitRunning(namespace, 'throughput');
  // Each side checks the numbering: duplicates/reorders are bugs; jumps are losses (rotation outran the reader).
  const measure = () => ({
    bytes: 0,
    first: 0,
    last: 0,
    rest: '',
    previous: 0,
    lines: 0,
    backwards: 0,
    jumps: 0,
    lost: 0,
  });
  const ours = measure();
  const theirs = measure();
  const note = (m: ReturnType<typeof measure>, bytes: number): void => {
    const now = performance.now();
    if (m.first === 0) m.first = now;
    m.last = now;
    m.bytes += bytes;
  };
  const check = (m: ReturnType<typeof measure>, text: string): void => {
    const lines = (m.rest + text).split('\n');
    m.rest = lines.pop() ?? '';
    for (const line of lines) {
      const number = Number(line);
      m.lines += 1;
      if (number <= m.previous) m.backwards += 1;
      else if (number !== m.previous + 1) {
        m.jumps += 1;
        m.lost += number - m.previous - 1;
      }
      m.previous = Math.max(m.previous, number);
    }
  };
  let gaps = 0;
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  await Promise.all([
    followPodLog({
      source: createPodLogSource({ kubeConfig }),
      namespace,
      pod: 'throughput',
      onOutput: (text) => {
        note(ours, Buffer.byteLength(text));
        check(ours, text);
      },
      onEvent: (event) => void (event.type === 'gap' && gaps++),
      readOutcome: () => readExitCode(namespace, 'throughput'),
    }),
    kubectlFollow(namespace, 'throughput', (chunk) => {
      note(theirs, chunk.length);
      check(theirs, chunk.toString('latin1'));
    }),
  ]);
  clearInterval(sampler);
  const rate = (m: ReturnType<typeof measure>): number => m.bytes / ((m.last - m.first) / 1000);
  const mb = (value: number): string => (value / 1e6).toFixed(1);
  console.log(`log throughput, numbered seq lines for ${seconds} s`);
  console.log(
    `followPodLog     ${mb(ours.bytes)} MB in ${((ours.last - ours.first) / 1000).toFixed(1)} s = ${mb(rate(ours))} MB/s, gaps=${gaps}, peak RSS ${mb(peakRss)} MB`,
  );
  console.log(
    `kubectl logs -f  ${mb(theirs.bytes)} MB in ${((theirs.last - theirs.first) / 1000).toFixed(1)} s = ${mb(rate(theirs))} MB/s`,
  );
  const integrity = (m: ReturnType<typeof measure>): string =>
    `${m.lines} lines, last #${m.previous}, duplicated/reordered ${m.backwards}, jumps ${m.jumps} (${m.lost} lines lost)`;
  console.log(`followPodLog     ${integrity(ours)}`);
  console.log(`kubectl logs -f  ${integrity(theirs)}`);
  console.log(
    `ratio ${(rate(ours) / rate(theirs)).toFixed(2)} (target >= 0.9: ${rate(ours) >= 0.9 * rate(theirs) ? 'met' : 'MISSED'})`,
  );
});
