/**
 * Benchmarks on the real cluster (printed figures): start overhead of a run vs a bare Pod with the same container,
 * and apiserver requests per run for a short and a longer run (must be equal: no polling).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClusterBackend } from '../test/cluster-backend.ts';
import type { ContractBackend } from '../test/contract.ts';
import {
  buildJobManifest,
  countRequests,
  createClientNodePorts,
  createKubeRuntime,
  systemClock,
  type KubeObject,
  type KubePorts,
} from './internal.ts';

const SAMPLES = Number(process.env['CK8S_BENCH_SAMPLES'] ?? '5');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function waitRunning(ports: KubePorts, namespace: string, name: string): Promise<void> {
  const list = await ports.list<V1Pod & KubeObject>('pods', namespace, { fieldSelector: `metadata.name=${name}` });
  const running = (pod: V1Pod | undefined): boolean =>
    pod?.status?.containerStatuses?.some((c) => c.state?.running !== undefined || c.state?.terminated !== undefined) ===
    true;
  if (running(list.items[0])) return;
  const controller = new AbortController();
  await ports.watch<V1Pod & KubeObject>(
    'pods',
    namespace,
    { fieldSelector: `metadata.name=${name}`, resourceVersion: list.resourceVersion, signal: controller.signal },
    (event) => {
      if (event.type !== 'BOOKMARK' && running(event.object)) controller.abort();
    },
  );
}

describe('benchmarks (real cluster)', () => {
  let backend: ContractBackend;
  let ports: KubePorts;
  beforeAll(async () => {
    backend = await startClusterBackend('ck8s-bench');
    ports = createClientNodePorts({ kubeConfig: backend.kubeConfig, clock: systemClock });
  });
  afterAll(async () => {
    await backend.dispose();
  });

  it('start overhead: run (lock + Job + Secret + resume) vs a bare Pod, to container started', async () => {
    const runtime = createKubeRuntime({
      kubeConfig: backend.kubeConfig,
      namespace: backend.namespace,
      runtimeId: 'bench',
    });
    const runTimes: number[] = [];
    const podTimes: number[] = [];
    for (let i = 0; i < SAMPLES; i += 1) {
      const base = {
        runId: `bench-${i}`,
        agentId: `bench-${i}`,
        image: backend.image,
        ...backend.runDefaults,
        command: ['sh', '-c', 'sleep 1'],
        timeoutSeconds: 60,
        terminationGracePeriodSeconds: 1,
      };
      const podSpec = buildJobManifest({ ...base, namespace: backend.namespace, runtimeId: 'bench' }).spec?.template
        .spec;
      let t0 = performance.now();
      await ports.create('pods', backend.namespace, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `bare-${i}` },
        spec: podSpec,
      });
      await waitRunning(ports, backend.namespace, `bare-${i}`);
      podTimes.push(performance.now() - t0);

      t0 = performance.now();
      const handle = await runtime.startRun({ ...base, files: { 'prompt.md': 'x' }, lockPolicy: 'reject' });
      await handle.containerStarted;
      runTimes.push(performance.now() - t0);
      await handle.outcome;
      await ports.delete('pods', backend.namespace, `bare-${i}`, { gracePeriodSeconds: 0 });
    }
    const ratio = median(runTimes) / median(podTimes);
    console.log(
      `start overhead: run ${median(runTimes).toFixed(0)} ms vs bare pod ${median(podTimes).toFixed(0)} ms (median of ${SAMPLES}); ratio ${ratio.toFixed(2)} (target <= 1.15)`,
    );
    expect(Number.isFinite(ratio)).toBe(true);
  });

  it('requests per run do not grow with run duration', async () => {
    const counts: number[] = [];
    for (const seconds of [10, 120]) {
      const counted = countRequests(ports);
      const runtime = createKubeRuntime({ ports: counted.ports, namespace: backend.namespace, runtimeId: 'bench' });
      const handle = await runtime.startRun({
        runId: `dur-${seconds}`,
        agentId: `dur-${seconds}`,
        image: backend.image,
        ...backend.runDefaults,
        command: ['sh', '-c', `sleep ${seconds}`],
        timeoutSeconds: 300,
        files: { 'prompt.md': 'x' },
        lockPolicy: 'reject',
      });
      expect((await handle.outcome).code).toBe('succeeded');
      counts.push(counted.requests.length);
      console.log(`requests for a ${seconds} s run: ${counted.requests.length}`);
    }
    expect(counts[0]).toBe(counts[1]);
    expect(counts[0]).toBeLessThanOrEqual(15);
  }, 420_000);
});
