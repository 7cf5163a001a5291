/**
 * T1: adoption after a Paperclip restart through the whole adapter (execute → kube-runtime's adoptOrphan → onLog →
 * result), with the real kube-runtime over the in-memory apiserver and the real stream-json accumulator. The first
 * "server" starts a run and dies (its apiserver requests hang from then on); the second, with fresh state, runs the
 * same task and adopts the Job.
 */
import { createFakeCluster, startFakeLogServer, type FakeCluster, type FakeLogServer } from '@claude-k8s/kube-fakes';
import type { KubeRuntime } from '@claude-k8s/kube-runtime';
import { createKubeRuntime, createPodLogSource, leaseNameFor, type KubePorts } from '@claude-k8s/kube-runtime/internal';
import { createManualClock } from '@claude-k8s/test-utils';
import { describe, expect, it } from 'vitest';
import { admittingPolicy, createFakeContext, createMemoryHostFiles, loadTranscript } from '../test/fakes.ts';
import { createServerAdapter } from './create-server-adapter.ts';
import { KUBE_RUNTIME_ID } from './kube-launcher.ts';
import { createStreamJsonAccumulator } from './stream-json-accumulator.ts';

const NS = 'agents';

interface Pod {
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { nodeName?: string };
  status?: object;
}
interface Job {
  metadata: { name: string; annotations?: Record<string, string> };
  status?: object;
}

/** Ports that stop answering once `kill()` is called: every later request hangs, as a dead process sends none. */
function killable(ports: KubePorts): { ports: KubePorts; kill: () => void } {
  let dead = false;
  const never = new Promise<never>(() => {});
  const wrapped = Object.fromEntries(
    Object.entries(ports).map(([name, method]) => [
      name,
      (...args: unknown[]) => (dead ? never : (method as (...a: unknown[]) => unknown).apply(ports, args)),
    ]),
  ) as unknown as KubePorts;
  return { ports: wrapped, kill: () => (dead = true) };
}

function runtimeOver(ports: KubePorts, logs: FakeLogServer): KubeRuntime {
  return createKubeRuntime({
    ports,
    logSource: createPodLogSource({ kubeConfig: logs.kubeConfig() }),
    logFollow: { initialBackoffMs: 1, maxBackoffMs: 5 },
    namespace: NS,
    runtimeId: KUBE_RUNTIME_ID,
  });
}

function adapterOver(runtime: KubeRuntime) {
  return createServerAdapter({
    ...admittingPolicy,
    runtimeFactory: () => runtime,
    createAccumulator: createStreamJsonAccumulator,
    hostFiles: createMemoryHostFiles({}),
    clock: createManualClock(),
    serverEnv: {},
  });
}

const status = (state: object) => ({ name: 'agent', image: 'img', imageID: '', ready: true, restartCount: 0, state });

async function podOfJob(cluster: FakeCluster, jobName: string): Promise<string> {
  for (let i = 0; i < 400; i += 1) {
    const pod = cluster
      .all<Pod>('pods', NS)
      .find((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === jobName);
    if (pod !== undefined) return pod.metadata.name;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('the Job controller created no pod');
}

async function onlyJob(cluster: FakeCluster): Promise<string> {
  for (let i = 0; i < 400; i += 1) {
    const job = cluster.all<Job>('jobs', NS)[0];
    if (job !== undefined) return job.metadata.name;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('no Job');
}

function kubeletRuns(cluster: FakeCluster, podName: string): void {
  cluster.mutate<Pod>('pods', NS, podName, (pod) => {
    pod.spec = { ...pod.spec, nodeName: 'node-1' };
    pod.status = { phase: 'Running', containerStatuses: [status({ running: { startedAt: new Date() } })] };
  });
}

function kubeletExits(cluster: FakeCluster, podName: string, jobName: string): void {
  cluster.mutate<Pod>('pods', NS, podName, (pod) => {
    pod.status = {
      phase: 'Succeeded',
      containerStatuses: [status({ terminated: { exitCode: 0, reason: 'Completed' } })],
    };
  });
  cluster.mutate<Job>('jobs', NS, jobName, (job) => {
    job.status = { conditions: [{ type: 'Complete', status: 'True', reason: 'CompletionsReached' }] };
  });
}

type Records = ReturnType<typeof createFakeContext>['records'];
const streamOf = (records: Records, stream: 'stdout' | 'stderr'): string =>
  records.flatMap((r) => (r.kind === 'log' && r.stream === stream ? [r.chunk] : [])).join('');

/** The first server: starts the run of `taskKey` and dies once the pod runs. Returns the Job's name. */
async function orphanRun(cluster: FakeCluster, logs: FakeLogServer, taskKey: string | null): Promise<string> {
  const dying = killable(cluster.ports as unknown as KubePorts);
  const first = adapterOver(runtimeOver(dying.ports, logs));
  const context = createFakeContext({
    runId: 'orphan-run',
    runtime: { sessionId: null, sessionParams: null, sessionDisplayId: null, taskKey },
  });
  void first.execute(context); // never settles: its process "died"
  const jobName = await onlyJob(cluster);
  await podOfJob(cluster, jobName);
  dying.kill();
  return jobName;
}

const transcript = loadTranscript('a_plain_text');

function expectedSummary() {
  const accumulator = createStreamJsonAccumulator();
  accumulator.push(transcript.stdout);
  return accumulator.finish({ exitCode: 0, signal: null });
}

describe('execute adopts the orphaned Job of its task after a restart', () => {
  it('a running orphan: stdout from its first line then live, exactly once; its session, usage and cost; no second Job', async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const jobName = await orphanRun(cluster, logs, 'issue-1');
    const podName = await podOfJob(cluster, jobName);
    kubeletRuns(cluster, podName);
    const bytes = Buffer.from(transcript.stdout);
    const half = Math.floor(bytes.length / 2);
    logs.write(bytes.subarray(0, half)); // written while nobody followed

    const context = createFakeContext({ runId: 'adopting-run' });
    const running = adapterOver(runtimeOver(cluster.ports as unknown as KubePorts, logs)).execute(context);
    for (let i = 0; i < 400 && streamOf(context.records, 'stderr') === ''; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 5));
    for (let offset = half; offset < bytes.length; offset += 37) logs.write(bytes.subarray(offset, offset + 37));
    logs.terminate();
    kubeletExits(cluster, podName, jobName);
    const result = await running;

    expect(streamOf(context.records, 'stdout')).toBe(transcript.stdout);
    expect(streamOf(context.records, 'stderr')).toMatch(
      new RegExp(`^\\[claude-k8s\\] adopted Job ${NS}/${jobName} of run orphan-run \\(running, created `),
    );
    const expected = expectedSummary();
    expect(result.sessionId).toBe(expected.sessionId);
    expect(result.costUsd).toBe(expected.costUsd);
    expect(result.usage?.inputTokens).toBeGreaterThan(0);
    expect(result.resultJson?.['adoptedFrom']).toMatchObject({ runId: 'orphan-run', jobName, state: 'running' });
    expect(result.errorCode).toBeUndefined();
    // No Job of the adopting run was created; the adopted one is gone after its success, and so is the Lease.
    expect(cluster.all('jobs', NS)).toEqual([]);
    expect(cluster.peek('leases', NS, leaseNameFor('agent-1'))).toBeUndefined();
  });

  it('an orphan that ended while the server was down: its transcript replayed, its session, usage and cost taken over', async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const jobName = await orphanRun(cluster, logs, 'issue-1');
    const podName = await podOfJob(cluster, jobName);
    kubeletRuns(cluster, podName);
    logs.write(transcript.stdout);
    logs.terminate();
    kubeletExits(cluster, podName, jobName);

    const context = createFakeContext({ runId: 'adopting-run' });
    const result = await adapterOver(runtimeOver(cluster.ports as unknown as KubePorts, logs)).execute(context);
    expect(streamOf(context.records, 'stdout')).toBe(transcript.stdout);
    expect(streamOf(context.records, 'stderr')).toContain(`(succeeded, created `);
    const expected = expectedSummary();
    expect(result.sessionId).toBe(expected.sessionId);
    expect(result.sessionParams?.['sessionId']).toBe(expected.sessionId);
    expect(result.costUsd).toBe(expected.costUsd);
    expect(result.usage?.outputTokens).toBe(expected.usage.outputTokens);
    expect(result.usage?.inputTokens).toBeGreaterThanOrEqual(expected.usage.inputTokens);
    expect(result.resultJson?.['adoptedFrom']).toMatchObject({ runId: 'orphan-run', state: 'succeeded' });
    expect(cluster.all('jobs', NS)).toEqual([]);
  });

  it("another agent's run of the same task starts its own Job; another task of the agent does not adopt", async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const orphan = await orphanRun(cluster, logs, 'issue-1');
    // The identity and the adoption window (adoptWithinSec, default 1 hour) are on the Job.
    expect(cluster.peek<Job>('jobs', NS, orphan)?.metadata.annotations).toMatchObject({
      'claude-k8s.io/task-key': 'issue-1',
      'claude-k8s.io/agent-id': 'agent-1',
      'claude-k8s.io/adopt-within-seconds': '3600',
    });
    const adapter = adapterOver(runtimeOver(cluster.ports as unknown as KubePorts, logs));

    const otherAgent = createFakeContext({ runId: 'other-agent-run' });
    otherAgent.agent = { ...otherAgent.agent, id: 'agent-2' };
    const running = adapter.execute(otherAgent);
    let own: string | undefined;
    for (let i = 0; i < 400 && own === undefined; i += 1) {
      own = cluster.all<Job>('jobs', NS).find((job) => job.metadata.name !== orphan)?.metadata.name;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(own).toBeDefined();
    otherAgent.controller.abort(); // its cancel waits for a container end the test kubelet never writes: not awaited
    void running;

    // A run of another task of the same agent does not adopt it (it waits for the agent's lock or starts its own Job,
    // by the lock policy; not awaited here).
    const otherTask = createFakeContext({
      runId: 'other-task-run',
      runtime: { sessionId: null, sessionParams: null, sessionDisplayId: null, taskKey: 'issue-2' },
    });
    void adapter.execute(otherTask);
    await new Promise((resolve) => setTimeout(resolve, 300));

    for (const context of [otherAgent, otherTask])
      expect(streamOf(context.records, 'stderr')).not.toContain('adopted Job');
    expect(cluster.peek<Job>('jobs', NS, orphan)?.metadata.annotations?.['claude-k8s.io/adopted-by']).toBeUndefined();
  });

  it("Paperclip's controller-lease abort (its shutdown) does not cancel the Job: it stays for adoption", async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const context = createFakeContext({ runId: 'shutting-down-run' });
    void adapterOver(runtimeOver(cluster.ports as unknown as KubePorts, logs)).execute(context);
    const jobName = await onlyJob(cluster);
    await podOfJob(cluster, jobName);
    context.controller.abort(new Error('Legacy controller lease lost'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const job = cluster.peek<Job>('jobs', NS, jobName);
    expect(job).toBeDefined();
    expect(job?.metadata.annotations?.['claude-k8s.io/cancel-requested']).toBeUndefined();
  });

  it('a Job that ends inside the shutdown grace is left whole (not settled, not deleted) and adopted by the next server', async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const context = createFakeContext({ runId: 'shutting-down-run' });
    const first = adapterOver(runtimeOver(cluster.ports as unknown as KubePorts, logs)).execute(context);
    const jobName = await onlyJob(cluster);
    const podName = await podOfJob(cluster, jobName);
    kubeletRuns(cluster, podName);
    const bytes = Buffer.from(transcript.stdout);
    const half = Math.floor(bytes.length / 2);
    logs.write(bytes.subarray(0, half));
    for (let i = 0; i < 400 && streamOf(context.records, 'stdout') === ''; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 5));

    // Paperclip's shutdown: the run is detached at once; the old process returns without touching the Job.
    context.controller.abort(new Error('Legacy controller lease lost'));
    const detached = await first;
    expect(detached.errorCode).toBe('k8s_detached');
    expect(detached.errorMessage).toContain(jobName);
    // The Job ends while the old process is still alive (inside the shutdown grace).
    logs.write(bytes.subarray(half));
    logs.terminate();
    kubeletExits(cluster, podName, jobName);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const left = cluster.peek<Job>('jobs', NS, jobName);
    expect(left).toBeDefined(); // the default retention deletes a succeeded Job once its run is settled
    expect(left?.metadata.annotations?.['claude-k8s.io/settled-at']).toBeUndefined();
    // The Lease stays with the detached run (the adopter takes it over with the Job).
    expect(
      cluster.all<{ spec?: { holderIdentity?: string } }>('leases', NS).map((lease) => lease.spec?.holderIdentity),
    ).toEqual(['shutting-down-run']);

    // The restarted server's next run of the task adopts it: the whole transcript, its session and cost.
    const next = createFakeContext({ runId: 'after-restart-run' });
    const result = await adapterOver(runtimeOver(cluster.ports as unknown as KubePorts, logs)).execute(next);
    expect(streamOf(next.records, 'stdout')).toBe(transcript.stdout);
    expect(result.errorCode).toBeUndefined();
    expect(result.sessionId).toBe(expectedSummary().sessionId);
    expect(result.resultJson?.['adoptedFrom']).toMatchObject({ runId: 'shutting-down-run', state: 'succeeded' });
    expect(cluster.all('jobs', NS)).toEqual([]);
    expect(cluster.all('leases', NS)).toEqual([]);
  });
});
