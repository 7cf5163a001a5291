/**
 * Follows one run's Job and pod through watches (never polls) and reduces them to phases and one outcome. Handles
 * 410 Gone (relist, then watch from the list's resourceVersion) and dropped connections (resume from the last
 * resourceVersion seen, including bookmarks).
 */
import type { CoreV1Event, V1Job, V1Pod } from '@kubernetes/client-node';
import { sleep, type Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import { classifyJobOutcome, deletionBoundMs, type Classification } from './job-outcome.ts';
import type { KubeKind, KubeObject, KubePorts } from './kube-ports.ts';
import type { KubeApiError } from './kube-runtime-error.ts';
import type { RunEvent, RunKubeEvent } from './outcome.ts';

/** Graces of the classifier. Seconds. */
export interface FailureGraces {
  /** @default 120 */
  imagePullGraceSeconds: number;
  /** @default 300 */
  unschedulableGraceSeconds: number;
  /** @default 30 */
  configErrorGraceSeconds: number;
  /**
   * How long the Job may stay without a pod while its controller reports `FailedCreate` (quota, admission, a missing
   * service account) before the run fails as `never-started`. Counted from the start of the watch. @default 60
   */
  podCreateGraceSeconds: number;
}

export const DEFAULT_GRACES: FailureGraces = {
  imagePullGraceSeconds: 120,
  unschedulableGraceSeconds: 300,
  configErrorGraceSeconds: 30,
  podCreateGraceSeconds: 60,
};

/** While the Job has no pod after its grace, its events are read again this often. Milliseconds. */
const POD_CREATE_RECHECK_MS = 15_000;

/** Options of {@link watchRun}. */
export interface WatchRunOptions {
  ports: KubePorts;
  clock: Clock;
  logger: Logger;
  namespace: string;
  jobName: string;
  /** Label selector of the run's pods. */
  podSelector: string;
  containerName: string;
  /** Latest Job known (from create/patch/list); watching starts from its resourceVersion. */
  job: V1Job;
  /** Pods known from a list (reattach); `null` = none yet, watch pods from the Job's resourceVersion. */
  pods: { items: V1Pod[]; resourceVersion: string } | null;
  graces: FailureGraces;
  /** True once this runtime asked for the deletion of the Job. */
  isCancelRequested: () => boolean;
  /** Phase changes, in order. */
  onEvent: (event: RunEvent) => void;
  /** Server-side timeout of each watch request. Seconds. @default 300 */
  watchTimeoutSeconds?: number;
}

/** The end of the watch: the decided classification and the last objects seen. */
export interface WatchRunResult {
  classification: Classification;
  job: V1Job | null;
  pod: V1Pod | null;
  events: RunKubeEvent[];
}

/** Watches until the run has an outcome. Rejects only when the apiserver refuses the watch for good (e.g. 403). */
export function watchRun(options: WatchRunOptions): { result: Promise<WatchRunResult>; stop: () => void } {
  const { ports, clock, namespace } = options;
  const controller = new AbortController();
  let job: V1Job | null = options.job;
  let jobDeleted = false;
  const pods = new Map<string, V1Pod>();
  for (const pod of options.pods?.items ?? []) if (pod.metadata?.name !== undefined) pods.set(pod.metadata.name, pod);
  let events: RunKubeEvent[] = [];
  let scheduledSent = false;
  let runningSent = false;
  let timer: unknown = null;
  let eventsFetchedFor = '';
  let lastWaiting = '';
  /** Since when the Job may have had no pod: the start of the watch. */
  const noPodSince = clock.now();
  const deletedPods = new Set<string>();
  let deletionSeenAt: number | null = null;

  const { promise: result, resolve: resolveResult, reject: rejectResult } = Promise.withResolvers<WatchRunResult>();
  let done = false;

  const currentPod = (): V1Pod | null => {
    let best: V1Pod | null = null;
    for (const pod of pods.values()) {
      if (
        best === null ||
        String(pod.metadata?.creationTimestamp ?? '') >= String(best.metadata?.creationTimestamp ?? '')
      )
        best = pod;
    }
    return best;
  };

  const finish = (classification: Classification): void => {
    if (done) return;
    done = true;
    controller.abort();
    if (timer !== null) clock.clearTimeout(timer);
    resolveResult({ classification, job, pod: currentPod(), events });
  };
  const fail = (error: unknown): void => {
    if (done) return;
    done = true;
    controller.abort();
    if (timer !== null) clock.clearTimeout(timer);
    rejectResult(error);
  };

  const evaluate = (): void => {
    if (done) return;
    const pod = currentPod();
    if (pod !== null && !scheduledSent && pod.spec?.nodeName !== undefined) {
      scheduledSent = true;
      options.onEvent({ type: 'scheduled', podName: pod.metadata?.name ?? '', nodeName: pod.spec.nodeName });
    }
    const status = pod?.status?.containerStatuses?.find((c) => c.name === options.containerName);
    const waiting = status?.state?.waiting;
    if (waiting?.reason !== undefined && waiting.reason !== lastWaiting) {
      lastWaiting = waiting.reason;
      options.onEvent({ type: 'progress', reason: waiting.reason, message: waiting.message ?? '' });
    }
    if (
      pod !== null &&
      !runningSent &&
      (status?.state?.running !== undefined || status?.state?.terminated !== undefined)
    ) {
      if (!scheduledSent) {
        scheduledSent = true;
        options.onEvent({ type: 'scheduled', podName: pod.metadata?.name ?? '', nodeName: pod.spec?.nodeName ?? '' });
      }
      runningSent = true;
      const startedAt = status.state?.running?.startedAt ?? status.state?.terminated?.startedAt;
      options.onEvent({
        type: 'running',
        podName: pod.metadata?.name ?? '',
        containerStartedAt: startedAt === undefined ? null : new Date(startedAt).toISOString(),
      });
    }
    if (deletionSeenAt === null && (jobDeleted || job?.metadata?.deletionTimestamp !== undefined))
      deletionSeenAt = clock.now();
    const classification = classifyJobOutcome({
      job,
      pod,
      events,
      containerName: options.containerName,
      now: clock.now(),
      cancelRequested:
        options.isCancelRequested() || job?.metadata?.annotations?.['claude-k8s.io/cancel-requested'] !== undefined,
      jobDeleted,
      podDeleted: pod !== null && deletedPods.has(pod.metadata?.name ?? ''),
      deletionSeenAt,
      noPodSince,
      deadlineSeconds: job?.spec?.activeDeadlineSeconds ?? null,
      ...options.graces,
    });
    if (classification !== null) {
      finish(classification);
      return;
    }
    scheduleGraceCheck(pod);
  };

  // While the pod waits (image pull, unschedulable, config error), re-evaluate when the earliest grace ends; then
  // read the pod's events once (FailedMount shows only there).
  const scheduleGraceCheck = (pod: V1Pod | null): void => {
    if (timer !== null) clock.clearTimeout(timer);
    timer = null;
    if (deletionSeenAt !== null) {
      // Deleted: wait for the container to end, but not past the bound (an orphaned pod).
      const at = deletionSeenAt + deletionBoundMs(pod) + 50;
      timer = clock.setTimeout(
        () => {
          timer = null;
          evaluate();
        },
        Math.max(at - clock.now(), 0),
      );
      return;
    }
    if (pod === null) {
      schedulePodCreateCheck();
      return;
    }
    if (runningSent) return;
    const created = Date.parse(String(pod.metadata?.creationTimestamp ?? '')) || clock.now();
    const graces = [
      options.graces.configErrorGraceSeconds,
      options.graces.imagePullGraceSeconds,
      options.graces.unschedulableGraceSeconds,
    ];
    const next = graces
      .map((grace) => created + grace * 1000 + 50)
      .filter((at) => at > clock.now())
      .sort((a, b) => a - b)[0];
    const podName = pod.metadata?.name ?? '';
    const delay = next === undefined ? null : next - clock.now();
    if (delay === null) {
      if (eventsFetchedFor !== podName) void refreshEvents(podName).then(evaluate);
      return;
    }
    timer = clock.setTimeout(() => {
      timer = null;
      void refreshEvents(podName).then(evaluate);
    }, delay);
  };

  // No pod yet: the Job controller may be refused the pod (FailedCreate, an Event on the Job only). At the grace's end
  // read the Job's events, then again every POD_CREATE_RECHECK_MS while there is still no pod.
  const schedulePodCreateCheck = (): void => {
    if (job === null || jobDeleted) return;
    const graceEnd = noPodSince + options.graces.podCreateGraceSeconds * 1000 + 50;
    const delay = graceEnd > clock.now() ? graceEnd - clock.now() : POD_CREATE_RECHECK_MS;
    timer = clock.setTimeout(() => {
      timer = null;
      void refreshEvents('').then(evaluate);
    }, delay);
  };

  const refreshEvents = async (podName: string): Promise<void> => {
    eventsFetchedFor = podName;
    try {
      events = await fetchRunEvents(ports, namespace, options.jobName, podName);
    } catch (error) {
      options.logger.warn('cannot read events of the run', { error: String(error) });
    }
  };

  const follow = async <T extends KubeObject>(
    kind: KubeKind,
    selector: { labelSelector?: string; fieldSelector?: string },
    startRv: string,
    apply: (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T) => void,
    relist: (items: T[]) => void,
  ): Promise<void> => {
    let rv = startRv;
    let failures = 0;
    while (!controller.signal.aborted) {
      const end = await ports.watch<T>(
        kind,
        namespace,
        {
          ...selector,
          resourceVersion: rv,
          signal: controller.signal,
          timeoutSeconds: options.watchTimeoutSeconds ?? 300,
        },
        (event) => {
          if (event.type === 'BOOKMARK') {
            rv = event.resourceVersion;
            return;
          }
          rv = event.object.metadata?.resourceVersion ?? rv;
          failures = 0;
          apply(event.type, event.object);
          evaluate();
        },
      );
      switch (end.type) {
        case 'aborted':
          return;
        case 'gone': {
          options.logger.debug('watch resourceVersion expired; relisting', { kind });
          const list = await ports.list<T>(kind, namespace, selector);
          relist(list.items);
          rv = list.resourceVersion;
          evaluate();
          break;
        }
        case 'closed':
          if (end.error !== null) {
            failures += 1;
            options.logger.debug('watch dropped; resuming', { kind, error: end.error.message });
            await sleep(clock, Math.min(500 * 2 ** (failures - 1), 15_000), controller.signal).catch(() => {});
          }
          break;
        case 'failed':
          throw end.error satisfies KubeApiError;
      }
    }
  };

  const jobLoop = follow<V1Job>(
    'jobs',
    { fieldSelector: `metadata.name=${options.jobName}` },
    options.job.metadata?.resourceVersion ?? '0',
    (type, object) => {
      if (type === 'DELETED') jobDeleted = true;
      job = object;
    },
    (items) => {
      const found = items[0];
      if (found === undefined) jobDeleted = true;
      else job = found;
    },
  );
  const podLoop = follow<V1Pod>(
    'pods',
    { labelSelector: options.podSelector },
    options.pods?.resourceVersion ?? options.job.metadata?.resourceVersion ?? '0',
    (type, object) => {
      const name = object.metadata?.name ?? '';
      // Keep the last state of a deleted pod: it says how the container ended.
      if (type === 'DELETED') deletedPods.add(name);
      pods.set(name, object);
    },
    (items) => {
      for (const pod of items) if (pod.metadata?.name !== undefined) pods.set(pod.metadata.name, pod);
    },
  );
  Promise.all([jobLoop, podLoop]).catch(fail);
  queueMicrotask(evaluate);

  return { result, stop: () => fail(new Error('watch stopped')) };
}

/** The Warning events of the run's Job and pod, oldest first, at most 10. */
export async function fetchRunEvents(
  ports: KubePorts,
  namespace: string,
  jobName: string,
  podName: string | null,
): Promise<RunKubeEvent[]> {
  const names = podName === null || podName === '' ? [jobName] : [podName, jobName];
  const lists = await Promise.all(
    names.map((name) =>
      ports.list<CoreV1Event & KubeObject>('events', namespace, { fieldSelector: `involvedObject.name=${name}` }),
    ),
  );
  return lists
    .flatMap((list) => list.items)
    .filter((event) => event.type === 'Warning')
    .sort((a, b) =>
      String(a.lastTimestamp ?? a.eventTime ?? '').localeCompare(String(b.lastTimestamp ?? b.eventTime ?? '')),
    )
    .slice(-10)
    .map((event) => ({
      type: event.type ?? 'Warning',
      reason: event.reason ?? '',
      message: event.message ?? '',
      count: event.count ?? 1,
      involvedKind: event.involvedObject.kind ?? '',
    }));
}
