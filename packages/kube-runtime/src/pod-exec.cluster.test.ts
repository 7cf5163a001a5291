/**
 * `runtime.exec` on the real cluster: a round trip through the apiserver and the kubelet (stdin in, stdout out, exit
 * code, stdout limit), and the RBAC refusal of an identity without `pods/exec`, named as such.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClusterBackend } from '../test/cluster-backend.ts';
import type { ContractBackend } from '../test/contract.ts';
import { createKubeRuntime, PodExecError, type KubeRuntime, type RunHandle } from './internal.ts';

describe('runtime.exec (real cluster)', () => {
  let backend: ContractBackend;
  let runtime: KubeRuntime;
  let handle: RunHandle;
  let podName: string;

  beforeAll(async () => {
    backend = await startClusterBackend('transfer-exec');
    runtime = createKubeRuntime({ kubeConfig: backend.kubeConfig, namespace: backend.namespace, runtimeId: 'exec' });
    handle = await runtime.startRun({
      runId: 'exec-1',
      agentId: 'exec-1',
      image: backend.image,
      ...backend.runDefaults,
      command: ['sh', '-c', 'sleep 300'],
      timeoutSeconds: 400,
      terminationGracePeriodSeconds: 1,
    });
    const started = await handle.containerStarted;
    if (started === null) throw new Error('the container did not start');
    podName = started;
  }, 180_000);

  afterAll(async () => {
    await handle?.cancel('test done').catch(() => undefined);
    await backend?.dispose();
  });

  it('streams 8 MiB of stdin in and stdout out, and reports the exit code', async () => {
    const input = new Uint8Array(8 * 1024 * 1024).map((_, index) => (index * 31) % 251);
    const result = await runtime.exec({
      podName,
      containerName: handle.containerName,
      command: ['sh', '-c', 'cat > /tmp/in && wc -c < /tmp/in; exit 3'],
      stdin: input,
      timeoutMs: 60_000,
    });
    expect(result.exitCode).toBe(3);
    expect(new TextDecoder().decode(result.stdout).trim()).toBe(String(input.byteLength));
    const back = await runtime.exec({
      podName,
      containerName: handle.containerName,
      command: ['cat', '/tmp/in'],
      maxStdoutBytes: 16 * 1024 * 1024,
      timeoutMs: 60_000,
    });
    expect(back.stdoutBytes).toBe(input.byteLength);
    expect(Buffer.from(back.stdout).equals(Buffer.from(input))).toBe(true);
    await expect(
      runtime.exec({ podName, containerName: handle.containerName, command: ['cat', '/tmp/in'], maxStdoutBytes: 1024 }),
    ).rejects.toMatchObject({ failure: 'stdout-limit' });
  }, 120_000);

  it('names the missing RBAC when the identity may not exec', async () => {
    const core = backend.kubeConfig.makeApiClient(CoreV1Api);
    const name = 'no-exec';
    await core.createNamespacedServiceAccount({ namespace: backend.namespace, body: { metadata: { name } } });
    const token = await core.createNamespacedServiceAccountToken({
      namespace: backend.namespace,
      name,
      body: { spec: { expirationSeconds: 600, audiences: [] } },
    });
    const cluster = backend.kubeConfig.getCurrentCluster();
    if (cluster === null) throw new Error('no current cluster');
    const limited = new KubeConfig();
    limited.loadFromOptions({
      clusters: [cluster],
      users: [{ name, token: token.status?.token ?? '' }],
      contexts: [{ name, cluster: cluster.name, user: name }],
      currentContext: name,
    });
    const refused = createKubeRuntime({ kubeConfig: limited, namespace: backend.namespace, runtimeId: 'exec' });
    const error = await refused
      .exec({ podName, containerName: handle.containerName, command: ['true'], timeoutMs: 30_000 })
      .catch((value: unknown) => value);
    expect(PodExecError.isInstance(error), String(error)).toBe(true);
    expect(error).toMatchObject({ failure: 'forbidden', status: 403 });
    expect((error as Error).message).toContain('pods/exec');
  }, 60_000);
});
