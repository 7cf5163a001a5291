/**
 * Shared helpers of the log benchmarks (local cluster, KUBECONFIG set): a namespace, pods, `kubectl logs -f`.
 * Run a benchmark with `node --conditions=@claude-k8s/source bench/log-latency.ts` (Node strips the types).
 */
import { spawn } from 'node:child_process';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

export const kubeConfig = new KubeConfig();
kubeConfig.loadFromDefault();
export const core = kubeConfig.makeApiClient(CoreV1Api);
export const image = process.env['CK8S_TEST_IMAGE'] ?? 'localhost/claude-k8s-agent:dev';

export async function withNamespace<T>(prefix: string, body: (namespace: string) => Promise<T>): Promise<T> {
  const namespace = `${prefix}-${process.pid}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  try {
    return await body(namespace);
  } finally {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  }
}

export async function startPod(namespace: string, name: string, command: string[]): Promise<void> {
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'agent', image, imagePullPolicy: 'IfNotPresent', command }],
      },
    },
  });
}

export async function waitRunning(namespace: string, name: string): Promise<void> {
  for (;;) {
    const pod = await core.readNamespacedPodStatus({ name, namespace });
    if (pod.status?.phase === 'Running' || pod.status?.phase === 'Succeeded') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function readExitCode(namespace: string, name: string): Promise<number | undefined> {
  const pod = await core.readNamespacedPodStatus({ name, namespace });
  return pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode;
}

/** Runs `kubectl logs -f`, calling `onData` per chunk; resolves when it exits. */
export function kubectlFollow(namespace: string, name: string, onData: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['-n', namespace, 'logs', '-f', name], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.on('data', onData);
    child.on('error', reject);
    child.on('close', () => resolve());
  });
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}
