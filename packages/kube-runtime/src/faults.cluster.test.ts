/**
 * Faults of issue 19 that only a real cluster reproduces honestly: the Job controller is refused the pod
 * (FailedCreate) by an exhausted ResourceQuota and by a missing service account. Each run must end as `never-started`
 * (reason FailedCreate) with the controller's message, its Job cleaned up per retention and its Lease released.
 * Prints the time to outcome.
 */
import { BatchV1Api, CoordinationV1Api, CoreV1Api, type V1Job } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClusterBackend } from '../test/cluster-backend.ts';
import type { ContractBackend } from '../test/contract.ts';
import { createKubeRuntime, type KubeRuntime, type StartRunInput } from './internal.ts';

const GRACE_SECONDS = 3;

describe('FailedCreate on a real cluster', () => {
  let backend: ContractBackend;
  let runtime: KubeRuntime;
  let core: CoreV1Api;
  let batch: BatchV1Api;
  let coordination: CoordinationV1Api;
  beforeAll(async () => {
    backend = await startClusterBackend('faults-create');
    core = backend.kubeConfig.makeApiClient(CoreV1Api);
    batch = backend.kubeConfig.makeApiClient(BatchV1Api);
    coordination = backend.kubeConfig.makeApiClient(CoordinationV1Api);
    runtime = createKubeRuntime({
      kubeConfig: backend.kubeConfig,
      namespace: backend.namespace,
      runtimeId: 'faults-test',
      graces: { podCreateGraceSeconds: GRACE_SECONDS },
    });
  });
  afterAll(async () => {
    await backend.dispose();
  });

  const run = (runId: string, overrides: Partial<StartRunInput> = {}): StartRunInput => ({
    runId,
    agentId: `agent-${runId}`,
    image: backend.image,
    ...backend.runDefaults,
    command: ['sh', '-c', 'echo never'],
    timeoutSeconds: 300,
    terminationGracePeriodSeconds: 5,
    lockPolicy: 'reject',
    retention: { onFailure: 'delete' },
    ...overrides,
  });

  async function jobOf(name: string): Promise<V1Job | null> {
    return batch.readNamespacedJob({ name, namespace: backend.namespace }).catch(() => null);
  }

  async function leases(): Promise<string[]> {
    const list = await coordination.listNamespacedLease({ namespace: backend.namespace });
    return list.items.map((lease) => lease.metadata?.name ?? '');
  }

  it('a missing serviceAccountName: never-started (FailedCreate) after the grace', async () => {
    const start = performance.now();
    const handle = await runtime.startRun(run('no-sa', { serviceAccountName: 'faults-missing-sa' }));
    const outcome = await handle.outcome;
    const ms = Math.round(performance.now() - start);
    console.log(`fault: FailedCreate (missing service account) -> ${outcome.code}/${outcome.reason} in ${ms} ms`);
    expect(outcome).toMatchObject({ code: 'never-started', reason: 'FailedCreate', podName: null });
    expect(outcome.message).toMatch(/^the Job controller could not create the pod for 3s: .*faults-missing-sa/);
    expect(ms).toBeGreaterThanOrEqual(GRACE_SECONDS * 1000);
    expect(ms).toBeLessThan((GRACE_SECONDS + 30) * 1000);
    await backend.eventually(async () => (await jobOf(handle.jobName)) === null, `job ${handle.jobName} deleted`);
    expect(await leases()).toEqual([]);
  });

  it('a ResourceQuota of pods: 0: never-started (FailedCreate) after the grace; a kept Job is suspended', async () => {
    await core.createNamespacedResourceQuota({
      namespace: backend.namespace,
      body: { metadata: { name: 'no-pods' }, spec: { hard: { pods: '0' } } },
    });
    // The quota admission plugin sees the quota once its controller has computed its usage.
    await backend.eventually(
      async () =>
        (await core.readNamespacedResourceQuota({ name: 'no-pods', namespace: backend.namespace })).status?.hard?.[
          'pods'
        ] === '0',
      'quota status',
    );
    const start = performance.now();
    const handle = await runtime.startRun(run('quota', { retention: { onFailure: 'keep', keepFailedSeconds: 60 } }));
    const outcome = await handle.outcome;
    const ms = Math.round(performance.now() - start);
    console.log(`fault: FailedCreate (ResourceQuota pods: 0) -> ${outcome.code}/${outcome.reason} in ${ms} ms`);
    expect(outcome).toMatchObject({ code: 'never-started', reason: 'FailedCreate', podName: null });
    expect(outcome.message).toMatch(/exceeded quota: no-pods/);
    expect(outcome.events.some((event) => event.reason === 'FailedCreate' && event.involvedKind === 'Job')).toBe(true);
    expect(ms).toBeLessThan((GRACE_SECONDS + 30) * 1000);
    const job = await jobOf(handle.jobName);
    expect(job?.spec?.suspend).toBe(true);
    expect(job?.metadata?.annotations?.['claude-k8s.io/keep-until']).toBeDefined();
    expect(await leases()).toEqual([]);
    await core.deleteNamespacedResourceQuota({ name: 'no-pods', namespace: backend.namespace });
    await backend.eventually(
      async () => (await core.listNamespacedResourceQuota({ namespace: backend.namespace })).items.length === 0,
      'quota deleted',
    );
  });

  it('cancel 2 s after the start: cancelled within a few seconds, nothing left', async () => {
    const controller = new AbortController();
    // A PID 1 without a handler ignores SIGTERM: the CLI must not be PID 1, or the cancel waits the full 30 s grace.
    const handle = await runtime.startRun(
      run('cancel-early', {
        command: ['sh', '-c', 'sleep 300'],
        terminationGracePeriodSeconds: 30,
        signal: controller.signal,
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const start = performance.now();
    controller.abort();
    const outcome = await handle.outcome;
    const ms = Math.round(performance.now() - start);
    console.log(`fault: cancel 2 s after the start -> ${outcome.code} in ${ms} ms`);
    expect(outcome.code).toBe('cancelled');
    expect(ms).toBeLessThan(10_000);
    await backend.eventually(async () => (await jobOf(handle.jobName)) === null, `job ${handle.jobName} gone`);
    expect(await leases()).toEqual([]);
  });

  it('cancel while running: the Lease is held until the container has ended in its grace period', async () => {
    const grace = 6;
    const handle = await runtime.startRun(
      run('cancel-running', {
        command: ['sh', '-c', 'trap "" TERM; echo started; while true; do sleep 1; done'],
        terminationGracePeriodSeconds: grace,
      }),
    );
    expect(await handle.containerStarted).not.toBeNull();
    const start = performance.now();
    const cancelled = handle.cancel('test');
    await new Promise((resolve) => setTimeout(resolve, 2000));
    // The container ignores SIGTERM and is still in its grace period: the agent's Lease is still held.
    expect(await leases()).toHaveLength(1);
    const outcome = await cancelled;
    const ms = Math.round(performance.now() - start);
    console.log(`fault: cancel while running (grace ${grace}s, SIGTERM ignored) -> ${outcome.code} in ${ms} ms`);
    expect(outcome.code).toBe('cancelled');
    expect(ms).toBeGreaterThanOrEqual(grace * 1000 - 500);
    expect(await leases()).toEqual([]);
    const pods = await core.listNamespacedPod({
      namespace: backend.namespace,
      labelSelector: `batch.kubernetes.io/job-name=${handle.jobName}`,
    });
    // The container has ended; the pod object itself may still be on its way out.
    for (const pod of pods.items) expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toBeDefined();
  });
});
