/**
 * Retention of finished runs and the sweeper. The sweeper only ever selects objects carrying this runtime's own
 * labels (`app.kubernetes.io/managed-by=claude-k8s` and `claude-k8s.io/runtime-id=<runtimeId>`).
 */
import type { V1Job, V1Secret } from '@kubernetes/client-node';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import { jobFinish } from './job-outcome.ts';
import type { KubeObject, KubePorts } from './kube-ports.ts';
import { ANNOTATIONS, LABELS, MANAGED_BY, labelValue } from './names.ts';

/** What happens to a finished run's Job (and with it its pod and Secret). */
export interface RetentionPolicy {
  /** @default 'delete' */
  onSuccess: 'delete' | 'keep';
  /** @default 'keep' */
  onFailure: 'delete' | 'keep';
  /** How long a kept failed Job stays (the sweeper and the Job's TTL remove it after). Seconds. @default 86400 */
  keepFailedSeconds: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { onSuccess: 'delete', onFailure: 'keep', keepFailedSeconds: 86_400 };

/** Applies the policy to a finished run. Never throws (a failure is logged; the sweeper or TTL catches up). */
export async function applyRetention(options: {
  ports: KubePorts;
  clock: Clock;
  logger: Logger;
  namespace: string;
  jobName: string;
  jobUid: string | null;
  succeeded: boolean;
  /**
   * The run failed before its container started and the Job has not finished (a grace ran out: FailedCreate, image
   * pull, config error, unschedulable): a kept Job is also suspended, so that its controller never starts the
   * container later with nobody following it.
   */
  stop?: boolean;
  policy: RetentionPolicy;
  /** The run has a per-run Secret (named like its Job): deleted at once when the Job is kept. */
  runSecret: boolean;
}): Promise<void> {
  const { ports, namespace, jobName, policy } = options;
  const action = options.succeeded ? policy.onSuccess : policy.onFailure;
  if (action === 'keep' && options.runSecret) {
    // The container has ended: its run token and files are needed no more, while a kept Job may stay for days. A
    // deleted Job takes its Secret with it (owner reference), so this is only for the kept ones.
    try {
      await ports.delete('secrets', namespace, jobName);
    } catch (error) {
      options.logger.warn('per-run Secret not deleted', { jobName, error: String(error) });
    }
  }
  try {
    if (action === 'delete') {
      await ports.delete('jobs', namespace, jobName, {
        propagationPolicy: 'Background',
        ...(options.jobUid === null ? {} : { uid: options.jobUid }),
      });
    } else if (!options.succeeded) {
      // One request: the keep-until annotation for the sweeper, the Job TTL as the cluster-side safety net, and the
      // settled mark (the outcome was delivered: nothing for a later run to adopt).
      await ports.patch('jobs', namespace, jobName, {
        metadata: {
          annotations: {
            [ANNOTATIONS.keepUntil]: new Date(options.clock.now() + policy.keepFailedSeconds * 1000).toISOString(),
            [ANNOTATIONS.settledAt]: new Date(options.clock.now()).toISOString(),
          },
        },
        spec: {
          ttlSecondsAfterFinished: policy.keepFailedSeconds,
          ...(options.stop === true ? { suspend: true } : {}),
        },
      });
    } else {
      // A kept successful Job: only the settled mark (see adoption.ts).
      await ports.patch('jobs', namespace, jobName, {
        metadata: { annotations: { [ANNOTATIONS.settledAt]: new Date(options.clock.now()).toISOString() } },
      });
    }
  } catch (error) {
    options.logger.warn('retention not applied', { jobName, error: String(error) });
  }
}

/** What a sweep removed. */
export interface SweepResult {
  deletedJobs: string[];
  deletedSecrets: string[];
}

/** Jobs still suspended this long after creation were left behind by a start that crashed. Seconds. */
const STUCK_SUSPENDED_SECONDS = 600;

/**
 * Deletes this runtime's finished (or stopped) Jobs whose `keep-until` has passed, Jobs stuck suspended (a crashed start), and
 * per-run Secrets whose owner Job no longer exists. Touches nothing without this runtime's labels.
 */
export async function sweep(options: {
  ports: KubePorts;
  clock: Clock;
  logger: Logger;
  namespace: string;
  runtimeId: string;
}): Promise<SweepResult> {
  const { ports, clock, namespace } = options;
  const labelSelector = `${LABELS.managedBy}=${MANAGED_BY},${LABELS.runtimeId}=${labelValue(options.runtimeId)}`;
  const now = clock.now();
  const result: SweepResult = { deletedJobs: [], deletedSecrets: [] };
  const jobs = await ports.list<V1Job & KubeObject>('jobs', namespace, { labelSelector });
  const liveUids = new Set<string>();
  for (const job of jobs.items) {
    const name = job.metadata?.name ?? '';
    const keepUntil = Date.parse(job.metadata?.annotations?.[ANNOTATIONS.keepUntil] ?? '');
    const created = Date.parse(String(job.metadata?.creationTimestamp ?? '')) || now;
    // A kept run that failed before its container started is suspended, not finished (see applyRetention's `stop`).
    const kept = jobFinish(job) !== null || job.spec?.suspend === true;
    const expired = kept && Number.isFinite(keepUntil) && keepUntil <= now;
    const stuck =
      job.spec?.suspend === true && !Number.isFinite(keepUntil) && now - created > STUCK_SUSPENDED_SECONDS * 1000;
    if ((expired || stuck) && job.metadata?.deletionTimestamp === undefined) {
      if (
        await ports.delete('jobs', namespace, name, {
          propagationPolicy: 'Background',
          ...(job.metadata?.uid === undefined ? {} : { uid: job.metadata.uid }),
        })
      )
        result.deletedJobs.push(name);
    } else if (job.metadata?.uid !== undefined) liveUids.add(job.metadata.uid);
  }
  const secrets = await ports.list<V1Secret & KubeObject>('secrets', namespace, { labelSelector });
  for (const secret of secrets.items) {
    const owners = secret.metadata?.ownerReferences ?? [];
    const orphan =
      owners.length === 0
        ? now - (Date.parse(String(secret.metadata?.creationTimestamp ?? '')) || now) > STUCK_SUSPENDED_SECONDS * 1000
        : owners.every((owner) => !liveUids.has(owner.uid));
    if (orphan) {
      const name = secret.metadata?.name ?? '';
      if (await ports.delete('secrets', namespace, name)) result.deletedSecrets.push(name);
    }
  }
  options.logger.info('sweep done', {
    namespace,
    jobs: result.deletedJobs.length,
    secrets: result.deletedSecrets.length,
  });
  return result;
}
