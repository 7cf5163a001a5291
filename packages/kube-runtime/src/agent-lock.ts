/**
 * The per-agent lock: a `coordination.k8s.io/v1` Lease named after the agent and, when given, a lock key (the work the
 * runs would share: a working directory, a session), held by a run (holderIdentity = run id). Runs of one agent with
 * different keys do not exclude each other.
 * Acquire and takeover use the Lease's resourceVersion (a create that meets AlreadyExists, or an update that meets
 * Conflict, loses), so two runtime instances can never both hold it.
 */
import type { V1Lease } from '@kubernetes/client-node';
import { sleep, type Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import type { KubeObject, KubePorts } from './kube-ports.ts';
import { KubeApiError, LockHeldError, RunCancelledError } from './kube-runtime-error.ts';
import { microTime, timeOf } from './micro-time.ts';
import { ANNOTATIONS, LABELS, MANAGED_BY, labelValue, leaseNameFor } from './names.ts';

/**
 * What to do when the agent's lock is held by another run.
 * - `none`: take no lock (several runs of one agent at once are normal in Paperclip).
 * - `reject`: fail at once with {@link LockHeldError} `lock-conflict`, naming the holder.
 * - `wait`: wait up to `lockWaitSeconds`, then fail with `lock-timeout`.
 * - `adopt`: like `reject`, and when a Job of this very run already exists, reattach to it instead of failing.
 */
export type LockPolicy = 'none' | 'reject' | 'wait' | 'adopt';

/** A held lock. */
export interface HeldLock {
  leaseName: string;
  /** Extends the lease; called by the runtime every `renewSeconds` while the run lives. */
  renew(): Promise<void>;
  /** Gives the lock up (deletes the Lease if this run still holds it). Never throws. */
  release(): Promise<void>;
}

/** Options of {@link acquireAgentLock}. */
export interface AcquireLockOptions {
  ports: KubePorts;
  clock: Clock;
  logger: Logger;
  namespace: string;
  agentId: string;
  /** What the lock serialises within the agent (see {@link leaseNameFor}). @default the agent as a whole */
  lockKey?: string;
  runId: string;
  runtimeId: string;
  policy: Exclude<LockPolicy, 'none'>;
  /** Bound of `wait`. Seconds. */
  waitSeconds: number;
  /** Lease duration: a holder that stops renewing loses the lock after this. Seconds. */
  leaseDurationSeconds: number;
  /**
   * Whether the holder's run is still alive (its Job exists and has not finished, or a container of it has not ended).
   * A lease whose holder is dead is taken over before it expires; one whose holder is alive never is.
   */
  isRunAlive: (runId: string) => Promise<boolean>;
  signal?: AbortSignal;
}

/** The Lease with both times rewritten as MicroTime strings (client-node would send its Dates with milliseconds only). */
function withTimes<T extends V1Lease>(lease: T, acquiredMs: number, renewedMs: number): T {
  return {
    ...lease,
    spec: {
      ...lease.spec,
      acquireTime: microTime(acquiredMs === 0 ? renewedMs : acquiredMs) as unknown as Date,
      renewTime: microTime(renewedMs) as unknown as Date,
    },
  };
}

/** A Lease younger than this whose holder has no Job yet is still starting, not dead. Seconds. */
const STARTING_GRACE_SECONDS = 60;

/** How often an expired Lease whose holder is still alive is looked at again while waiting. Milliseconds. */
const LIVE_HOLDER_RECHECK_MS = 5_000;

/** Acquires the agent's Lease for the run, following the policy. */
export async function acquireAgentLock(options: AcquireLockOptions): Promise<HeldLock> {
  const { ports, clock, namespace } = options;
  const lockKey = options.lockKey ?? '';
  const leaseName = leaseNameFor(options.agentId, lockKey);
  const deadline = clock.now() + options.waitSeconds * 1000;
  let lastResourceVersion = '';

  const body = (base: V1Lease | null): V1Lease & KubeObject => {
    const now = microTime(clock.now()) as unknown as Date;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: leaseName,
        namespace,
        ...(base?.metadata?.resourceVersion === undefined ? {} : { resourceVersion: base.metadata.resourceVersion }),
        labels: {
          [LABELS.managedBy]: MANAGED_BY,
          [LABELS.agentId]: labelValue(options.agentId),
          [LABELS.runtimeId]: labelValue(options.runtimeId),
        },
        annotations: {
          [ANNOTATIONS.agentId]: options.agentId,
          ...(lockKey === '' ? {} : { [ANNOTATIONS.lockKey]: lockKey }),
        },
      },
      spec: {
        holderIdentity: options.runId,
        leaseDurationSeconds: options.leaseDurationSeconds,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: base === null ? 0 : (base.spec?.leaseTransitions ?? 0) + 1,
      },
    };
  };

  const held = (): HeldLock => ({
    leaseName,
    renew: async () => {
      const current = await ports.get<V1Lease & KubeObject>('leases', namespace, leaseName);
      if (current?.spec?.holderIdentity !== options.runId)
        throw new LockHeldError(
          options.agentId,
          current?.spec?.holderIdentity ?? 'nobody',
          'lock-conflict',
          0,
          lockKey,
        );
      const renewed = withTimes(current, timeOf(current.spec.acquireTime), clock.now());
      const written = await ports.replace('leases', namespace, leaseName, renewed);
      lastResourceVersion = written.metadata?.resourceVersion ?? '';
    },
    release: async () => {
      try {
        await ports.delete('leases', namespace, leaseName, { resourceVersion: lastResourceVersion });
      } catch (error) {
        // 409: someone took the lease over meanwhile; it is theirs now.
        options.logger.debug('lease not released', { leaseName, error: String(error) });
      }
    },
  });

  for (;;) {
    if (options.signal?.aborted === true) throw new RunCancelledError(options.runId, 'lock-wait');
    const current = await ports.get<V1Lease & KubeObject>('leases', namespace, leaseName);
    try {
      if (current === null) {
        const created = await ports.create('leases', namespace, body(null));
        lastResourceVersion = created.metadata?.resourceVersion ?? '';
        return held();
      }
      const holder = current.spec?.holderIdentity ?? '';
      if (holder === options.runId || holder === '' || (await isFree(current, holder))) {
        const replaced = await ports.replace(
          'leases',
          namespace,
          leaseName,
          holder === options.runId ? withTimes(current, timeOf(current.spec?.acquireTime), clock.now()) : body(current),
        );
        lastResourceVersion = replaced.metadata?.resourceVersion ?? '';
        return held();
      }
      if (options.policy !== 'wait') throw new LockHeldError(options.agentId, holder, 'lock-conflict', 0, lockKey);
      if (clock.now() >= deadline)
        throw new LockHeldError(options.agentId, holder, 'lock-timeout', options.waitSeconds, lockKey);
      // An expired Lease whose holder still runs is looked at again every LIVE_HOLDER_RECHECK_MS.
      const next = clock.now() >= expiryOf(current) ? clock.now() + LIVE_HOLDER_RECHECK_MS : expiryOf(current);
      await waitForChange(current, Math.min(deadline, next) - clock.now());
    } catch (error) {
      // Lost a race (AlreadyExists on create, Conflict on update): look again.
      if (error instanceof KubeApiError && error.status === 409) continue;
      throw error;
    }
  }

  /**
   * Free when its holder's run is no longer alive. An expired Lease is not enough: a holder whose process died (or
   * stopped renewing) may still have a running container on the agent's session volume. A young Lease whose holder
   * has no Job yet is still starting.
   */
  async function isFree(lease: V1Lease, holder: string): Promise<boolean> {
    const expired = clock.now() >= expiryOf(lease);
    const acquired = timeOf(lease.spec?.acquireTime);
    if (!expired && clock.now() - acquired < STARTING_GRACE_SECONDS * 1000) return false;
    return !(await options.isRunAlive(holder));
  }

  function expiryOf(lease: V1Lease): number {
    const renewed = timeOf(lease.spec?.renewTime ?? lease.spec?.acquireTime);
    return renewed + (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  }

  /** Waits until the Lease changes (watch), the delay passes, or the signal aborts. */
  async function waitForChange(lease: V1Lease & KubeObject, delayMs: number): Promise<void> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = sleep(clock, Math.max(delayMs, 0) + 50, controller.signal).then(
      () => controller.abort(),
      () => {},
    );
    const watched = ports
      .watch(
        'leases',
        namespace,
        {
          fieldSelector: `metadata.name=${leaseName}`,
          resourceVersion: lease.metadata?.resourceVersion ?? '0',
          signal: controller.signal,
        },
        () => controller.abort(),
      )
      .then(() => controller.abort());
    await Promise.race([timer, watched]);
    controller.abort();
    options.signal?.removeEventListener('abort', onAbort);
    if (options.signal?.aborted === true) throw new RunCancelledError(options.runId, 'lock-wait');
  }
}
