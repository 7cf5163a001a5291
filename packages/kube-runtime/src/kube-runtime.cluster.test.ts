/**
 * T3: the contract suite and every named failure, produced for real on the local cluster (or any cluster given by
 * KUBECONFIG). Each run uses `sh -c` in the image of CK8S_TEST_IMAGE, in a namespace enforcing restricted Pod Security.
 */
import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClusterBackend } from '../test/cluster-backend.ts';
import { describeContract, type ContractBackend } from '../test/contract.ts';
import {
  countRequests,
  createClientNodePorts,
  createKubeRuntime,
  systemClock,
  type KubeRuntime,
  type StartRunInput,
} from './internal.ts';

describeContract('real cluster', () => startClusterBackend('ck8s-contract'));

describe('named failures on a real cluster', () => {
  let backend: ContractBackend;
  let runtime: KubeRuntime;
  let requests: ReturnType<typeof countRequests>['requests'];
  beforeAll(async () => {
    backend = await startClusterBackend('ck8s-runs');
    const counted = countRequests(createClientNodePorts({ kubeConfig: backend.kubeConfig, clock: systemClock }));
    requests = counted.requests;
    runtime = createKubeRuntime({
      ports: counted.ports,
      kubeConfig: backend.kubeConfig,
      namespace: backend.namespace,
      runtimeId: 'cluster-test',
      graces: { imagePullGraceSeconds: 5, unschedulableGraceSeconds: 5, configErrorGraceSeconds: 5 },
    });
  });
  afterAll(async () => {
    await backend.dispose();
  });

  let counter = 0;
  const run = (command: string, overrides: Partial<StartRunInput> = {}): StartRunInput => {
    counter += 1;
    return {
      runId: `run-${counter}`,
      agentId: `agent-${counter}`,
      image: backend.image,
      ...backend.runDefaults,
      command: ['sh', '-c', command],
      timeoutSeconds: 120,
      terminationGracePeriodSeconds: 5,
      files: { 'prompt.md': 'héllo\u0000 wörld 😀' },
      retention: { onFailure: 'delete' },
      ...overrides,
    };
  };

  it('succeeds in a restricted namespace, reads the prompt file from the per-run Secret, in at most 15 requests', async () => {
    const before = requests.length;
    const handle = await runtime.startRun(
      run('test "$(cat /run/claude-k8s/files/prompt.md | wc -c)" -gt 10 && id -u && touch /tmp/ok', {
        lockPolicy: 'reject',
      }),
    );
    const outcome = await handle.outcome;
    expect(outcome).toMatchObject({ code: 'succeeded', exitCode: 0 });
    const used = requests.slice(before);
    console.log(`requests per run: ${used.length} (${used.map((r) => `${r.verb} ${r.kind}`).join(', ')})`);
    expect(used.length).toBeLessThanOrEqual(15);
  });

  it('exit-code: a non-zero exit', async () => {
    const outcome = await (await runtime.startRun(run('echo failing >&2; exit 3'))).outcome;
    expect(outcome).toMatchObject({ code: 'exit-code', exitCode: 3 });
    expect(outcome.message).toMatch(/^container agent exited with code 3/);
  });

  it('image-pull: an image not present with imagePullPolicy Never (ErrImageNeverPull)', async () => {
    const outcome = await (await runtime.startRun(run('true', { image: 'localhost/does-not-exist:0' }))).outcome;
    expect(outcome).toMatchObject({ code: 'image-pull', reason: 'ErrImageNeverPull' });
    expect(outcome.message).toContain('localhost/does-not-exist:0');
  });

  it('config-error: a missing Secret key (CreateContainerConfigError)', async () => {
    const outcome = await (
      await runtime.startRun(
        run('true', { env: [{ name: 'X', secretKeyRef: { name: 'no-such-secret', key: 'nope' } }] }),
      )
    ).outcome;
    expect(outcome).toMatchObject({ code: 'config-error', reason: 'CreateContainerConfigError' });
    expect(outcome.message).toContain('no-such-secret');
  });

  it('oom-killed: a memory hog over its memory limit', async () => {
    const outcome = await (
      await runtime.startRun(
        run('head -c 400000000 /dev/zero | tail', {
          resources: { limits: { memory: '48Mi' }, requests: { memory: '48Mi' } },
        }),
      )
    ).outcome;
    expect(outcome).toMatchObject({ code: 'oom-killed', reason: 'OOMKilled' });
  });

  it('deadline-exceeded: a run longer than its timeout', async () => {
    const outcome = await (await runtime.startRun(run('sleep 120', { timeoutSeconds: 5 }))).outcome;
    expect(outcome).toMatchObject({ code: 'deadline-exceeded', reason: 'DeadlineExceeded' });
  });

  it('unschedulable: a nodeSelector nothing matches, after the grace', async () => {
    const started = Date.now();
    const outcome = await (
      await runtime.startRun(run('true', { nodeSelector: { 'claude-k8s.io/no-such-node': 'x' } }))
    ).outcome;
    expect(outcome).toMatchObject({ code: 'unschedulable', reason: 'Unschedulable' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_000);
  });

  it('cancelled: an abort mid-run deletes the Job; SIGTERM reaches the container', async () => {
    const controller = new AbortController();
    let output = '';
    const handle = await runtime.startRun(
      run('trap "echo got SIGTERM; exit 143" TERM; echo ready; while true; do sleep 1; done', {
        signal: controller.signal,
        onOutput: (text) => void (output += text),
      }),
    );
    expect(await handle.containerStarted).toBe(handle.podName);
    for (let tries = 0; tries < 200 && !output.includes('ready\n'); tries += 1)
      await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    const outcome = await handle.outcome;
    expect(outcome.code).toBe('cancelled');
    expect(outcome.cancelledAt).not.toBeNull();
    // The trap's line can only be printed after the container received SIGTERM; the follow drained it.
    expect(output).toBe('ready\ngot SIGTERM\n');
    expect(outcome.output?.complete).toBe(true);
  });

  it('deleted-externally: someone else deletes the Job', async () => {
    const handle = await runtime.startRun(run('sleep 120'));
    await handle.containerStarted;
    await backend.kubeConfig
      .makeApiClient(BatchV1Api)
      .deleteNamespacedJob({ name: handle.jobName, namespace: backend.namespace, propagationPolicy: 'Background' });
    const outcome = await handle.outcome;
    expect(outcome.code).toBe('deleted-externally');
  });

  it('evicted: an Eviction API call marks the pod DisruptionTarget and fails the Job through the podFailurePolicy', async () => {
    const handle = await runtime.startRun(run('trap "exit 143" TERM; while true; do sleep 1; done'));
    const podName = await handle.containerStarted;
    if (podName === null) throw new Error('never started');
    await backend.kubeConfig.makeApiClient(CoreV1Api).createNamespacedPodEviction({
      name: podName,
      namespace: backend.namespace,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: podName, namespace: backend.namespace } },
    });
    const outcome = await handle.outcome;
    expect(outcome).toMatchObject({ code: 'evicted', reason: 'EvictionByEvictionAPI' });
  });

  it('reattach: a second runtime follows a running run to its end', async () => {
    // This process keeps the failed Job (as a crashed one would): the adopter's follow must not lose the pod.
    const handle = await runtime.startRun(
      run('echo one; sleep 3; echo two; exit 4', { retention: { onFailure: 'keep', keepFailedSeconds: 120 } }),
    );
    await handle.containerStarted;
    const other = createKubeRuntime({
      kubeConfig: backend.kubeConfig,
      namespace: backend.namespace,
      runtimeId: 'cluster-test',
    });
    let replayed = '';
    const reattached = await other.reattach(handle.runId, { onOutput: (text) => void (replayed += text) });
    expect(reattached.jobName).toBe(handle.jobName);
    expect(await reattached.outcome).toMatchObject({ code: 'exit-code', exitCode: 4 });
    // Adopted mid-run: the output is replayed from the first byte, each byte once, then followed to the end.
    expect(replayed).toBe('one\ntwo\n');
  });
});
