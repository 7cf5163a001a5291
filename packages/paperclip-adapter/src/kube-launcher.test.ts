/**
 * The adapter's Kubernetes glue (execute → kube-runtime's startRun → output into Paperclip's onLog → result) with the
 * real kube-runtime and the real stream-json accumulator, below the end-to-end tier: T1 over kube-fakes' in-memory
 * apiserver, T2 over the fake apiserver on 127.0.0.1 (client-node's HTTP stack). A scripted "kubelet" moves the pod
 * and writes a recorded transcript to the fake `pods/log` endpoint.
 */
import {
  createFakeCluster,
  startFakeApiserver,
  startFakeLogServer,
  type FakeCluster,
  type FakeLogServer,
} from '@claude-k8s/kube-fakes';
import type { KubeRuntime } from '@claude-k8s/kube-runtime';
import {
  createKubeRuntime,
  createPodLogSource,
  leaseNameFor,
  type KubePorts,
  type PodLogSource,
} from '@claude-k8s/kube-runtime/internal';
import { describe, expect, it } from 'vitest';
import { createFakeContext, createMemoryHostFiles, loadTranscript, admittingPolicy } from '../test/fakes.ts';
import { createServerAdapter } from './create-server-adapter.ts';
import { createStreamJsonAccumulator } from './stream-json-accumulator.ts';
import { KUBE_RUNTIME_ID } from './kube-launcher.ts';
import { createManualClock } from '@claude-k8s/test-utils';

const NS = 'agents';

/** The fields of Kubernetes objects these tests read and write (structural: the adapter has no client-node). */
interface Pod {
  metadata: { name: string };
  spec?: { containers?: unknown[]; nodeName?: string };
  status?: object;
}
interface Job {
  metadata: { name: string };
  spec?: { template: { spec?: { containers: { command?: string[] }[] } } };
  status?: object;
}
interface Secret {
  data?: Record<string, string>;
}

interface Tier {
  name: string;
  /** A kube-runtime over this tier's apiserver; the output comes from `logs`. */
  start(logs: FakeLogServer): Promise<{ cluster: FakeCluster; runtime: KubeRuntime; close: () => Promise<void> }>;
}

const tiers: Tier[] = [
  {
    name: 'T1 in-memory apiserver',
    start: (logs) => {
      const cluster = createFakeCluster();
      const runtime = createKubeRuntime({
        ports: cluster.ports as unknown as KubePorts,
        logSource: createPodLogSource({ kubeConfig: logs.kubeConfig() }),
        logFollow: { initialBackoffMs: 1, maxBackoffMs: 5 },
        namespace: NS,
        runtimeId: KUBE_RUNTIME_ID,
      });
      return Promise.resolve({ cluster, runtime, close: () => Promise.resolve() });
    },
  },
  {
    name: 'T2 fake apiserver',
    start: async (logs) => {
      const server = await startFakeApiserver();
      const runtime = createKubeRuntime({
        kubeConfig: server.kubeConfig(),
        logSource: createPodLogSource({ kubeConfig: logs.kubeConfig() }),
        logFollow: { initialBackoffMs: 1, maxBackoffMs: 5 },
        namespace: NS,
        runtimeId: KUBE_RUNTIME_ID,
      });
      return { cluster: server.cluster, runtime, close: () => server.close() };
    },
  },
];

async function podOf(cluster: FakeCluster): Promise<string> {
  for (let i = 0; i < 400; i += 1) {
    const pod = cluster.all<Pod>('pods', NS)[0];
    if (pod !== undefined) return pod.metadata.name;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('the Job controller created no pod');
}

const status = (state: object) => ({ name: 'agent', image: 'img', imageID: '', ready: true, restartCount: 0, state });

function kubeletRuns(cluster: FakeCluster, podName: string): void {
  cluster.mutate<Pod>('pods', NS, podName, (pod) => {
    pod.spec = { ...pod.spec, nodeName: 'node-1' };
    pod.status = { phase: 'Running', containerStatuses: [status({ running: { startedAt: new Date() } })] };
  });
}

function kubeletExits(cluster: FakeCluster, podName: string, exitCode: number, jobName: string): void {
  cluster.mutate<Pod>('pods', NS, podName, (pod) => {
    pod.status = {
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      containerStatuses: [status({ terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error' } })],
    };
  });
  cluster.mutate<Job>('jobs', NS, jobName, (job) => {
    job.status = {
      conditions: [
        exitCode === 0
          ? { type: 'Complete', status: 'True', reason: 'CompletionsReached' }
          : { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' },
      ],
    };
  });
}

function adapterOver(runtime: KubeRuntime) {
  return createServerAdapter({
    ...admittingPolicy,
    runtimeFactory: (target) => {
      expect(target.namespace).toBe(runtime.namespace);
      return runtime;
    },
    createAccumulator: createStreamJsonAccumulator,
    hostFiles: createMemoryHostFiles({}),
    clock: createManualClock(),
    serverEnv: {},
  });
}

function stdoutOf(records: ReturnType<typeof createFakeContext>['records']): string {
  return records.flatMap((r) => (r.kind === 'log' && r.stream === 'stdout' ? [r.chunk] : [])).join('');
}

for (const tier of tiers) {
  describe(`the adapter's kube glue: ${tier.name}`, () => {
    it('runs a transcript through a real Job: per-run Secret, stdout byte-exact into onLog, result mapped, Job cleaned up', async () => {
      await using logs = await startFakeLogServer();
      const { cluster, runtime, close } = await tier.start(logs);
      try {
        const transcript = loadTranscript('k_unicode');
        const context = createFakeContext();
        const running = adapterOver(runtime).execute(context);
        const podName = await podOf(cluster);
        const job = cluster.all<Job>('jobs', NS)[0]!;
        const secret = cluster.peek<Secret>('secrets', NS, job.metadata.name);
        expect(Object.keys(secret?.data ?? {})).toContain('prompt.md');
        expect(job.spec?.template.spec?.containers[0]?.command?.join(' ')).toContain('claude');
        kubeletRuns(cluster, podName);
        // The kubelet serves whole lines; write the transcript in odd pieces, as a container would.
        const bytes = Buffer.from(transcript.stdout);
        for (let offset = 0; offset < bytes.length; offset += 61) logs.write(bytes.subarray(offset, offset + 61));
        logs.terminate();
        kubeletExits(cluster, podName, transcript.exitCode, job.metadata.name);
        const result = await running;
        expect(stdoutOf(context.records)).toBe(transcript.stdout);
        expect(result.exitCode).toBe(transcript.exitCode);
        expect(result.errorCode).toBeUndefined();
        expect(result.resultJson?.['kubernetes']).toMatchObject({
          outcome: 'succeeded',
          jobName: job.metadata.name,
          namespace: NS,
          podName,
          cancelledAt: null,
          output: { complete: true, gaps: 0, bytes: bytes.length },
        });
        // The retention deleted the succeeded Job only after the drain; the Lease is released.
        expect(cluster.peek('jobs', NS, job.metadata.name)).toBeUndefined();
        expect(cluster.all('leases', NS)).toEqual([]);
      } finally {
        await close();
      }
    });

    it('cancel through ctx.signal: the Job is deleted, the output up to the end arrives, the cancellation is acknowledged', async () => {
      await using logs = await startFakeLogServer();
      const { cluster, runtime, close } = await tier.start(logs);
      try {
        const context = createFakeContext();
        const running = adapterOver(runtime).execute(context);
        const podName = await podOf(cluster);
        kubeletRuns(cluster, podName);
        logs.write('{"type":"system","subtype":"init","session_id":"0b84e97d-3abb-4507-9c93-d061ff77aec6"}\n');
        for (let i = 0; i < 200 && !stdoutOf(context.records).includes('init'); i += 1)
          await new Promise((resolve) => setTimeout(resolve, 5));
        context.controller.abort();
        logs.terminate();
        const result = await running;
        expect(result.errorCode).toBe('cancelled');
        expect(stdoutOf(context.records)).toContain('"subtype":"init"');
        const kubernetes = result.resultJson?.['kubernetes'] as { endedAt: string; cancelledAt: string | null };
        expect(kubernetes.cancelledAt).not.toBeNull();
        expect(result.resultJson?.['executionCancellation']).toMatchObject({
          state: 'acknowledged',
          acknowledgedAt: kubernetes.endedAt,
        });
        expect(cluster.all('jobs', NS)).toEqual([]);
      } finally {
        await close();
      }
    });

    it('an output follow the apiserver refuses is reported to Paperclip as a notice, never silent', async () => {
      await using logs = await startFakeLogServer({ faults: () => ({ status: 403 }) });
      const { cluster, runtime, close } = await tier.start(logs);
      try {
        const context = createFakeContext();
        const running = adapterOver(runtime).execute(context);
        const podName = await podOf(cluster);
        const jobName = cluster.all<Job>('jobs', NS)[0]!.metadata.name;
        kubeletRuns(cluster, podName);
        await new Promise((resolve) => setTimeout(resolve, 20));
        kubeletExits(cluster, podName, 0, jobName);
        const result = await running;
        const notices = context.records.flatMap((r) => (r.kind === 'event' ? [r.message] : []));
        expect(notices.some((message) => /^\[claude-k8s\] log follow ended early: .*403/.test(message))).toBe(true);
        // No output reached the accumulator: the run is a truncated stream, not a success.
        expect(result.errorCode).toBe('claude_truncated_stream');
        expect(result.resultJson?.['kubernetes']).toMatchObject({ output: { complete: false } });
      } finally {
        await close();
      }
    });

    it('a held agent lock refuses the start with k8s_lock_conflict (LockHeldError by its marker), nothing created', async () => {
      await using logs = await startFakeLogServer();
      const { cluster, runtime, close } = await tier.start(logs);
      try {
        // The fake context's run is on task issue-1: its lock is the agent's Lease for that working directory.
        const leaseOf = (cwd: string, holder: string) => ({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: leaseNameFor('agent-1', cwd) },
          spec: {
            holderIdentity: holder,
            leaseDurationSeconds: 900,
            acquireTime: new Date().toISOString().replace('Z', '000Z'),
            renewTime: new Date().toISOString().replace('Z', '000Z'),
          },
        });
        cluster.seed('leases', NS, leaseOf('/home/agent/workspaces/agent-1/issue-1', 'another-run'));
        const context = createFakeContext({ configOverrides: { lockPolicy: 'reject' } });
        const result = await adapterOver(runtime).execute(context);
        expect(result.errorCode).toBe('k8s_lock_conflict');
        expect(result.errorMessage).toContain('another-run');
        expect(result.errorMessage).toContain('/home/agent/workspaces/agent-1/issue-1');
        expect(cluster.all('jobs', NS)).toEqual([]);
      } finally {
        await close();
      }
    });

    it('a cancel during the lock wait is `cancelled` (not k8s_api_error), acknowledged at once, nothing created', async () => {
      await using logs = await startFakeLogServer();
      const { cluster, runtime, close } = await tier.start(logs);
      try {
        const micro = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');
        cluster.seed('leases', NS, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: leaseNameFor('agent-1', '/home/agent/workspaces/agent-1/issue-1') },
          spec: {
            holderIdentity: 'another-run',
            leaseDurationSeconds: 900,
            acquireTime: micro(Date.now()),
            renewTime: micro(Date.now()),
          },
        });
        const context = createFakeContext({ configOverrides: { lockPolicy: 'wait', lockWaitSeconds: 600 } });
        const running = adapterOver(runtime).execute(context);
        await new Promise((resolve) => setTimeout(resolve, 200));
        const start = performance.now();
        context.controller.abort();
        const result = await running;
        const ms = Math.round(performance.now() - start);
        console.log(`fault: cancel during the lock wait (adapter) -> ${result.errorCode} in ${ms} ms`);
        expect(result.errorCode).toBe('cancelled');
        expect(result.resultJson?.['executionCancellation']).toMatchObject({
          state: 'acknowledged',
          proof: "cancelled while waiting for the agent's lock; no Job was created",
        });
        expect(ms).toBeLessThan(1000);
        expect(cluster.all('jobs', NS)).toEqual([]);
      } finally {
        await close();
      }
    });
  });
}

describe('back-pressure: a slow Paperclip onLog', () => {
  it('holds the output follow back: it reads at most a few chunks ahead of onLog, never the whole output', async () => {
    await using logs = await startFakeLogServer();
    const cluster = createFakeCluster();
    const source = createPodLogSource({ kubeConfig: logs.kubeConfig() });
    let pulled = 0;
    let delivered = 0;
    let maxAhead = 0;
    const counting: PodLogSource = {
      open: async (request, signal) => {
        const stream = await source.open(request, signal);
        return {
          async *[Symbol.asyncIterator]() {
            for await (const chunk of stream) {
              // The live follow (from the first byte, nothing skipped); the final read replays the last second.
              // Content bytes: each line's 31-byte timestamp prefix (`2026-11-24T13:00:00.000001000Z `) not counted.
              if (request.follow) pulled += chunk.length - 31 * chunk.filter((byte) => byte === 0x0a).length;
              maxAhead = Math.max(maxAhead, pulled - delivered);
              yield chunk;
            }
          },
        };
      },
    };
    const runtime = createKubeRuntime({
      ports: cluster.ports as unknown as KubePorts,
      logSource: counting,
      namespace: NS,
      runtimeId: KUBE_RUNTIME_ID,
    });
    const context = createFakeContext();
    const record = context.onLog;
    // Paperclip stores one chunk at a time, 2 ms each; a chunk counts once it is stored.
    let store: Promise<void> = Promise.resolve();
    context.onLog = (stream, chunk) => {
      store = store.then(async () => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        await record(stream, chunk);
        delivered += Buffer.byteLength(chunk);
      });
      return store;
    };
    const running = adapterOver(runtime).execute(context);
    const podName = await podOf(cluster);
    const jobName = cluster.all<Job>('jobs', NS)[0]?.metadata.name ?? '';
    kubeletRuns(cluster, podName);
    // 16 MiB of output, all of it available at once (the container is far ahead of Paperclip).
    const line = `{"type":"system","subtype":"noise","text":"${'x'.repeat(1000)}"}\n`;
    const lines = Math.ceil((16 * 1024 * 1024) / line.length);
    for (let i = 0; i < lines; i += 1) logs.write(line);
    logs.terminate();
    kubeletExits(cluster, podName, 0, jobName);
    await running;
    expect(stdoutOf(context.records).length).toBe(lines * line.length);
    expect(pulled).toBe(lines * line.length); // the live follow read the whole output
    // A few socket reads in flight (64 KiB each) are the bound, not the 16 MiB the container wrote.
    expect(maxAhead).toBeLessThan(256 * 1024);
  }, 60_000);
});
