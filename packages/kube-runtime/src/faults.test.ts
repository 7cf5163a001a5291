/**
 * Faults that used to hang a run or lose its end (issue 19), each scripted on the in-memory cluster: every one ends
 * in a named outcome within a bounded time. Each test prints its time to outcome (`fault: ... -> outcome in N ms`).
 */
import {
  analyzeLogLines,
  createFakeCluster,
  describeLogLinesProblems,
  logLine,
  startFakeLogServer,
  type FakeCluster,
  type FakeLogServer,
} from '@claude-k8s/kube-fakes';
import type { V1Job, V1Lease, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  ANNOTATIONS,
  createKubeRuntime,
  createPodLogSource,
  followPodLog,
  LABELS,
  leaseNameFor,
  LockHeldError,
  OutputDeliveryError,
  RunCancelledError,
  type KubePorts,
  type RetentionPolicy,
} from './internal.ts';
import { kubeletReports, minimalRunInput, podOfJob } from '../test/fake-cluster-run.ts';

const NS = 'agents';

function setup(cluster: FakeCluster = createFakeCluster()) {
  const runtime = createKubeRuntime({
    ports: cluster.ports as unknown as KubePorts,
    namespace: NS,
    runtimeId: 'test',
    graces: { podCreateGraceSeconds: 1 },
  });
  return { cluster, runtime };
}

/** Prints and returns the milliseconds since `start`. */
function report(fault: string, outcome: string, start: number): number {
  const ms = Math.round(performance.now() - start);
  console.log(`fault: ${fault} -> ${outcome} in ${ms} ms`);
  return ms;
}

const QUOTA = 'exceeded quota: no-pods, requested: pods=1, used: pods=0, limited: pods=0';

describe('the Job controller never creates the pod (FailedCreate)', () => {
  it.each<[string, Partial<RetentionPolicy>, 'gone' | 'suspended']>([
    ['retention delete', { onFailure: 'delete' }, 'gone'],
    ['retention keep', { onFailure: 'keep' }, 'suspended'],
  ])(
    'ends as never-started (FailedCreate) after the grace, with %s applied and the Lease released',
    async (_name, retention, left) => {
      const { cluster, runtime } = setup();
      cluster.refusePodCreation(QUOTA);
      const start = performance.now();
      const handle = await runtime.startRun(minimalRunInput({ lockPolicy: 'reject', retention }));
      const outcome = await handle.outcome;
      const ms = report(`FailedCreate (${_name})`, `${outcome.code}/${outcome.reason ?? ''}`, start);
      expect(outcome).toMatchObject({ code: 'never-started', reason: 'FailedCreate', podName: null, exitCode: null });
      expect(outcome.message).toBe(
        `the Job controller could not create the pod for 1s: Error creating: pods "${handle.jobName}-00001" is forbidden: ${QUOTA}`,
      );
      expect(outcome.hint).toMatch(/ResourceQuota/);
      expect(outcome.events.map((event) => `${event.involvedKind} ${event.reason}`)).toContain('Job FailedCreate');
      expect(ms).toBeGreaterThanOrEqual(1000);
      expect(ms).toBeLessThan(5000);
      expect(cluster.all('leases', NS)).toEqual([]);
      const job = cluster.peek<V1Job>('jobs', NS, handle.jobName);
      if (left === 'gone') expect(job).toBeUndefined();
      else {
        // Kept for inspection, but suspended: its controller never starts the container later, unfollowed.
        expect(job?.spec?.suspend).toBe(true);
        expect(job?.metadata?.annotations?.['claude-k8s.io/keep-until']).toBeDefined();
        cluster.refusePodCreation(null);
        cluster.mutate<V1Job>('jobs', NS, handle.jobName, (j) => {
          j.metadata = { ...j.metadata, labels: { ...j.metadata?.labels } };
        });
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(cluster.all('pods', NS)).toEqual([]);
      }
    },
  );

  it('a pod that appears within the grace (quota freed) runs normally', async () => {
    const { cluster, runtime } = setup();
    cluster.refusePodCreation(QUOTA);
    const handle = await runtime.startRun(minimalRunInput({ retention: { onFailure: 'delete' } }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    cluster.refusePodCreation(null);
    // The controller's next sync creates the pod.
    cluster.mutate<V1Job>('jobs', NS, handle.jobName, (j) => {
      j.metadata = { ...j.metadata, labels: { ...j.metadata?.labels } };
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(cluster.all('pods', NS)).toHaveLength(1);
    cluster.mutate<V1Job>('jobs', NS, handle.jobName, (j) => {
      j.status = { conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: new Date() }] };
    });
    expect((await handle.outcome).code).toBe('succeeded');
  });
});

/** Ports that record each delete's options, and can run a hook before a request. */
function spyPorts(cluster: FakeCluster, before: (verb: string, kind: string) => void = () => {}) {
  const deletes: { kind: string; name: string; options: object | undefined }[] = [];
  const base = cluster.ports as unknown as KubePorts;
  const ports = new Proxy(base, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        before(String(property), String(args[0]));
        if (property === 'delete')
          deletes.push({ kind: String(args[0]), name: String(args[2]), options: args[3] as object | undefined });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { ports, deletes };
}

describe('cancel is `cancelled` in every phase, answered promptly, Lease released after the container ended', () => {
  it('during the lock wait: RunCancelledError (lock-wait) at once, no Job, the holder keeps its Lease', async () => {
    const { cluster, runtime } = setup();
    await runtime.startRun(minimalRunInput({ runId: 'holder', lockPolicy: 'wait' }));
    const controller = new AbortController();
    const waiting = runtime.startRun(
      minimalRunInput({ runId: 'waiter', lockPolicy: 'wait', lockWaitSeconds: 600, signal: controller.signal }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const start = performance.now();
    controller.abort();
    const error = await waiting.catch((e: unknown) => e);
    const ms = report('cancel during the lock wait', String((error as Error).name), start);
    expect(RunCancelledError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ phase: 'lock-wait', runId: 'waiter' });
    expect(ms).toBeLessThan(1000);
    expect(cluster.all<V1Job>('jobs', NS).map((job) => job.metadata?.annotations?.['claude-k8s.io/run-id'])).toEqual([
      'holder',
    ]);
    expect(cluster.all<V1Lease>('leases', NS).map((lease) => lease.spec?.holderIdentity)).toEqual(['holder']);
  });

  it('before the Job is created (signal already aborted): RunCancelledError (before-start), nothing created', async () => {
    const { cluster, runtime } = setup();
    const controller = new AbortController();
    controller.abort();
    const start = performance.now();
    const error = await runtime.startRun(minimalRunInput({ signal: controller.signal })).catch((e: unknown) => e);
    report('cancel before the Job is created', String((error as Error).name), start);
    expect(error).toMatchObject({ name: 'RunCancelledError', phase: 'before-start' });
    expect(cluster.all('jobs', NS)).toEqual([]);
    expect(cluster.all('leases', NS)).toEqual([]);
  });

  it('while the Job is still suspended (its Secret being written): the Job is deleted, never had a pod', async () => {
    const cluster = createFakeCluster();
    const controller = new AbortController();
    const { ports } = spyPorts(cluster, (verb, kind) => {
      if (verb === 'create' && kind === 'secrets') controller.abort();
    });
    const runtime = createKubeRuntime({ ports, namespace: NS, runtimeId: 'test' });
    const error = await runtime
      .startRun(minimalRunInput({ lockPolicy: 'reject', signal: controller.signal }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'RunCancelledError', phase: 'before-start' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(cluster.all('jobs', NS)).toEqual([]);
    expect(cluster.all('pods', NS)).toEqual([]);
    expect(cluster.all('leases', NS)).toEqual([]);
  });

  it('pod pending (container not started): cancelled once the pod is gone, the Lease released after', async () => {
    const { cluster, runtime } = setup();
    cluster.holdPodTermination(true);
    const controller = new AbortController();
    const handle = await runtime.startRun(minimalRunInput({ lockPolicy: 'reject', signal: controller.signal }));
    const podName = await podOfJob(cluster, NS, handle.jobName);
    const start = performance.now();
    controller.abort();
    await waitUntil(() => cluster.peek('pods', NS, podName)?.metadata?.deletionTimestamp !== undefined);
    expect(cluster.all<V1Lease>('leases', NS)).toHaveLength(1);
    // The kubelet removes the pod (nothing had started).
    cluster.endPodTermination(NS, podName);
    const outcome = await handle.outcome;
    report('cancel while the pod is pending', outcome.code, start);
    expect(outcome.code).toBe('cancelled');
    expect(cluster.all('leases', NS)).toEqual([]);
  });

  it('running: the Lease is kept until the container has ended in its grace period, then released', async () => {
    const { cluster, runtime } = setup();
    cluster.holdPodTermination(true);
    const handle = await runtime.startRun(minimalRunInput({ lockPolicy: 'reject' }));
    const podName = await podOfJob(cluster, NS, handle.jobName);
    kubeletReports(cluster, NS, podName, 'running');
    await handle.containerStarted;
    const start = performance.now();
    let settled = false;
    const cancelled = handle.cancel('stop').then((outcome) => {
      settled = true;
      return outcome;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // SIGTERM sent, the container still in its grace period: the run is not over and keeps the agent's Lease.
    expect(settled).toBe(false);
    expect(cluster.peek('pods', NS, podName)?.metadata?.deletionTimestamp).toBeDefined();
    expect(cluster.all<V1Lease>('leases', NS).map((lease) => lease.spec?.holderIdentity)).toEqual(['run-1']);
    cluster.endPodTermination(NS, podName);
    const outcome = await cancelled;
    report('cancel while running (after the container ended)', outcome.code, start);
    expect(outcome).toMatchObject({ code: 'cancelled', exitCode: 143 });
    expect(cluster.all('leases', NS)).toEqual([]);
    expect(cluster.all('jobs', NS)).toEqual([]);
  });

  it('after the result is decided: the outcome stands and nothing is deleted under the drain', async () => {
    const cluster = createFakeCluster();
    const { ports, deletes } = spyPorts(cluster);
    const runtime = createKubeRuntime({ ports, namespace: NS, runtimeId: 'test', retention: { onSuccess: 'keep' } });
    const controller = new AbortController();
    const handle = await runtime.startRun(minimalRunInput({ signal: controller.signal }));
    const podName = await podOfJob(cluster, NS, handle.jobName);
    kubeletReports(cluster, NS, podName, 'running');
    cluster.mutate<V1Job>('jobs', NS, handle.jobName, (job) => {
      job.status = { conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: new Date() }] };
    });
    const outcome = await handle.outcome;
    const start = performance.now();
    controller.abort();
    expect(await handle.cancel()).toBe(outcome);
    report('cancel after the result', outcome.code, start);
    expect(outcome.code).toBe('succeeded');
    // The kept Job and its pod stay; only the per-run Secret goes once the container has ended (issue 15).
    expect(deletes).toEqual([{ kind: 'secrets', name: handle.jobName, options: undefined }]);
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!check()) throw new Error('condition not met within 2 s');
}

describe("a live holder's Lease is never taken over", () => {
  const micro = (ms: number): string => new Date(ms).toISOString().replace('Z', '000Z');

  /** The Job of run `holder` (its pod made by the fake Job controller) and an expired Lease it holds. */
  async function expiredLeaseOfLiveHolder(cluster: FakeCluster): Promise<{ jobName: string; podName: string }> {
    const labels = { [LABELS.managedBy]: 'claude-k8s', [LABELS.runId]: 'holder' };
    cluster.seed('jobs', NS, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'ck8s-holder', labels, annotations: { [ANNOTATIONS.runId]: 'holder' } },
      spec: { template: { metadata: { labels }, spec: { containers: [{ name: 'agent', image: 'x' }] } } },
    });
    const podName = await podOfJob(cluster, NS, 'ck8s-holder');
    kubeletReports(cluster, NS, podName, 'running');
    const longAgo = Date.now() - 3_600_000;
    cluster.seed('leases', NS, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: leaseNameFor('agent-1') },
      spec: {
        holderIdentity: 'holder',
        leaseDurationSeconds: 900,
        acquireTime: micro(longAgo),
        renewTime: micro(longAgo),
      },
    });
    return { jobName: 'ck8s-holder', podName };
  }

  it('refuses an expired Lease while the holder’s Job runs; takes it once the Job finished', async () => {
    const { cluster, runtime } = setup();
    const { jobName, podName } = await expiredLeaseOfLiveHolder(cluster);
    const start = performance.now();
    const error = await runtime
      .startRun(minimalRunInput({ runId: 'newcomer', lockPolicy: 'reject' }))
      .catch((e: unknown) => e);
    report('expired Lease, holder alive', String((error as Error).name), start);
    expect(LockHeldError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'lock-conflict', holderRunId: 'holder' });
    expect(cluster.all('jobs', NS)).toHaveLength(1);

    cluster.mutate<V1Pod>('pods', NS, podName, (pod) => {
      pod.status = { phase: 'Succeeded' };
    });
    cluster.mutate<V1Job>('jobs', NS, jobName, (job) => {
      job.status = { conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: new Date() }] };
    });
    const handle = await runtime.startRun(minimalRunInput({ runId: 'newcomer', lockPolicy: 'reject' }));
    expect(cluster.peek<V1Lease>('leases', NS, leaseNameFor('agent-1'))?.spec?.holderIdentity).toBe('newcomer');
    await handle.cancel();
  });

  it('a deleted holder Job whose container is still in its grace period keeps the Lease', async () => {
    const { cluster, runtime } = setup();
    cluster.holdPodTermination(true);
    const { jobName, podName } = await expiredLeaseOfLiveHolder(cluster);
    cluster.externalDelete('jobs', NS, jobName, 'Background');
    await expect(runtime.startRun(minimalRunInput({ runId: 'newcomer', lockPolicy: 'reject' }))).rejects.toMatchObject({
      code: 'lock-conflict',
      holderRunId: 'holder',
    });
    cluster.endPodTermination(NS, podName);
    cluster.holdPodTermination(false);
    const handle = await runtime.startRun(minimalRunInput({ runId: 'newcomer', lockPolicy: 'reject' }));
    expect(handle.runId).toBe('newcomer');
    await handle.cancel();
  });

  it('wait policy: waits while the expired Lease’s holder runs, then takes it when the holder ends', async () => {
    const { cluster, runtime } = setup();
    const { jobName, podName } = await expiredLeaseOfLiveHolder(cluster);
    const waiting = runtime.startRun(minimalRunInput({ runId: 'newcomer', lockPolicy: 'wait', lockWaitSeconds: 30 }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cluster.all('jobs', NS)).toHaveLength(1);
    const start = performance.now();
    cluster.mutate<V1Pod>('pods', NS, podName, (pod) => {
      pod.status = { phase: 'Failed' };
    });
    cluster.mutate<V1Job>('jobs', NS, jobName, (job) => {
      job.status = { conditions: [{ type: 'Failed', status: 'True', lastTransitionTime: new Date() }] };
    });
    const handle = await waiting;
    report('waiting for an expired Lease whose holder then ended', 'acquired', start);
    expect(handle.runId).toBe('newcomer');
    await handle.cancel();
  });
});

describe('a rejected onOutput is retried, never skipped', () => {
  async function produceLines(fake: FakeLogServer, count: number, seed: number): Promise<void> {
    for (let index = 0; index < count; index += 1) {
      fake.write(`${logLine(index, seed)}\n`);
      if (index % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    fake.terminate();
  }

  it('transient rejections: the same text is delivered again, every line exactly once', async () => {
    await using fake = await startFakeLogServer();
    const seed = 19;
    let calls = 0;
    let rejected = 0;
    let text = '';
    const start = performance.now();
    const [result] = await Promise.all([
      followPodLog({
        source: createPodLogSource({ kubeConfig: fake.kubeConfig() }),
        namespace: NS,
        pod: 'run-1',
        container: 'agent',
        initialBackoffMs: 1,
        maxBackoffMs: 5,
        onOutput: (chunk) => {
          calls += 1;
          if (calls % 3 === 1) {
            rejected += 1;
            return Promise.reject(new Error('storage hiccup'));
          }
          text += chunk;
          return Promise.resolve();
        },
        readOutcome: () => Promise.resolve(fake.terminated ? 'done' : undefined),
      }),
      produceLines(fake, 200, seed),
    ]);
    report(`onOutput rejected ${rejected} times, retried`, `${result.outcome}, complete ${result.complete}`, start);
    expect(rejected).toBeGreaterThan(0);
    expect(describeLogLinesProblems(analyzeLogLines(text, seed), 200)).toEqual([]);
  });

  it('a persistent rejection fails the follow with OutputDeliveryError (bounded), not a silent skip', async () => {
    await using fake = await startFakeLogServer();
    let tries = 0;
    const start = performance.now();
    const following = followPodLog({
      source: createPodLogSource({ kubeConfig: fake.kubeConfig() }),
      namespace: NS,
      pod: 'run-1',
      container: 'agent',
      initialBackoffMs: 1,
      maxBackoffMs: 5,
      onOutput: () => {
        tries += 1;
        return Promise.reject(new Error('database down'));
      },
      readOutcome: () => Promise.resolve(fake.terminated ? 'done' : undefined),
    });
    fake.write('one line\n');
    const error = await following.catch((e: unknown) => e);
    const ms = report('onOutput always rejects', String((error as Error).name), start);
    expect(OutputDeliveryError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ attempts: 4, undeliveredBytes: 9 });
    expect((error as Error).message).toMatch(/onOutput rejected 9 bytes of output 4 times \(database down\)/);
    expect(tries).toBe(4);
    expect(ms).toBeLessThan(2000);
  });
});
