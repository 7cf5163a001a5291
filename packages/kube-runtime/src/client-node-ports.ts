/**
 * {@link KubePorts} over `@kubernetes/client-node`, plus the boundary that turns client-node's error shapes into
 * {@link KubeApiError} and retries what is safe to retry. Nothing of client-node's error types leaves this file.
 */
import {
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { sleep, type Clock } from './clock.ts';
import {
  KIND_RESOURCE,
  type KubeKind,
  type KubeObject,
  type KubePorts,
  type WatchEnd,
  type WatchEvent,
} from './kube-ports.ts';
import { KubeApiError, KubeRuntimeError, type KubeTarget, type KubeVerb } from './kube-runtime-error.ts';

/** Converts anything thrown by a client (client-node `ApiException`, a fake's look-alike, a network error). */
function toKubeApiError(error: unknown, target: KubeTarget): KubeApiError {
  if (error instanceof KubeApiError) return error;
  const record = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  const code =
    typeof record['code'] === 'number'
      ? record['code']
      : typeof record['statusCode'] === 'number'
        ? record['statusCode']
        : 0;
  const status = parseStatus(record['body']);
  const fallback = code === 0 ? networkMessage(error) : (STATUS_REASONS[code] ?? 'request failed');
  return new KubeApiError(
    target,
    {
      status: code,
      reason: status?.reason ?? (code === 0 ? null : (STATUS_REASONS[code] ?? null)),
      message: status?.message ?? fallback,
      field: status?.field ?? null,
    },
    { cause: code === 0 ? error : undefined },
  );
}

const STATUS_REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  410: 'Gone',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function networkMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: { code?: unknown } }).cause;
    const code = typeof cause?.code === 'string' ? `${cause.code}: ` : '';
    return `${code}${error.message}`;
  }
  return 'request failed';
}

function parseStatus(body: unknown): { reason: string | null; message: string | null; field: string | null } | null {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      const text = String(value);
      return text.trim() === '' ? null : { reason: null, message: text.slice(0, 500), field: null };
    }
  }
  if (typeof value !== 'object' || value === null) return null;
  const record = value as { reason?: unknown; message?: unknown; details?: { causes?: { field?: unknown }[] } };
  const field = record.details?.causes?.find((cause) => typeof cause.field === 'string')?.field;
  return {
    reason: typeof record.reason === 'string' ? record.reason : null,
    message: typeof record.message === 'string' ? record.message : null,
    field: typeof field === 'string' ? field : null,
  };
}

/** Options of {@link withApiErrors}. */
export interface ResilienceOptions {
  clock: Clock;
  /** Retries of a retryable failure (429, 5xx, no response) of a request that is safe to repeat. @default 4 */
  retries?: number;
  /** First backoff; doubled each retry, capped at 10 s. Milliseconds. @default 250 */
  baseDelayMs?: number;
}

/**
 * Wraps raw ports (throwing client-node-shaped errors) into {@link KubePorts}: every error becomes a
 * {@link KubeApiError}, and 429/5xx/network failures are retried with exponential backoff. Every verb the runtime
 * uses is safe to repeat: names are deterministic (a repeated create answers 409 AlreadyExists), patches are merge
 * patches, updates carry a resourceVersion, deletes are idempotent.
 */
export function withApiErrors(raw: KubePorts, options: ResilienceOptions): KubePorts {
  const retries = options.retries ?? 4;
  const base = options.baseDelayMs ?? 250;
  async function call<T>(target: KubeTarget, run: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await run();
      } catch (error) {
        const mapped = toKubeApiError(error, target);
        if (!mapped.retryable || attempt >= retries) throw mapped;
        await sleep(options.clock, Math.min(base * 2 ** attempt, 10_000));
      }
    }
  }
  const t = (verb: KubeVerb, kind: KubeKind, namespace: string, name: string | null): KubeTarget => ({
    verb,
    resource: KIND_RESOURCE[kind],
    namespace,
    name,
  });
  return {
    create: (kind, namespace, body) =>
      call(t('create', kind, namespace, body.metadata?.name ?? null), () => raw.create(kind, namespace, body)),
    get: (kind, namespace, name) => call(t('get', kind, namespace, name), () => raw.get(kind, namespace, name)),
    list: (kind, namespace, listOptions) =>
      call(t('list', kind, namespace, null), () => raw.list(kind, namespace, listOptions)),
    patch: (kind, namespace, name, patch) =>
      call(t('patch', kind, namespace, name), () => raw.patch(kind, namespace, name, patch)),
    replace: (kind, namespace, name, body) =>
      call(t('update', kind, namespace, name), () => raw.replace(kind, namespace, name, body)),
    delete: (kind, namespace, name, deleteOptions) =>
      call(t('delete', kind, namespace, name), () => raw.delete(kind, namespace, name, deleteOptions)),
    watch: async (kind, namespace, watchOptions, onEvent) => {
      try {
        const end = await raw.watch(kind, namespace, watchOptions, onEvent);
        if (end.type === 'failed')
          return { type: 'failed', error: toKubeApiError(end.error, t('watch', kind, namespace, null)) };
        if (end.type === 'closed' && end.error !== null)
          return { type: 'closed', error: toKubeApiError(end.error, t('watch', kind, namespace, null)) };
        return end;
      } catch (error) {
        const mapped = toKubeApiError(error, t('watch', kind, namespace, null));
        return mapped.retryable ? { type: 'closed', error: mapped } : { type: 'failed', error: mapped };
      }
    },
  };
}

const PATHS: Readonly<Record<KubeKind, string>> = {
  jobs: '/apis/batch/v1/namespaces/{ns}/jobs',
  pods: '/api/v1/namespaces/{ns}/pods',
  secrets: '/api/v1/namespaces/{ns}/secrets',
  events: '/api/v1/namespaces/{ns}/events',
  leases: '/apis/coordination.k8s.io/v1/namespaces/{ns}/leases',
};

/** Options of {@link createClientNodePorts}. */
export interface ClientNodePortsOptions {
  kubeConfig: KubeConfig;
  clock: Clock;
  /** See {@link ResilienceOptions.retries}. */
  retries?: number;
}

/** The real {@link KubePorts}: client-node's typed APIs for requests, its `Watch` for NDJSON watch streams. */
export function createClientNodePorts(options: ClientNodePortsOptions): KubePorts {
  const kubeConfig = options.kubeConfig;
  const batch = kubeConfig.makeApiClient(BatchV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  type Any = never;

  const raw: KubePorts = {
    async create(kind, namespace, body) {
      const request = { namespace, body: body as Any };
      switch (kind) {
        case 'jobs':
          return (await batch.createNamespacedJob(request)) as typeof body;
        case 'pods':
          return (await core.createNamespacedPod(request)) as typeof body;
        case 'secrets':
          return (await core.createNamespacedSecret(request)) as typeof body;
        case 'events':
          return (await core.createNamespacedEvent(request)) as unknown as typeof body;
        case 'leases':
          return (await coordination.createNamespacedLease(request)) as typeof body;
      }
    },
    async get<T extends KubeObject>(kind: KubeKind, namespace: string, name: string): Promise<T | null> {
      const request = { namespace, name };
      try {
        switch (kind) {
          case 'jobs':
            return (await batch.readNamespacedJob(request)) as T;
          case 'pods':
            return (await core.readNamespacedPod(request)) as T;
          case 'secrets':
            return (await core.readNamespacedSecret(request)) as T;
          case 'events':
            return (await core.readNamespacedEvent(request)) as unknown as T;
          case 'leases':
            return (await coordination.readNamespacedLease(request)) as T;
        }
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    async list<T extends KubeObject>(
      kind: KubeKind,
      namespace: string,
      listOptions: { labelSelector?: string; fieldSelector?: string } = {},
    ) {
      const request = { namespace, ...listOptions };
      let result: { items: unknown[]; metadata?: { resourceVersion?: string } };
      switch (kind) {
        case 'jobs':
          result = await batch.listNamespacedJob(request);
          break;
        case 'pods':
          result = await core.listNamespacedPod(request);
          break;
        case 'secrets':
          result = await core.listNamespacedSecret(request);
          break;
        case 'events':
          result = await core.listNamespacedEvent(request);
          break;
        case 'leases':
          result = await coordination.listNamespacedLease(request);
          break;
      }
      return { items: result.items as T[], resourceVersion: result.metadata?.resourceVersion ?? '' };
    },
    async patch(kind, namespace, name, patch) {
      const request = { namespace, name, body: patch as Any };
      switch (kind) {
        case 'jobs':
          return (await batch.patchNamespacedJob(request, mergePatch)) as never;
        case 'pods':
          return (await core.patchNamespacedPod(request, mergePatch)) as never;
        case 'secrets':
          return (await core.patchNamespacedSecret(request, mergePatch)) as never;
        case 'events':
          return (await core.patchNamespacedEvent(request, mergePatch)) as never;
        case 'leases':
          return (await coordination.patchNamespacedLease(request, mergePatch)) as never;
      }
    },
    async replace(kind, namespace, name, body) {
      const request = { namespace, name, body: body as Any };
      switch (kind) {
        case 'jobs':
          return (await batch.replaceNamespacedJob(request)) as typeof body;
        case 'pods':
          return (await core.replaceNamespacedPod(request)) as typeof body;
        case 'secrets':
          return (await core.replaceNamespacedSecret(request)) as typeof body;
        case 'events':
          return (await core.replaceNamespacedEvent(request)) as unknown as typeof body;
        case 'leases':
          return (await coordination.replaceNamespacedLease(request)) as typeof body;
      }
    },
    async delete(kind, namespace, name, deleteOptions = {}) {
      // The apiserver ignores query parameters when a DELETE has a body, so every option goes into the body.
      const preconditions =
        deleteOptions.uid === undefined && deleteOptions.resourceVersion === undefined
          ? undefined
          : {
              ...(deleteOptions.uid === undefined ? {} : { uid: deleteOptions.uid }),
              ...(deleteOptions.resourceVersion === undefined || deleteOptions.resourceVersion === ''
                ? {}
                : { resourceVersion: deleteOptions.resourceVersion }),
            };
      const body = {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        ...(deleteOptions.propagationPolicy === undefined
          ? {}
          : { propagationPolicy: deleteOptions.propagationPolicy }),
        ...(deleteOptions.gracePeriodSeconds === undefined
          ? {}
          : { gracePeriodSeconds: deleteOptions.gracePeriodSeconds }),
        ...(preconditions === undefined ? {} : { preconditions }),
      };
      const request = { namespace, name, body };
      try {
        switch (kind) {
          case 'jobs':
            await batch.deleteNamespacedJob(request);
            break;
          case 'pods':
            await core.deleteNamespacedPod(request);
            break;
          case 'secrets':
            await core.deleteNamespacedSecret(request);
            break;
          case 'events':
            await core.deleteNamespacedEvent(request);
            break;
          case 'leases':
            await coordination.deleteNamespacedLease(request);
            break;
        }
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    },
    watch<T extends KubeObject>(
      kind: KubeKind,
      namespace: string,
      watchOptions: Parameters<KubePorts['watch']>[2],
      onEvent: (event: WatchEvent<T>) => void,
    ) {
      return runWatch(kubeConfig, PATHS[kind].replace('{ns}', encodeURIComponent(namespace)), watchOptions, onEvent);
    },
  };
  return withApiErrors(raw, {
    clock: options.clock,
    ...(options.retries === undefined ? {} : { retries: options.retries }),
  });
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 404;
}

async function runWatch<T extends KubeObject>(
  kubeConfig: KubeConfig,
  path: string,
  options: Parameters<KubePorts['watch']>[2],
  onEvent: (event: WatchEvent<T>) => void,
): Promise<WatchEnd> {
  if (options.signal.aborted) return { type: 'aborted' };
  const timeoutSeconds = options.timeoutSeconds ?? 300;
  const watch = new Watch(kubeConfig);
  // client-node aborts a watch after 30 s without data; the apiserver ends ours after timeoutSeconds and sends
  // bookmarks, so the inactivity limit is raised past that (a quiet run must not cost reconnects).
  (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = (timeoutSeconds + 30) * 1000;
  return new Promise<WatchEnd>((resolve) => {
    let settled = false;
    let gone = false;
    let failure: unknown = null;
    const finish = (end: WatchEnd): void => {
      if (settled) return;
      settled = true;
      resolve(end);
    };
    let controller: AbortController | null = null;
    const onAbort = (): void => {
      controller?.abort();
      finish({ type: 'aborted' });
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    watch
      .watch(
        path,
        {
          resourceVersion: options.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
        },
        (type: string, object: unknown) => {
          if (settled) return;
          if (type === 'ERROR') {
            const status = object as { code?: number };
            if (status.code === 410) gone = true;
            else failure = { code: status.code ?? 500, body: object };
            controller?.abort();
            return;
          }
          if (type === 'BOOKMARK') {
            const rv = (object as KubeObject).metadata?.resourceVersion;
            if (rv !== undefined) onEvent({ type: 'BOOKMARK', resourceVersion: rv });
            return;
          }
          if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') onEvent({ type, object: object as T });
        },
        (error: unknown) => {
          options.signal.removeEventListener('abort', onAbort);
          if (options.signal.aborted) return finish({ type: 'aborted' });
          if (gone) return finish({ type: 'gone' });
          const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
          if (statusCode === 410) return finish({ type: 'gone' });
          const problem = failure ?? (typeof statusCode === 'number' ? { code: statusCode } : error);
          if (problem === null || problem === undefined) return finish({ type: 'closed', error: null });
          const code = (problem as { code?: unknown }).code;
          const retryable = typeof code !== 'number' || code === 429 || code >= 500;
          const mapped = toKubeApiError(problem, { verb: 'watch', resource: path, namespace: '', name: null });
          return finish(retryable ? { type: 'closed', error: mapped } : { type: 'failed', error: mapped });
        },
      )
      .then((value) => {
        controller = value;
        if (options.signal.aborted) value.abort();
      })
      .catch((error: unknown) => {
        finish({
          type: 'failed',
          error: new KubeRuntimeError(`watch ${path}: cannot start`, { cause: error }) as KubeApiError,
        });
      });
  });
}
