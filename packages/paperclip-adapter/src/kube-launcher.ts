import {
  createKubeRuntime,
  loadKubeConfig,
  type KubeRuntime,
  type RunEnvVar,
  type RunSpec,
} from '@claude-k8s/kube-runtime';
import type { Logger, RunLaunchRequest, RunTarget } from './ports.ts';

/** The runtime identity labelled on everything the adapter creates (the sweeper only touches its own objects). */
export const KUBE_RUNTIME_ID = 'paperclip-claude-k8s';

/** Options of {@link createKubeRuntimes}. */
export interface KubeRuntimesOptions {
  /** Identity labelled on everything the runtime creates (its sweeper only touches its own objects). @default 'paperclip-claude-k8s' */
  runtimeId?: string;
  logger?: Logger;
}

/** The per-run Job's run id of an attempt: the fresh-session retry of a run gets its own Job. */
function runIdOfAttempt(runId: string, attempt: number): string {
  return attempt <= 1 ? runId : `${runId}-attempt-${attempt}`;
}

function toEnv(request: RunLaunchRequest): RunEnvVar[] {
  return request.container.env.map((variable): RunEnvVar => {
    if ('value' in variable) return { name: variable.name, value: variable.value };
    if ('runFileKey' in variable) return { name: variable.name, fileKey: variable.runFileKey };
    if ('secretKeyRef' in variable) return { name: variable.name, secretKeyRef: variable.secretKeyRef };
    return { name: variable.name, configMapKeyRef: variable.configMapKeyRef };
  });
}

function compact(record: Record<string, string | undefined>): Record<string, string> | undefined {
  const entries = Object.entries(record).filter(
    (entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '',
  );
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}

/** kube-runtime's `RunSpec` of one attempt of a planned run (a pure mapping; the same for `startRun` and `dryRun`). */
export function toRunSpec(request: RunLaunchRequest, attempt: number): RunSpec {
  const { container, pod, lifecycle, files, home } = request;
  const requests = compact(container.resources.requests);
  const limits = compact(container.resources.limits);
  const envOnlyFileKeys = files.entries.filter((entry) => entry.path === null).map((entry) => entry.key);
  return {
    runId: runIdOfAttempt(request.runId, attempt),
    agentId: request.agentId,
    image: container.image,
    imagePullPolicy: container.imagePullPolicy,
    imagePullSecrets: pod.imagePullSecrets,
    command: container.command,
    env: toEnv(request),
    files: Object.fromEntries(files.entries.map((entry) => [entry.key, entry.content])),
    filePaths: Object.fromEntries(
      files.entries.flatMap((entry) => (entry.path === null ? [] : [[entry.key, entry.path] as const])),
    ),
    filesMountPath: files.mountPath,
    envOnlyFileKeys,
    session: { claimName: home.claimName, mountPath: home.mountPath, asHome: true },
    ...(requests || limits ? { resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) } } : {}),
    nodeSelector: pod.nodeSelector,
    tolerations: pod.tolerations,
    ...(pod.affinity ? { affinity: pod.affinity } : {}),
    ...(pod.runtimeClassName ? { runtimeClassName: pod.runtimeClassName } : {}),
    ...(pod.priorityClassName ? { priorityClassName: pod.priorityClassName } : {}),
    ...(pod.serviceAccountName ? { serviceAccountName: pod.serviceAccountName } : {}),
    automountServiceAccountToken: pod.automountServiceAccountToken,
    labels: pod.labels,
    annotations: pod.annotations,
    ...(pod.podSpecPatch ? { podSpecPatch: pod.podSpecPatch } : {}),
    timeoutSeconds: lifecycle.timeoutSec,
    terminationGracePeriodSeconds: lifecycle.graceSec,
    ttlSecondsAfterFinished: lifecycle.ttlSecondsAfterFinished,
    lockPolicy: lifecycle.lockPolicy,
    lockWaitSeconds: lifecycle.lockWaitSeconds,
    retention: lifecycle.retention,
    graces: {
      unschedulableGraceSeconds: lifecycle.unschedulableGraceSec,
      imagePullGraceSeconds: lifecycle.imagePullGraceSec,
    },
  };
}

/**
 * The adapter's Kubernetes side: one kube-runtime per (kubeconfig, namespace), created on first use and kept for the
 * adapter's lifetime. kube-runtime itself follows each run's output and settles its outcome after the drain.
 */
export function createKubeRuntimes(options: KubeRuntimesOptions = {}): (target: RunTarget) => KubeRuntime {
  const runtimes = new Map<string, KubeRuntime>();
  return (target) => {
    const key = `${target.kubeconfigPath ?? '(in-cluster)'}\u0000${target.namespace}`;
    let runtime = runtimes.get(key);
    if (!runtime) {
      runtime = createKubeRuntime({
        kubeConfig: loadKubeConfig({ path: target.kubeconfigPath }),
        namespace: target.namespace,
        runtimeId: options.runtimeId ?? KUBE_RUNTIME_ID,
        ...(options.logger ? { logger: { debug: () => undefined, ...options.logger } } : {}),
      });
      runtimes.set(key, runtime);
    }
    return runtime;
  };
}
