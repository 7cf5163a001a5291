import {
  createKubeRuntime,
  loadKubeConfig,
  type FollowedRuns,
  type KubeconfigFilePolicy,
  type KubeRuntime,
  type Logger,
} from '@claude-k8s/kube-runtime';
import { errorMessage } from './error-message.ts';
import type { RunTarget } from './ports.ts';

/** The runtime identity labelled on everything the adapter creates (the sweeper only touches its own objects). */
export const KUBE_RUNTIME_ID = 'paperclip-claude-k8s';

/** How often the orphan sweep runs in each namespace in use. Milliseconds. */
const ORPHAN_SWEEP_INTERVAL_MS = 5 * 60_000;

/** Options of {@link createKubeRuntimes}. */
export interface KubeRuntimesOptions {
  /** Identity labelled on everything the runtime creates (its sweeper only touches its own objects). @default 'paperclip-claude-k8s' */
  runtimeId?: string;
  logger?: Logger;
  /** The server's policy on agent-named kubeconfig files. @default { allowedDirectories: [] } (none accepted) */
  kubeconfigPolicy?: KubeconfigFilePolicy;
  /** Period of the orphan sweep per runtime. Milliseconds. @default {@link ORPHAN_SWEEP_INTERVAL_MS} */
  orphanSweepIntervalMs?: number;
  /** Stops the orphan sweeps (timers and a sweep in flight). @default never */
  signal?: AbortSignal;
}

/**
 * The adapter's Kubernetes side: one kube-runtime per (kubeconfig, namespace), created on first use and kept for the
 * adapter's lifetime. kube-runtime itself follows each run's output and settles its outcome after the drain. All the
 * runtimes share one set of followed runs (a namespace reached through two kubeconfigs sees the other's runs as live),
 * and each sweeps its namespace for orphaned Jobs when it is created and then every `orphanSweepIntervalMs`
 * (docs/decisions/adoption-after-restart.md).
 */
export function createKubeRuntimes(options: KubeRuntimesOptions = {}): (target: RunTarget) => KubeRuntime {
  const runtimes = new Map<string, KubeRuntime>();
  const followedRuns: FollowedRuns = new Set();
  const logger = options.logger;
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
        followedRuns,
        ...(logger ? { logger } : {}),
      });
      runtimes.set(key, runtime);
      startOrphanSweeps(runtime, options);
    }
    return runtime;
  };
}

/** Sweeps at once and then periodically; never two sweeps of one runtime at a time; a failure is logged, not thrown. */
function startOrphanSweeps(runtime: KubeRuntime, options: KubeRuntimesOptions): void {
  const signal = options.signal;
  if (signal?.aborted === true) return;
  let running = false;
  const sweepOnce = (): void => {
    if (running || signal?.aborted === true) return;
    running = true;
    runtime
      .sweepOrphans(signal === undefined ? {} : { signal })
      .then(
        (result) => {
          if (result.deletedJobs.length > 0)
            options.logger?.warn('deleted orphaned Jobs nobody adopted', {
              namespace: runtime.namespace,
              jobs: result.deletedJobs.join(','),
              freedLeases: result.freedLeases.join(','),
            });
        },
        (error: unknown) =>
          options.logger?.warn('orphan sweep failed', { namespace: runtime.namespace, error: errorMessage(error) }),
      )
      .finally(() => {
        running = false;
      });
  };
  sweepOnce();
  const timer = setInterval(sweepOnce, options.orphanSweepIntervalMs ?? ORPHAN_SWEEP_INTERVAL_MS);
  timer.unref();
  signal?.addEventListener('abort', () => clearInterval(timer), { once: true });
}
