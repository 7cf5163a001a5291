/**
 * The runtime: start a run as a Job (lock, Job, Secret, resume), follow it and its output to one outcome, cancel it,
 * reattach to it, dry-run it, sweep what is left. One options object, injected ports, no module-level state.
 */
import type { KubeConfig, V1Job, V1Lease, V1Pod } from '@kubernetes/client-node';
import {
  claimJob,
  findAdoptable,
  markFollowed,
  sweepOrphans as sweepOrphansOf,
  type AdoptableRun,
  type AdoptionQuery,
  type FollowedRuns,
  type OrphanSweepResult,
} from './adoption.ts';
import { acquireAgentLock, type HeldLock, type LockPolicy } from './agent-lock.ts';
import { microTime } from './micro-time.ts';
import { cancelJob } from './cancel-job.ts';
import {
  applyRetention,
  DEFAULT_RETENTION,
  sweep as sweepNamespace,
  type RetentionPolicy,
  type SweepResult,
} from './cleanup.ts';
import { createClientNodePorts, withApiErrors } from './client-node-ports.ts';
import { systemClock, type Clock } from './clock.ts';
import { silentLogger, type Logger } from './logger.ts';
import { createClusterProbe } from './cluster-probe.ts';
import { buildJobManifest, buildRunSecret, DEFAULT_CONTAINER_NAME, type JobManifestInput } from './job-manifest.ts';
import { jobFinish } from './job-outcome.ts';
import { createSharedInformer } from './informer.ts';
import { DEFAULT_GRACES, fetchRunEvents, watchRun, type FailureGraces, type RunInformers } from './job-watch.ts';
import type { KubeObject, KubePorts } from './kube-ports.ts';
import {
  KubeApiError,
  KubeRuntimeError,
  MissingConfigurationError,
  RunCancelledError,
  RunDetachedError,
  RunNotFoundError,
} from './kube-runtime-error.ts';
import { followPodLog } from './log-follow.ts';
import { initialLogCheckpoint, type LogCheckpoint } from './log/log-cursor.ts';
import { createPodLogSource, type PodLogSource } from './log/pod-log-source.ts';
import { ANNOTATIONS, LABELS, MANAGED_BY, jobNameFor, labelValue, leaseNameFor } from './names.ts';
import type { RunEvent, RunOutcome, RunOutput, RunProgressEvent } from './outcome.ts';
import {
  createClientNodeExecTransport,
  podExec,
  type ExecTransport,
  type PodExecInput,
  type PodExecResult,
} from './pod-exec.ts';
import { readSelfPod, type ReadSelfPodOptions, type SelfPod } from './self-pod.ts';
import { errorMessage } from './error-message.ts';

/** Outcomes decided while the Job may still start the container later (a grace ran out). */
const NOTHING_RAN: ReadonlySet<RunOutcome['code']> = new Set([
  'never-started',
  'image-pull',
  'config-error',
  'unschedulable',
]);

/** Options of {@link createKubeRuntime}. Give `kubeConfig` (real cluster) or `ports` (fakes, counting wrappers). */
export interface CreateKubeRuntimeOptions {
  /** A loaded client-node KubeConfig; the runtime builds its API clients from it. */
  kubeConfig?: KubeConfig;
  /** The apiserver port; overrides `kubeConfig` for requests. Errors in client-node's shape are mapped. */
  ports?: KubePorts;
  /**
   * The `pods/log` transport of the output follow. @default `createPodLogSource({ kubeConfig })`; required for
   * `onOutput` when only `ports` are given.
   */
  logSource?: PodLogSource;
  /** The `pods/exec` transport of {@link KubeRuntime.exec}. @default client-node's `Exec` over `kubeConfig` */
  execTransport?: ExecTransport;
  /** Reconnect timing of the output follow. */
  logFollow?: LogFollowTiming;
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
  /**
   * The runs this process follows (see `FollowedRuns`): share one set between the runtimes of a process that reach the
   * same namespace. @default a set of this runtime's own
   */
  followedRuns?: FollowedRuns;
}

/** Reconnect timing of the output follow. */
export interface LogFollowTiming {
  /** First reconnect delay. Milliseconds. @default 250 */
  initialBackoffMs?: number;
  /** Longest reconnect delay. Milliseconds. @default 5000 */
  maxBackoffMs?: number;
  /** Give up after this long without a byte (then a `log-incomplete` event). Milliseconds. @default 600000 */
  giveUpAfterMs?: number;
}

/** How a caller follows a run it started or reattached to: callbacks, cancel signal, per-run policy. */
export interface RunFollowOptions {
  /**
   * Receives the container's output in order, each byte exactly once (across reconnects and apiserver or kubelet
   * restarts), as UTF-8 text never split inside a character (not line-aligned). Awaited: the follow reads no further
   * until it resolves (back-pressure). `checkpoint` is the position after `text`: persist it (after storing the text)
   * to resume in another process with `reattach(runId, { outputCheckpoint })`. Without `onOutput` the output is not
   * read at all. A rejection is retried with the same text and checkpoint (4 tries, 100-400 ms apart); after the last
   * the output follow stops with an `OutputDeliveryError`, reported as a `log-incomplete` event (never skipped).
   */
  onOutput?: (text: string, checkpoint: LogCheckpoint) => void | Promise<void>;
  /**
   * Receives what happens besides the output, in order: `scheduled`, `running`, `progress` (Warnings while alive),
   * `log-gap` and `log-incomplete` (output lost or unreadable: never silent). Awaited in order; the outcome settles
   * after the last call.
   */
  onProgress?: (event: RunProgressEvent) => void | Promise<void>;
  /** Aborting it cancels the run (the outcome becomes `cancelled`). */
  signal?: AbortSignal;
  /** Resume the output after this checkpoint (from a previous process). @default from the first byte */
  outputCheckpoint?: LogCheckpoint;
  /** Overrides the runtime's retention for this run. */
  retention?: Partial<RetentionPolicy>;
  /** Overrides the runtime's failure graces for this run. Seconds. */
  graces?: Partial<FailureGraces>;
}

/** What to run: everything from {@link JobManifestInput} except what the runtime decides, and the lock policy. */
export interface RunSpec extends Omit<JobManifestInput, 'namespace' | 'runtimeId' | 'suspend' | 'image'> {
  /** Container image. Default: the runtime's own pod's image (with `selfPod`); else required. */
  image?: string;
  /** @default 'none' (several runs of one agent at once are normal in Paperclip) */
  lockPolicy?: LockPolicy;
  /**
   * What the lock serialises within the agent: runs of one agent with the same key (e.g. the same working directory
   * or session) follow the lock policy, runs with different keys run side by side. The Job records its Lease's name
   * (annotation `claude-k8s.io/lease-name`). @default '' (the agent as a whole)
   */
  lockKey?: string;
  /** Bound of the `wait` lock policy. Seconds. @default 0 */
  lockWaitSeconds?: number;
  /** Overrides the runtime's retention for this run. */
  retention?: Partial<RetentionPolicy>;
  /** Overrides the runtime's failure graces for this run. Seconds. */
  graces?: Partial<FailureGraces>;
}

/** One run to start: what to run, and how to follow it. */
export interface StartRunInput extends RunSpec, Omit<RunFollowOptions, 'outputCheckpoint'> {}

/** A live run, started by this process or reattached. */
export interface RunHandle {
  runId: string;
  agentId: string;
  namespace: string;
  jobName: string;
  /** Name of the run's container in the pod. */
  containerName: string;
  /** The pod, once the Job controller created it; `null` before. */
  readonly podName: string | null;
  /** True when `startRun` found this run's Job already there and attached to it (lock policy `adopt`). */
  adopted: boolean;
  /** Set when {@link KubeRuntime.adoptOrphan} adopted another run's orphaned Job: which, and in what state. */
  adoption?: AdoptableRun;
  /** Everything `onProgress` receives, then `ended` last. Every iteration replays from the start. */
  events: AsyncIterable<RunEvent>;
  /**
   * Resolves with the outcome (also for failures and cancel) once the output has been delivered to `onOutput` to its
   * end, the retention policy has run and the agent's Lease is released. Rejects only with a
   * {@link KubeRuntimeError} when the run cannot be observed.
   */
  outcome: Promise<RunOutcome>;
  /** Resolves with the pod name once the container has started (or ended); `null` when it never started. */
  containerStarted: Promise<string | null>;
  /**
   * Deletes the Job (propagation Foreground: SIGTERM and the grace period) and resolves with the outcome (as
   * `outcome`: after the output's end), `cancelled` unless the run had already ended.
   */
  cancel(reason?: string): Promise<RunOutcome>;
  /**
   * Stops following the run without touching it: the Job, its pod, the per-run Secret and the agent's Lease stay as
   * they are (the Lease is no longer renewed), no retention runs, and `outcome` rejects with a
   * {@link RunDetachedError}. For a process that is going away (e.g. a server shutdown) and wants the run adopted by
   * its successor (`adoptOrphan`) rather than ended. No effect once the outcome is decided and its output read (the
   * retention and the Lease's release then complete as usual) or a cancel was requested.
   */
  detach(reason?: string): void;
}

/** The runtime. */
export interface KubeRuntime {
  namespace: string;
  runtimeId: string;
  /**
   * Creates the run's Job and Secret and follows it (and, with `onOutput`, its output). Rejects (leaving nothing
   * behind) when the start fails; a held lock rejects with `LockHeldError` (`lock-conflict` or `lock-timeout`).
   */
  startRun(input: StartRunInput): Promise<RunHandle>;
  /**
   * Adopts the Job of `runId` (running or finished, started by any process of this runtime) and returns a live handle,
   * as if this process had started it. With `onOutput`, the output is replayed from `outputCheckpoint` (default: the
   * first byte), each byte exactly once, then followed live. Rejects with `RunNotFoundError` when no Job exists.
   */
  reattach(runId: string, options?: RunFollowOptions): Promise<RunHandle>;
  /**
   * Server-side dry run (`dryRun=All`, nothing persisted) of the Job `startRun` would create for `spec` and of a pod
   * from its template (Pod Security admission judges pods only). Resolves with the problems; `[]` when both would be
   * admitted. Needs `kubeConfig`.
   */
  dryRun(spec: RunSpec): Promise<string[]>;
  /** Removes expired Jobs and orphaned per-run Secrets of this runtime. */
  sweep(): Promise<SweepResult>;
  /**
   * Finds the newest orphaned Job (no process follows it, outcome never delivered) of `query.agentId` and
   * `query.taskKey` (`null`: the agent's runs without a task key), claims it for `adopterRunId` and follows it like
   * `reattach`: output from `follow.outputCheckpoint` (default the first byte) exactly once, then live; the agent Lease
   * its run holds is renewed and released by this handle. Resolves `null` when there is nothing to adopt.
   */
  adoptOrphan(query: AdoptionQuery & { adopterRunId: string }, follow?: RunFollowOptions): Promise<RunHandle | null>;
  /**
   * Marks Jobs of this runtime that nobody follows (`orphaned-since`) and deletes those orphaned for longer than their
   * `adopt-within-seconds`, freeing the agent Lease their run held.
   */
  sweepOrphans(options?: { signal?: AbortSignal; defaultAdoptWithinSeconds?: number }): Promise<OrphanSweepResult>;
  /** The runtime's own pod (read once per runtime instance, then cached). */
  selfPod(): Promise<SelfPod>;
  /**
   * Runs a command in a container of a pod in the runtime's namespace (`pods/exec`, RBAC `create`): stdin streamed
   * in, stdout streamed or collected under a limit. Resolves with the exit code; rejects with a `PodExecError`
   * (`forbidden` names the missing RBAC). Needs `kubeConfig` or `execTransport`.
   */
  exec(input: Omit<PodExecInput, 'namespace'>): Promise<PodExecResult>;
}

/** Whether a run's Job mounts or references its per-run Secret (named like the Job). */
function usesRunSecret(job: V1Job): boolean {
  const name = job.metadata?.name;
  const spec = job.spec?.template.spec;
  if (name === undefined || spec === undefined) return false;
  return (
    (spec.volumes ?? []).some((volume) => volume.secret?.secretName === name) ||
    spec.containers.some((container) =>
      (container.env ?? []).some((variable) => variable.valueFrom?.secretKeyRef?.name === name),
    )
  );
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
  const kubeConfig: KubeConfig | null = options.kubeConfig ?? null;
  const logSource: PodLogSource | null =
    options.logSource ?? (kubeConfig === null ? null : createPodLogSource({ kubeConfig }));
  let execTransport: ExecTransport | null = options.execTransport ?? null;
  const exec = (input: Omit<PodExecInput, 'namespace'>): Promise<PodExecResult> => {
    if (execTransport === null && kubeConfig !== null) execTransport = createClientNodeExecTransport(kubeConfig);
    if (execTransport === null)
      return Promise.reject(new MissingConfigurationError(['execTransport (or kubeConfig)'], 'exec'));
    return podExec(execTransport, { ...input, namespace });
  };
  const baseGraces: FailureGraces = { ...DEFAULT_GRACES, ...options.graces };
  const baseRetention: RetentionPolicy = { ...DEFAULT_RETENTION, ...options.retention };
  const followed: FollowedRuns = options.followedRuns ?? new Set();
  let selfPodPromise: Promise<SelfPod> | null = null;
  // One Job stream and one Pod stream for all runs of this runtime's namespace (started with the first run, stopped
  // after the last). All objects this package manages, whichever runtime created them (reattach may follow any).
  const streamOptions = {
    ports,
    clock,
    logger,
    namespace,
    labelSelector: `${LABELS.managedBy}=${MANAGED_BY}`,
    ...(options.watchTimeoutSeconds === undefined ? {} : { watchTimeoutSeconds: options.watchTimeoutSeconds }),
  };
  const informers: RunInformers = {
    jobs: createSharedInformer<V1Job & KubeObject>({
      ...streamOptions,
      kind: 'jobs',
      keyOf: (job) => job.metadata?.name ?? null,
    }),
    pods: createSharedInformer<V1Pod & KubeObject>({
      ...streamOptions,
      kind: 'pods',
      keyOf: (pod) => pod.metadata?.labels?.[LABELS.runId] ?? null,
    }),
  };

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

  /**
   * A run is alive while its Job is active (neither finished, deleted, nor stopped by the retention) or any of its
   * pods has not ended (a deleted Job's pod in its grace period, or an orphaned pod).
   */
  const isRunAlive = async (runId: string): Promise<boolean> => {
    const jobs = await ports.list<V1Job & KubeObject>('jobs', namespace, { labelSelector: runSelector(runId) });
    const active = (job: V1Job): boolean =>
      jobFinish(job) === null &&
      job.metadata?.deletionTimestamp === undefined &&
      !(job.spec?.suspend === true && job.metadata?.annotations?.[ANNOTATIONS.keepUntil] !== undefined);
    if (jobs.items.some(active)) return true;
    const pods = await ports.list<V1Pod & KubeObject>('pods', namespace, { labelSelector: runSelector(runId) });
    return pods.items.some((pod) => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed');
  };

  /** The manifest input and Job of a run: the one path of `startRun` and `dryRun`. */
  async function prepare(spec: RunSpec): Promise<{ manifestInput: JobManifestInput; job: V1Job }> {
    let image = spec.image;
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
    const {
      lockPolicy: _lockPolicy,
      lockKey: _lockKey,
      lockWaitSeconds: _lockWaitSeconds,
      retention: _retention,
      graces: _graces,
      ...manifestFields
    } = spec as StartRunInput;
    const {
      onOutput: _onOutput,
      onProgress: _onProgress,
      signal: _signal,
      ...fields
    } = manifestFields as typeof manifestFields & RunFollowOptions;
    const manifestInput: JobManifestInput = {
      ...inherited,
      ...fields,
      image,
      namespace,
      runtimeId,
      suspend: spec.files !== undefined && Object.keys(spec.files).length > 0,
    };
    return { manifestInput, job: buildJobManifest(manifestInput) };
  }

  async function startRun(input: StartRunInput): Promise<RunHandle> {
    if (input.onOutput !== undefined && logSource === null)
      throw new MissingConfigurationError(['logSource (or kubeConfig) to follow the output'], 'start run');
    const { manifestInput, job } = await prepare(input);
    const jobName = job.metadata?.name ?? jobNameFor(input.agentId, input.runId);
    // Open the shared streams now, so that their first list is under way before this run's own requests.
    const releaseStreams = [informers.jobs.retain(), informers.pods.retain()];
    try {
      return await createAndAttach(input, manifestInput, job, jobName);
    } finally {
      for (const release of releaseStreams) release();
    }
  }

  async function createAndAttach(
    input: StartRunInput,
    manifestInput: JobManifestInput,
    job: V1Job,
    jobName: string,
  ): Promise<RunHandle> {
    const policy = input.lockPolicy ?? 'none';
    let lock: HeldLock | null = null;
    if (policy !== 'none') {
      const timeout = input.timeoutSeconds;
      job.metadata = {
        ...job.metadata,
        annotations: {
          ...job.metadata?.annotations,
          [ANNOTATIONS.leaseName]: leaseNameFor(input.agentId, input.lockKey),
        },
      };
      lock = await acquireAgentLock({
        ports,
        clock,
        logger,
        namespace,
        agentId: input.agentId,
        ...(input.lockKey === undefined ? {} : { lockKey: input.lockKey }),
        runId: input.runId,
        runtimeId,
        policy,
        waitSeconds: input.lockWaitSeconds ?? 0,
        leaseDurationSeconds: timeout > 0 ? timeout + (input.terminationGracePeriodSeconds ?? 30) + 120 : 900,
        isRunAlive,
        ...(input.signal === undefined ? {} : { signal: input.signal }),
      });
    }
    // Followed from before the create: an orphan sweep in between must not take the new Job for an orphan.
    const unfollow = markFollowed(followed, namespace, input.runId);
    try {
      const aborted = (): boolean => input.signal?.aborted === true;
      if (aborted()) throw new RunCancelledError(input.runId, 'before-start');
      let created: V1Job & KubeObject;
      try {
        created = await ports.create('jobs', namespace, job);
      } catch (error) {
        if (KubeApiError.isInstance(error) && error.status === 409 && policy === 'adopt') {
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
          // Still suspended: a cancel now deletes a Job that never had a pod.
          if (aborted()) throw new RunCancelledError(input.runId, 'before-start');
          created = await ports.patch('jobs', namespace, jobName, { spec: { suspend: false } });
        } catch (error) {
          await ports.delete('jobs', namespace, jobName, { propagationPolicy: 'Background' }).catch(() => false);
          throw error;
        }
      }
      return attach({ job: created, pods: null, lock, input, adopted: false });
    } catch (error) {
      unfollow();
      await lock?.release();
      throw error;
    }
  }

  async function reattach(runId: string, follow: RunFollowOptions = {}): Promise<RunHandle> {
    if (follow.onOutput !== undefined && logSource === null)
      throw new MissingConfigurationError(['logSource (or kubeConfig) to follow the output'], 'reattach run');
    const jobs = await ports.list<V1Job & KubeObject>('jobs', namespace, { labelSelector: runSelector(runId) });
    const job = jobs.items.find((item) => item.metadata?.annotations?.[ANNOTATIONS.runId] === runId);
    if (job === undefined) throw new RunNotFoundError(namespace, runId);
    const pods = await ports.list<V1Pod & KubeObject>('pods', namespace, { labelSelector: runSelector(runId) });
    return attachExisting(job, pods, runId, follow, false);
  }

  /** The lock of a run this process did not start: the agent Lease, as long as it names the Job's run. */
  function leaseOfRun(leaseName: string, runId: string): HeldLock {
    const held = async (): Promise<(V1Lease & KubeObject) | null> => {
      const lease = await ports.get<V1Lease & KubeObject>('leases', namespace, leaseName).catch(() => null);
      return lease?.spec?.holderIdentity === runId ? lease : null;
    };
    return {
      leaseName,
      renew: async () => {
        const lease = await held();
        if (lease === null) return;
        await ports.replace('leases', namespace, leaseName, {
          ...lease,
          spec: { ...lease.spec, renewTime: microTime(clock.now()) as unknown as Date },
        });
      },
      release: async () => {
        const lease = await held();
        if (lease === null) return;
        await ports
          .delete('leases', namespace, leaseName, { resourceVersion: lease.metadata?.resourceVersion ?? '' })
          .catch(() => false);
      },
    };
  }

  /** Follows a Job this process did not start (reattach, adoption). */
  function attachExisting(
    job: V1Job & KubeObject,
    pods: { items: V1Pod[]; resourceVersion: string },
    runId: string,
    follow: RunFollowOptions,
    adopted: boolean,
    adoption?: AdoptableRun,
  ): RunHandle {
    const agentId = job.metadata?.annotations?.[ANNOTATIONS.agentId] ?? '';
    const container = job.spec?.template.spec?.containers[0]?.name ?? DEFAULT_CONTAINER_NAME;
    return attach({
      job,
      pods,
      // The Lease the run took (recorded on its Job); Jobs of earlier versions: the agent's.
      lock: leaseOfRun(job.metadata?.annotations?.[ANNOTATIONS.leaseName] ?? leaseNameFor(agentId), runId),
      input: {
        ...follow,
        runId,
        agentId,
        containerName: container,
        timeoutSeconds: job.spec?.activeDeadlineSeconds ?? 0,
      },
      adopted,
      ...(adoption === undefined ? {} : { adoption }),
    });
  }

  async function adoptOrphan(
    query: AdoptionQuery & { adopterRunId: string },
    follow: RunFollowOptions = {},
  ): Promise<RunHandle | null> {
    if (follow.onOutput !== undefined && logSource === null)
      throw new MissingConfigurationError(['logSource (or kubeConfig) to follow the output'], 'adopt run');
    // A claim loses when the Job changed since the list (its controller wrote a status, another process claimed it):
    // look again, a few times; a Job another adopter claimed meanwhile (its adopted-by changed) is left to it.
    const claimedByOthers = new Set<string>();
    for (let round = 0; round < 5; round += 1) {
      const found = await findAdoptable({
        ports,
        namespace,
        runtimeId,
        followed,
        agentId: query.agentId,
        taskKey: query.taskKey,
        skipJobs: claimedByOthers,
      });
      if (found === null) return null;
      const unfollow = markFollowed(followed, namespace, found.run.runId);
      try {
        const claimed = await claimJob({ ports, namespace, job: found.job, adopterRunId: query.adopterRunId });
        let job = claimed;
        if (job === null) {
          const now = await ports.get<V1Job & KubeObject>('jobs', namespace, found.run.jobName);
          const by = now?.metadata?.annotations?.[ANNOTATIONS.adoptedBy];
          // Our own claim whose answer was lost (the port retried the patch): it is ours.
          if (now !== null && by === query.adopterRunId) job = now;
          else {
            unfollow();
            if (now === null || by !== found.job.metadata?.annotations?.[ANNOTATIONS.adoptedBy])
              claimedByOthers.add(found.run.jobName);
            continue;
          }
        }
        const pods = await ports.list<V1Pod & KubeObject>('pods', namespace, {
          labelSelector: runSelector(found.run.runId),
        });
        logger.info('adopted an orphaned Job', {
          jobName: found.run.jobName,
          runId: found.run.runId,
          adopterRunId: query.adopterRunId,
          state: found.run.state,
        });
        // The handle keeps the mark (the same key) until it settles.
        return attachExisting(job, pods, found.run.runId, follow, true, found.run);
      } catch (error) {
        unfollow();
        throw error;
      }
    }
    return null;
  }

  async function dryRun(spec: RunSpec): Promise<string[]> {
    if (kubeConfig === null) throw new MissingConfigurationError(['kubeConfig'], 'dry-run a run');
    const { job } = await prepare(spec);
    return createClusterProbe(kubeConfig).dryRunJob(job);
  }

  function attach(context: {
    job: V1Job & KubeObject;
    pods: { items: V1Pod[]; resourceVersion: string } | null;
    lock: HeldLock | null;
    input: Pick<StartRunInput, 'runId' | 'agentId' | 'containerName' | 'timeoutSeconds'> & RunFollowOptions;
    adopted: boolean;
    adoption?: AdoptableRun;
  }): RunHandle {
    const { job, input, lock } = context;
    const unfollow = markFollowed(followed, namespace, input.runId);
    const jobName = job.metadata?.name ?? '';
    const containerName = input.containerName ?? DEFAULT_CONTAINER_NAME;
    const retention: RetentionPolicy = { ...baseRetention, ...input.retention };
    const log: RunEvent[] = [];
    const wakers = new Set<() => void>();
    let podName: string | null = context.pods?.items[0]?.metadata?.name ?? null;
    let cancelRequested = false;
    let cancelledAt: string | null = null;
    let ended = false;
    /** Set by `detach`: the run is left as it is for another process to adopt. */
    let detachedBy: RunDetachedError | null = null;
    /** The outcome is decided and its output read: the retention runs and the Lease goes; too late to detach. */
    let settling = false;
    const { promise: containerStarted, resolve: resolveStarted } = Promise.withResolvers<string | null>();
    /** `onProgress` calls, chained so that they arrive in order; the outcome waits for the last. */
    let progressDelivered: Promise<void> = Promise.resolve();

    const push = (event: RunEvent): void => {
      if (event.type === 'scheduled' || event.type === 'running') podName = event.podName;
      if (event.type === 'running') resolveStarted(event.podName);
      log.push(event);
      for (const wake of wakers) wake();
      const onProgress = input.onProgress;
      if (event.type !== 'ended' && onProgress !== undefined) {
        progressDelivered = progressDelivered
          .then(() => onProgress(event))
          .catch((error: unknown) => logger.warn('onProgress failed', { error: String(error) }));
      }
    };

    const watcher = watchRun({
      ports,
      clock,
      logger,
      namespace,
      jobName,
      informers,
      runKey: labelValue(input.runId),
      containerName,
      job,
      pods: context.pods,
      graces: { ...baseGraces, ...input.graces },
      isCancelRequested: () => cancelRequested,
      onEvent: push,
    });

    // The output follow: from the container's start to the true end of its output. It learns that the container has
    // ended from the watch's decision (`decided`), drains the rest, and only then may the retention delete the pod.
    let decided = false;
    const followAbort = new AbortController();
    const onOutput = input.onOutput;
    const follow: Promise<RunOutput | null> =
      onOutput === undefined || logSource === null
        ? Promise.resolve(null)
        : (async (): Promise<RunOutput | null> => {
            const pod = await containerStarted;
            if (pod === null) return null;
            let checkpoint = input.outputCheckpoint ?? initialLogCheckpoint;
            let gaps = 0;
            try {
              const result = await followPodLog({
                source: logSource,
                namespace,
                pod,
                container: containerName,
                clock,
                ...options.logFollow,
                ...(input.outputCheckpoint === undefined ? {} : { checkpoint: input.outputCheckpoint }),
                signal: followAbort.signal,
                onOutput: async (text, position) => {
                  await onOutput(text, position);
                  checkpoint = position; // delivered: a failed delivery reports the position before it
                },
                onEvent: (event) => {
                  if (event.type === 'reconnect') logger.debug('output follow reconnects', { ...event });
                  if (event.type !== 'gap') return;
                  gaps += 1;
                  push({
                    type: 'log-gap',
                    lastTimestampBefore: event.lastTimestampBefore,
                    firstTimestampAfter: event.firstTimestampAfter,
                    knownLostBytes: event.knownLostBytes,
                    partialLineLost: event.partialLineLost,
                  });
                },
                readOutcome: () => Promise.resolve(decided ? true : undefined),
              });
              if (!result.complete && detachedBy === null)
                push({
                  type: 'log-incomplete',
                  message: `follow log ${namespace}/${pod}: the pod was deleted before its output was read to the end`,
                  checkpoint: result.checkpoint,
                });
              return { checkpoint: result.checkpoint, gaps: result.gaps, complete: result.complete };
            } catch (error) {
              if (detachedBy !== null) return { checkpoint, gaps, complete: false };
              push({
                type: 'log-incomplete',
                message: `follow log ${namespace}/${pod}: ${errorMessage(error)}`,
                checkpoint,
              });
              return { checkpoint, gaps, complete: false };
            }
          })();

    let renewTimer: unknown = null;
    const leaseSeconds = input.timeoutSeconds > 0 ? input.timeoutSeconds + 150 : 900;
    const scheduleRenew = (): void => {
      if (lock === null || detachedBy !== null) return;
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

    const startedPod = (value: { exitCode: number | null } | null, finalPod: string | null): string | null =>
      log.some((event) => event.type === 'running') || (value !== null && value.exitCode !== null) ? finalPod : null;

    const outcome: Promise<RunOutcome> = watcher.result.then(
      async (result) => {
        // The Job's end can arrive before any pod event (two watches, no order between them): then ask for the pod.
        const finalPod =
          result.pod?.metadata?.name ??
          podName ??
          (await ports
            .list<V1Pod & KubeObject>('pods', namespace, { labelSelector: runSelector(input.runId) })
            .then((pods) => pods.items[0]?.metadata?.name ?? null)
            .catch(() => null));
        // Events only explain a failure: a success or a cancel reads none.
        const code = result.classification.code;
        const events =
          code === 'succeeded' || code === 'cancelled'
            ? result.events
            : await fetchRunEvents(ports, namespace, jobName, finalPod).catch(() => result.events);
        const decidedAt = new Date(clock.now()).toISOString();
        // A container that ran (even one too short for a `running` event) has a pod whose log can be read.
        resolveStarted(startedPod(result.classification, finalPod ?? null));
        decided = true;
        const output = await follow;
        // Detached while the output drained: the retention must not delete what the adopter will read.
        if (detachedBy !== null) throw detachedBy;
        settling = true;
        const value: RunOutcome = {
          ...result.classification,
          events,
          namespace,
          jobName,
          podName: finalPod,
          endedAt: decidedAt,
          cancelledAt,
          output,
        };
        const gone = value.code === 'cancelled' || value.code === 'deleted-externally';
        if (!gone) {
          await applyRetention({
            ports,
            clock,
            logger,
            namespace,
            jobName,
            jobUid: job.metadata?.uid ?? null,
            succeeded: value.code === 'succeeded',
            stop: result.job !== null && jobFinish(result.job) === null && NOTHING_RAN.has(value.code),
            policy: retention,
            runSecret: usesRunSecret(job),
          });
        }
        return value;
      },
      async (error: unknown) => {
        resolveStarted(startedPod(null, podName));
        followAbort.abort(new KubeRuntimeError(`watch run ${namespace}/${jobName} failed`));
        await follow;
        if (detachedBy !== null) throw detachedBy;
        throw KubeRuntimeError.isInstance(error)
          ? error
          : new KubeRuntimeError(`watch run ${namespace}/${jobName}: ${String(error)}`, { cause: error });
      },
    );
    const settled = outcome.finally(async () => {
      ended = true;
      unfollow();
      if (renewTimer !== null) clock.clearTimeout(renewTimer);
      input.signal?.removeEventListener('abort', onAbort);
      resolveStarted(startedPod(null, podName));
      // A detached run keeps its Lease: it is the adopter's to take over with the Job.
      if (detachedBy === null) await lock?.release();
      await progressDelivered;
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
      ...(context.adoption === undefined ? {} : { adoption: context.adoption }),
      outcome: settled,
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
        // Once decided, the container has ended: deleting the pod now would only cut the drain of its output.
        if (!ended && !cancelRequested && !decided && detachedBy === null) {
          cancelRequested = true;
          cancelledAt = new Date(clock.now()).toISOString();
          await cancelJob({
            ports,
            namespace,
            jobName,
            jobUid: job.metadata?.uid ?? '',
            reason,
            at: cancelledAt,
          });
        }
        return settled;
      },
      detach: (reason = 'detached by the caller') => {
        if (ended || settling || cancelRequested || detachedBy !== null) return;
        detachedBy = new RunDetachedError(namespace, jobName, input.runId, reason);
        logger.info('run detached: its Job is left for adoption', { runId: input.runId, jobName, reason });
        if (renewTimer !== null) clock.clearTimeout(renewTimer);
        followAbort.abort(detachedBy);
        watcher.stop();
      },
    };
    return handle;
  }

  return {
    namespace,
    runtimeId,
    startRun,
    reattach,
    dryRun,
    sweep: () => sweepNamespace({ ports, clock, logger, namespace, runtimeId }),
    adoptOrphan,
    sweepOrphans: (sweepOptions = {}) =>
      sweepOrphansOf({ ports, clock, logger, namespace, runtimeId, followed, ...sweepOptions }),
    selfPod,
    exec,
  };
}
