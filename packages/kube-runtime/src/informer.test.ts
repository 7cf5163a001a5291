import { createFakeCluster, type FakeCluster } from '@claude-k8s/kube-fakes';
import type { V1Job } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { systemClock, type Clock } from './clock.ts';
import { countRequests, createKubeRuntime, type KubePorts, type RunHandle } from './internal.ts';
import { minimalRunInput, podOfJob } from '../test/fake-cluster-run.ts';

const NS = 'agents';

/** The system clock with every delay divided by 100 (the 250 ms … 10 s retry backoffs take milliseconds). */
const fastClock: Clock = {
  now: () => systemClock.now(),
  setTimeout: (callback, delayMs) => systemClock.setTimeout(callback, delayMs / 100),
  clearTimeout: (handle) => systemClock.clearTimeout(handle),
};

function setup(clock: Clock = systemClock) {
  const cluster = createFakeCluster();
  const counted = countRequests(cluster.ports as unknown as KubePorts);
  const runtime = createKubeRuntime({ ports: counted.ports, namespace: NS, runtimeId: 'test', clock });
  return { cluster, runtime, requests: counted.requests };
}

function setContainer(cluster: FakeCluster, podName: string, state: object, phase: string): void {
  cluster.mutate<{ spec?: object; status?: object }>('pods', NS, podName, (pod) => {
    pod.spec = { ...pod.spec, nodeName: '127.0.0.1' };
    pod.status = {
      phase,
      containerStatuses: [{ name: 'agent', image: 'x', imageID: '', ready: true, restartCount: 0, state }],
    };
  });
}

async function runToEnd(cluster: FakeCluster, handle: RunHandle, exitCode: number): Promise<void> {
  const podName = await podOfJob(cluster, NS, handle.jobName);
  setContainer(cluster, podName, { running: { startedAt: new Date() } }, 'Running');
  await handle.containerStarted;
  setContainer(
    cluster,
    podName,
    { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: new Date() } },
    exitCode === 0 ? 'Succeeded' : 'Failed',
  );
  if (exitCode === 0)
    cluster.mutate<V1Job>('jobs', NS, handle.jobName, (job) => {
      job.status = { conditions: [{ type: 'Complete', status: 'True', reason: 'CompletionsReached' }] };
    });
}

describe('shared Job and Pod streams', () => {
  it('30 concurrent runs hold one Job watch and one Pod watch, closed after the last run', async () => {
    const { cluster, runtime, requests } = setup();
    const handles = await Promise.all(
      Array.from({ length: 30 }, (_, i) => runtime.startRun(minimalRunInput({ runId: `run-${i}`, agentId: `a-${i}` }))),
    );
    await Promise.all(handles.map((handle) => podOfJob(cluster, NS, handle.jobName)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(cluster.openWatches).toBe(2);
    await Promise.all(handles.map((handle) => runToEnd(cluster, handle, 0)));
    const outcomes = await Promise.all(handles.map((handle) => handle.outcome));
    expect(outcomes.map((outcome) => outcome.code)).toEqual(Array.from({ length: 30 }, () => 'succeeded'));
    expect(cluster.openWatches).toBe(0);
    const streamRequests = requests.filter((r) => (r.verb === 'watch' || r.verb === 'list') && r.kind !== 'events');
    expect(streamRequests.length).toBeLessThanOrEqual(4);
    // A success reads no events.
    expect(requests.filter((r) => r.kind === 'events')).toEqual([]);
  });

  it('a failure is explained by its events (read once the outcome is decided)', async () => {
    const { cluster, runtime, requests } = setup();
    const handle = await runtime.startRun(minimalRunInput());
    await runToEnd(cluster, handle, 3);
    const outcome = await handle.outcome;
    expect(outcome).toMatchObject({ code: 'exit-code', exitCode: 3 });
    expect(requests.filter((r) => r.kind === 'events').length).toBeGreaterThan(0);
  });

  it('a relist that fails after a 410 is retried like the watch; the run still ends with its own outcome', async () => {
    const { cluster, runtime, requests } = setup(fastClock);
    const handle = await runtime.startRun(minimalRunInput());
    const podName = await podOfJob(cluster, NS, handle.jobName);
    setContainer(cluster, podName, { running: { startedAt: new Date() } }, 'Running');
    await handle.containerStarted;
    // More failures than the request layer's own retries (5 attempts): the relist itself must wait and try again.
    for (const kind of ['jobs', 'pods'] as const)
      cluster.failNext({
        verb: 'list',
        kind,
        status: 503,
        reason: 'ServiceUnavailable',
        message: 'etcd leader changed',
        times: 8,
      });
    const lists = (kind: string): number => requests.filter((r) => r.verb === 'list' && r.kind === kind).length;
    const listsBefore = { jobs: lists('jobs'), pods: lists('pods') };
    cluster.compact();
    setContainer(cluster, podName, { terminated: { exitCode: 0, reason: 'Completed' } }, 'Succeeded');
    cluster.mutate<V1Job>('jobs', NS, handle.jobName, (job) => {
      job.status = { conditions: [{ type: 'Complete', status: 'True', reason: 'CompletionsReached' }] };
    });
    const outcome = await handle.outcome;
    expect(outcome).toMatchObject({ code: 'succeeded', exitCode: 0 });
    // The end was seen through a stream that relisted past its 8 failures. Which stream got there first is a race
    // (the other stops retrying once the run is over and nobody subscribes), so the check takes the larger.
    expect(Math.max(lists('jobs') - listsBefore.jobs, lists('pods') - listsBefore.pods)).toBeGreaterThan(8);
  });

  it('a relist refused for good (403) fails the run as before, with the apiserver message', async () => {
    const { cluster, runtime } = setup(fastClock);
    const handle = await runtime.startRun(minimalRunInput());
    const podName = await podOfJob(cluster, NS, handle.jobName);
    setContainer(cluster, podName, { running: { startedAt: new Date() } }, 'Running');
    await handle.containerStarted;
    cluster.failNext({
      verb: 'list',
      kind: 'jobs',
      status: 403,
      reason: 'Forbidden',
      message: 'jobs.batch is forbidden',
    });
    cluster.compact();
    await expect(handle.outcome).rejects.toThrow(/403 Forbidden: jobs.batch is forbidden/);
    expect(cluster.openWatches).toBe(0);
  });

  it('a run started while the streams run sees its Job end even when the end came before it subscribed', async () => {
    const { cluster, runtime } = setup();
    const first = await runtime.startRun(minimalRunInput({ runId: 'run-a', agentId: 'a' }));
    await podOfJob(cluster, NS, first.jobName);
    const second = await runtime.startRun(minimalRunInput({ runId: 'run-b', agentId: 'b' }));
    await runToEnd(cluster, second, 0);
    expect((await second.outcome).code).toBe('succeeded');
    await runToEnd(cluster, first, 0);
    expect((await first.outcome).code).toBe('succeeded');
  });
});
