import { createFakeCluster } from '@claude-k8s/kube-fakes';
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createKubeRuntime, type KubePorts } from './internal.ts';
import { createManualClock } from '@claude-k8s/test-utils';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('graces (clock port)', () => {
  it('Unschedulable fails the run only after unschedulableGraceSeconds, not at once', async () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const clock = createManualClock(start);
    const cluster = createFakeCluster({ now: () => clock.now() });
    const runtime = createKubeRuntime({
      ports: cluster.ports as unknown as KubePorts,
      namespace: 'a',
      clock,
      graces: { unschedulableGraceSeconds: 300 },
    });
    const handle = await runtime.startRun({ runId: 'r', agentId: 'a', image: 'i', command: ['sh'], timeoutSeconds: 0 });
    let pod: V1Pod | undefined;
    while (pod === undefined) {
      await tick();
      pod = cluster.all<V1Pod>('pods', 'a')[0];
    }
    cluster.mutate<V1Pod>('pods', 'a', pod.metadata?.name ?? '', (p) => {
      p.status = {
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: 3 Insufficient memory.',
          },
        ],
      };
    });
    let settled = false;
    void handle.outcome.then(() => (settled = true));
    clock.advance(299_000);
    await tick();
    expect(settled).toBe(false);
    clock.advance(2_000);
    const outcome = await handle.outcome;
    expect(outcome).toMatchObject({
      code: 'unschedulable',
      reason: 'Unschedulable',
      message: 'the pod cannot be scheduled: 0/3 nodes are available: 3 Insufficient memory.',
    });
    expect(outcome.endedAt).toBe(new Date(start + 301_000).toISOString());
  });
});
