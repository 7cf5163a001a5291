/** Cancel: mark the Job as cancelled by this runtime, then delete it with propagation so the pod gets SIGTERM. */
import type { KubePorts } from './kube-ports.ts';
import { ANNOTATIONS } from './names.ts';

/** Options of {@link cancelJob}. */
export interface CancelJobOptions {
  ports: KubePorts;
  namespace: string;
  jobName: string;
  /** uid of the run's Job: a re-created Job of the same name is never deleted. */
  jobUid: string;
  /** Why, recorded in the annotation (never a secret). */
  reason: string;
  /** ISO time of the request. */
  at: string;
}

/**
 * Writes the `claude-k8s.io/cancel-requested` annotation (so any watcher, including another replica that reattached,
 * tells this cancel from a deletion by someone else) and deletes the Job with `Foreground` propagation: the Job stays,
 * with a deletionTimestamp, until its pod has terminated within its `terminationGracePeriodSeconds`, and the watch's
 * DELETED event means the container has ended. Idempotent; resolves `false` when the Job was already gone.
 */
export async function cancelJob(options: CancelJobOptions): Promise<boolean> {
  const { ports, namespace, jobName } = options;
  try {
    await ports.patch('jobs', namespace, jobName, {
      metadata: { annotations: { [ANNOTATIONS.cancelRequested]: `${options.at} ${options.reason}`.slice(0, 256) } },
    });
  } catch (error) {
    if ((error as { status?: unknown }).status === 404) return false;
    throw error;
  }
  return ports.delete('jobs', namespace, jobName, { propagationPolicy: 'Foreground', uid: options.jobUid });
}
