/**
 * Adoption of orphaned runs (docs/decisions/adoption-after-restart.md). A Job is *orphaned* when no process follows it
 * (its follower crashed or was restarted) and its outcome was never delivered. A later run of the same agent and task
 * key finds it ({@link findAdoptable}), claims it ({@link claimJob}: an update with the read resourceVersion, so two
 * adopters cannot both win) and follows it like its own. Jobs nobody adopts within their `adopt-within-seconds` are
 * deleted by {@link sweepOrphans}, and the agent Lease they held is freed.
 *
 * Identity is our own labels and annotations only: managed-by, runtime id, agent id, task key (label to select,
 * annotation to compare the raw value), run id.
 */
import type { V1Job, V1Lease } from '@kubernetes/client-node';
import type { Clock } from './clock.ts';
import { jobFinish } from './job-outcome.ts';
import type { KubeObject, KubePorts } from './kube-ports.ts';
import { KubeApiError } from './kube-runtime-error.ts';
import type { Logger } from './logger.ts';
import { ANNOTATIONS, LABELS, MANAGED_BY, labelValue, leaseNameFor } from './names.ts';

/** How long a Job may stay orphaned when it carries no `adopt-within-seconds` annotation. Seconds. */
const DEFAULT_ADOPT_WITHIN_SECONDS = 3600;

/**
 * The run ids followed by live handles of this process (`<namespace>/<runId>`). Share one between the runtimes of a
 * process that reach the same namespace (e.g. through two kubeconfigs), so that none takes the other's runs for
 * orphans.
 */
export type FollowedRuns = Set<string>;

/** A Job a new run can adopt. */
export interface AdoptableRun {
  /** The run id the Job was started for (its label and annotation). */
  runId: string;
  jobName: string;
  namespace: string;
  /** The raw task key; `null` for a run without one. */
  taskKey: string | null;
  /** `running` (not finished yet, including not started) or how it finished. */
  state: 'running' | 'succeeded' | 'failed';
  /** The Job's creation time (ISO), `null` when unknown. */
  createdAt: string | null;
  /** The run that adopted it before (and then vanished too), `null` when none. */
  previouslyAdoptedBy: string | null;
}

/** What a caller looks for: the agent's Jobs of this task key (`null` = the agent's runs without a task key). */
export interface AdoptionQuery {
  agentId: string;
  taskKey: string | null;
}

const followedKey = (namespace: string, runId: string): string => `${namespace}/${runId}`;

/** Marks a run as followed by this process; returns the function that unmarks it. */
export function markFollowed(followed: FollowedRuns, namespace: string, runId: string): () => void {
  const key = followedKey(namespace, runId);
  followed.add(key);
  return () => followed.delete(key);
}

function isFollowed(followed: FollowedRuns, namespace: string, runId: string): boolean {
  return followed.has(followedKey(namespace, runId));
}

/**
 * True when the Job is an orphan: ours, not followed here, outcome not delivered (no settled mark), not being deleted
 * or cancelled, and not left suspended by a crashed start (the retention sweeper removes those).
 */
function isOrphan(job: V1Job & KubeObject, namespace: string, followed: FollowedRuns): boolean {
  const annotations = job.metadata?.annotations ?? {};
  const runId = annotations[ANNOTATIONS.runId];
  if (runId === undefined || isFollowed(followed, namespace, runId)) return false;
  if (job.metadata?.deletionTimestamp !== undefined) return false;
  if (annotations[ANNOTATIONS.settledAt] !== undefined || annotations[ANNOTATIONS.keepUntil] !== undefined)
    return false;
  if (annotations[ANNOTATIONS.cancelRequested] !== undefined) return false;
  return job.spec?.suspend !== true;
}

function describe(job: V1Job & KubeObject, namespace: string): AdoptableRun {
  const annotations = job.metadata?.annotations ?? {};
  const finish = jobFinish(job);
  const created = job.metadata?.creationTimestamp;
  return {
    runId: annotations[ANNOTATIONS.runId] ?? '',
    jobName: job.metadata?.name ?? '',
    namespace,
    taskKey: annotations[ANNOTATIONS.taskKey] ?? null,
    state: finish?.type ?? 'running',
    createdAt: created === undefined ? null : new Date(created).toISOString(),
    previouslyAdoptedBy: annotations[ANNOTATIONS.adoptedBy] ?? null,
  };
}

/** Options of {@link findAdoptable}. */
export interface FindAdoptableOptions extends AdoptionQuery {
  ports: KubePorts;
  namespace: string;
  runtimeId: string;
  followed: FollowedRuns;
  /** Job names to leave out (claimed by another process meanwhile). */
  skipJobs?: ReadonlySet<string>;
}

/**
 * The newest orphaned Job of the agent and task key, `null` when there is none. Selects by label (agent, runtime,
 * task key when given) and compares the raw annotations: a sanitised label never matches a different raw id.
 */
export async function findAdoptable(options: FindAdoptableOptions): Promise<{
  run: AdoptableRun;
  job: V1Job & KubeObject;
} | null> {
  const { ports, namespace, followed, agentId, taskKey } = options;
  const selector = [
    `${LABELS.managedBy}=${MANAGED_BY}`,
    `${LABELS.runtimeId}=${labelValue(options.runtimeId)}`,
    `${LABELS.agentId}=${labelValue(agentId)}`,
    ...(taskKey === null ? [] : [`${LABELS.taskKey}=${labelValue(taskKey)}`]),
  ].join(',');
  const jobs = await ports.list<V1Job & KubeObject>('jobs', namespace, { labelSelector: selector });
  const candidates = jobs.items.filter((job) => {
    const annotations = job.metadata?.annotations ?? {};
    if (annotations[ANNOTATIONS.agentId] !== agentId) return false;
    if ((annotations[ANNOTATIONS.taskKey] ?? null) !== taskKey) return false;
    if (options.skipJobs?.has(job.metadata?.name ?? '') === true) return false;
    return isOrphan(job, namespace, followed);
  });
  const newest = candidates.sort(
    (a, b) => createdMs(b) - createdMs(a) || (b.metadata?.name ?? '').localeCompare(a.metadata?.name ?? ''),
  )[0];
  return newest === undefined ? null : { run: describe(newest, namespace), job: newest };
}

function createdMs(job: V1Job): number {
  const created = job.metadata?.creationTimestamp;
  return created === undefined ? 0 : new Date(created).getTime();
}

/**
 * Claims an orphaned Job for `adopterRunId`: one merge patch carrying the read resourceVersion (the apiserver's
 * precondition: `patch` is the verb the adapter already holds), writing `adopted-by` and dropping `orphaned-since`.
 * Resolves with the updated Job, or `null` when another process changed it first (it adopted it, cancelled it, or its
 * controller wrote a status: look again).
 */
export async function claimJob(options: {
  ports: KubePorts;
  namespace: string;
  job: V1Job & KubeObject;
  adopterRunId: string;
}): Promise<(V1Job & KubeObject) | null> {
  const { job } = options;
  try {
    return await options.ports.patch<V1Job & KubeObject>('jobs', options.namespace, job.metadata?.name ?? '', {
      metadata: {
        resourceVersion: job.metadata?.resourceVersion,
        annotations: { [ANNOTATIONS.adoptedBy]: options.adopterRunId, [ANNOTATIONS.orphanedSince]: null },
      },
    });
  } catch (error) {
    if (KubeApiError.isInstance(error) && (error.status === 409 || error.status === 404)) return null;
    throw error;
  }
}

/** What one orphan sweep did. */
export interface OrphanSweepResult {
  /** Jobs found orphaned for the first time (marked `orphaned-since`). */
  marked: string[];
  /** Orphaned Jobs deleted after their adoption window. */
  deletedJobs: string[];
  /** Leases freed because their holder was a deleted orphan. */
  freedLeases: string[];
}

/** Options of {@link sweepOrphans}. */
export interface SweepOrphansOptions {
  ports: KubePorts;
  clock: Clock;
  logger: Logger;
  namespace: string;
  runtimeId: string;
  followed: FollowedRuns;
  /** Window of Jobs without the annotation. Seconds. @default {@link DEFAULT_ADOPT_WITHIN_SECONDS} */
  defaultAdoptWithinSeconds?: number;
  /** At most this many deletions per sweep (the rest waits for the next). @default 50 */
  maxDeletes?: number;
  /** Stops the sweep between two requests. */
  signal?: AbortSignal;
}

/**
 * One pass over this runtime's Jobs in the namespace: an orphan seen for the first time gets `orphaned-since = now`;
 * one orphaned for longer than its `adopt-within-seconds` is deleted (Background propagation: the pod gets its
 * termination grace; with the Job's resourceVersion as precondition, so a Job claimed in between stays), and the agent
 * Lease its run held is deleted (with the Lease's resourceVersion). A Job that gets followed again is no orphan and is
 * left alone even when it still carries the mark.
 */
export async function sweepOrphans(options: SweepOrphansOptions): Promise<OrphanSweepResult> {
  const { ports, clock, logger, namespace, followed } = options;
  const result: OrphanSweepResult = { marked: [], deletedJobs: [], freedLeases: [] };
  const selector = `${LABELS.managedBy}=${MANAGED_BY},${LABELS.runtimeId}=${labelValue(options.runtimeId)}`;
  const jobs = await ports.list<V1Job & KubeObject>('jobs', namespace, { labelSelector: selector });
  const maxDeletes = options.maxDeletes ?? 50;
  const now = clock.now();
  for (const job of jobs.items) {
    if (options.signal?.aborted === true) break;
    if (!isOrphan(job, namespace, followed)) continue;
    const name = job.metadata?.name ?? '';
    const annotations = job.metadata?.annotations ?? {};
    const since = Date.parse(annotations[ANNOTATIONS.orphanedSince] ?? '');
    if (Number.isNaN(since)) {
      try {
        await ports.patch('jobs', namespace, name, {
          metadata: {
            resourceVersion: job.metadata?.resourceVersion,
            annotations: { [ANNOTATIONS.orphanedSince]: new Date(now).toISOString() },
          },
        });
        result.marked.push(name);
      } catch (error) {
        if (!(KubeApiError.isInstance(error) && (error.status === 409 || error.status === 404))) throw error;
      }
      continue;
    }
    const within = Number(annotations[ANNOTATIONS.adoptWithinSeconds] ?? options.defaultAdoptWithinSeconds);
    const windowSeconds = Number.isFinite(within) && within > 0 ? within : DEFAULT_ADOPT_WITHIN_SECONDS;
    if (now - since < windowSeconds * 1000 || result.deletedJobs.length >= maxDeletes) continue;
    // Read again right before the delete: a run that claimed it since the list removed the mark.
    const fresh = await ports.get<V1Job & KubeObject>('jobs', namespace, name);
    if (fresh === null || !isOrphan(fresh, namespace, followed)) continue;
    if (fresh.metadata?.annotations?.[ANNOTATIONS.orphanedSince] === undefined) continue;
    let deleted: boolean;
    try {
      deleted = await ports.delete('jobs', namespace, name, {
        propagationPolicy: 'Background',
        ...(fresh.metadata?.uid === undefined ? {} : { uid: fresh.metadata.uid }),
        resourceVersion: fresh.metadata?.resourceVersion ?? '',
      });
    } catch (error) {
      // Conflict: claimed (or changed) between the read and the delete; the next sweep looks again.
      if (KubeApiError.isInstance(error) && error.status === 409) continue;
      throw error;
    }
    if (!deleted) continue;
    result.deletedJobs.push(name);
    logger.warn('deleted an orphaned Job nobody adopted', {
      jobName: name,
      runId: annotations[ANNOTATIONS.runId],
      orphanedSince: annotations[ANNOTATIONS.orphanedSince],
      adoptWithinSeconds: windowSeconds,
    });
    const agentId = annotations[ANNOTATIONS.agentId];
    const runId = annotations[ANNOTATIONS.runId];
    if (agentId !== undefined && runId !== undefined) {
      const leaseName = annotations[ANNOTATIONS.leaseName] ?? leaseNameFor(agentId);
      const lease = await ports.get<V1Lease & KubeObject>('leases', namespace, leaseName);
      if (lease?.spec?.holderIdentity === runId) {
        const freed = await ports
          .delete('leases', namespace, leaseName, { resourceVersion: lease.metadata?.resourceVersion ?? '' })
          .catch(() => false);
        if (freed) result.freedLeases.push(leaseName);
      }
    }
  }
  return result;
}
