/**
 * What a run inherits from the pod the runtime itself runs in (the adapter's pod): read through explicit inputs
 * (downward-API env, the service-account directory, the ports), so a test passes a plain env object and a temp dir.
 * Env and envFrom references are kept as references, never resolved.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  V1Affinity,
  V1EnvFromSource,
  V1EnvVar,
  V1Pod,
  V1PodDNSConfig,
  V1Toleration,
} from '@kubernetes/client-node';
import type { KubeObject, KubePorts } from './kube-ports.ts';
import { MissingConfigurationError } from './kube-runtime-error.ts';

/** The inheritable parts of the runtime's own pod. */
export interface SelfPod {
  namespace: string;
  podName: string;
  image: string;
  imagePullSecrets: string[];
  serviceAccountName: string | null;
  dnsPolicy: string | null;
  dnsConfig: V1PodDNSConfig | null;
  /** Claim names of the pod's PersistentVolumeClaim volumes, by volume name. */
  persistentVolumeClaims: Record<string, string>;
  /** Env entries that are references (`valueFrom`); plain values are not inherited. */
  envReferences: V1EnvVar[];
  envFrom: V1EnvFromSource[];
  nodeSelector: Record<string, string>;
  tolerations: V1Toleration[];
  affinity: V1Affinity | null;
}

/** Inputs of {@link readSelfPod}. */
export interface ReadSelfPodOptions {
  /** Environment of the process; reads `POD_NAME` (downward API, else `HOSTNAME`) and `POD_NAMESPACE`. */
  env: Readonly<Record<string, string | undefined>>;
  /** @default '/var/run/secrets/kubernetes.io/serviceaccount' */
  serviceAccountRoot?: string;
  ports: KubePorts;
  /** Name of the runtime's container in its pod. @default the first container */
  containerName?: string;
}

/** Default location of the service-account files in a pod. */
export const SERVICE_ACCOUNT_ROOT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Reads the runtime's own pod. Out of cluster it throws {@link MissingConfigurationError} naming what is missing. */
export async function readSelfPod(options: ReadSelfPodOptions): Promise<SelfPod> {
  const root = options.serviceAccountRoot ?? SERVICE_ACCOUNT_ROOT;
  const podName = options.env['POD_NAME'] ?? options.env['HOSTNAME'];
  let namespace = options.env['POD_NAMESPACE'];
  if (namespace === undefined) {
    namespace = await readFile(join(root, 'namespace'), 'utf8').then(
      (text) => text.trim(),
      () => undefined,
    );
  }
  const missing = [
    ...(podName === undefined ? ['POD_NAME (downward API metadata.name)'] : []),
    ...(namespace === undefined ? [`POD_NAMESPACE or ${join(root, 'namespace')}`] : []),
  ];
  if (podName === undefined || namespace === undefined)
    throw new MissingConfigurationError(missing, "read the runtime's own pod");
  const pod = await options.ports.get<V1Pod & KubeObject>('pods', namespace, podName);
  if (pod === null)
    throw new MissingConfigurationError([`a pod named ${podName} in ${namespace}`], "read the runtime's own pod");
  const container =
    options.containerName === undefined
      ? pod.spec?.containers[0]
      : pod.spec?.containers.find((c) => c.name === options.containerName);
  const persistentVolumeClaims: Record<string, string> = {};
  for (const volume of pod.spec?.volumes ?? []) {
    if (volume.persistentVolumeClaim !== undefined)
      persistentVolumeClaims[volume.name] = volume.persistentVolumeClaim.claimName;
  }
  return {
    namespace,
    podName,
    image: container?.image ?? '',
    imagePullSecrets: (pod.spec?.imagePullSecrets ?? []).flatMap((ref) => (ref.name === undefined ? [] : [ref.name])),
    serviceAccountName: pod.spec?.serviceAccountName ?? null,
    dnsPolicy: pod.spec?.dnsPolicy ?? null,
    dnsConfig: pod.spec?.dnsConfig ?? null,
    persistentVolumeClaims,
    envReferences: (container?.env ?? []).filter((variable) => variable.valueFrom !== undefined),
    envFrom: container?.envFrom ?? [],
    nodeSelector: pod.spec?.nodeSelector ?? {},
    tolerations: pod.spec?.tolerations ?? [],
    affinity: pod.spec?.affinity ?? null,
  };
}
