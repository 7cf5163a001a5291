import {
  createKubeRuntime,
  loadKubeConfig,
  type KubeconfigFilePolicy,
  type KubeRuntime,
  type Logger,
} from '@claude-k8s/kube-runtime';
import type { RunTarget } from './ports.ts';

/** The runtime identity labelled on everything the adapter creates (the sweeper only touches its own objects). */
export const KUBE_RUNTIME_ID = 'paperclip-claude-k8s';

/** Options of {@link createKubeRuntimes}. */
export interface KubeRuntimesOptions {
  /** Identity labelled on everything the runtime creates (its sweeper only touches its own objects). @default 'paperclip-claude-k8s' */
  runtimeId?: string;
  logger?: Logger;
  /** The server's policy on agent-named kubeconfig files. @default { allowedDirectories: [] } (none accepted) */
  kubeconfigPolicy?: KubeconfigFilePolicy;
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
        kubeConfig: loadKubeConfig({
          path: target.kubeconfigPath,
          policy: options.kubeconfigPolicy ?? { allowedDirectories: [] },
        }),
        namespace: target.namespace,
        runtimeId: options.runtimeId ?? KUBE_RUNTIME_ID,
        ...(options.logger ? { logger: options.logger } : {}),
      });
      runtimes.set(key, runtime);
    }
    return runtime;
  };
}
