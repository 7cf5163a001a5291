/**
 * T1: adoption of orphaned Jobs (in-memory apiserver, fake `pods/log`). The "crashed" process is a runtime whose ports
 * stop answering after the start (its requests hang forever, as a dead process sends none); the "restarted" process
 * is a second runtime with its own set of followed runs.
 */
import { createFakeCluster, startFakeLogServer, type FakeCluster, type FakeLogServer } from '@claude-k8s/kube-fakes';
import type { V1Job, V1Lease } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { CreateKubeRuntimeOptions, StartRunInput } from './create-kube-runtime.ts';
import type { KubePorts } from './kube-ports.ts';
import { ANNOTATIONS, leaseNameFor } from './names.ts';
import { RunDetachedError } from './kube-runtime-error.ts';
import {
  createFakeClusterRuntime,
  createSteppedClock,
  finishJob,
  kubeletReports,
  minimalRunInput,
  podOfJob,
} from '../test/fake-cluster-run.ts';

const NS = 'agents';

/** Ports that stop answering once `kill()` is called: every later request hangs, like a dead process's. */
function killablePorts(ports: KubePorts): { ports: KubePorts; kill: () => void } {
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

const runtimeOf = (cluster: FakeCluster, logs: FakeLogServer, extra: Partial<CreateKubeRuntimeOptions> = {}) =>
  createFakeClusterRuntime(cluster, logs, NS, extra);

/** Starts `input` in a runtime that then dies (stops sending requests): its Job is an orphan. */
async function orphanOf(cluster: FakeCluster, logs: FakeLogServer, input: Partial<StartRunInput>): Promise<string> {
  const dying = killablePorts(cluster.ports as unknown as KubePorts);
  const first = runtimeOf(cluster, logs, { ports: dying.ports });
  const handle = await first.startRun(minimalRunInput(input));
  dying.kill();
  return handle.jobName;
}

describe('adoptOrphan', () => {
  it("adopts a running orphan: the output from its first line, then live, each line exactly once; the outcome is the Job's", async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const jobName = await orphanOf(cluster, logs, { runId: 'run-1', taskKey: 'issue-7', lockPolicy: 'reject' });
    const podName = await podOfJob(cluster, NS, jobName);
    kubeletReports(cluster, NS, podName, 'running');
    for (let index = 1; index <= 20; index += 1) logs.write(`before ${index}\n`);

    const second = runtimeOf(cluster, logs);
    let text = '';
    const handle = await second.adoptOrphan(
      { agentId: 'agent-1', taskKey: 'issue-7', adopterRunId: 'run-2' },
      { onOutput: (chunk) => void (text += chunk) },
    );
    expect(handle).not.toBeNull();
    expect(handle!.adoption).toMatchObject({ runId: 'run-1', jobName, state: 'running', taskKey: 'issue-7' });
    expect(handle!.adopted).toBe(true);
    expect(cluster.peek<V1Job>('jobs', NS, jobName)?.metadata?.annotations?.[ANNOTATIONS.adoptedBy]).toBe('run-2');
    // The Lease stays held for the Job's run while the adopter follows it: no other run of the agent can start.
    expect(cluster.peek<V1Lease>('leases', NS, leaseNameFor('agent-1'))?.spec?.holderIdentity).toBe('run-1');
    // A second adopter finds nothing: the Job is followed now.
    expect(await second.adoptOrphan({ agentId: 'agent-1', taskKey: 'issue-7', adopterRunId: 'run-3' })).toBeNull();

    await new Promise((resolve) => setTimeout(resolve, 30));
    for (let index = 1; index <= 20; index += 1) logs.write(`after ${index}\n`);
    logs.terminate();
    kubeletReports(cluster, NS, podName, { exitCode: 0 });
    finishJob(cluster, NS, jobName);
    const outcome = await handle!.outcome;
    const expected = [
      ...Array.from({ length: 20 }, (_, index) => `before ${index + 1}\n`),
      ...Array.from({ length: 20 }, (_, index) => `after ${index + 1}\n`),
    ].join('');
    expect(text).toBe(expected);
    expect(outcome).toMatchObject({ code: 'succeeded', jobName, output: { complete: true, gaps: 0 } });
    expect(cluster.peek('jobs', NS, jobName)).toBeUndefined(); // retention ran
    expect(cluster.all('leases', NS)).toEqual([]); // the adopter released the Lease
  });

  it('adopts an orphan that ended while nobody followed it: replays its whole output, outcome as it ended', async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const jobName = await orphanOf(cluster, logs, { runId: 'run-1', taskKey: 'issue-7' });
    const podName = await podOfJob(cluster, NS, jobName);
    kubeletReports(cluster, NS, podName, 'running');
    logs.write('{"type":"system","session_id":"s-1"}\n{"type":"result","session_id":"s-1"}\n');
    logs.terminate();
    kubeletReports(cluster, NS, podName, { exitCode: 1 });
    finishJob(cluster, NS, jobName, 'Failed');

    let text = '';
    const handle = await runtimeOf(cluster, logs).adoptOrphan(
      { agentId: 'agent-1', taskKey: 'issue-7', adopterRunId: 'run-2' },
      { onOutput: (chunk) => void (text += chunk) },
    );
    expect(handle!.adoption).toMatchObject({ runId: 'run-1', state: 'failed' });
    const outcome = await handle!.outcome;
    expect(text).toBe('{"type":"system","session_id":"s-1"}\n{"type":"result","session_id":"s-1"}\n');
    expect(outcome).toMatchObject({ code: 'exit-code', exitCode: 1 });
    // The failed Job is kept and now settled: it is not adopted a second time.
    expect(cluster.peek<V1Job>('jobs', NS, jobName)?.metadata?.annotations?.[ANNOTATIONS.settledAt]).toBeDefined();
    expect(
      await runtimeOf(cluster, logs).adoptOrphan({ agentId: 'agent-1', taskKey: 'issue-7', adopterRunId: 'run-3' }),
    ).toBeNull();
  });

  it('adopts only the same agent and task key (raw values compared, not the sanitised labels)', async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    await orphanOf(cluster, logs, { runId: 'run-a', agentId: 'agent-1', taskKey: 'Issue 7' });
    await orphanOf(cluster, logs, { runId: 'run-b', agentId: 'agent-2', taskKey: 'issue-8' });
    await orphanOf(cluster, logs, { runId: 'run-c', agentId: 'agent-1' });
    const runtime = runtimeOf(cluster, logs);
    const adopt = (agentId: string, taskKey: string | null) =>
      runtime.adoptOrphan({ agentId, taskKey, adopterRunId: `new-${agentId}-${taskKey}` });
    expect(await adopt('agent-1', 'issue-8')).toBeNull(); // another agent's task
    expect(await adopt('agent-2', 'Issue 7')).toBeNull(); // another agent
    expect(await adopt('agent-1', 'issue 7')).toBeNull(); // same label after sanitising, another raw key
    expect((await adopt('agent-1', null))?.adoption?.runId).toBe('run-c'); // the agent's run without a task
    expect((await adopt('agent-1', 'Issue 7'))?.adoption?.runId).toBe('run-a');
    expect((await adopt('agent-2', 'issue-8'))?.adoption?.runId).toBe('run-b');
  });

  it('never adopts a run this process follows, a cancelled one, or one whose outcome was delivered', async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const runtime = runtimeOf(cluster, logs);
    const live = await runtime.startRun(minimalRunInput({ runId: 'run-live', taskKey: 'issue-1' }));
    expect(await runtime.adoptOrphan({ agentId: 'agent-1', taskKey: 'issue-1', adopterRunId: 'x' })).toBeNull();
    const cancelled = await orphanOf(cluster, logs, { runId: 'run-cancelled', taskKey: 'issue-2' });
    cluster.mutate<V1Job>('jobs', NS, cancelled, (job) => {
      job.metadata = {
        ...job.metadata,
        annotations: { ...job.metadata?.annotations, [ANNOTATIONS.cancelRequested]: 'now' },
      };
    });
    expect(await runtime.adoptOrphan({ agentId: 'agent-1', taskKey: 'issue-2', adopterRunId: 'x' })).toBeNull();
    const kept = await orphanOf(cluster, logs, { runId: 'run-kept', taskKey: 'issue-3' });
    cluster.mutate<V1Job>('jobs', NS, kept, (job) => {
      job.metadata = { ...job.metadata, annotations: { ...job.metadata?.annotations, [ANNOTATIONS.settledAt]: 'now' } };
    });
    expect(await runtime.adoptOrphan({ agentId: 'agent-1', taskKey: 'issue-3', adopterRunId: 'x' })).toBeNull();
    await live.cancel();
  });

  it('a detached run (its process going away) is left whole even when it ends right after: the next process adopts it', async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const first = runtimeOf(cluster, logs);
    let firstText = '';
    const handle = await first.startRun(
      minimalRunInput({
        runId: 'run-1',
        taskKey: 'issue-7',
        lockPolicy: 'reject',
        onOutput: (chunk) => void (firstText += chunk),
      }),
    );
    const podName = await podOfJob(cluster, NS, handle.jobName);
    kubeletReports(cluster, NS, podName, 'running');
    logs.write('{"type":"system","session_id":"s-1"}\n');
    // The old process has delivered the first line before it goes away.
    for (let i = 0; i < 400 && firstText === ''; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));

    handle.detach('server shutting down');
    const error: unknown = await handle.outcome.catch((caught: unknown) => caught);
    expect(RunDetachedError.isInstance(error)).toBe(true);
    expect((error as RunDetachedError).jobName).toBe(handle.jobName);
    // The run ends while its old process is still there (inside a shutdown's grace): nothing of it is touched.
    logs.write('{"type":"result","session_id":"s-1"}\n');
    logs.terminate();
    kubeletReports(cluster, NS, podName, { exitCode: 0 });
    finishJob(cluster, NS, handle.jobName);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(cluster.peek('jobs', NS, handle.jobName)).toBeDefined(); // retention (delete on success) did not run
    expect(
      cluster.peek<V1Job>('jobs', NS, handle.jobName)?.metadata?.annotations?.[ANNOTATIONS.settledAt],
    ).toBeUndefined();
    expect(cluster.peek<V1Lease>('leases', NS, leaseNameFor('agent-1'))?.spec?.holderIdentity).toBe('run-1');
    // A cancel after the detach deletes nothing.
    await handle.cancel().catch(() => {});
    expect(cluster.peek('jobs', NS, handle.jobName)).toBeDefined();

    let text = '';
    const adopted = await runtimeOf(cluster, logs).adoptOrphan(
      { agentId: 'agent-1', taskKey: 'issue-7', adopterRunId: 'run-2' },
      { onOutput: (chunk) => void (text += chunk) },
    );
    expect(adopted?.adoption).toMatchObject({ runId: 'run-1', state: 'succeeded' });
    const outcome = await adopted!.outcome;
    expect(outcome.code).toBe('succeeded');
    expect(text).toBe('{"type":"system","session_id":"s-1"}\n{"type":"result","session_id":"s-1"}\n');
    expect(firstText).toBe('{"type":"system","session_id":"s-1"}\n'); // the old process stopped at the detach
    expect(cluster.peek('jobs', NS, handle.jobName)).toBeUndefined();
    expect(cluster.all('leases', NS)).toEqual([]);
  });

  it('a detach that comes while the retention of a decided run runs has no effect: the outcome stands, the Lease is freed', async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const base = cluster.ports as unknown as KubePorts;
    const { promise: retentionStarted, resolve: startRetention } = Promise.withResolvers<void>();
    const { promise: retentionMayGoOn, resolve: letRetentionGoOn } = Promise.withResolvers<void>();
    const ports: KubePorts = Object.create(base) as KubePorts;
    ports.delete = async (...args: Parameters<KubePorts['delete']>) => {
      startRetention();
      await retentionMayGoOn;
      return base.delete(...args);
    };
    const handle = await runtimeOf(cluster, logs, { ports }).startRun(
      minimalRunInput({ runId: 'run-1', taskKey: 'issue-7', lockPolicy: 'reject' }),
    );
    const podName = await podOfJob(cluster, NS, handle.jobName);
    kubeletReports(cluster, NS, podName, 'running');
    logs.write('{"type":"result","session_id":"s-1"}\n');
    logs.terminate();
    kubeletReports(cluster, NS, podName, { exitCode: 0 });
    finishJob(cluster, NS, handle.jobName);
    await retentionStarted;
    handle.detach('too late');
    letRetentionGoOn();
    const outcome = await handle.outcome;
    expect(outcome.code).toBe('succeeded');
    expect(cluster.all('leases', NS)).toEqual([]);
  });

  it('two processes adopting at once: exactly one wins', async () => {
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    await orphanOf(cluster, logs, { runId: 'run-1', taskKey: 'issue-7' });
    const [a, b] = await Promise.all([
      runtimeOf(cluster, logs).adoptOrphan({ agentId: 'agent-1', taskKey: 'issue-7', adopterRunId: 'run-a' }),
      runtimeOf(cluster, logs).adoptOrphan({ agentId: 'agent-1', taskKey: 'issue-7', adopterRunId: 'run-b' }),
    ]);
    expect([a, b].filter((handle) => handle !== null)).toHaveLength(1);
    await (a ?? b)!.cancel();
  });
});

describe('sweepOrphans', () => {
  it('marks an orphan, deletes it once its adoption window passed, and frees the Lease its run held', async () => {
    const clock = createSteppedClock(Date.UTC(2026, 11, 5, 8, 0, 0));
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const orphan = await orphanOf(cluster, logs, {
      runId: 'run-1',
      taskKey: 'issue-7',
      lockPolicy: 'reject',
      adoptWithinSeconds: 600,
    });
    const runtime = runtimeOf(cluster, logs, { clock });
    const live = await runtime.startRun(
      minimalRunInput({ runId: 'run-live', agentId: 'agent-2', adoptWithinSeconds: 1 }),
    );

    expect(await runtime.sweepOrphans()).toEqual({ marked: [orphan], deletedJobs: [], freedLeases: [] });
    expect(cluster.peek<V1Job>('jobs', NS, orphan)?.metadata?.annotations?.[ANNOTATIONS.orphanedSince]).toBe(
      '2026-12-05T08:00:00.000Z',
    );
    clock.advance(599_000);
    expect(await runtime.sweepOrphans()).toEqual({ marked: [], deletedJobs: [], freedLeases: [] });
    clock.advance(2_000);
    expect(await runtime.sweepOrphans()).toEqual({
      marked: [],
      deletedJobs: [orphan],
      freedLeases: [leaseNameFor('agent-1')],
    });
    expect(cluster.peek('jobs', NS, orphan)).toBeUndefined();
    expect(cluster.peek('leases', NS, leaseNameFor('agent-1'))).toBeUndefined();
    expect(cluster.peek('jobs', NS, live.jobName)).toBeDefined(); // followed here: never an orphan
    await live.cancel();
  });

  it('an adopted Job loses its orphan mark and is not deleted', async () => {
    const clock = createSteppedClock(Date.UTC(2026, 11, 5, 8, 0, 0));
    const cluster = createFakeCluster();
    await using logs = await startFakeLogServer();
    const orphan = await orphanOf(cluster, logs, { runId: 'run-1', taskKey: 'issue-7', adoptWithinSeconds: 60 });
    const sweeper = runtimeOf(cluster, logs, { clock });
    await sweeper.sweepOrphans();
    const handle = await sweeper.adoptOrphan({ agentId: 'agent-1', taskKey: 'issue-7', adopterRunId: 'run-2' });
    expect(cluster.peek<V1Job>('jobs', NS, orphan)?.metadata?.annotations?.[ANNOTATIONS.orphanedSince]).toBeUndefined();
    clock.advance(3_600_000);
    expect((await sweeper.sweepOrphans()).deletedJobs).toEqual([]);
    expect(cluster.peek('jobs', NS, orphan)).toBeDefined();
    await handle!.cancel();
  });
});
