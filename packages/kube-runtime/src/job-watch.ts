/**
 * Follows one run's Job and pod through the runtime's shared list+watch streams (informer.ts; never polls)
 * and reduces them to phases and one outcome. Events are read only when a waiting pod needs explaining.
 */
import type { CoreV1Event, V1Job, V1Pod } from '@kubernetes/client-node';
import type { Clock } from './clock.ts';
import type { SharedInformer } from './informer.ts';
import type { Logger } from './logger.ts';
import { classifyJobOutcome, deletionBoundMs, type Classification } from './job-outcome.ts';
import type { KubeObject, KubePorts } from './kube-ports.ts';
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
  /** The runtime's shared Job and Pod streams. */
  informers: RunInformers;
  /** Key of the run's pods in the Pod stream (the value of their run-id label). */
  runKey: string;
  containerName: string;
  /** Latest Job known (from create/patch/list); watching starts from its resourceVersion. */
  job: V1Job;
  /** Pods known from a list (reattach); `null` = none yet. */
  pods: { items: V1Pod[]; resourceVersion: string } | null;
  graces: FailureGraces;
  /** True once this runtime asked for the deletion of the Job. */
  isCancelRequested: () => boolean;
  /** Phase changes, in order. */
  onEvent: (event: RunEvent) => void;
}

/** The shared streams a run's state comes from. */
export interface RunInformers {
  /** Jobs, keyed by name. */
  jobs: SharedInformer<V1Job>;
  /** Pods, keyed by their run-id label. */
  pods: SharedInformer<V1Pod>;
}

/**
 * True when `object` is provably older than `current` (both resourceVersions are integers, as etcd's are, and it is
 * smaller). Opaque resourceVersions are never judged older.
 */
function isOlder(object: KubeObject, current: KubeObject | null): boolean {
  const a = object.metadata?.resourceVersion;
  const b = current?.metadata?.resourceVersion;
  if (a === undefined || b === undefined || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

/** The end of the watch: the decided classification and the last objects seen. */
export interface WatchRunResult {
  classification: Classification;
  job: V1Job | null;
  pod: V1Pod | null;
  events: RunKubeEvent[];
}

/**
 * Follows the run through the shared streams until it has an outcome. Rejects only when the apiserver refuses the
 * list or watch for good (e.g. 403).
 */
export function watchRun(options: WatchRunOptions): { result: Promise<WatchRunResult>; stop: () => void } {
  const { ports, clock, namespace } = options;
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

  let unsubscribe = (): void => {};
  const finish = (classification: Classification): void => {
    if (done) return;
    done = true;
    unsubscribe();
    if (timer !== null) clock.clearTimeout(timer);
    resolveResult({ classification, job, pod: currentPod(), events });
  };
  const fail = (error: unknown): void => {
    if (done) return;
    done = true;
    unsubscribe();
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

  // Job and pod state come from the runtime's shared streams (one per kind and namespace), keyed by the Job's name and
  // the run's label. Objects older than the ones this run already has (e.g. the Job as created, before the resume
  // patch reached the stream) are skipped.
  const applyPod = (object: V1Pod): void => {
    const name = object.metadata?.name ?? '';
    // A deleted pod keeps its last state: it says how the container ended.
    if (!isOlder(object, pods.get(name) ?? null)) pods.set(name, object);
  };
  const unsubscribePods = options.informers.pods.subscribe(options.runKey, {
    onEvent: (type, object) => {
      if (type === 'DELETED') deletedPods.add(object.metadata?.name ?? '');
      applyPod(object);
      evaluate();
    },
    onRelist: (items) => {
      for (const pod of items) applyPod(pod);
      evaluate();
    },
    onFail: (error) => fail(error),
  });
  const unsubscribeJob = options.informers.jobs.subscribe(options.jobName, {
    onEvent: (type, object) => {
      if (type === 'DELETED') jobDeleted = true;
      else if (isOlder(object, job)) return;
      job = object;
      evaluate();
    },
    onRelist: (items) => {
      const found = items[0];
      if (found === undefined) jobDeleted = true;
      else if (!isOlder(found, job)) job = found;
      evaluate();
    },
    onFail: (error) => fail(error),
  });
  unsubscribe = () => {
    unsubscribeJob();
    unsubscribePods();
  };
  if (done) unsubscribe();
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
