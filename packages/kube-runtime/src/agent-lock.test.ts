import { createFakeCluster } from '@claude-k8s/kube-fakes';
import type { V1Lease } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  acquireAgentLock,
  leaseNameFor,
  silentLogger,
  withApiErrors,
  type AcquireLockOptions,
  type Clock,
  type KubePorts,
} from './internal.ts';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const clock: Clock = {
  now: () => NOW,
  setTimeout: (callback, ms) => setTimeout(callback, Math.min(ms, 20)),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

function setup(
  holder: { runId: string; renewedSecondsAgo: number; acquiredSecondsAgo: number; duration: number } | null,
) {
  const cluster = createFakeCluster();
  if (holder !== null) {
    const micro = (secondsAgo: number) => new Date(NOW - secondsAgo * 1000).toISOString().replace('Z', '000Z');
    cluster.seed('leases', 'a', {
      kind: 'Lease',
      metadata: { name: leaseNameFor('agent') },
      spec: {
        holderIdentity: holder.runId,
        leaseDurationSeconds: holder.duration,
        acquireTime: micro(holder.acquiredSecondsAgo),
        renewTime: micro(holder.renewedSecondsAgo),
      },
    });
  }
  const ports = withApiErrors(cluster.ports as unknown as KubePorts, { clock });
  const options = (overrides: Partial<AcquireLockOptions>): AcquireLockOptions => ({
    ports,
    clock,
    logger: silentLogger,
    namespace: 'a',
    agentId: 'agent',
    runId: 'mine',
    runtimeId: 't',
    policy: 'reject',
    waitSeconds: 0,
    leaseDurationSeconds: 300,
    isRunAlive: () => Promise.resolve(true),
    ...overrides,
  });
  return { cluster, options };
}

describe('acquireAgentLock', () => {
  it('creates the Lease with the run as holder and MicroTime times', async () => {
    const { cluster, options } = setup(null);
    const lock = await acquireAgentLock(options({}));
    const lease = cluster.peek<V1Lease>('leases', 'a', leaseNameFor('agent'));
    expect(lease?.spec?.holderIdentity).toBe('mine');
    expect(String(lease?.spec?.renewTime)).toMatch(/\.\d{6}Z$/);
    await lock.release();
    expect(cluster.all('leases', 'a')).toEqual([]);
  });

  it('a lock key is its own Lease: other keys of the agent run side by side, the same key follows the policy', async () => {
    const { cluster, options } = setup(null);
    const first = await acquireAgentLock(options({ lockKey: '/home/agent/workspaces/agent/issue-1', runId: 'one' }));
    const second = await acquireAgentLock(options({ lockKey: '/home/agent/workspaces/agent/issue-2', runId: 'two' }));
    expect(first.leaseName).not.toBe(second.leaseName);
    expect(first.leaseName).not.toBe(leaseNameFor('agent'));
    expect(first.leaseName).toBe(leaseNameFor('agent', '/home/agent/workspaces/agent/issue-1'));
    expect(first.leaseName).toMatch(/^ck8s-agent-agent-[0-9a-f]{8}-[0-9a-f]{12}$/);
    expect(cluster.peek<V1Lease>('leases', 'a', first.leaseName)?.metadata?.annotations).toMatchObject({
      'claude-k8s.io/lock-key': '/home/agent/workspaces/agent/issue-1',
    });
    await expect(
      acquireAgentLock(options({ lockKey: '/home/agent/workspaces/agent/issue-1', runId: 'three' })),
    ).rejects.toMatchObject({
      code: 'lock-conflict',
      holderRunId: 'one',
      lockKey: '/home/agent/workspaces/agent/issue-1',
      message: 'acquire lock of agent agent for "/home/agent/workspaces/agent/issue-1": held by run one',
    });
    // No key: the agent's Lease of every earlier version, untouched by the keyed ones.
    expect(leaseNameFor('agent', '')).toBe(leaseNameFor('agent'));
    expect(cluster.peek<V1Lease>('leases', 'a', leaseNameFor('agent'))).toBeUndefined();
  });

  it('rejects while a live holder has a valid lease, naming it', async () => {
    const { options } = setup({ runId: 'other', renewedSecondsAgo: 10, acquiredSecondsAgo: 100, duration: 300 });
    await expect(acquireAgentLock(options({}))).rejects.toThrow('acquire lock of agent agent: held by run other');
  });

  it('takes over an expired lease whose holder run is over', async () => {
    const { cluster, options } = setup({
      runId: 'other',
      renewedSecondsAgo: 400,
      acquiredSecondsAgo: 400,
      duration: 300,
    });
    await acquireAgentLock(options({ isRunAlive: () => Promise.resolve(false) }));
    const lease = cluster.peek<V1Lease>('leases', 'a', leaseNameFor('agent'));
    expect(lease?.spec).toMatchObject({ holderIdentity: 'mine', leaseTransitions: 1 });
  });

  it('never takes over an expired lease while its holder run is alive (asked by the holder identity)', async () => {
    const { cluster, options } = setup({
      runId: 'other',
      renewedSecondsAgo: 4000,
      acquiredSecondsAgo: 4000,
      duration: 300,
    });
    const asked: string[] = [];
    const isRunAlive = (runId: string): Promise<boolean> => {
      asked.push(runId);
      return Promise.resolve(true);
    };
    await expect(acquireAgentLock(options({ isRunAlive }))).rejects.toMatchObject({
      code: 'lock-conflict',
      holderRunId: 'other',
    });
    expect(asked).toEqual(['other']);
    expect(cluster.peek<V1Lease>('leases', 'a', leaseNameFor('agent'))?.spec?.holderIdentity).toBe('other');
  });

  it('takes over before expiry when the holder run is dead, but not while it may still be starting', async () => {
    const dead = setup({ runId: 'other', renewedSecondsAgo: 100, acquiredSecondsAgo: 100, duration: 900 });
    await acquireAgentLock(dead.options({ isRunAlive: () => Promise.resolve(false) }));
    expect(dead.cluster.peek<V1Lease>('leases', 'a', leaseNameFor('agent'))?.spec?.holderIdentity).toBe('mine');
    const starting = setup({ runId: 'other', renewedSecondsAgo: 5, acquiredSecondsAgo: 5, duration: 900 });
    await expect(
      acquireAgentLock(starting.options({ isRunAlive: () => Promise.resolve(false) })),
    ).rejects.toMatchObject({ code: 'lock-conflict' });
  });

  it('is re-entrant for the same run', async () => {
    const { options } = setup({ runId: 'mine', renewedSecondsAgo: 10, acquiredSecondsAgo: 10, duration: 300 });
    await expect(acquireAgentLock(options({}))).resolves.toMatchObject({ leaseName: leaseNameFor('agent') });
  });

  it('loses a takeover race cleanly (Conflict on update) and reports the winner', async () => {
    const { cluster, options } = setup({
      runId: 'other',
      renewedSecondsAgo: 400,
      acquiredSecondsAgo: 400,
      duration: 300,
    });
    const isRunAlive = (runId: string): Promise<boolean> => Promise.resolve(runId !== 'other');
    const results = await Promise.allSettled([
      acquireAgentLock(options({ runId: 'x', isRunAlive })),
      acquireAgentLock(options({ runId: 'y', isRunAlive })),
    ]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const holder = cluster.peek<V1Lease>('leases', 'a', leaseNameFor('agent'))?.spec?.holderIdentity;
    const rejected = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(String((rejected?.reason as Error).message)).toBe(`acquire lock of agent agent: held by run ${holder}`);
  });
});
