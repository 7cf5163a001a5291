/**
 * Faults that used to hang a run or lose its end (issue 19), each scripted on the in-memory cluster: every one ends
 * in a named outcome within a bounded time. Each test prints its time to outcome (`fault: ... -> outcome in N ms`).
 */
import { createFakeCluster, type FakeCluster } from '@claude-k8s/kube-fakes';
import type { V1Job } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createKubeRuntime, type KubePorts, type RetentionPolicy } from './internal.ts';
import { minimalRunInput } from '../test/fake-cluster-run.ts';

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
