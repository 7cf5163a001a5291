import {
  createKubeRuntime,
  createPodLogSource,
  followPodLog,
  loadKubeConfig,
  type KubeconfigFilePolicy,
  type KubeRuntime,
  type RunEnvVar,
  type RunOutcome,
  type StartRunInput,
} from '@claude-k8s/kube-runtime';
import type { Logger, RunHandle, RunLauncher, RunLaunchRequest, RunOutcomeLike } from './ports.ts';

/** The runtime identity labelled on everything the adapter creates (the sweeper only touches its own objects). */
export const KUBE_RUNTIME_ID = 'paperclip-claude-k8s';

/** Options of {@link createKubeLauncher}. */
export interface KubeLauncherOptions {
  /** Identity labelled on everything the runtime creates (its sweeper only touches its own objects). @default 'paperclip-claude-k8s' */
  runtimeId?: string;
  logger?: Logger;
  /** The server's policy on agent-named kubeconfig files. @default { allowedDirectories: [] } (none accepted) */
  kubeconfigPolicy?: KubeconfigFilePolicy;
}

/** The per-run Job name of an attempt: the fresh-session retry of a run gets its own Job. */
function runIdOfAttempt(request: RunLaunchRequest): string {
  return request.attempt <= 1 ? request.runId : `${request.runId}-attempt-${request.attempt}`;
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

/** The kube-runtime input of one launch request (a pure mapping). */
export function toStartRunInput(request: RunLaunchRequest): StartRunInput {
  const { container, pod, lifecycle, files, home } = request;
  const requests = compact(container.resources.requests);
  const limits = compact(container.resources.limits);
  const envOnlyFileKeys = files.entries.filter((entry) => entry.path === null).map((entry) => entry.key);
  return {
    runId: runIdOfAttempt(request),
    agentId: request.agentId,
    image: container.image,
    imagePullPolicy: container.imagePullPolicy,
    imagePullSecrets: pod.imagePullSecrets,
    command: container.command,
    env: toEnv(request),
    files: Object.fromEntries(files.entries.map((entry) => [entry.key, entry.content])),
    filePaths: Object.fromEntries(
      files.entries.filter((entry) => entry.path !== null).map((entry) => [entry.key, entry.path!]),
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
    signal: request.signal,
  };
}

function toOutcomeLike(outcome: RunOutcome): RunOutcomeLike {
  return {
    code: outcome.code,
    exitCode: outcome.exitCode,
    reason: outcome.reason,
    message: outcome.message,
    hint: outcome.hint,
    events: outcome.events.map((event) => ({ ...event })),
    jobName: outcome.jobName,
    namespace: outcome.namespace,
    podName: outcome.podName,
  };
}

/**
 * The adapter's Kubernetes side: one kube-runtime per (kubeconfig, namespace), kept for the adapter's lifetime. A
 * launch creates the run's Job and Secret, follows the container's output through the apiserver exactly once into
 * `onOutput`, and resolves the outcome after the output has been drained to its end.
 */
export function createKubeLauncher(options: KubeLauncherOptions = {}): RunLauncher {
  const runtimes = new Map<string, KubeRuntime>();
  const runtimeFor = (target: RunLaunchRequest['target']): KubeRuntime => {
    const key = `${target.kubeconfigPath ?? '(in-cluster)'}\u0000${target.namespace}`;
    let runtime = runtimes.get(key);
    if (!runtime) {
      runtime = createKubeRuntime({
        kubeConfig: loadKubeConfig({
          path: target.kubeconfigPath,
          policy: options.kubeconfigPolicy ?? { allowedDirectories: [] },
        }),
        namespace: target.namespace,
        runtimeId: options.runtimeId ?? KUBE_RUNTIME_ID,
        ...(options.logger ? { logger: { debug: () => undefined, ...options.logger } } : {}),
      });
      runtimes.set(key, runtime);
    }
    return runtime;
  };
  return {
    async start(request): Promise<RunHandle> {
      const runtime = runtimeFor(request.target);
      // The Job and its pod are kept until the output has been read to its end; then the retention policy runs.
      let releaseCleanup: () => void = () => {};
      const drained = new Promise<void>((resolve) => {
        releaseCleanup = resolve;
      });
      const handle = await runtime.startRun({ ...toStartRunInput(request), holdCleanupUntil: drained });
      let decided: RunOutcome | undefined;
      void handle.decided.then(
        (value) => (decided = value),
        () => undefined,
      );
      const outcome = (async (): Promise<RunOutcomeLike> => {
        try {
          const podName = await handle.containerStarted;
          if (podName !== null && runtime.kubeConfig) {
            await followPodLog({
              source: createPodLogSource({ kubeConfig: runtime.kubeConfig }),
              namespace: handle.namespace,
              pod: podName,
              container: handle.containerName,
              onOutput: (text) => request.onOutput(text),
              readOutcome: () => Promise.resolve(decided),
              onEvent: (event) => {
                if (event.type === 'gap') {
                  void request.onProgress?.(
                    `[claude-k8s] log gap: the kubelet rotated output away during a disconnect (between ${event.lastTimestampBefore ?? 'start'} and ${event.firstTimestampAfter}); ${event.knownLostBytes} bytes known lost`,
                  );
                }
              },
            }).catch((error: unknown) => {
              // The outcome below still settles; a follow that could not finish is reported, never silent.
              void request.onProgress?.(
                `[claude-k8s] log follow ended early: ${error instanceof Error ? error.message : String(error)}`,
              );
            });
          }
        } finally {
          releaseCleanup();
        }
        return toOutcomeLike(await handle.outcome);
      })();
      return {
        jobName: handle.jobName,
        namespace: handle.namespace,
        outcome,
        cancel: async (reason) => {
          await handle.cancel(reason);
        },
      };
    },
  };
}
