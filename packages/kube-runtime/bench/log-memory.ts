/**
 * Memory with 1 GB of output (no cluster): a local HTTP server generates a `pods/log` body of 1 GB of timestamped
 * lines on the fly (respecting backpressure), including 300 KB lines; the follower delivers it to a callback that is
 * slow every few chunks. Prints peak RSS and heap: bounded memory means they stay flat, independent of the 1 GB.
 * `node --conditions=@claude-k8s/source bench/log-memory.ts` (BENCH_BYTES to change the size).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { createPodLogSource, followPodLog } from '../src/internal.ts';

const total = Number(process.env['BENCH_BYTES'] ?? 1e9);
const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain' });
  let sent = 0;
  let index = 0;
  const pump = (): void => {
    while (sent < total) {
      const length = index % 500 === 0 ? 300_000 : 200;
      const line = `2026-11-24T13:00:00.${String(index % 1e9).padStart(9, '0')}Z ${'é'.repeat(length / 2)}\n`;
      index += 1;
      sent += line.length;
      if (!response.write(line)) {
        response.once('drain', pump);
        return;
      }
    }
    response.end();
  };
  pump();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const kubeConfig = new KubeConfig();
kubeConfig.loadFromClusterAndUser(
  { name: 'local', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
  { name: 'bench', token: 'bench' },
);
let delivered = 0;
let chunks = 0;
let peakRss = 0;
let peakHeap = 0;
const started = performance.now();
await followPodLog({
  source: createPodLogSource({ kubeConfig }),
  namespace: 'bench',
  pod: 'memory',
  onOutput: async (text) => {
    delivered += text.length;
    chunks += 1;
    if (chunks % 64 === 0) {
      const usage = process.memoryUsage();
      peakRss = Math.max(peakRss, usage.rss);
      peakHeap = Math.max(peakHeap, usage.heapUsed);
      await new Promise((resolve) => setTimeout(resolve, 1)); // a slow consumer now and then
    }
  },
  readOutcome: () => Promise.resolve('done'),
});
server.close();
const seconds = (performance.now() - started) / 1000;
console.log(
  `log memory: ${(total / 1e9).toFixed(2)} GB body, ${(delivered / 1e6).toFixed(0)} M characters delivered in ${seconds.toFixed(1)} s`,
);
console.log(`peak RSS ${(peakRss / 1e6).toFixed(0)} MB, peak heap used ${(peakHeap / 1e6).toFixed(0)} MB`);
