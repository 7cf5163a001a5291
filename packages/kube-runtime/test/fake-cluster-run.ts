/**
 * Helpers of the in-memory tests of `startRun`: a minimal run input, the pod the fake Job controller made, and what
 * the kubelet and the Job controller would report.
 */
import type { FakeCluster, FakeLogServer } from '@claude-k8s/kube-fakes';
import type { V1ContainerState, V1ContainerStatus, V1Job, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { Clock } from '../src/clock.ts';
import { createKubeRuntime, type CreateKubeRuntimeOptions, type StartRunInput } from '../src/create-kube-runtime.ts';
import type { KubePorts } from '../src/kube-ports.ts';
import { createPodLogSource } from '../src/log/pod-log-source.ts';

/** A minimal valid `startRun` input (run `run-1` of `agent-1`, `echo hi`, a prompt file); `overrides` win. */
export function minimalRunInput(overrides: Partial<StartRunInput> = {}): StartRunInput {
  return {
    runId: 'run-1',
    agentId: 'agent-1',
    image: 'localhost/claude-k8s-agent:dev',
    command: ['sh', '-c', 'echo hi'],
    timeoutSeconds: 600,
    files: { 'prompt.md': 'hello' },
    ...overrides,
  };
}

/** The name of the pod of Job `jobName` in `namespace`, polling every 5 ms; throws after about one second. */
export async function podOfJob(cluster: FakeCluster, namespace: string, jobName: string): Promise<string> {
  for (let i = 0; i < 200; i += 1) {
    const pod = cluster
      .all<V1Pod & { metadata: { name: string } }>('pods', namespace)
      .find((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === jobName);
    if (pod !== undefined) return pod.metadata.name;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no pod of job ${jobName}`);
}

// The fake cluster runs no kubelet and no Job controller: the tests play them with these.

function agentContainerStatus(state: V1ContainerState, ready: boolean): V1ContainerStatus {
  return { name: 'agent', image: 'localhost/claude-k8s-agent:dev', imageID: '', ready, restartCount: 0, state };
}

/** The pod status the kubelet reports: the `agent` container runs, or it has exited with `exitCode` (and a reason). */
function podStatus(state: 'running' | { exitCode: number; reason?: string }): V1PodStatus {
  if (state === 'running')
    return {
      phase: 'Running',
      containerStatuses: [agentContainerStatus({ running: { startedAt: new Date() } }, true)],
    };
  const { exitCode, reason = exitCode === 0 ? 'Completed' : 'Error' } = state;
  return {
    phase: exitCode === 0 ? 'Succeeded' : 'Failed',
    containerStatuses: [agentContainerStatus({ terminated: { exitCode, reason, startedAt: new Date() } }, false)],
  };
}

/**
 * Plays the kubelet: pod `podName` of `namespace` is on the node, and its `agent` container runs (`'running'`) or
 * has exited with `exitCode` (`reason`: the kubelet's, `Completed` for 0 and `Error` otherwise, unless given).
 */
export function kubeletReports(
  cluster: FakeCluster,
  namespace: string,
  podName: string,
  state: 'running' | { exitCode: number; reason?: string },
): void {
  cluster.mutate<V1Pod>('pods', namespace, podName, (pod) => {
    pod.spec = { ...pod.spec, containers: pod.spec?.containers ?? [], nodeName: '127.0.0.1' };
    pod.status = podStatus(state);
  });
}

/** Plays the Job controller: Job `jobName` of `namespace` ends with the condition `type` and the controller's reason. */
export function finishJob(
  cluster: FakeCluster,
  namespace: string,
  jobName: string,
  type: 'Complete' | 'Failed' = 'Complete',
  reason = type === 'Complete' ? 'CompletionsReached' : 'BackoffLimitExceeded',
): void {
  cluster.mutate<V1Job>('jobs', namespace, jobName, (job) => {
    job.status = { conditions: [{ type, status: 'True', reason, lastTransitionTime: new Date() }] };
  });
}

/**
 * A runtime (id `test`) over the in-memory cluster's `namespace` that reads the output from the fake `pods/log`
 * server and retries a broken follow within milliseconds; `extra` adds or replaces options.
 */
export function createFakeClusterRuntime(
  cluster: FakeCluster,
  logs: FakeLogServer,
  namespace: string,
  extra: Partial<CreateKubeRuntimeOptions> = {},
) {
  return createKubeRuntime({
    ports: cluster.ports as unknown as KubePorts,
    logSource: createPodLogSource({ kubeConfig: logs.kubeConfig() }),
    logFollow: { initialBackoffMs: 1, maxBackoffMs: 5 },
    namespace,
    runtimeId: 'test',
    ...extra,
  });
}

/**
 * A clock whose time moves only when the test says (`advance`, in milliseconds), from `start` (milliseconds since the
 * epoch), with real timers: the runtime's waits and retries still run, and the times it records are the test's.
 */
export function createSteppedClock(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
    clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
    advance: (ms) => void (now += ms),
  };
}
