/**
 * The narrow apiserver port kube-runtime talks through. Everything the runtime does is one of these calls, so a
 * counting wrapper gives the exact request count of a run, an in-memory fake gives T1 tests, and the client-node
 * adapter ({@link createClientNodePorts}) gives the real thing.
 */
import type { KubeApiError } from './kube-runtime-error.ts';

/** The kinds the runtime touches. */
export type KubeKind = 'jobs' | 'pods' | 'secrets' | 'events' | 'leases';

/** `group/resource` label of each kind, as used in RBAC and error messages. */
export const KIND_RESOURCE: Readonly<Record<KubeKind, string>> = {
  jobs: 'jobs.batch',
  pods: 'pods',
  secrets: 'secrets',
  events: 'events',
  leases: 'leases.coordination.k8s.io',
};

/** Any Kubernetes object, structurally. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
      blockOwnerDeletion?: boolean;
    }[];
    creationTimestamp?: Date | string;
    deletionTimestamp?: Date | string;
    finalizers?: string[];
  };
}

/** Options of list and watch. */
export interface ListOptions {
  /** Equality-based selector, e.g. `app.kubernetes.io/managed-by=claude-k8s,claude-k8s.io/run=abc`. */
  labelSelector?: string;
  /** E.g. `metadata.name=run-42` or `involvedObject.name=pod-x`. */
  fieldSelector?: string;
}

/** A list result with the collection's resourceVersion (the point to watch from). */
export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

/** Options of delete. */
export interface DeleteOptions {
  /** @default 'Background' for jobs in this runtime. */
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  /** Overrides the pod's grace period. Seconds. */
  gracePeriodSeconds?: number;
  /** Delete only when the object still has this uid (guards against deleting a re-created object). */
  uid?: string;
  /** Delete only when the object is still at this resourceVersion (e.g. a Lease we last wrote). */
  resourceVersion?: string;
}

/** One event of a watch stream. */
export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  /** Carries only `metadata.resourceVersion`: the point to resume from. */
  | { type: 'BOOKMARK'; resourceVersion: string };

/** How a watch stream ended (it never ends by itself with success: the server closed it or it failed). */
export type WatchEnd =
  /** The server closed the stream normally (timeout) or the connection dropped: resume from the last resourceVersion. */
  | { type: 'closed'; error: KubeApiError | null }
  /** 410 Gone (or an ERROR event with code 410): the resourceVersion is too old: relist. */
  | { type: 'gone' }
  /** Another ERROR event or a non-200 response that retrying will not fix. */
  | { type: 'failed'; error: KubeApiError }
  /** The caller aborted it. */
  | { type: 'aborted' };

/** Options of one watch request. */
export interface WatchOptions extends ListOptions {
  /** Start after this resourceVersion (from a list or the last event/bookmark). */
  resourceVersion: string;
  /** Stops the watch; the returned promise then resolves with `aborted`. */
  signal: AbortSignal;
  /** Server-side timeout of this request. Seconds. @default 300 */
  timeoutSeconds?: number;
}

/** The apiserver, reduced to what kube-runtime needs. Errors are always {@link KubeApiError}. */
export interface KubePorts {
  create<T extends KubeObject>(kind: KubeKind, namespace: string, body: T): Promise<T>;
  /** `null` when the object does not exist (404 NotFound). */
  get<T extends KubeObject>(kind: KubeKind, namespace: string, name: string): Promise<T | null>;
  list<T extends KubeObject>(kind: KubeKind, namespace: string, options?: ListOptions): Promise<ListResult<T>>;
  /** JSON merge patch (RFC 7386). */
  patch<T extends KubeObject>(kind: KubeKind, namespace: string, name: string, mergePatch: object): Promise<T>;
  /** Full update; fails with 409 Conflict when `body.metadata.resourceVersion` is stale (optimistic concurrency). */
  replace<T extends KubeObject>(kind: KubeKind, namespace: string, name: string, body: T): Promise<T>;
  /** Resolves `false` when the object was already gone (404). */
  delete(kind: KubeKind, namespace: string, name: string, options?: DeleteOptions): Promise<boolean>;
  /** Streams events to `onEvent` until the stream ends; never rejects (the end says why). */
  watch<T extends KubeObject>(
    kind: KubeKind,
    namespace: string,
    options: WatchOptions,
    onEvent: (event: WatchEvent<T>) => void,
  ): Promise<WatchEnd>;
}

/** A request counted by {@link countRequests}. */
export interface CountedRequest {
  verb: 'create' | 'get' | 'list' | 'patch' | 'update' | 'delete' | 'watch';
  kind: KubeKind;
  name: string | null;
}

/** Wraps ports so that every apiserver request is recorded (for the requests-per-run benchmark and tests). */
export function countRequests(ports: KubePorts): { ports: KubePorts; requests: CountedRequest[] } {
  const requests: CountedRequest[] = [];
  const counted: KubePorts = {
    create: (kind, namespace, body) => {
      requests.push({ verb: 'create', kind, name: body.metadata?.name ?? null });
      return ports.create(kind, namespace, body);
    },
    get: (kind, namespace, name) => {
      requests.push({ verb: 'get', kind, name });
      return ports.get(kind, namespace, name);
    },
    list: (kind, namespace, options) => {
      requests.push({ verb: 'list', kind, name: null });
      return ports.list(kind, namespace, options);
    },
    patch: (kind, namespace, name, patch) => {
      requests.push({ verb: 'patch', kind, name });
      return ports.patch(kind, namespace, name, patch);
    },
    replace: (kind, namespace, name, body) => {
      requests.push({ verb: 'update', kind, name });
      return ports.replace(kind, namespace, name, body);
    },
    delete: (kind, namespace, name, options) => {
      requests.push({ verb: 'delete', kind, name });
      return ports.delete(kind, namespace, name, options);
    },
    watch: (kind, namespace, options, onEvent) => {
      requests.push({ verb: 'watch', kind, name: null });
      return ports.watch(kind, namespace, options, onEvent);
    },
  };
  return { ports: counted, requests };
}
