/**
 * Shared list+watch streams ("informers"): one per resource kind and namespace for all runs of a runtime, instead of a
 * Job watch and a Pod watch per run. Each stream lists the runtime's objects by label, watches from the list's
 * resourceVersion, resumes a dropped stream from the last resourceVersion (bookmarks included), relists on 410 Gone,
 * and retries a failed relist with the watch's backoff. Events fan out to the subscribers of the object's key (the Job
 * name, the pod's run label). Reference-counted: the stream starts with the first subscriber and stops after the last.
 */
import { sleep, type Clock } from './clock.ts';
import type { Logger } from './logger.ts';
import { KIND_RESOURCE, type KubeKind, type KubeObject, type KubePorts } from './kube-ports.ts';
import { KubeApiError } from './kube-runtime-error.ts';

/** What a subscriber of one key receives. */
export interface InformerListener<T> {
  /** An object of the key was added, changed or deleted (in the order the apiserver sent them). */
  onEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T): void;
  /**
   * A list taken after the subscription started: `objects` are all the key's objects that exist now (an object
   * missing from it was deleted while the stream was down).
   */
  onRelist(objects: T[]): void;
  /** The apiserver refused the list or watch for good (e.g. 403): the stream stopped. */
  onFail(error: KubeApiError): void;
}

/** A shared stream of one kind in one namespace. */
export interface SharedInformer<T> {
  /**
   * Receives the key's objects: first those already known (as `ADDED`, when the stream is synced), then every change.
   * Returns the unsubscribe function.
   */
  subscribe(key: string, listener: InformerListener<T>): () => void;
  /**
   * Holds the stream open without a key (e.g. from the start of a run, before its Job exists, so that the list is
   * under way before the run's own requests). Returns the release function.
   */
  retain(): () => void;
}

/** Options of {@link createSharedInformer}. */
export interface SharedInformerOptions<T> {
  ports: KubePorts;
  clock: Clock;
  logger: Logger;
  kind: KubeKind;
  namespace: string;
  /** Label selector of the stream (all runs of the runtime). */
  labelSelector: string;
  /** The key an object is delivered under; `null` = no subscriber can want it. */
  keyOf: (object: T) => string | null;
  /** Server-side timeout of each watch request. Seconds. @default 300 */
  watchTimeoutSeconds?: number;
  /** First retry delay after a dropped watch or a failed list; doubled up to 15 s. Milliseconds. @default 500 */
  initialBackoffMs?: number;
}

interface Subscription<T> {
  listener: InformerListener<T>;
  /** The list generation current when it subscribed: only a later list may report deletions to it. */
  since: number;
}

/** Creates an idle shared stream; the first `subscribe` starts it. */
export function createSharedInformer<T extends KubeObject>(options: SharedInformerOptions<T>): SharedInformer<T> {
  const { ports, clock, logger, kind, namespace } = options;
  const initialBackoff = options.initialBackoffMs ?? 500;
  const subscribers = new Map<string, Set<Subscription<T>>>();
  /** The objects of the stream by key, then by name (the last state seen; deleted ones removed). */
  const cache = new Map<string, Map<string, T>>();
  let count = 0;
  let controller: AbortController | null = null;
  let synced = false;
  /** Incremented when a list request starts. */
  let listGeneration = 0;

  const nameOf = (object: T): string => object.metadata?.name ?? '';
  const remember = (key: string, object: T): void => {
    const objects = cache.get(key) ?? new Map<string, T>();
    objects.set(nameOf(object), object);
    cache.set(key, objects);
  };
  const forget = (key: string, object: T): void => {
    const objects = cache.get(key);
    objects?.delete(nameOf(object));
    if (objects?.size === 0) cache.delete(key);
  };

  /** Why the stream stopped for good; kept (and told to new subscribers) until every holder has let go. */
  let failure: KubeApiError | null = null;

  const failAll = (error: KubeApiError): void => {
    const all = [...subscribers.values()].flatMap((set) => [...set]);
    stop();
    failure = error;
    for (const subscription of all) subscription.listener.onFail(error);
  };

  const stop = (): void => {
    controller?.abort();
    controller = null;
    synced = false;
    cache.clear();
  };

  /**
   * Lists until it succeeds (retryable failures wait with the watch's backoff) and delivers the result; resolves with
   * the list's resourceVersion, `null` when aborted. Rejects on a refusal (e.g. 403).
   */
  const relist = async (signal: AbortSignal): Promise<string | null> => {
    let failures = 0;
    for (;;) {
      if (signal.aborted) return null;
      const generation = ++listGeneration;
      try {
        const list = await ports.list<T>(kind, namespace, { labelSelector: options.labelSelector });
        if (signal.aborted) return null;
        logger.debug('stream listed', { kind, namespace, items: list.items.length, subscribers: count });
        cache.clear();
        for (const object of list.items) {
          const key = options.keyOf(object);
          if (key !== null) remember(key, object);
        }
        synced = true;
        for (const [key, set] of subscribers) {
          for (const subscription of [...set]) {
            const objects = [...(cache.get(key)?.values() ?? [])];
            // A subscriber that came after this list started may know newer objects than it: upsert only.
            if (subscription.since < generation) subscription.listener.onRelist(objects);
            else for (const object of objects) subscription.listener.onEvent('MODIFIED', object);
          }
        }
        return list.resourceVersion;
      } catch (error) {
        if (signal.aborted) return null;
        if (!KubeApiError.isInstance(error) || !error.retryable) throw error;
        failures += 1;
        logger.warn('list failed; retrying', { kind, namespace, error: error.message, failures });
        await sleep(clock, Math.min(initialBackoff * 2 ** (failures - 1), 15_000), signal).catch(() => {});
      }
    }
  };

  const run = async (signal: AbortSignal): Promise<void> => {
    let rv = await relist(signal);
    let failures = 0;
    while (rv !== null && !signal.aborted) {
      const end = await ports.watch<T>(
        kind,
        namespace,
        {
          labelSelector: options.labelSelector,
          resourceVersion: rv,
          signal,
          timeoutSeconds: options.watchTimeoutSeconds ?? 300,
        },
        (event) => {
          if (signal.aborted) return;
          if (event.type === 'BOOKMARK') {
            rv = event.resourceVersion;
            return;
          }
          const object = event.object;
          rv = object.metadata?.resourceVersion ?? rv;
          failures = 0;
          const key = options.keyOf(object);
          if (key === null) return;
          if (event.type === 'DELETED') forget(key, object);
          else remember(key, object);
          for (const subscription of subscribers.get(key) ?? []) subscription.listener.onEvent(event.type, object);
        },
      );
      switch (end.type) {
        case 'aborted':
          return;
        case 'gone':
          logger.debug('watch resourceVersion expired; relisting', { kind, namespace });
          rv = await relist(signal);
          break;
        case 'closed':
          if (end.error !== null) {
            failures += 1;
            logger.debug('watch dropped; resuming', { kind, namespace, error: end.error.message });
            await sleep(clock, Math.min(initialBackoff * 2 ** (failures - 1), 15_000), signal).catch(() => {});
          }
          break;
        case 'failed':
          throw end.error;
      }
    }
  };

  const start = (): void => {
    const own = new AbortController();
    controller = own;
    run(own.signal).catch((error: unknown) => {
      if (controller !== own) return;
      failAll(
        KubeApiError.isInstance(error)
          ? error
          : new KubeApiError(
              { verb: 'watch', resource: KIND_RESOURCE[kind], namespace, name: null },
              { status: 0, reason: null, message: String(error) },
            ),
      );
    });
  };

  const acquire = (): void => {
    count += 1;
    if (count === 1) start();
  };
  const release = (): void => {
    count -= 1;
    if (count > 0) return;
    stop();
    failure = null;
  };

  return {
    retain() {
      acquire();
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        release();
      };
    },
    subscribe(key, listener) {
      const subscription: Subscription<T> = { listener, since: listGeneration };
      const set = subscribers.get(key) ?? new Set();
      set.add(subscription);
      subscribers.set(key, set);
      acquire();
      const failed = failure;
      if (failed !== null) queueMicrotask(() => listener.onFail(failed));
      // A stream that is synced already delivers what it knows; one that is starting delivers its first list.
      else if (synced) for (const object of [...(cache.get(key)?.values() ?? [])]) listener.onEvent('ADDED', object);
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        set.delete(subscription);
        if (set.size === 0 && subscribers.get(key) === set) subscribers.delete(key);
        release();
      };
    },
  };
}
