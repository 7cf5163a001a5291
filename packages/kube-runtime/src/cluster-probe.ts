import {
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  VersionApi,
  type KubeConfig,
  type V1Job,
} from '@kubernetes/client-node';
import { clearLongTimeout, setLongTimeout, type LongTimer } from './clock.ts';
import { errorMessage } from './error-message.ts';

/** One permission to review: `verb` on `group/resource[/subresource]` in a namespace. */
export interface AccessQuery {
  /** API group; `''` is the core group. */
  group: string;
  resource: string;
  subresource?: string;
  verb: string;
}

/** The apiserver's answer to one {@link AccessQuery}. */
export interface AccessAnswer<Query extends AccessQuery = AccessQuery> {
  query: Query;
  allowed: boolean;
  /** The authorizer's reason or the review's evaluation error, when it gave one. */
  reason?: string;
}

/** What a PersistentVolumeClaim looks like to a Job that would mount it. */
export interface ClaimStatus {
  exists: boolean;
  /** `Bound`, `Pending` or `Lost`. */
  phase?: string;
  accessModes?: string[];
  storageClassName?: string;
}

/** Read-only questions about a cluster, for environment checks before any Job is created. */
export interface ClusterProbe {
  /** The apiserver's version (`v1.35.8`); throws when the cluster does not answer within `timeoutMs`. */
  serverVersion(timeoutMs?: number): Promise<string>;
  /** Whether the namespace exists; `null` when this identity may not read namespaces. */
  namespaceExists(namespace: string): Promise<boolean | null>;
  /**
   * The namespace's labels (e.g. its Pod Security level); `'missing'` when it does not exist, `null` when this identity
   * may not read it (`get namespaces`, cluster-scoped).
   */
  namespaceLabels(namespace: string): Promise<Readonly<Record<string, string>> | 'missing' | null>;
  /** One SelfSubjectAccessReview per query (allowed to every authenticated identity by default). */
  reviewAccess<Query extends AccessQuery>(namespace: string, queries: readonly Query[]): Promise<AccessAnswer<Query>[]>;
  /** Whether a Secret exists and has the key; `null` when the check itself failed (e.g. no `get secrets`). */
  secretHasKey(namespace: string, name: string, key: string): Promise<boolean | null>;
  /** The claim's phase and access modes; `null` when the check itself failed. */
  claimStatus(namespace: string, name: string): Promise<ClaimStatus | null>;
  /**
   * Server-side dry runs (`dryRun=All`, nothing is persisted) of creating the Job and of a Pod made from its
   * template: Pod Security admission enforces on Pods only (for a Job it just warns, and the Job controller's pods
   * would then be refused), so both are asked. Resolves with the problems, `[]` when both would be admitted.
   */
  dryRunJob(job: V1Job): Promise<string[]>;
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'number' ? error.code : undefined;
}

function messageOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'body' in error && typeof error.body === 'string') {
    try {
      const status = JSON.parse(error.body) as { message?: unknown };
      if (typeof status.message === 'string') return status.message;
    } catch {
      // not a Status body: fall through to the error's own message
    }
  }
  return errorMessage(error);
}

/** A {@link ClusterProbe} over the given kubeconfig's identity. */
export function createClusterProbe(kubeConfig: KubeConfig): ClusterProbe {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const batch = kubeConfig.makeApiClient(BatchV1Api);
  const authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
  const version = kubeConfig.makeApiClient(VersionApi);
  const namespaceLabels = async (namespace: string): Promise<Record<string, string> | 'missing' | null> => {
    try {
      const found = await core.readNamespace({ name: namespace });
      return { ...found.metadata?.labels };
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return 'missing';
      if (status === 403) return null;
      throw error;
    }
  };
  return {
    async serverVersion(timeoutMs = 10_000) {
      let timer: LongTimer | undefined;
      try {
        const info = await Promise.race([
          version.getCode(),
          new Promise<never>((_, reject) => {
            timer = setLongTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return info.gitVersion;
      } finally {
        clearLongTimeout(timer);
      }
    },
    namespaceLabels,
    async namespaceExists(namespace) {
      const labels = await namespaceLabels(namespace);
      return labels === null ? null : labels !== 'missing';
    },
    async reviewAccess(namespace, queries) {
      return Promise.all(
        queries.map(async (query) => {
          const review = await authorization.createSelfSubjectAccessReview({
            body: {
              spec: {
                resourceAttributes: {
                  namespace,
                  group: query.group,
                  resource: query.resource,
                  ...(query.subresource ? { subresource: query.subresource } : {}),
                  verb: query.verb,
                },
              },
            },
          });
          const reason = review.status?.reason ?? review.status?.evaluationError;
          return { query, allowed: review.status?.allowed === true, ...(reason ? { reason } : {}) };
        }),
      );
    },
    async secretHasKey(namespace, name, key) {
      try {
        const secret = await core.readNamespacedSecret({ name, namespace });
        return Object.hasOwn(secret.data ?? {}, key) || Object.hasOwn(secret.stringData ?? {}, key);
      } catch (error) {
        if (statusOf(error) === 404) return false;
        return null;
      }
    },
    async claimStatus(namespace, name) {
      try {
        const claim = await core.readNamespacedPersistentVolumeClaim({ name, namespace });
        return {
          exists: true,
          ...(claim.status?.phase ? { phase: claim.status.phase } : {}),
          accessModes: claim.status?.accessModes ?? claim.spec?.accessModes ?? [],
          ...(claim.spec?.storageClassName ? { storageClassName: claim.spec.storageClassName } : {}),
        };
      } catch (error) {
        if (statusOf(error) === 404) return { exists: false };
        return null;
      }
    },
    async dryRunJob(job) {
      const namespace = job.metadata?.namespace;
      if (!namespace) return ['the Job has no metadata.namespace'];
      const problems: string[] = [];
      try {
        await batch.createNamespacedJob({ namespace, body: job, dryRun: 'All' });
      } catch (error) {
        problems.push(`job: ${statusOf(error) ?? 'error'}: ${messageOf(error)}`);
      }
      const template = job.spec?.template;
      if (template?.spec) {
        try {
          await core.createNamespacedPod({
            namespace,
            dryRun: 'All',
            body: {
              metadata: { ...template.metadata, generateName: `${job.metadata?.name ?? 'job'}-dry-run-`, namespace },
              spec: template.spec,
            },
          });
        } catch (error) {
          problems.push(`pod: ${statusOf(error) ?? 'error'}: ${messageOf(error)}`);
        }
      }
      return problems;
    },
  };
}
