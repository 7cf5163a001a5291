import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  type KubernetesObject,
  type V1NetworkPolicy,
  type V1NetworkPolicyEgressRule,
} from '@kubernetes/client-node';
import { restrictedNamespace } from '@claude-k8s/local-cluster';

/** What the stack needs in the namespace the agents run in. */
export interface TenantOptions {
  /** A kubeconfig allowed to create the namespace and its RBAC (cluster admin on the local cluster). */
  adminKubeconfig: string;
  namespace: string;
  /** YAML files (ServiceAccount, Role, RoleBinding, NetworkPolicy) applied into the namespace. */
  manifestFiles: readonly string[];
  /**
   * Egress rules added to every NetworkPolicy of the manifests: what an operator adds for a Paperclip or model API
   * outside the cluster (here: this machine's services, through the local cluster's portal).
   */
  networkPolicyEgress?: readonly V1NetworkPolicyEgressRule[];
  /** The ServiceAccount the adapter acts as (from the manifests). */
  serviceAccount: string;
  /** Where to write the adapter's kubeconfig (a ServiceAccount token, not admin credentials). */
  outputDir: string;
  /** Lifetime of the adapter's token, in seconds. @default 86400 */
  tokenSeconds?: number;
  /** The model API key stored in a Secret the agent pods reference (never printed). */
  modelApiKey: string;
  /** Create a host-path PersistentVolume and a claim for sessions (local cluster only): the host directory. */
  sessionHostPath?: string;
}

/** What `prepareTenant` created. */
export interface Tenant {
  namespace: string;
  /** Kubeconfig with the ServiceAccount's token: the adapter's only credentials. */
  kubeconfigPath: string;
  modelApiKeySecret: { name: string; key: string };
  /** The PersistentVolumeClaim for session state, when one was created. */
  sessionClaim?: string;
  /** The host directory behind the session claim (local cluster only). */
  sessionHostPath?: string;
  /** The cluster-scoped objects created for this namespace (its ClusterRole and binding): not deleted with it. */
  clusterObjects: KubernetesObject[];
}

const MODEL_SECRET = { name: 'claude-k8s-model-api-key', key: 'api-key' } as const;

function hasStatus(error: unknown, code: number): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

async function createOrReplace(objects: KubernetesObjectApi, object: KubernetesObject): Promise<void> {
  try {
    await objects.create(object);
  } catch (error) {
    if (!hasStatus(error, 409)) throw error;
    const current = await objects.read({
      apiVersion: object.apiVersion!,
      kind: object.kind!,
      metadata: { name: object.metadata!.name!, namespace: object.metadata?.namespace ?? '' },
    });
    await objects.replace({
      ...object,
      metadata: { ...object.metadata, resourceVersion: current.metadata?.resourceVersion },
    });
  }
}

/**
 * A host-path PersistentVolume over `hostPath` (local cluster only: the node is this machine), reserved for the claim
 * `claimName` of `namespace`, and that claim, bound to it. Kept (`Retain`) when the claim goes.
 */
async function createHostPathVolume(
  objects: KubernetesObjectApi,
  volume: {
    namespace: string;
    volumeName: string;
    claimName: string;
    hostPath: string;
    /** The size both declare, e.g. `10Gi` (a host path is not limited by it). */
    storage: string;
    accessMode: 'ReadWriteOnce' | 'ReadWriteMany';
  },
): Promise<void> {
  const { namespace, volumeName, claimName, storage, accessMode } = volume;
  await createOrReplace(objects, {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: volumeName, labels: { 'app.kubernetes.io/part-of': 'claude-k8s' } },
    spec: {
      capacity: { storage },
      accessModes: [accessMode],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: 'claude-k8s-local',
      hostPath: { path: volume.hostPath, type: 'Directory' },
      claimRef: { namespace, name: claimName },
    },
  } as KubernetesObject);
  await createOrReplace(objects, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: claimName, namespace },
    spec: {
      accessModes: [accessMode],
      storageClassName: 'claude-k8s-local',
      volumeName,
      resources: { requests: { storage } },
    },
  } as KubernetesObject);
}

/** The shared workspace volume of a namespace (local cluster only): a host-path PersistentVolume and its claim. */
export interface WorkspaceVolume {
  claimName: string;
  volumeName: string;
  /** The host directory behind the claim: Paperclip's workspaces live under it, at the same paths in the pods. */
  hostPath: string;
}

/**
 * Create the shared workspace volume for `namespace`: a ReadWriteMany host-path PersistentVolume over `hostPath` (the
 * cluster runs on this machine, so the Paperclip server's paths are the node's) and a claim bound to it.
 */
export async function prepareWorkspaceVolume(options: {
  adminKubeconfig: string;
  namespace: string;
  hostPath: string;
}): Promise<WorkspaceVolume> {
  const admin = new KubeConfig();
  admin.loadFromFile(options.adminKubeconfig);
  const objects = KubernetesObjectApi.makeApiClient(admin);
  const { namespace } = options;
  const volumeName = `claude-k8s-workspaces-${namespace}`;
  const claimName = 'claude-k8s-workspaces';
  await createHostPathVolume(objects, {
    namespace,
    volumeName,
    claimName,
    hostPath: options.hostPath,
    storage: '10Gi',
    accessMode: 'ReadWriteMany',
  });
  return { claimName, volumeName, hostPath: options.hostPath };
}

/**
 * Prepare the namespace the adapter runs Jobs in: Pod Security `restricted`, the deployment RBAC from `deploy/`,
 * a Secret with the model API key, optionally a session volume, and a kubeconfig holding only the adapter
 * ServiceAccount's token.
 */
export async function prepareTenant(options: TenantOptions): Promise<Tenant> {
  const admin = new KubeConfig();
  admin.loadFromFile(options.adminKubeconfig);
  const core = admin.makeApiClient(CoreV1Api);
  const objects = KubernetesObjectApi.makeApiClient(admin);
  const { namespace } = options;

  try {
    await core.createNamespace({ body: restrictedNamespace(namespace, { 'app.kubernetes.io/part-of': 'claude-k8s' }) });
  } catch (error) {
    if (!hasStatus(error, 409)) throw error;
  }

  const clusterObjects: KubernetesObject[] = [];
  for (const file of options.manifestFiles) {
    for (const document of loadAllYaml(await readFile(file, 'utf8')) as KubernetesObject[]) {
      if (!document?.kind) continue;
      const clusterScoped = document.kind === 'ClusterRole' || document.kind === 'ClusterRoleBinding';
      const object: KubernetesObject & {
        subjects?: { kind: string; namespace?: string }[];
        roleRef?: { kind: string; name: string };
        rules?: { resources?: string[]; resourceNames?: string[] }[];
      } = clusterScoped
        ? // One per tenant namespace: the name carries the namespace, and the namespace read is granted for it only.
          { ...document, metadata: { ...document.metadata, name: `${document.metadata?.name ?? ''}-${namespace}` } }
        : { ...document, metadata: { ...document.metadata, namespace } };
      for (const subject of object.subjects ?? []) if (subject.kind === 'ServiceAccount') subject.namespace = namespace;
      if (object.roleRef?.kind === 'ClusterRole')
        object.roleRef = { ...object.roleRef, name: `${object.roleRef.name}-${namespace}` };
      for (const rule of object.rules ?? [])
        if (clusterScoped && rule.resources?.includes('namespaces')) rule.resourceNames = [namespace];
      if (object.kind === 'NetworkPolicy' && options.networkPolicyEgress?.length) {
        const spec = (object as V1NetworkPolicy).spec;
        if (spec) spec.egress = [...(spec.egress ?? []), ...options.networkPolicyEgress];
      }
      await createOrReplace(objects, object);
      if (clusterScoped)
        clusterObjects.push({
          apiVersion: object.apiVersion,
          kind: object.kind,
          metadata: { name: object.metadata?.name },
        });
    }
  }

  await createOrReplace(objects, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: MODEL_SECRET.name, namespace, labels: { 'app.kubernetes.io/part-of': 'claude-k8s' } },
    type: 'Opaque',
    stringData: { [MODEL_SECRET.key]: options.modelApiKey },
  } as KubernetesObject);

  let sessionClaim: string | undefined;
  if (options.sessionHostPath) {
    await mkdir(options.sessionHostPath, { recursive: true });
    await chown(options.sessionHostPath, 1000, 1000);
    // setgid: the per-agent HOME directories the kubelet creates for each pod's subPath (as root) get the group
    // 1000 the agents run with, so they can write their own HOME (volumes with fsGroup support get this from the
    // kubelet; a hostPath volume does not).
    await chmod(options.sessionHostPath, 0o2770);
    const volumeName = `claude-k8s-sessions-${namespace}`;
    sessionClaim = 'claude-k8s-sessions';
    await createHostPathVolume(objects, {
      namespace,
      volumeName,
      claimName: sessionClaim,
      hostPath: options.sessionHostPath,
      storage: '1Gi',
      accessMode: 'ReadWriteOnce',
    });
  }

  const token = await core.createNamespacedServiceAccountToken({
    name: options.serviceAccount,
    namespace,
    body: { spec: { expirationSeconds: options.tokenSeconds ?? 86_400, audiences: [] } },
  });
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error(`${options.adminKubeconfig} has no current cluster`);
  const caData = cluster.caData ?? (cluster.caFile ? (await readFile(cluster.caFile)).toString('base64') : undefined);
  await mkdir(options.outputDir, { recursive: true });
  const kubeconfigPath = join(options.outputDir, `adapter-${namespace}.kubeconfig`);
  const kubeconfig = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: cluster`,
    `  cluster:`,
    `    server: ${cluster.server}`,
    ...(caData ? [`    certificate-authority-data: ${caData}`] : []),
    'users:',
    `- name: ${options.serviceAccount}`,
    `  user:`,
    `    token: ${token.status?.token ?? ''}`,
    'contexts:',
    `- name: adapter`,
    `  context: {cluster: cluster, user: ${options.serviceAccount}, namespace: ${namespace}}`,
    'current-context: adapter',
    '',
  ].join('\n');
  await writeFile(kubeconfigPath, kubeconfig, { mode: 0o600 });
  return {
    namespace,
    kubeconfigPath,
    modelApiKeySecret: { ...MODEL_SECRET },
    clusterObjects,
    ...(sessionClaim ? { sessionClaim } : {}),
    ...(sessionClaim && options.sessionHostPath ? { sessionHostPath: options.sessionHostPath } : {}),
  };
}

/** Delete the cluster-scoped objects `prepareTenant` created (a namespace's deletion leaves them behind). */
export async function removeClusterObjects(
  adminKubeconfig: string,
  clusterObjects: readonly KubernetesObject[],
): Promise<void> {
  const admin = new KubeConfig();
  admin.loadFromFile(adminKubeconfig);
  const objects = KubernetesObjectApi.makeApiClient(admin);
  for (const object of clusterObjects) {
    try {
      await objects.delete(object);
    } catch (error) {
      if (!hasStatus(error, 404)) throw error;
    }
  }
}

/**
 * Delete a test's namespace and the PersistentVolumes reserved for its claims (host-path volumes are `Retain`: the
 * namespace's deletion leaves them `Released` for ever). With `hostRoot`, the host directories of those volumes under
 * it go too (only there: a volume over any other path is the operator's). 404s are fine: cleanup runs after failures.
 */
export async function deleteNamespaceAndVolumes(
  adminKubeconfig: string,
  namespace: string,
  options: { hostRoot?: string } = {},
): Promise<void> {
  const admin = new KubeConfig();
  admin.loadFromFile(adminKubeconfig);
  const core = admin.makeApiClient(CoreV1Api);
  try {
    await core.deleteNamespace({ name: namespace });
  } catch (error) {
    if (!hasStatus(error, 404)) throw error;
  }
  // Every volume reserved for a claim of the namespace (the chart's session volume of `--in-cluster` too).
  const volumes = await core.listPersistentVolume();
  for (const volume of volumes.items) {
    if (volume.spec?.claimRef?.namespace !== namespace) continue;
    try {
      await core.deletePersistentVolume({ name: volume.metadata!.name! });
    } catch (error) {
      if (!hasStatus(error, 404)) throw error;
    }
    const path = volume.spec.hostPath?.path;
    if (options.hostRoot && path && resolve(path).startsWith(`${resolve(options.hostRoot)}${sep}`))
      await rm(resolve(path), { recursive: true, force: true });
  }
}
