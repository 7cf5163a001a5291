/**
 * The Job and the per-run Secret of a run, as pure functions of their input. No I/O: the same input always gives the
 * same objects, so they are kept as golden files.
 */
import type {
  V1Affinity,
  V1EnvFromSource,
  V1EnvVar,
  V1Job,
  V1PodDNSConfig,
  V1PodSpec,
  V1ResourceRequirements,
  V1Secret,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { InvalidRunInputError } from './kube-runtime-error.ts';
import { applyMergePatch } from './merge-patch.ts';
import { ANNOTATIONS, LABELS, MANAGED_BY, isLabelValue, jobNameFor, labelValue } from './names.ts';

/** A reference to one key of a Secret or ConfigMap. */
export interface KeyRef {
  name: string;
  key: string;
  /** @default false */
  optional?: boolean;
}

/**
 * One environment variable of the container. A secret is only ever a reference: `secretKeyRef`, or `fileKey` (a key of
 * the per-run Secret). A plain `value` lands in the Job object as is, so never put a credential there.
 */
export type RunEnvVar =
  | { name: string; value: string }
  | { name: string; secretKeyRef: KeyRef }
  | { name: string; configMapKeyRef: KeyRef }
  /** A key of {@link JobManifestInput.files} (the per-run Secret). */
  | { name: string; fileKey: string }
  /** Downward API, e.g. `metadata.name`. */
  | { name: string; fieldPath: string };

/** The session volume: a PersistentVolumeClaim (or an emptyDir) mounted as HOME or at a path. */
export interface SessionVolume {
  /** Claim name; `null` = an emptyDir (nothing survives the run). */
  claimName: string | null;
  /** Where it is mounted. */
  mountPath: string;
  /** Sub-directory of the claim to mount (e.g. one per agent). */
  subPath?: string;
  /** Also set `HOME` to `mountPath`. @default true */
  asHome?: boolean;
}

/** Everything that shapes a run's Job. Only ids, image, command and namespace are required. */
export interface JobManifestInput {
  namespace: string;
  /** Caller's run id (any characters): kept raw in an annotation, sanitised in a label, hashed into the name. */
  runId: string;
  agentId: string;
  /**
   * The caller's key of the work this run does (e.g. a task): labelled (sanitised) and annotated (raw), so that a later
   * run of the same agent and key can find and adopt this Job when its follower is gone. `undefined` = none.
   */
  taskKey?: string;
  /**
   * How long the Job may stay orphaned (no process follows it) before the orphan sweep deletes it; annotated on the
   * Job. Seconds. @default the sweep's default
   */
  adoptWithinSeconds?: number;
  /** Identity of the runtime instance that creates it; the sweeper only touches objects with its own value. */
  runtimeId: string;
  image: string;
  /** @default 'IfNotPresent' @see https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#image */
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  imagePullSecrets?: readonly string[];
  /** The container's entrypoint (`command`). */
  command: readonly string[];
  args?: readonly string[];
  workingDir?: string;
  env?: readonly RunEnvVar[];
  /** Whole-Secret/ConfigMap env references (e.g. inherited from the adapter's pod); kept as references. */
  envFrom?: readonly V1EnvFromSource[];
  /**
   * Files of the per-run Secret (key = file name, `[-._a-zA-Z0-9]+`), mounted read-only at {@link filesMountPath}.
   * Any content, up to the Secret limit (1 MiB in total).
   */
  files?: Readonly<Record<string, string | Uint8Array>>;
  /**
   * Relative path under {@link filesMountPath} at which a key of `files` appears, for keys whose path is not the key
   * itself (nested directories such as `skills/.claude/skills/x/SKILL.md`). @default each key at its own name
   */
  filePaths?: Readonly<Record<string, string>>;
  /** Where the per-run Secret is mounted. @default '/run/claude-k8s/files' */
  filesMountPath?: string;
  /** Keys of `files` not to mount as files (used only through `fileKey` env). */
  envOnlyFileKeys?: readonly string[];
  session?: SessionVolume;
  /** @default {} @see https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#resources */
  resources?: V1ResourceRequirements;
  nodeSelector?: Readonly<Record<string, string>>;
  tolerations?: readonly V1Toleration[];
  affinity?: V1Affinity;
  runtimeClassName?: string;
  priorityClassName?: string;
  serviceAccountName?: string;
  /** @default false */
  automountServiceAccountToken?: boolean;
  /** @default false */
  enableServiceLinks?: boolean;
  /** @default false (the local cluster sets it: no CNI) */
  hostNetwork?: boolean;
  dnsPolicy?: string;
  dnsConfig?: V1PodDNSConfig;
  /** uid of the container user. @default 1000 */
  runAsUser?: number;
  /** @default same as runAsUser */
  runAsGroup?: number;
  /** @default same as runAsGroup */
  fsGroup?: number;
  /** @default true */
  readOnlyRootFilesystem?: boolean;
  /** Writable emptyDirs when the root filesystem is read-only. @default ['/tmp'] */
  writablePaths?: readonly string[];
  /**
   * `sizeLimit` of each writable emptyDir (a quantity): the kubelet evicts the pod above it, so a runaway write cannot
   * fill the node's disk. `null` = unbounded. @default '1Gi'
   */
  writableSizeLimit?: string | null;
  volumes?: readonly V1Volume[];
  volumeMounts?: readonly V1VolumeMount[];
  /** Job `activeDeadlineSeconds`; 0 = none. Seconds. @see https://kubernetes.io/docs/concepts/workloads/controllers/job/#job-termination-and-cleanup */
  timeoutSeconds: number;
  /** Pod `terminationGracePeriodSeconds`: how long the CLI gets after SIGTERM. Seconds. @default 30 */
  terminationGracePeriodSeconds?: number;
  /** Safety net: the Job controller deletes the finished Job after this. Seconds. @default 86400 */
  ttlSecondsAfterFinished?: number;
  labels?: Readonly<Record<string, string>>;
  annotations?: Readonly<Record<string, string>>;
  /** Escape hatch: a JSON merge patch applied to the pod spec last. */
  podSpecPatch?: Record<string, unknown>;
  /** Create the Job suspended (the runtime does, and resumes it once the Secret exists). @default true */
  suspend?: boolean;
  /** @default 'agent' */
  containerName?: string;
}

/** Default container name. */
export const DEFAULT_CONTAINER_NAME = 'agent';
/** Default mount path of the per-run Secret. */
export const DEFAULT_FILES_MOUNT_PATH = '/run/claude-k8s/files';
/** Default `sizeLimit` of the writable emptyDirs (`/tmp`). */
const DEFAULT_WRITABLE_SIZE_LIMIT = '1Gi';
/** Maximum total size of a Secret's data (etcd limit as enforced by the apiserver). Bytes. */
export const SECRET_SIZE_LIMIT = 1024 * 1024;

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const RESERVED_LABEL_PREFIXES = [
  'claude-k8s.io/',
  'app.kubernetes.io/managed-by',
  'batch.kubernetes.io/',
  'controller-uid',
  'job-name',
];

/** Builds the Job of a run. Throws {@link InvalidRunInputError} for input that cannot make a valid Job. */
export function buildJobManifest(input: JobManifestInput): V1Job {
  validate(input);
  const jobName = jobNameFor(input.agentId, input.runId);
  const containerName = input.containerName ?? DEFAULT_CONTAINER_NAME;
  const uid = input.runAsUser ?? 1000;
  const gid = input.runAsGroup ?? uid;
  const readOnlyRoot = input.readOnlyRootFilesystem ?? true;
  const labels = runLabels(input);
  const annotations: Record<string, string> = {
    ...input.annotations,
    [ANNOTATIONS.runId]: input.runId,
    [ANNOTATIONS.agentId]: input.agentId,
    ...(input.taskKey === undefined ? {} : { [ANNOTATIONS.taskKey]: input.taskKey }),
    ...(input.adoptWithinSeconds === undefined
      ? {}
      : { [ANNOTATIONS.adoptWithinSeconds]: String(input.adoptWithinSeconds) }),
  };

  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  const fileKeys = Object.keys(input.files ?? {}).sort();
  const envOnly = new Set(input.envOnlyFileKeys ?? []);
  const mountedKeys = fileKeys.filter((key) => !envOnly.has(key));
  if (mountedKeys.length > 0) {
    volumes.push({
      name: 'run-files',
      secret: {
        secretName: jobName,
        defaultMode: 0o440,
        items: mountedKeys.map((key) => ({ key, path: input.filePaths?.[key] ?? key })),
      },
    });
    mounts.push({ name: 'run-files', mountPath: input.filesMountPath ?? DEFAULT_FILES_MOUNT_PATH, readOnly: true });
  }
  if (readOnlyRoot) {
    (input.writablePaths ?? ['/tmp']).forEach((path, index) => {
      const name = `writable-${index}`;
      const sizeLimit = input.writableSizeLimit === undefined ? DEFAULT_WRITABLE_SIZE_LIMIT : input.writableSizeLimit;
      volumes.push({ name, emptyDir: sizeLimit === null ? {} : { sizeLimit } });
      mounts.push({ name, mountPath: path });
    });
  }
  const env: V1EnvVar[] = [];
  if (input.session !== undefined) {
    volumes.push(
      input.session.claimName === null
        ? { name: 'session', emptyDir: {} }
        : { name: 'session', persistentVolumeClaim: { claimName: input.session.claimName } },
    );
    mounts.push({
      name: 'session',
      mountPath: input.session.mountPath,
      ...(input.session.subPath === undefined ? {} : { subPath: input.session.subPath }),
    });
    if (input.session.asHome ?? true) env.push({ name: 'HOME', value: input.session.mountPath });
  }
  volumes.push(...(input.volumes ?? []));
  mounts.push(...(input.volumeMounts ?? []));
  for (const variable of input.env ?? []) env.push(toEnvVar(variable, jobName));

  let podSpec: V1PodSpec = {
    restartPolicy: 'Never',
    // The pause container is PID 1, not the CLI: a PID 1 without its own handler ignores SIGTERM, so a cancel would
    // wait the whole termination grace period.
    shareProcessNamespace: true,
    automountServiceAccountToken: input.automountServiceAccountToken ?? false,
    enableServiceLinks: input.enableServiceLinks ?? false,
    terminationGracePeriodSeconds: input.terminationGracePeriodSeconds ?? 30,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: uid,
      runAsGroup: gid,
      fsGroup: input.fsGroup ?? gid,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [
      {
        name: containerName,
        image: input.image,
        imagePullPolicy: input.imagePullPolicy ?? 'IfNotPresent',
        command: [...input.command],
        ...(input.args === undefined ? {} : { args: [...input.args] }),
        ...(input.workingDir === undefined ? {} : { workingDir: input.workingDir }),
        ...(env.length === 0 ? {} : { env }),
        ...(input.envFrom === undefined || input.envFrom.length === 0 ? {} : { envFrom: [...input.envFrom] }),
        resources: input.resources ?? {},
        securityContext: {
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          privileged: false,
          readOnlyRootFilesystem: readOnlyRoot,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
        ...(mounts.length === 0 ? {} : { volumeMounts: mounts }),
        terminationMessagePolicy: 'FallbackToLogsOnError',
      },
    ],
    ...(volumes.length === 0 ? {} : { volumes }),
    ...(input.imagePullSecrets === undefined || input.imagePullSecrets.length === 0
      ? {}
      : { imagePullSecrets: input.imagePullSecrets.map((name) => ({ name })) }),
    ...(input.nodeSelector === undefined ? {} : { nodeSelector: { ...input.nodeSelector } }),
    ...(input.tolerations === undefined ? {} : { tolerations: [...input.tolerations] }),
    ...(input.affinity === undefined ? {} : { affinity: input.affinity }),
    ...(input.runtimeClassName === undefined ? {} : { runtimeClassName: input.runtimeClassName }),
    ...(input.priorityClassName === undefined ? {} : { priorityClassName: input.priorityClassName }),
    ...(input.serviceAccountName === undefined ? {} : { serviceAccountName: input.serviceAccountName }),
    ...(input.hostNetwork === true ? { hostNetwork: true } : {}),
    ...(input.dnsPolicy === undefined ? {} : { dnsPolicy: input.dnsPolicy }),
    ...(input.dnsConfig === undefined ? {} : { dnsConfig: input.dnsConfig }),
  };
  if (input.podSpecPatch !== undefined) podSpec = applyMergePatch(podSpec, input.podSpecPatch) as V1PodSpec;

  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobName, namespace: input.namespace, labels, annotations },
    spec: {
      suspend: input.suspend ?? true,
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      ...(input.timeoutSeconds > 0 ? { activeDeadlineSeconds: input.timeoutSeconds } : {}),
      ttlSecondsAfterFinished: input.ttlSecondsAfterFinished ?? 86_400,
      podFailurePolicy: {
        rules: [
          // A disruption (eviction, preemption, node loss) fails the Job at once with reason PodFailurePolicy and
          // leaves the pod's DisruptionTarget condition for the classifier; backoffLimit 0 would fail it anyway, but
          // the rule makes the Job condition name the cause.
          { action: 'FailJob', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        ],
      },
      template: {
        // The configured annotations reach the pod too (eviction and sidecar-injection opt-outs are read from pods).
        metadata: { labels, annotations: { ...annotations } },
        spec: podSpec,
      },
    },
  };
}

/** The labels of every object of a run (Job, pod template, Secret). */
export function runLabels(
  input: Pick<JobManifestInput, 'runId' | 'agentId' | 'runtimeId' | 'labels' | 'taskKey'>,
): Record<string, string> {
  return {
    ...input.labels,
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.component]: 'agent-run',
    [LABELS.runId]: labelValue(input.runId),
    [LABELS.agentId]: labelValue(input.agentId),
    [LABELS.runtimeId]: labelValue(input.runtimeId),
    ...(input.taskKey === undefined ? {} : { [LABELS.taskKey]: labelValue(input.taskKey) }),
  };
}

/** The owner of the per-run Secret: the created Job. */
export interface SecretOwner {
  jobName: string;
  jobUid: string;
}

/**
 * The per-run Secret holding `files`, owned by the Job (garbage-collected with it). Throws
 * {@link InvalidRunInputError} beyond {@link SECRET_SIZE_LIMIT}.
 */
export function buildRunSecret(
  input: Pick<JobManifestInput, 'namespace' | 'runId' | 'agentId' | 'runtimeId' | 'labels' | 'files'>,
  owner: SecretOwner,
): V1Secret {
  const data: Record<string, string> = {};
  for (const key of Object.keys(input.files ?? {}).sort()) {
    const content = input.files?.[key] ?? '';
    data[key] = Buffer.from(typeof content === 'string' ? Buffer.from(content, 'utf8') : content).toString('base64');
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    immutable: true,
    metadata: {
      name: owner.jobName,
      namespace: input.namespace,
      labels: runLabels(input),
      annotations: { [ANNOTATIONS.runId]: input.runId, [ANNOTATIONS.agentId]: input.agentId },
      ownerReferences: [
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          name: owner.jobName,
          uid: owner.jobUid,
          controller: false,
          blockOwnerDeletion: false,
        },
      ],
    },
    data,
  };
}

/** Total byte size of the files (what counts against the Secret limit). */
export function filesSize(files: Readonly<Record<string, string | Uint8Array>> | undefined): number {
  let total = 0;
  for (const [key, content] of Object.entries(files ?? {})) {
    total += key.length + (typeof content === 'string' ? Buffer.byteLength(content, 'utf8') : content.byteLength);
  }
  return total;
}

function toEnvVar(variable: RunEnvVar, jobName: string): V1EnvVar {
  if ('value' in variable) return { name: variable.name, value: variable.value };
  if ('secretKeyRef' in variable)
    return { name: variable.name, valueFrom: { secretKeyRef: keyRef(variable.secretKeyRef) } };
  if ('configMapKeyRef' in variable)
    return { name: variable.name, valueFrom: { configMapKeyRef: keyRef(variable.configMapKeyRef) } };
  if ('fileKey' in variable)
    return { name: variable.name, valueFrom: { secretKeyRef: { name: jobName, key: variable.fileKey } } };
  return { name: variable.name, valueFrom: { fieldRef: { fieldPath: variable.fieldPath } } };
}

function keyRef(ref: KeyRef): { name: string; key: string; optional?: boolean } {
  return { name: ref.name, key: ref.key, ...(ref.optional === undefined ? {} : { optional: ref.optional }) };
}

function validate(input: JobManifestInput): void {
  if (input.runId === '') throw new InvalidRunInputError('runId', 'must not be empty');
  if (input.agentId === '') throw new InvalidRunInputError('agentId', 'must not be empty');
  if (input.image === '') throw new InvalidRunInputError('image', 'must not be empty');
  if (input.command.length === 0) throw new InvalidRunInputError('command', 'must not be empty');
  if (!Number.isInteger(input.timeoutSeconds) || input.timeoutSeconds < 0)
    throw new InvalidRunInputError(
      'timeoutSeconds',
      `expected a whole number of seconds >= 0, got ${input.timeoutSeconds}`,
    );
  if (
    input.adoptWithinSeconds !== undefined &&
    (!Number.isInteger(input.adoptWithinSeconds) || input.adoptWithinSeconds < 1)
  )
    throw new InvalidRunInputError(
      'adoptWithinSeconds',
      `expected a whole number of seconds >= 1, got ${input.adoptWithinSeconds}`,
    );
  if (input.taskKey === '') throw new InvalidRunInputError('taskKey', 'must not be empty (leave it out for none)');
  for (const key of Object.keys(input.files ?? {})) {
    if (!SECRET_KEY.test(key) || key === '.' || key === '..')
      throw new InvalidRunInputError(`files.${key}`, 'a file name must match [-._a-zA-Z0-9]+');
  }
  const size = filesSize(input.files);
  if (size > SECRET_SIZE_LIMIT)
    throw new InvalidRunInputError(
      'files',
      `${size} bytes in total exceed the per-run Secret limit of ${SECRET_SIZE_LIMIT} bytes (1 MiB); pass large content through the session volume`,
    );
  const fileKeys = new Set(Object.keys(input.files ?? {}));
  for (const [index, variable] of (input.env ?? []).entries()) {
    if ('fileKey' in variable && !fileKeys.has(variable.fileKey))
      throw new InvalidRunInputError(`env[${index}].fileKey`, `no file ${variable.fileKey} in files`);
  }
  for (const key of Object.keys(input.annotations ?? {})) {
    if (key.startsWith('claude-k8s.io/'))
      throw new InvalidRunInputError(`annotations.${key}`, "this annotation carries the runtime's own state");
  }
  for (const [key, value] of Object.entries(input.labels ?? {})) {
    if (RESERVED_LABEL_PREFIXES.some((prefix) => key.startsWith(prefix)))
      throw new InvalidRunInputError(`labels.${key}`, 'this label is reserved for the runtime');
    if (!isLabelValue(value))
      throw new InvalidRunInputError(`labels.${key}`, `invalid label value ${JSON.stringify(value)}`);
  }
}
