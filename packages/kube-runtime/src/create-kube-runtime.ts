/**
 * The runtime: start a run as a Job (lock, Job, Secret, resume), follow it to one outcome, cancel it, reattach to it,
 * sweep what is left. One options object, injected ports, no module-level state.
 */
import type { KubeConfig, V1Job, V1Lease, V1Pod } from '@kubernetes/client-node';
import { acquireAgentLock, type HeldLock, type LockPolicy } from './agent-lock.ts';
import { cancelJob } from './cancel-job.ts';
import { jobFinish } from './classify-failure.ts';
import {
  applyRetention,
  DEFAULT_RETENTION,
  sweep as sweepNamespace,
  type RetentionPolicy,
  type SweepResult,
} from './cleanup.ts';
import { createClientNodePorts, withApiErrors } from './client-node-ports.ts';
import { silentLogger, systemClock, type Clock, type Logger } from './clock.ts';
import { buildJobManifest, buildRunSecret, DEFAULT_CONTAINER_NAME, type JobManifestInput } from './job-manifest.ts';
import { DEFAULT_GRACES, fetchRunEvents, watchRun, type FailureGraces } from './job-watch.ts';
import type { KubeObject, KubePorts } from './kube-ports.ts';
import { KubeApiError, KubeRuntimeError, MissingConfigurationError, RunNotFoundError } from './kube-runtime-error.ts';
import { ANNOTATIONS, LABELS, MANAGED_BY, jobNameFor, labelValue, leaseNameFor } from './names.ts';
import type { RunEvent, RunOutcome } from './outcome.ts';
import { readSelfPod, type ReadSelfPodOptions, type SelfPod } from './self-pod.ts';

/** Options of {@link createKubeRuntime}. Give `kubeConfig` (real cluster) or `ports` (fakes, counting wrappers). */
export interface CreateKubeRuntimeOptions {
  /** A loaded client-node KubeConfig; the runtime builds its API clients from it. */
  kubeConfig?: KubeConfig;
  /** The apiserver port; overrides `kubeConfig` for requests. Errors in client-node's shape are mapped. */
  ports?: KubePorts;
  /** Namespace of the Jobs, Secrets and Leases. */
  namespace: string;
  /**
   * Identity of this runtime (e.g. the adapter's deployment name): labelled on everything it creates; the sweeper
   * only deletes objects with its own value. Stable across restarts. @default 'default'
   */
  runtimeId?: string;
  /** @default the system clock */
  clock?: Clock;
  /** @default silent */
  logger?: Logger;
  /** Failure graces. Seconds. @default {@link DEFAULT_GRACES} */
  graces?: Partial<FailureGraces>;
  /** @default {@link DEFAULT_RETENTION} */
  retention?: Partial<RetentionPolicy>;
  /** Read the runtime's own pod to inherit image, pull secrets, DNS and placement for runs that do not set them. */
  selfPod?: Omit<ReadSelfPodOptions, 'ports'>;
  /** Server-side timeout of each watch request. Seconds. @default 300 */
  watchTimeoutSeconds?: number;
}

/** One run to start. Everything from {@link JobManifestInput} except what the runtime decides. */
export interface StartRunInput extends Omit<JobManifestInput, 'namespace' | 'runtimeId' | 'suspend' | 'image'> {
  /** Container image. Default: the runtime's own pod's image (with `selfPod`); else required. */
  image?: string;
  /** @default 'none' (several runs of one agent at once are normal in Paperclip) */
  lockPolicy?: LockPolicy;
  /** Bound of the `wait` lock policy. Seconds. @default 0 */
  lockWaitSeconds?: number;
  /** Aborting it cancels the run (the outcome becomes `cancelled`). */
  signal?: AbortSignal;
  /** Overrides the runtime's retention for this run. */
  retention?: Partial<RetentionPolicy>;
  /** Overrides the runtime's failure graces for this run. Seconds. */
  graces?: Partial<FailureGraces>;
  /**
   * The retention policy (deleting the Job and pod on success) waits until this settles: pass the log follower's
   * drain, so the output is read to its end before the pod goes away. {@link RunHandle.decided} tells the follower
   * that the container has ended.
   */
  holdCleanupUntil?: Promise<unknown>;
}

/** A live run, started by this process or reattached. */
export interface RunHandle {
  runId: string;
  agentId: string;
  namespace: string;
  jobName: string;
  /** Name of the run's container in the pod (for log following). */
  containerName: string;
  /** The pod, once the Job controller created it; `null` before. */
  readonly podName: string | null;
  /** True when `startRun` found this run's Job already there and attached to it (lock policy `adopt`). */
  adopted: boolean;
  /** Phase changes in order; `ended` is last. Every iteration replays from the start. */
  events: AsyncIterable<RunEvent>;
  /** Resolves with the outcome (also for failures and cancel) once cleanup is done; rejects only with a {@link KubeRuntimeError} when the run cannot be observed. */
  outcome: Promise<RunOutcome>;
  /** Resolves with the outcome as soon as it is decided, before the retention policy runs (see `holdCleanupUntil`). */
  decided: Promise<RunOutcome>;
  /** Resolves with the pod name once the container has started (or ended); `null` when the run ended without a started container. */
  containerStarted: Promise<string | null>;
  /** Deletes the Job (propagation Foreground: SIGTERM and the grace period) and resolves with the outcome, `cancelled` unless the run had already ended. */
  cancel(reason?: string): Promise<RunOutcome>;
}

/** The runtime. */
export interface KubeRuntime {
  namespace: string;
  runtimeId: string;
  /** The apiserver port in use (for the log follower and tests). */
  ports: KubePorts;
  /** The KubeConfig, when one was given (the log follower builds its `Log` client from it). */
  kubeConfig: KubeConfig | null;
  /** Creates the run's Job and Secret and follows it. Rejects (leaving nothing behind) when the start fails. */
  startRun(input: StartRunInput): Promise<RunHandle>;
  /** Finds the Job of `runId` and returns a live handle, as if this process had started it. */
  reattach(runId: string): Promise<RunHandle>;
  /** Removes expired Jobs and orphaned per-run Secrets of this runtime. */
  sweep(): Promise<SweepResult>;
  /** The runtime's own pod (read once per runtime instance, then cached). */
  selfPod(): Promise<SelfPod>;
}

/** Creates a runtime. Nothing is requested until a method is called. */
export function createKubeRuntime(options: CreateKubeRuntimeOptions): KubeRuntime {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const namespace = options.namespace;
  const runtimeId = options.runtimeId ?? 'default';
  let ports: KubePorts;
  if (options.ports !== undefined) ports = withApiErrors(options.ports, { clock });
  else if (options.kubeConfig !== undefined) ports = createClientNodePorts({ kubeConfig: options.kubeConfig, clock });
  else throw new MissingConfigurationError(['kubeConfig or ports'], 'create kube runtime');
  const baseGraces: FailureGraces = { ...DEFAULT_GRACES, ...options.graces };
  const baseRetention: RetentionPolicy = { ...DEFAULT_RETENTION, ...options.retention };
  let selfPodPromise: Promise<SelfPod> | null = null;

  const selfPod = (): Promise<SelfPod> => {
    if (options.selfPod === undefined) {
      return Promise.reject(
        new MissingConfigurationError(
          ['image (no selfPod option: the runtime does not inherit from its own pod)'],
          'start run',
        ),
      );
    }
    selfPodPromise ??= readSelfPod({ ...options.selfPod, ports });
    return selfPodPromise;
  };

  const runSelector = (runId: string): string =>
    `${LABELS.managedBy}=${MANAGED_BY},${LABELS.runId}=${labelValue(runId)}`;

  const isRunAlive = async (runId: string): Promise<boolean> => {
    const jobs = await ports.list<V1Job & KubeObject>('jobs', namespace, { labelSelector: runSelector(runId) });
    return jobs.items.some((job) => jobFinish(job) === null && job.metadata?.deletionTimestamp === undefined);
  };

  async function startRun(input: StartRunInput): Promise<RunHandle> {
    let image = input.image;
    let inherited: Partial<JobManifestInput> = {};
    if (image === undefined) {
      const pod = await selfPod();
      image = pod.image;
      inherited = {
        imagePullSecrets: pod.imagePullSecrets,
        ...(pod.dnsPolicy === null ? {} : { dnsPolicy: pod.dnsPolicy }),
        ...(pod.dnsConfig === null ? {} : { dnsConfig: pod.dnsConfig }),
        envFrom: pod.envFrom,
        nodeSelector: pod.nodeSelector,
        tolerations: pod.tolerations,
        ...(pod.affinity === null ? {} : { affinity: pod.affinity }),
      };
    }
    const manifestInput: JobManifestInput = {
      ...inherited,
      ...input,
      image,
      namespace,
      runtimeId,
      suspend: input.files !== undefined && Object.keys(input.files).length > 0,
    };
    const job = buildJobManifest(manifestInput);
    const jobName = job.metadata?.name ?? jobNameFor(input.agentId, input.runId);
    const policy = input.lockPolicy ?? 'none';
    let lock: HeldLock | null = null;
    if (policy !== 'none') {
      const timeout = input.timeoutSeconds;
      lock = await acquireAgentLock({
        ports,
        clock,
        logger,
        namespace,
        agentId: input.agentId,
        runId: input.runId,
        runtimeId,
        policy,
        waitSeconds: input.lockWaitSeconds ?? 0,
        leaseDurationSeconds: timeout > 0 ? timeout + (input.terminationGracePeriodSeconds ?? 30) + 120 : 900,
        isRunAlive,
        ...(input.signal === undefined ? {} : { signal: input.signal }),
      });
    }
    try {
      let created: V1Job & KubeObject;
      try {
        created = await ports.create('jobs', namespace, job);
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 409 && policy === 'adopt') {
          const existing = await ports.get<V1Job & KubeObject>('jobs', namespace, jobName);
          if (existing !== null && existing.metadata?.annotations?.[ANNOTATIONS.runId] === input.runId) {
            const pods = await ports.list<V1Pod & KubeObject>('pods', namespace, {
              labelSelector: runSelector(input.runId),
            });
            logger.info('adopted the existing Job of the run', { jobName });
            return attach({ job: existing, pods, lock, input, adopted: true });
          }
        }
        throw error;
      }
      if (created.spec?.suspend === true) {
        try {
          await ports.create(
            'secrets',
            namespace,
            buildRunSecret(manifestInput, { jobName, jobUid: created.metadata?.uid ?? '' }),
          );
          created = await ports.patch('jobs', namespace, jobName, { spec: { suspend: false } });
        } catch (error) {
          await ports.delete('jobs', namespace, jobName, { propagationPolicy: 'Background' }).catch(() => false);
          throw error;
        }
      }
      return attach({ job: created, pods: null, lock, input, adopted: false });
    } catch (error) {
      await lock?.release();
      throw error;
    }
  }

  async function reattach(runId: string): Promise<RunHandle> {
    const jobs = await ports.list<V1Job & KubeObject>('jobs', namespace, { labelSelector: runSelector(runId) });
    const job = jobs.items.find((item) => item.metadata?.annotations?.[ANNOTATIONS.runId] === runId);
    if (job === undefined) throw new RunNotFoundError(namespace, runId);
    const pods = await ports.list<V1Pod & KubeObject>('pods', namespace, { labelSelector: runSelector(runId) });
    const agentId = job.metadata?.annotations?.[ANNOTATIONS.agentId] ?? '';
    const container = job.spec?.template.spec?.containers[0]?.name ?? DEFAULT_CONTAINER_NAME;
    const lock: HeldLock = {
      leaseName: leaseNameFor(agentId),
      renew: async () => {},
      release: async () => {
        const lease = await ports
          .get<V1Lease & KubeObject>('leases', namespace, leaseNameFor(agentId))
          .catch(() => null);
        if (lease?.spec?.holderIdentity === runId) {
          await ports
            .delete('leases', namespace, leaseNameFor(agentId), {
              resourceVersion: lease.metadata?.resourceVersion ?? '',
            })
            .catch(() => false);
        }
      },
    };
    return attach({
      job,
      pods,
      lock,
      input: { runId, agentId, containerName: container, timeoutSeconds: job.spec?.activeDeadlineSeconds ?? 0 },
      adopted: false,
    });
  }

  function attach(context: {
    job: V1Job & KubeObject;
    pods: { items: V1Pod[]; resourceVersion: string } | null;
    lock: HeldLock | null;
    input: Pick<
      StartRunInput,
      'runId' | 'agentId' | 'containerName' | 'timeoutSeconds' | 'signal' | 'retention' | 'graces' | 'holdCleanupUntil'
    >;
    adopted: boolean;
  }): RunHandle {
    const { job, input, lock } = context;
    const jobName = job.metadata?.name ?? '';
    const containerName = input.containerName ?? DEFAULT_CONTAINER_NAME;
    const retention: RetentionPolicy = { ...baseRetention, ...input.retention };
    const log: RunEvent[] = [];
    const wakers = new Set<() => void>();
    let podName: string | null = context.pods?.items[0]?.metadata?.name ?? null;
    let cancelRequested = false;
    let ended = false;
    let resolveStarted: (name: string | null) => void = () => {};
    const containerStarted = new Promise<string | null>((resolve) => {
      resolveStarted = resolve;
    });

    const push = (event: RunEvent): void => {
      if (event.type === 'scheduled' || event.type === 'running') podName = event.podName;
      if (event.type === 'running') resolveStarted(event.podName);
      log.push(event);
      for (const wake of wakers) wake();
    };

    const watcher = watchRun({
      ports,
      clock,
      logger,
      namespace,
      jobName,
      podSelector: runSelector(input.runId),
      containerName,
      job,
      pods: context.pods,
      graces: { ...baseGraces, ...input.graces },
      isCancelRequested: () => cancelRequested,
      onEvent: push,
      ...(options.watchTimeoutSeconds === undefined ? {} : { watchTimeoutSeconds: options.watchTimeoutSeconds }),
    });

    let renewTimer: unknown = null;
    const leaseSeconds = input.timeoutSeconds > 0 ? input.timeoutSeconds + 150 : 900;
    const scheduleRenew = (): void => {
      if (lock === null) return;
      renewTimer = clock.setTimeout(
        () => {
          lock
            .renew()
            .then(scheduleRenew, (error: unknown) => logger.warn('lease renewal failed', { error: String(error) }));
        },
        (leaseSeconds * 1000) / 3,
      );
    };
    scheduleRenew();

    const onAbort = (): void => {
      void handle
        .cancel('aborted by the caller')
        .catch((error: unknown) => logger.warn('cancel failed', { error: String(error) }));
    };
    input.signal?.addEventListener('abort', onAbort, { once: true });
    if (input.signal?.aborted === true) queueMicrotask(onAbort);

    let resolveDecided: (value: RunOutcome) => void = () => {};
    let rejectDecided: (error: unknown) => void = () => {};
    const decided = new Promise<RunOutcome>((resolve, reject) => {
      resolveDecided = resolve;
      rejectDecided = reject;
    });
    decided.catch(() => undefined);
    const outcome: Promise<RunOutcome> = watcher.result.then(
      async (result) => {
        const finalPod = result.pod?.metadata?.name ?? podName;
        const events = await fetchRunEvents(ports, namespace, jobName, finalPod).catch(() => result.events);
        const value: RunOutcome = {
          ...result.classification,
          events,
          namespace,
          jobName,
          podName: finalPod,
          endedAt: new Date(clock.now()).toISOString(),
        };
        // A container that ran (even one too short for a `running` event) has a pod whose log can be read; the
        // retention waits for `holdCleanupUntil`, so this must not wait for the retention.
        resolveStarted(
          log.some((event) => event.type === 'running') || value.exitCode !== null ? (finalPod ?? null) : null,
        );
        resolveDecided(value);
        const gone = value.code === 'cancelled' || value.code === 'deleted-externally';
        if (!gone) {
          await input.holdCleanupUntil?.catch(() => undefined);
          await applyRetention({
            ports,
            clock,
            logger,
            namespace,
            jobName,
            jobUid: job.metadata?.uid ?? null,
            succeeded: value.code === 'succeeded',
            policy: retention,
          });
        }
        return value;
      },
      (error: unknown) => {
        rejectDecided(error);
        throw KubeRuntimeError.isInstance(error)
          ? error
          : new KubeRuntimeError(`watch run ${namespace}/${jobName}: ${String(error)}`, { cause: error });
      },
    );
    const settled = outcome.finally(async () => {
      ended = true;
      if (renewTimer !== null) clock.clearTimeout(renewTimer);
      input.signal?.removeEventListener('abort', onAbort);
      resolveStarted(log.some((event) => event.type === 'running') ? podName : null);
      await lock?.release();
    });
    settled.then(
      (value) => push({ type: 'ended', outcome: value }),
      () => {
        for (const wake of wakers) wake();
      },
    );

    const handle: RunHandle = {
      runId: input.runId,
      agentId: input.agentId,
      namespace,
      jobName,
      containerName,
      get podName() {
        return podName;
      },
      adopted: context.adopted,
      outcome: settled,
      decided,
      containerStarted,
      events: {
        [Symbol.asyncIterator]: () => {
          let index = 0;
          return {
            next: async (): Promise<IteratorResult<RunEvent>> => {
              for (;;) {
                const event = log[index];
                if (event !== undefined) {
                  index += 1;
                  return { value: event, done: false };
                }
                if (ended && log.at(-1)?.type === 'ended') return { value: undefined, done: true };
                if (ended && index >= log.length) {
                  await settled.catch(() => {});
                  if (log[index] === undefined) return { value: undefined, done: true };
                  continue;
                }
                await new Promise<void>((resolve) => {
                  const wake = (): void => {
                    wakers.delete(wake);
                    resolve();
                  };
                  wakers.add(wake);
                });
              }
            },
          };
        },
      },
      cancel: async (reason = 'cancelled') => {
        if (!ended && !cancelRequested) {
          cancelRequested = true;
          await cancelJob({
            ports,
            namespace,
            jobName,
            jobUid: job.metadata?.uid ?? '',
            reason,
            at: new Date(clock.now()).toISOString(),
          });
        }
        return settled;
      },
    };
    return handle;
  }

  return {
    namespace,
    runtimeId,
    ports,
    kubeConfig: options.kubeConfig ?? null,
    startRun,
    reattach,
    sweep: () => sweepNamespace({ ports, clock, logger, namespace, runtimeId }),
    selfPod,
  };
}
