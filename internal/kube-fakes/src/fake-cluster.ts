/**
 * An in-memory apiserver: objects with resourceVersions, label/field selectors, merge patch, optimistic concurrency,
 * watch with history (and 410 Gone after compaction), owner-reference garbage collection, scripted faults, and an
 * optional tiny Job controller (creates the pod of an unsuspended Job). Its `ports` satisfy kube-runtime's `KubePorts`
 * structurally; errors are thrown in client-node's `ApiException` shape (`code`, `body` = Status JSON text) so that
 * kube-runtime's own error mapping is exercised.
 */

export type FakeKind = 'jobs' | 'pods' | 'secrets' | 'events' | 'leases';

/** Structural Kubernetes object. */
export interface FakeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
    creationTimestamp?: Date | string;
    deletionTimestamp?: Date | string;
    finalizers?: string[];
    generateName?: string;
  };
  [key: string]: unknown;
}

export type FakeWatchEvent =
  { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: FakeObject } | { type: 'BOOKMARK'; resourceVersion: string };

export type FakeWatchEnd =
  { type: 'closed'; error: null } | { type: 'gone' } | { type: 'failed'; error: unknown } | { type: 'aborted' };

export interface FakeListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

/** An error in client-node's ApiException shape. */
export class FakeStatusError extends Error {
  readonly code: number;
  readonly body: string;
  constructor(code: number, reason: string, message: string, field?: string) {
    super(`HTTP-Code: ${code}`);
    this.code = code;
    this.body = JSON.stringify(statusBody(code, reason, message, field));
  }
}

/** A Kubernetes `Status` failure body. */
export function statusBody(code: number, reason: string, message: string, field?: string): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
    ...(field === undefined ? {} : { details: { causes: [{ reason: 'FieldValueInvalid', message, field }] } }),
  };
}

/** A scripted failure of the next matching request(s). */
export interface FakeFault {
  verb: 'create' | 'get' | 'list' | 'patch' | 'update' | 'delete' | 'watch';
  kind: FakeKind;
  status: number;
  reason: string;
  message: string;
  field?: string;
  /** @default 1 */
  times?: number;
}

interface Watcher {
  kind: FakeKind;
  namespace: string;
  options: FakeListOptions;
  onEvent: (event: FakeWatchEvent) => void;
  end: (end: FakeWatchEnd) => void;
}

export interface FakeClusterOptions {
  /** Create the pod of each unsuspended Job (like the Job controller). @default true */
  jobController?: boolean;
  /** Time source for timestamps. @default Date.now */
  now?: () => number;
}

export interface FakeRequest {
  verb: FakeFault['verb'];
  kind: FakeKind;
  namespace: string;
  name: string | null;
}

/** Creates an empty in-memory cluster. */
export function createFakeCluster(options: FakeClusterOptions = {}) {
  const now = options.now ?? (() => Date.now());
  const objects = new Map<string, FakeObject>();
  const history: { rv: number; kind: FakeKind; namespace: string; event: FakeWatchEvent }[] = [];
  const watchers = new Set<Watcher>();
  const faults: FakeFault[] = [];
  const requests: FakeRequest[] = [];
  let revision = 100;
  let compactedBefore = 0;
  let uidCounter = 0;
  let podCounter = 0;
  let podRefusal: string | null = null;
  let terminationHeld = false;

  const key = (kind: FakeKind, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;
  const clone = <T>(value: T): T => structuredClone(value);

  function record(verb: FakeFault['verb'], kind: FakeKind, namespace: string, name: string | null): void {
    requests.push({ verb, kind, namespace, name });
    const index = faults.findIndex((fault) => fault.verb === verb && fault.kind === kind);
    if (index === -1) return;
    const fault = faults[index];
    if (fault === undefined) return;
    const times = (fault.times ?? 1) - 1;
    if (times <= 0) faults.splice(index, 1);
    else faults[index] = { ...fault, times };
    throw new FakeStatusError(fault.status, fault.reason, fault.message, fault.field);
  }

  function emit(kind: FakeKind, namespace: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: FakeObject): void {
    const rv = Number(object.metadata?.resourceVersion ?? revision);
    const event: FakeWatchEvent = { type, object: clone(object) };
    history.push({ rv, kind, namespace, event });
    for (const watcher of watchers) {
      if (watcher.kind === kind && watcher.namespace === namespace && matches(object, watcher.options))
        watcher.onEvent(clone(event));
    }
  }

  function validateLease(object: FakeObject): void {
    const spec = object['spec'] as Record<string, unknown> | undefined;
    for (const field of ['acquireTime', 'renewTime']) {
      const value = spec?.[field];
      if (value !== undefined && !(typeof value === 'string' && /\.\d{6}Z$/.test(value)))
        throw new FakeStatusError(
          400,
          'BadRequest',
          `Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05.000000Z07:00"`,
        );
    }
  }

  function store(kind: FakeKind, namespace: string, object: FakeObject, type: 'ADDED' | 'MODIFIED'): FakeObject {
    revision += 1;
    const metadata = object.metadata ?? {};
    metadata.resourceVersion = String(revision);
    metadata.namespace = namespace;
    object.metadata = metadata;
    objects.set(key(kind, namespace, metadata.name ?? ''), clone(object));
    emit(kind, namespace, type, object);
    if (kind === 'jobs' && options.jobController !== false) runJobController(namespace, object);
    return clone(object);
  }

  function remove(
    kind: FakeKind,
    namespace: string,
    name: string,
    propagation: 'Foreground' | 'Background' | 'Orphan' = 'Background',
    force = false,
  ): boolean {
    let existing = objects.get(key(kind, namespace, name));
    if (existing === undefined) return false;
    if (kind === 'pods' && terminationHeld && !force) {
      // Like the kubelet within the pod's grace period: marked for deletion, gone only once its containers ended.
      if (existing.metadata?.deletionTimestamp === undefined) {
        const marked = clone(existing);
        marked.metadata = { ...marked.metadata, deletionTimestamp: new Date(now()).toISOString() };
        store(kind, namespace, marked, 'MODIFIED');
      }
      return true;
    }
    if (propagation === 'Foreground') {
      // Like the apiserver's garbage collector: the owner first gets a deletionTimestamp and the foregroundDeletion
      // finalizer (MODIFIED), its dependents go, and only then the owner itself (DELETED).
      const marked = clone(existing);
      marked.metadata = {
        ...marked.metadata,
        deletionTimestamp: new Date(now()).toISOString(),
        finalizers: [...(marked.metadata?.finalizers ?? []), 'foregroundDeletion'],
      };
      store(kind, namespace, marked, 'MODIFIED');
      const uid = marked.metadata?.uid;
      for (const [objectKey, object] of [...objects]) {
        if (object.metadata?.ownerReferences?.some((ref) => ref.uid === uid) === true) {
          const [depKind, depNamespace, depName] = objectKey.split('/') as [FakeKind, string, string];
          remove(depKind, depNamespace, depName, 'Background');
        }
      }
      if (hasDependents(uid)) return true; // finished by the last dependent's removal
      existing = objects.get(key(kind, namespace, name));
      if (existing === undefined) return true;
    }
    objects.delete(key(kind, namespace, name));
    revision += 1;
    const metadata = existing.metadata ?? {};
    metadata.resourceVersion = String(revision);
    existing.metadata = metadata;
    emit(kind, namespace, 'DELETED', existing);
    // Garbage collection of dependents; Orphan (the apiserver's default for batch/v1 Jobs) strips the reference instead.
    const uid = existing.metadata.uid;
    for (const [objectKey, object] of [...objects]) {
      if (object.metadata?.ownerReferences?.some((ref) => ref.uid === uid) === true) {
        if (propagation === 'Orphan') {
          const [depKind, depNamespace] = objectKey.split('/') as [FakeKind, string];
          const orphan = clone(object);
          orphan.metadata = {
            ...orphan.metadata,
            ownerReferences: (orphan.metadata?.ownerReferences ?? []).filter((ref) => ref.uid !== uid),
          };
          store(depKind, depNamespace, orphan, 'MODIFIED');
          continue;
        }
        const [depKind, depNamespace, depName] = objectKey.split('/') as [FakeKind, string, string];
        remove(depKind, depNamespace, depName);
      }
    }
    // An owner in foreground deletion goes once its last dependent is gone.
    for (const ref of existing.metadata.ownerReferences ?? []) {
      const owner = [...objects].find(([, object]) => object.metadata?.uid === ref.uid);
      if (owner === undefined || owner[1].metadata?.finalizers?.includes('foregroundDeletion') !== true) continue;
      if (hasDependents(ref.uid)) continue;
      const [ownerKind, ownerNamespace] = owner[0].split('/') as [FakeKind, string];
      objects.delete(owner[0]);
      revision += 1;
      const gone = clone(owner[1]);
      gone.metadata = { ...gone.metadata, resourceVersion: String(revision) };
      emit(ownerKind, ownerNamespace, 'DELETED', gone);
    }
    return true;
  }

  function hasDependents(uid: string | undefined): boolean {
    return [...objects.values()].some((object) => object.metadata?.ownerReferences?.some((ref) => ref.uid === uid));
  }

  function seedObject(kind: FakeKind, namespace: string, object: FakeObject): FakeObject {
    const copy = clone(object);
    uidCounter += 1;
    copy.metadata = {
      ...copy.metadata,
      uid: copy.metadata?.uid ?? `uid-${uidCounter}`,
      creationTimestamp: copy.metadata?.creationTimestamp ?? new Date(now()).toISOString(),
    };
    return store(kind, namespace, copy, 'ADDED');
  }

  function runJobController(namespace: string, job: FakeObject): void {
    const spec = job['spec'] as
      { suspend?: boolean; template?: { metadata?: { labels?: Record<string, string> }; spec?: unknown } } | undefined;
    const status = job['status'] as { conditions?: unknown[] } | undefined;
    const jobName = job.metadata?.name ?? '';
    if (spec?.suspend === true) {
      // Suspending a Job deletes its active pods.
      for (const [objectKey, object] of [...objects]) {
        if (
          objectKey.startsWith(`pods/${namespace}/`) &&
          object.metadata?.labels?.['batch.kubernetes.io/job-name'] === jobName
        )
          queueMicrotask(() => remove('pods', namespace, object.metadata?.name ?? ''));
      }
      return;
    }
    if ((status?.conditions?.length ?? 0) > 0) return;
    const hasPod = [...objects.values()].some(
      (object) =>
        object.kind === 'Pod' &&
        object.metadata?.namespace === namespace &&
        object.metadata.labels?.['batch.kubernetes.io/job-name'] === jobName,
    );
    if (hasPod) return;
    podCounter += 1;
    const pod: FakeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${jobName}-${String(podCounter).padStart(5, '0').slice(-5)}`,
        labels: { ...spec?.template?.metadata?.labels, 'batch.kubernetes.io/job-name': jobName, 'job-name': jobName },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: jobName, uid: job.metadata?.uid ?? '' }],
      },
      spec: clone(spec?.template?.spec),
      status: { phase: 'Pending' },
    };
    if (podRefusal !== null) {
      // Like the Job controller refused by quota or admission: a Warning Event on the Job, no pod.
      const message = `Error creating: pods "${pod.metadata?.name ?? ''}" is forbidden: ${podRefusal}`;
      queueMicrotask(() =>
        seedObject('events', namespace, {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name: `${jobName}.${String(podCounter)}` },
          involvedObject: { kind: 'Job', name: jobName, namespace, uid: job.metadata?.uid ?? '' },
          type: 'Warning',
          reason: 'FailedCreate',
          message,
          count: 1,
          lastTimestamp: new Date(now()).toISOString(),
        }),
      );
      return;
    }
    queueMicrotask(() => {
      if (
        objects.has(key('jobs', namespace, jobName)) &&
        !objects.has(key('pods', namespace, pod.metadata?.name ?? ''))
      )
        seedObject('pods', namespace, pod);
    });
  }

  const ports = {
    async create<T extends FakeObject>(kind: FakeKind, namespace: string, body: T): Promise<T> {
      await yieldToOthers();
      if (kind === 'leases') validateLease(body);
      record('create', kind, namespace, body.metadata?.name ?? null);
      const object = clone(body) as FakeObject;
      const metadata = object.metadata ?? {};
      if (metadata.name === undefined && metadata.generateName !== undefined)
        metadata.name = `${metadata.generateName}${++uidCounter}`;
      const name = metadata.name ?? '';
      if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name))
        throw new FakeStatusError(
          422,
          'Invalid',
          `${kind} "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`,
          'metadata.name',
        );
      if (objects.has(key(kind, namespace, name)))
        throw new FakeStatusError(409, 'AlreadyExists', `${kind} "${name}" already exists`);
      uidCounter += 1;
      metadata.uid = `uid-${uidCounter}`;
      metadata.creationTimestamp = new Date(now()).toISOString();
      object.metadata = metadata;
      return store(kind, namespace, object, 'ADDED') as T;
    },
    async get<T extends FakeObject>(kind: FakeKind, namespace: string, name: string): Promise<T | null> {
      await yieldToOthers();
      record('get', kind, namespace, name);
      const object = objects.get(key(kind, namespace, name));
      return object === undefined ? null : (clone(object) as T);
    },
    async list<T extends FakeObject>(kind: FakeKind, namespace: string, listOptions: FakeListOptions = {}) {
      await yieldToOthers();
      record('list', kind, namespace, null);
      const prefix = `${kind}/${namespace}/`;
      const items = [...objects]
        .filter(([k, o]) => k.startsWith(prefix) && matches(o, listOptions))
        .map(([, o]) => clone(o) as T);
      return { items, resourceVersion: String(revision) };
    },
    async patch<T extends FakeObject>(kind: FakeKind, namespace: string, name: string, patch: object): Promise<T> {
      await yieldToOthers();
      record('patch', kind, namespace, name);
      const existing = objects.get(key(kind, namespace, name));
      if (existing === undefined) throw new FakeStatusError(404, 'NotFound', `${kind} "${name}" not found`);
      // As the apiserver: a patch that names a resourceVersion is a precondition (optimistic concurrency).
      const wanted = (patch as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion;
      if (typeof wanted === 'string' && wanted !== existing.metadata?.resourceVersion)
        throw new FakeStatusError(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${kind} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        );
      return store(kind, namespace, mergePatch(existing, patch) as FakeObject, 'MODIFIED') as T;
    },
    async replace<T extends FakeObject>(kind: FakeKind, namespace: string, name: string, body: T): Promise<T> {
      await yieldToOthers();
      if (kind === 'leases') validateLease(body);
      record('update', kind, namespace, name);
      const existing = objects.get(key(kind, namespace, name));
      if (existing === undefined) throw new FakeStatusError(404, 'NotFound', `${kind} "${name}" not found`);
      const wanted = body.metadata?.resourceVersion;
      if (wanted !== undefined && wanted !== existing.metadata?.resourceVersion)
        throw new FakeStatusError(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${kind} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        );
      const object = clone(body) as FakeObject;
      object.metadata = {
        ...object.metadata,
        uid: existing.metadata?.uid,
        creationTimestamp: existing.metadata?.creationTimestamp,
      };
      return store(kind, namespace, object, 'MODIFIED') as T;
    },
    async delete(
      kind: FakeKind,
      namespace: string,
      name: string,
      deleteOptions: { uid?: string; propagationPolicy?: 'Foreground' | 'Background' | 'Orphan' } = {},
    ): Promise<boolean> {
      await yieldToOthers();
      record('delete', kind, namespace, name);
      const existing = objects.get(key(kind, namespace, name));
      if (existing === undefined) return false;
      if (deleteOptions.uid !== undefined && existing.metadata?.uid !== deleteOptions.uid)
        throw new FakeStatusError(
          409,
          'Conflict',
          `Precondition failed: UID in precondition: ${deleteOptions.uid}, UID in object meta: ${existing.metadata?.uid}`,
        );
      return remove(
        kind,
        namespace,
        name,
        deleteOptions.propagationPolicy ?? (kind === 'jobs' ? 'Orphan' : 'Background'),
      );
    },
    async watch(
      kind: FakeKind,
      namespace: string,
      watchOptions: FakeListOptions & { resourceVersion: string; signal: AbortSignal },
      onEvent: (event: FakeWatchEvent) => void,
    ): Promise<FakeWatchEnd> {
      record('watch', kind, namespace, null);
      const from = Number(watchOptions.resourceVersion);
      if (from < compactedBefore) return { type: 'gone' };
      return new Promise((resolve) => {
        const watcher: Watcher = {
          kind,
          namespace,
          options: watchOptions,
          onEvent,
          end: (end) => {
            watchers.delete(watcher);
            resolve(end);
          },
        };
        for (const entry of history) {
          if (
            entry.rv > from &&
            entry.kind === kind &&
            entry.namespace === namespace &&
            (entry.event.type === 'BOOKMARK' || matches(entry.event.object, watchOptions))
          )
            onEvent(clone(entry.event));
        }
        if (watchOptions.signal.aborted) {
          resolve({ type: 'aborted' });
          return;
        }
        watchOptions.signal.addEventListener('abort', () => watcher.end({ type: 'aborted' }), { once: true });
        watchers.add(watcher);
      });
    },
  };

  return {
    /** Ports with kube-runtime's `KubePorts` shape (errors in ApiException shape). */
    ports,
    /** Every request, in order. */
    requests,
    /** Scripts a failure of the next matching request(s). */
    failNext(fault: FakeFault): void {
      faults.push(fault);
    },
    /** Reads an object without recording a request. */
    peek<T extends object = FakeObject>(kind: FakeKind, namespace: string, name: string): T | undefined {
      const object = objects.get(key(kind, namespace, name));
      return object === undefined ? undefined : (clone(object) as unknown as T);
    },
    /** All objects of a kind in a namespace, without recording a request. */
    all<T extends object = FakeObject>(kind: FakeKind, namespace: string): T[] {
      return [...objects]
        .filter(([k]) => k.startsWith(`${kind}/${namespace}/`))
        .map(([, o]) => clone(o) as unknown as T);
    },
    /** Changes an object as a controller or kubelet would (no request recorded); emits MODIFIED. */
    mutate<T extends object = FakeObject>(
      kind: FakeKind,
      namespace: string,
      name: string,
      change: (object: T) => void,
    ): T {
      const existing = objects.get(key(kind, namespace, name));
      if (existing === undefined) throw new Error(`fake cluster: no ${kind} ${namespace}/${name}`);
      const copy = clone(existing) as unknown as T;
      change(copy);
      return store(kind, namespace, copy as FakeObject, 'MODIFIED') as unknown as T;
    },
    /** Adds an object as a controller would (no request recorded). */
    seed(kind: FakeKind, namespace: string, object: FakeObject): FakeObject {
      return seedObject(kind, namespace, object);
    },
    /** Deletes as someone else would (GC included, no request recorded). */
    externalDelete(
      kind: FakeKind,
      namespace: string,
      name: string,
      propagation: 'Foreground' | 'Background' | 'Orphan' = 'Background',
    ): boolean {
      return remove(kind, namespace, name, propagation);
    },
    /** Ends every open watch as a dropped connection would. */
    dropWatches(): void {
      for (const watcher of [...watchers]) watcher.end({ type: 'closed', error: null });
    },
    /** Forgets history: a watch from an older resourceVersion gets 410 Gone. Also drops open watches. */
    compact(): void {
      // Every resourceVersion handed out so far is now too old; a list after this returns one that can be watched.
      revision += 1;
      compactedBefore = revision;
      history.length = 0;
      for (const watcher of [...watchers]) watcher.end({ type: 'closed', error: null });
    },
    /**
     * The Eviction API (`pods/eviction`), as the apiserver and the Job controller answer it: the pod gets the
     * `DisruptionTarget` condition and is deleted; a Job whose `podFailurePolicy` has a `FailJob` rule on that
     * condition fails with reason `PodFailurePolicy`. Throws a 404 Status error for a missing pod.
     */
    evictPod(namespace: string, name: string): void {
      const pod = objects.get(key('pods', namespace, name));
      if (pod === undefined) throw new FakeStatusError(404, 'NotFound', `pods "${name}" not found`);
      const disrupted = clone(pod);
      const status = (disrupted['status'] ?? {}) as { conditions?: Record<string, unknown>[] };
      status.conditions = [
        ...(status.conditions ?? []),
        {
          type: 'DisruptionTarget',
          status: 'True',
          reason: 'EvictionByEvictionAPI',
          message: 'Eviction API: evicting',
          lastTransitionTime: new Date(now()).toISOString(),
        },
      ];
      disrupted['status'] = status;
      store('pods', namespace, disrupted, 'MODIFIED');
      const owner = disrupted.metadata?.ownerReferences?.find((ref) => ref.kind === 'Job');
      const job = owner === undefined ? undefined : objects.get(key('jobs', namespace, owner.name));
      const rules = ((job?.['spec'] as { podFailurePolicy?: { rules?: unknown[] } } | undefined)?.podFailurePolicy
        ?.rules ?? []) as { action?: string; onPodConditions?: { type?: string }[] }[];
      if (
        job !== undefined &&
        rules.some(
          (rule) =>
            rule.action === 'FailJob' &&
            rule.onPodConditions?.some((condition) => condition.type === 'DisruptionTarget'),
        )
      ) {
        const failed = clone(job);
        const at = new Date(now()).toISOString();
        const message = `Pod ${namespace}/${name} has condition DisruptionTarget matching FailJob rule at index 0`;
        failed['status'] = {
          ...(failed['status'] as object | undefined),
          conditions: [
            { type: 'FailureTarget', status: 'True', reason: 'PodFailurePolicy', message, lastTransitionTime: at },
            { type: 'Failed', status: 'True', reason: 'PodFailurePolicy', message, lastTransitionTime: at },
          ],
        };
        store('jobs', namespace, failed, 'MODIFIED');
      }
      remove('pods', namespace, name);
    },
    /**
     * From now on the Job controller is refused every pod (`null` lifts it), as by an exhausted ResourceQuota or an
     * admission policy: instead of a pod, a Warning `FailedCreate` Event on the Job with this message.
     */
    refusePodCreation(message: string | null): void {
      podRefusal = message;
    },
    /**
     * While held, a deleted pod only gets a deletionTimestamp (its containers are in their grace period) until
     * {@link endPodTermination}; an owner deleted in the foreground waits for it, as on a real cluster.
     */
    holdPodTermination(held: boolean): void {
      terminationHeld = held;
    },
    /** The kubelet's end of a terminating pod: its container exits with `exitCode`, then the pod is removed. */
    endPodTermination(namespace: string, name: string, exitCode = 143): void {
      const pod = objects.get(key('pods', namespace, name));
      if (pod === undefined) throw new Error(`fake cluster: no pods ${namespace}/${name}`);
      const ended = clone(pod);
      const status = (ended['status'] ?? {}) as { containerStatuses?: { state?: unknown }[] };
      ended['status'] = {
        ...status,
        phase: 'Failed',
        containerStatuses: (status.containerStatuses ?? []).map((container) => ({
          ...container,
          state: { terminated: { exitCode, reason: 'Error' } },
        })),
      };
      store('pods', namespace, ended, 'MODIFIED');
      remove('pods', namespace, name, 'Background', true);
    },
    /** Sends a bookmark to open watches of a kind. */
    bookmark(kind: FakeKind): void {
      revision += 1;
      for (const watcher of watchers)
        if (watcher.kind === kind) watcher.onEvent({ type: 'BOOKMARK', resourceVersion: String(revision) });
    },
    get openWatches(): number {
      return watchers.size;
    },
  };
}

export type FakeCluster = ReturnType<typeof createFakeCluster>;

/** Lets other requests interleave, as they would against a real server. */
function yieldToOthers(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Equality-based label selector (`a=b,c!=d,e`) and the field selectors the runtime uses. */
export function matches(object: FakeObject, options: FakeListOptions): boolean {
  for (const term of splitTerms(options.labelSelector)) {
    const labels = object.metadata?.labels ?? {};
    const [k, v, negate] = parseTerm(term);
    if (v === undefined) {
      if (!(k in labels)) return false;
    } else if ((labels[k] === v) === negate) return false;
  }
  for (const term of splitTerms(options.fieldSelector)) {
    const [k, v, negate] = parseTerm(term);
    const actual = k
      .split('.')
      .reduce<unknown>(
        (value, part) =>
          typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[part] : undefined,
        object,
      );
    if ((String(actual) === v) === negate) return false;
  }
  return true;
}

function splitTerms(selector: string | undefined): string[] {
  return selector === undefined || selector === '' ? [] : selector.split(',').map((term) => term.trim());
}

function parseTerm(term: string): [string, string | undefined, boolean] {
  const negated = term.indexOf('!=');
  if (negated !== -1) return [term.slice(0, negated), term.slice(negated + 2), true];
  const index = term.indexOf('=');
  if (index === -1) return [term, undefined, false];
  return [term.slice(0, index), term.slice(index + (term[index + 1] === '=' ? 2 : 1)), false];
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}
