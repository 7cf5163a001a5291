import { createFakeCluster, type FakeCluster } from '@claude-k8s/kube-fakes';
import type { V1Job } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  countRequests,
  createKubeRuntime,
  JobFailedError,
  KubeApiError,
  KubeRuntimeError,
  leaseNameFor,
  LockHeldError,
  RunNotFoundError,
  type KubePorts,
  type RunEvent,
  type RunHandle,
} from './internal.ts';
import { finishJob, kubeletReports, minimalRunInput, podOfJob } from '../test/fake-cluster-run.ts';

const NS = 'agents';

function setup(options: { runtimeId?: string; cluster?: FakeCluster } = {}) {
  const cluster = options.cluster ?? createFakeCluster();
  const counted = countRequests(cluster.ports as unknown as KubePorts);
  const runtime = createKubeRuntime({
    ports: counted.ports,
    namespace: NS,
    runtimeId: options.runtimeId ?? 'test',
    graces: { configErrorGraceSeconds: 0 },
  });
  return { cluster, runtime, requests: counted.requests };
}

const run = minimalRunInput;
const podOf = (cluster: FakeCluster, handle: RunHandle): Promise<string> => podOfJob(cluster, NS, handle.jobName);

async function collect(handle: RunHandle): Promise<RunEvent['type'][]> {
  const types: RunEvent['type'][] = [];
  for await (const event of handle.events) types.push(event.type);
  return types;
}

describe('createKubeRuntime (in-memory ports)', () => {
  it('runs a Job to success: suspended Job, owned Secret, resume, watch, delete, with a fixed request count', async () => {
    const { cluster, runtime, requests } = setup();
    const handle = await runtime.startRun(run({ lockPolicy: 'reject' }));
    const job = cluster.peek<V1Job>('jobs', NS, handle.jobName);
    expect(job?.spec?.suspend).toBe(false);
    const secret = cluster.peek<{ metadata: { ownerReferences: { uid: string }[] } }>('secrets', NS, handle.jobName);
    expect(secret?.metadata.ownerReferences[0]?.uid).toBe(job?.metadata?.uid);
    const podName = await podOf(cluster, handle);
    kubeletReports(cluster, NS, podName, 'running');
    expect(await handle.containerStarted).toBe(podName);
    kubeletReports(cluster, NS, podName, { exitCode: 0 });
    finishJob(cluster, NS, handle.jobName, 'Complete', 'CompletionsReached');
    const outcome = await handle.outcome;
    expect(outcome).toMatchObject({ code: 'succeeded', exitCode: 0, jobName: handle.jobName, podName, namespace: NS });
    expect(await collect(handle)).toEqual(['scheduled', 'running', 'ended']);
    expect(cluster.peek('jobs', NS, handle.jobName)).toBeUndefined();
    expect(cluster.peek('secrets', NS, handle.jobName)).toBeUndefined();
    expect(cluster.all('leases', NS)).toEqual([]);
    // The run's own requests: get+create lease, create job, create secret, resume, delete job, delete lease. No event
    // list (a success needs no explaining).
    const stream = (r: { verb: string; kind: string }): boolean =>
      (r.verb === 'list' || r.verb === 'watch') && (r.kind === 'jobs' || r.kind === 'pods');
    expect(requests.filter((r) => !stream(r)).map((r) => `${r.verb} ${r.kind}`)).toEqual([
      'get leases',
      'create leases',
      'create jobs',
      'create secrets',
      'patch jobs',
      'delete jobs',
      'delete leases',
    ]);
    // Job and pod state from the runtime's shared streams: at most one list and one watch of each kind.
    const streamed = requests.filter(stream).map((r) => `${r.verb} ${r.kind}`);
    for (const request of ['list jobs', 'list pods', 'watch jobs', 'watch pods'])
      expect(streamed.filter((r) => r === request).length).toBeLessThanOrEqual(1);
  });

  it('keeps a failed Job with a keep-until annotation and TTL, and names the failure', async () => {
    const { cluster, runtime } = setup();
    const handle = await runtime.startRun(run({ retention: { keepFailedSeconds: 120 } }));
    const podName = await podOf(cluster, handle);
    kubeletReports(cluster, NS, podName, { exitCode: 137, reason: 'OOMKilled' });
    const outcome = await handle.outcome;
    expect(outcome).toMatchObject({ code: 'oom-killed', reason: 'OOMKilled', exitCode: 137 });
    expect(JobFailedError.fromOutcome(outcome)?.message).toBe(
      `run job ${handle.jobName}: oom-killed: container agent was killed: out of memory`,
    );
    const kept = cluster.peek<V1Job>('jobs', NS, handle.jobName);
    expect(kept?.spec?.ttlSecondsAfterFinished).toBe(120);
    expect(kept?.metadata?.annotations?.['claude-k8s.io/keep-until']).toBeDefined();
    // The run token and files go as soon as the container has ended, while the Job stays for inspection (issue 15).
    expect(cluster.peek('secrets', NS, handle.jobName)).toBeUndefined();
  });

  it('deletes the per-run Secret of a kept succeeded Job too, and asks for no Secret of a run without files', async () => {
    const { cluster, runtime, requests } = setup();
    const handle = await runtime.startRun(run({ retention: { onSuccess: 'keep' } }));
    const podName = await podOf(cluster, handle);
    kubeletReports(cluster, NS, podName, { exitCode: 0 });
    finishJob(cluster, NS, handle.jobName, 'Complete', 'CompletionsReached');
    expect(await handle.outcome).toMatchObject({ code: 'succeeded' });
    expect(cluster.peek('jobs', NS, handle.jobName)).toBeDefined();
    expect(cluster.peek('secrets', NS, handle.jobName)).toBeUndefined();

    requests.length = 0;
    const bare = await runtime.startRun(run({ runId: 'run-2', files: {}, retention: { onSuccess: 'keep' } }));
    const barePod = await podOf(cluster, bare);
    kubeletReports(cluster, NS, barePod, { exitCode: 0 });
    finishJob(cluster, NS, bare.jobName, 'Complete', 'CompletionsReached');
    await bare.outcome;
    expect(requests.filter((request) => request.kind === 'secrets')).toEqual([]);
  });

  it('cancels through the AbortSignal: annotation, Foreground delete, outcome cancelled', async () => {
    const { cluster, runtime, requests } = setup();
    const controller = new AbortController();
    const handle = await runtime.startRun(run({ signal: controller.signal }));
    kubeletReports(cluster, NS, await podOf(cluster, handle), 'running');
    await handle.containerStarted;
    controller.abort();
    const outcome = await handle.outcome;
    expect(outcome.code).toBe('cancelled');
    expect(outcome.hint).toBeNull();
    expect(requests.filter((r) => r.verb === 'delete' && r.kind === 'jobs')).toHaveLength(1);
    expect(cluster.peek('jobs', NS, handle.jobName)).toBeUndefined();
    expect(cluster.peek('secrets', NS, handle.jobName)).toBeUndefined();
  });

  it('tells a deletion by someone else from a cancel', async () => {
    const { cluster, runtime } = setup();
    const handle = await runtime.startRun(run());
    kubeletReports(cluster, NS, await podOf(cluster, handle), 'running');
    await handle.containerStarted;
    cluster.externalDelete('jobs', NS, handle.jobName);
    const outcome = await handle.outcome;
    expect(outcome.code).toBe('deleted-externally');
    expect(outcome.message).toBe(`job ${handle.jobName} was deleted before it finished`);
  });

  it('resumes after a dropped watch and relists after 410 Gone, without missing the end', async () => {
    const { cluster, runtime, requests } = setup();
    const handle = await runtime.startRun(run());
    const podName = await podOf(cluster, handle);
    cluster.dropWatches();
    await new Promise((resolve) => setTimeout(resolve, 10));
    kubeletReports(cluster, NS, podName, 'running');
    await handle.containerStarted;
    cluster.compact();
    kubeletReports(cluster, NS, podName, { exitCode: 2 });
    const outcome = await handle.outcome;
    expect(outcome).toMatchObject({ code: 'exit-code', exitCode: 2 });
    expect(requests.filter((r) => r.verb === 'watch').length).toBeGreaterThanOrEqual(4);
    expect(requests.filter((r) => r.verb === 'list' && r.kind !== 'events').length).toBeGreaterThanOrEqual(1);
  });

  it('reject policy names the run holding the lock; two runtimes never run two Jobs of one agent', async () => {
    const cluster = createFakeCluster();
    const a = setup({ cluster, runtimeId: 'replica-a' });
    const b = setup({ cluster, runtimeId: 'replica-b' });
    const results = await Promise.allSettled([
      a.runtime.startRun(run({ runId: 'run-a', lockPolicy: 'reject' })),
      b.runtime.startRun(run({ runId: 'run-b', lockPolicy: 'reject' })),
    ]);
    const started = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(started).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const error: unknown = refused[0]?.reason;
    // The marker is LockHeldError's own: an apiserver error (e.g. the losing create's 409) would not pass.
    expect(LockHeldError.isInstance(error)).toBe(true);
    expect(KubeApiError.isInstance(error)).toBe(false);
    expect(error).toMatchObject({ code: 'lock-conflict', agentId: 'agent-1' });
    const winner = started[0]?.status === 'fulfilled' ? started[0].value.runId : '';
    expect((error as LockHeldError).holderRunId).toBe(winner);
    expect(String((error as Error).message)).toMatch(/^acquire lock of agent agent-1: held by run run-[ab]$/);
    expect(cluster.all('jobs', NS)).toHaveLength(1);
  });

  it('wait policy starts the second run once the first has ended, and times out with lock-timeout', async () => {
    const { cluster, runtime } = setup();
    const first = await runtime.startRun(run({ runId: 'run-a', lockPolicy: 'wait' }));
    await expect(
      runtime.startRun(run({ runId: 'run-c', lockPolicy: 'wait', lockWaitSeconds: 0 })),
    ).rejects.toMatchObject({ code: 'lock-timeout', holderRunId: 'run-a' });
    const second = runtime.startRun(run({ runId: 'run-b', lockPolicy: 'wait', lockWaitSeconds: 30 }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(cluster.all('jobs', NS)).toHaveLength(1);
    kubeletReports(cluster, NS, await podOf(cluster, first), { exitCode: 0 });
    await first.outcome;
    const handle = await second;
    expect(handle.runId).toBe('run-b');
  });

  it('runs of one agent with different lock keys run side by side; the Job names its Lease, which reattach releases', async () => {
    const { cluster, runtime } = setup();
    const one = await runtime.startRun(run({ runId: 'run-a', lockPolicy: 'wait', lockKey: '/w/issue-1' }));
    const two = await runtime.startRun(run({ runId: 'run-b', lockPolicy: 'wait', lockKey: '/w/issue-2' }));
    expect(cluster.all('jobs', NS)).toHaveLength(2);
    expect(cluster.all('leases', NS)).toHaveLength(2);
    const jobOf = (handle: RunHandle) =>
      cluster.all<V1Job>('jobs', NS).find((job) => job.metadata?.name === handle.jobName);
    expect(jobOf(one)?.metadata?.annotations?.['claude-k8s.io/lease-name']).toBe(leaseNameFor('agent-1', '/w/issue-1'));
    await expect(
      runtime.startRun(run({ runId: 'run-c', lockPolicy: 'wait', lockWaitSeconds: 0, lockKey: '/w/issue-1' })),
    ).rejects.toMatchObject({ code: 'lock-timeout', holderRunId: 'run-a', lockKey: '/w/issue-1' });
    // Another process follows run-a to its end and releases the Lease the Job names.
    const reattached = await setup({ cluster }).runtime.reattach('run-a');
    kubeletReports(cluster, NS, await podOf(cluster, one), { exitCode: 0 });
    await reattached.outcome;
    await one.outcome;
    expect(cluster.all('leases', NS).map((lease) => lease.metadata?.name)).toEqual([
      leaseNameFor('agent-1', '/w/issue-2'),
    ]);
    kubeletReports(cluster, NS, await podOf(cluster, two), { exitCode: 0 });
    await two.outcome;
    expect(cluster.all('leases', NS)).toEqual([]);
  });

  it('adopt policy reattaches to the Job of the very same run', async () => {
    const { cluster, runtime } = setup();
    const first = await runtime.startRun(run({ lockPolicy: 'adopt' }));
    const again = await setup({ cluster }).runtime.startRun(run({ lockPolicy: 'adopt' }));
    expect(again.adopted).toBe(true);
    expect(again.jobName).toBe(first.jobName);
    await expect(setup({ cluster }).runtime.startRun(run({ lockPolicy: 'none' }))).rejects.toMatchObject({
      status: 409,
      reason: 'AlreadyExists',
    });
  });

  it('reattaches by run id and follows the run to its end', async () => {
    const { cluster, runtime } = setup();
    const handle = await runtime.startRun(run());
    const podName = await podOf(cluster, handle);
    kubeletReports(cluster, NS, podName, 'running');
    const other = setup({ cluster }).runtime;
    const reattached = await other.reattach('run-1');
    expect(reattached.jobName).toBe(handle.jobName);
    expect(reattached.podName).toBe(podName);
    await expect(other.reattach('nope')).rejects.toBeInstanceOf(RunNotFoundError);
    finishJob(cluster, NS, handle.jobName, 'Failed', 'DeadlineExceeded');
    expect(await reattached.outcome).toMatchObject({ code: 'deadline-exceeded', reason: 'DeadlineExceeded' });
  });

  it('maps apiserver failures to KubeApiError with verb, resource and namespace, and leaves nothing behind', async () => {
    const { cluster, runtime } = setup();
    cluster.failNext({
      verb: 'create',
      kind: 'jobs',
      status: 403,
      reason: 'Forbidden',
      message:
        'jobs.batch is forbidden: User "system:serviceaccount:agents:paperclip" cannot create resource "jobs" in API group "batch" in the namespace "agents"',
    });
    const error = await runtime.startRun(run()).catch((e: unknown) => e);
    expect(KubeRuntimeError.isInstance(error)).toBe(true);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).message).toBe(
      'create job agents/ck8s-agent-1-run-1-' +
        (error as KubeApiError).objectName?.split('-').at(-1) +
        ': 403 Forbidden: jobs.batch is forbidden: User "system:serviceaccount:agents:paperclip" cannot create resource "jobs" in API group "batch" in the namespace "agents"',
    );
    expect(error).toMatchObject({
      verb: 'create',
      resource: 'jobs.batch',
      namespace: NS,
      status: 403,
      reason: 'Forbidden',
    });

    cluster.failNext({
      verb: 'create',
      kind: 'secrets',
      status: 422,
      reason: 'Invalid',
      message: 'Secret "x" is invalid: data: Too long',
      field: 'data',
    });
    await expect(runtime.startRun(run({ lockPolicy: 'reject' }))).rejects.toMatchObject({
      status: 422,
      field: 'data',
      resource: 'secrets',
    });
    expect(cluster.all('jobs', NS)).toEqual([]);
    expect(cluster.all('leases', NS)).toEqual([]);
  });

  it('rejects the outcome with a KubeApiError when the apiserver refuses the watch for good (403), releasing the lock', async () => {
    const { cluster, runtime } = setup();
    cluster.failNext({
      verb: 'watch',
      kind: 'pods',
      status: 403,
      reason: 'Forbidden',
      message: 'pods is forbidden: User "x" cannot watch resource "pods" in API group "" in the namespace "agents"',
    });
    const handle = await runtime.startRun(run({ lockPolicy: 'reject' }));
    const error = await handle.outcome.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as Error).message).toBe(
      'watch pod agents: 403 Forbidden: pods is forbidden: User "x" cannot watch resource "pods" in API group "" in the namespace "agents"',
    );
    expect(await collect(handle)).toEqual([]);
    expect(cluster.all('leases', NS)).toEqual([]);
  });

  it('retries 429 and 5xx', async () => {
    const { cluster, runtime } = setup();
    cluster.failNext({
      verb: 'create',
      kind: 'jobs',
      status: 503,
      reason: 'ServiceUnavailable',
      message: 'etcd leader changed',
      times: 2,
    });
    const handle = await runtime.startRun(run());
    expect(cluster.peek('jobs', NS, handle.jobName)).toBeDefined();
  });

  it('sweeps only its own expired Jobs and orphaned Secrets', async () => {
    const { cluster, runtime } = setup({ runtimeId: 'mine' });
    const labels = { 'app.kubernetes.io/managed-by': 'claude-k8s', 'claude-k8s.io/runtime-id': 'mine' };
    const past = new Date(Date.now() - 1000).toISOString();
    cluster.seed('jobs', NS, {
      kind: 'Job',
      metadata: { name: 'expired', labels, annotations: { 'claude-k8s.io/keep-until': past } },
      status: { conditions: [{ type: 'Failed', status: 'True' }] },
    });
    cluster.seed('jobs', NS, {
      kind: 'Job',
      metadata: {
        name: 'theirs',
        labels: { ...labels, 'claude-k8s.io/runtime-id': 'other' },
        annotations: { 'claude-k8s.io/keep-until': past },
      },
      status: { conditions: [{ type: 'Failed', status: 'True' }] },
    });
    cluster.seed('jobs', NS, {
      kind: 'Job',
      metadata: { name: 'running', labels },
      spec: { suspend: false },
      status: {},
    });
    cluster.seed('secrets', NS, {
      kind: 'Secret',
      metadata: {
        name: 'orphan',
        labels,
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'gone', uid: 'gone-uid' }],
      },
    });
    cluster.seed('secrets', NS, {
      kind: 'Secret',
      metadata: {
        name: 'unrelated',
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'gone', uid: 'gone-uid' }],
      },
    });
    const result = await runtime.sweep();
    expect(result).toEqual({ deletedJobs: ['expired'], deletedSecrets: ['orphan'] });
    expect(
      cluster
        .all('jobs', NS)
        .map((j) => j.metadata?.name)
        .sort(),
    ).toEqual(['running', 'theirs']);
  });
});
