/**
 * T1: `startRun`/`reattach` with `onOutput`: the runtime follows the container's output itself (in-memory apiserver,
 * fake `pods/log` endpoint) and settles the outcome only after the output is drained, the retention applied and the
 * Lease released.
 */
import { createFakeCluster, startFakeLogServer, type FakeCluster, type FakeLogServer } from '@claude-k8s/kube-fakes';
import { describe, expect, it } from 'vitest';
import { createKubeRuntime, type CreateKubeRuntimeOptions } from './create-kube-runtime.ts';
import type { KubePorts } from './kube-ports.ts';
import type { LogCheckpoint } from './log/log-cursor.ts';
import type { RunProgressEvent } from './outcome.ts';
import {
  createFakeClusterRuntime,
  createSteppedClock,
  finishJob,
  kubeletReports,
  minimalRunInput,
  podOfJob,
} from '../test/fake-cluster-run.ts';

const NS = 'agents';

const runtimeOf = (cluster: FakeCluster, logs: FakeLogServer, extra: Partial<CreateKubeRuntimeOptions> = {}) =>
  createFakeClusterRuntime(cluster, logs, NS, extra);

const input = minimalRunInput;
const podOf = (cluster: FakeCluster, jobName: string): Promise<string> => podOfJob(cluster, NS, jobName);

describe('startRun with onOutput (in-memory apiserver, fake pods/log)', () => {
  it('delivers the output exactly once, awaits onOutput, and settles only after the drain, the retention and the Lease release', async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const runtime = runtimeOf(cluster, logs);
    let text = '';
    let jobPresentAtLastChunk: boolean | null = null;
    let inFlight = 0;
    let maxInFlight = 0;
    const progress: RunProgressEvent['type'][] = [];
    const handle = await runtime.startRun(
      input({
        lockPolicy: 'reject',
        onOutput: async (chunk) => {
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 2)); // a slow consumer: back-pressure
          text += chunk;
          jobPresentAtLastChunk = cluster.peek('jobs', NS, handle.jobName) !== undefined;
          inFlight -= 1;
        },
        onProgress: (event) => void progress.push(event.type),
      }),
    );
    const podName = await podOf(cluster, handle.jobName);
    logs.write('line one\n');
    kubeletReports(cluster, NS, podName, 'running');
    expect(await handle.containerStarted).toBe(podName);
    for (let index = 0; index < 50; index += 1) logs.write(`line ${index} ✓ ${'x'.repeat(index * 10)}\n`);
    logs.write('the end, no newline');
    logs.terminate();
    kubeletReports(cluster, NS, podName, { exitCode: 0 });
    finishJob(cluster, NS, handle.jobName);
    const outcome = await handle.outcome;
    const expected =
      'line one\n' +
      Array.from({ length: 50 }, (_, index) => `line ${index} ✓ ${'x'.repeat(index * 10)}\n`).join('') +
      'the end, no newline';
    expect(text).toBe(expected);
    expect(maxInFlight).toBe(1);
    expect(jobPresentAtLastChunk).toBe(true); // the pod was still there while the last bytes were read
    expect(outcome).toMatchObject({ code: 'succeeded', cancelledAt: null });
    expect(outcome.output).toMatchObject({ complete: true, gaps: 0 });
    expect(outcome.output?.checkpoint.deliveredBytes).toBe(Buffer.byteLength(expected));
    expect(cluster.peek('jobs', NS, handle.jobName)).toBeUndefined(); // retention ran after the drain
    expect(cluster.all('leases', NS)).toEqual([]);
    expect(progress).toEqual(['scheduled', 'running']);
  });

  it('reports a follow the apiserver refuses as log-incomplete through onProgress and still settles the outcome', async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer({ faults: () => ({ status: 403 }) });
    const runtime = runtimeOf(cluster, logs);
    const progress: RunProgressEvent[] = [];
    const handle = await runtime.startRun(
      input({ onOutput: () => undefined, onProgress: (event) => void progress.push(event) }),
    );
    const podName = await podOf(cluster, handle.jobName);
    kubeletReports(cluster, NS, podName, 'running');
    await handle.containerStarted;
    kubeletReports(cluster, NS, podName, { exitCode: 3 });
    const outcome = await handle.outcome;
    expect(outcome).toMatchObject({ code: 'exit-code', exitCode: 3, output: { complete: false } });
    const incomplete = progress.find((event) => event.type === 'log-incomplete');
    expect(incomplete).toMatchObject({ type: 'log-incomplete' });
    expect(incomplete?.type === 'log-incomplete' ? incomplete.message : '').toMatch(/403/);
    const events: string[] = [];
    for await (const event of handle.events) events.push(event.type);
    expect(events).toEqual(['scheduled', 'running', 'log-incomplete', 'ended']);
  });

  it('cancel: the outcome is cancelled with the time of the request, after the output up to the end', async () => {
    const clock = createSteppedClock(Date.UTC(2026, 11, 4, 12, 0, 0));
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const runtime = runtimeOf(cluster, logs, { clock });
    let text = '';
    const handle = await runtime.startRun(input({ onOutput: (chunk) => void (text += chunk) }));
    const podName = await podOf(cluster, handle.jobName);
    kubeletReports(cluster, NS, podName, 'running');
    await handle.containerStarted;
    logs.write('working\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    clock.advance(1000);
    const cancelling = handle.cancel('stop');
    clock.advance(1000);
    logs.write('got TERM\n');
    logs.terminate();
    const outcome = await cancelling;
    expect(outcome.code).toBe('cancelled');
    expect(outcome.cancelledAt).toBe('2026-12-04T12:00:01.000Z');
    expect(text).toBe('working\ngot TERM\n');
  });

  it('reattach in a new runtime replays the output from a checkpoint exactly once, then follows it live', async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const first = runtimeOf(cluster, logs);
    let stored = '';
    let persisted: LogCheckpoint | null = null;
    const handle = await first.startRun(
      input({
        onOutput: (chunk, checkpoint) => {
          stored += chunk;
          persisted = checkpoint;
        },
      }),
    );
    const podName = await podOf(cluster, handle.jobName);
    kubeletReports(cluster, NS, podName, 'running');
    for (let index = 0; index < 20; index += 1) logs.write(`before ${index}\n`);
    for (let i = 0; i < 200 && !stored.includes('before 19\n'); i += 1)
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(stored).toContain('before 19\n');
    // The first process dies here (its handle is abandoned); a new one adopts the run from the persisted checkpoint.
    const checkpoint = JSON.parse(JSON.stringify(persisted)) as LogCheckpoint;
    let replayed = '';
    const second = runtimeOf(cluster, logs);
    const adopted = await second.reattach('run-1', {
      outputCheckpoint: checkpoint,
      onOutput: (chunk) => void (replayed += chunk),
    });
    expect(adopted.jobName).toBe(handle.jobName);
    for (let index = 0; index < 5; index += 1) logs.write(`after ${index}\n`);
    logs.terminate();
    kubeletReports(cluster, NS, podName, { exitCode: 0 });
    finishJob(cluster, NS, handle.jobName);
    const outcome = await adopted.outcome;
    expect(outcome.code).toBe('succeeded');
    const all =
      Array.from({ length: 20 }, (_, index) => `before ${index}\n`).join('') +
      Array.from({ length: 5 }, (_, index) => `after ${index}\n`).join('');
    // Exactly the output after the checkpoint (ASCII here, so bytes are characters): nothing twice, nothing lost.
    expect(checkpoint.deliveredBytes).toBeGreaterThan(0);
    expect(all.slice(0, checkpoint.deliveredBytes) + replayed).toBe(all);
    await handle.outcome.catch(() => undefined);
  });

  it('reattach to a finished Job replays its whole output once (from the first byte by default)', async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const first = runtimeOf(cluster, logs, { retention: { onSuccess: 'keep' } });
    const handle = await first.startRun(input());
    const podName = await podOf(cluster, handle.jobName);
    kubeletReports(cluster, NS, podName, 'running');
    logs.write('one\ntwo\nthree');
    logs.terminate();
    kubeletReports(cluster, NS, podName, { exitCode: 0 });
    finishJob(cluster, NS, handle.jobName);
    await handle.outcome;
    let replayed = '';
    const adopted = await runtimeOf(cluster, logs).reattach('run-1', { onOutput: (chunk) => void (replayed += chunk) });
    expect(await adopted.outcome).toMatchObject({ code: 'succeeded', output: { complete: true } });
    expect(replayed).toBe('one\ntwo\nthree');
  });

  it('refuses onOutput without a log source before creating anything', async () => {
    const cluster = createFakeCluster();
    const runtime = createKubeRuntime({ ports: cluster.ports as unknown as KubePorts, namespace: NS });
    await expect(runtime.startRun(input({ onOutput: () => undefined }))).rejects.toThrow(/logSource/);
    expect(cluster.all('jobs', NS)).toEqual([]);
  });
});
