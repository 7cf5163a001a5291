/**
 * `@claude-k8s/kube-runtime/internal`: the runtime's building blocks for this repository's tests, benchmarks and
 * fakes (ports, the log follow on its own, the manifest builder, the classifier). Not covered by semver: use the
 * package's main entry.
 */
export * from './index.ts';
export type { KeyRef, SessionVolume, JobManifestInput, SecretOwner } from './job-manifest.ts';
export {
  buildJobManifest,
  buildRunSecret,
  runLabels,
  filesSize,
  DEFAULT_CONTAINER_NAME,
  DEFAULT_FILES_MOUNT_PATH,
  SECRET_SIZE_LIMIT,
} from './job-manifest.ts';
export {
  classifyJobOutcome,
  jobFinish,
  OUTCOME_HINTS,
  type Classification,
  type ClassifyInput,
} from './job-outcome.ts';
export { OUTCOME_CODES, type RunPhase } from './outcome.ts';
export {
  InvalidRunInputError,
  MissingConfigurationError,
  JobFailedError,
  type KubeTarget,
  type KubeVerb,
} from './kube-runtime-error.ts';
export {
  countRequests,
  KIND_RESOURCE,
  type CountedRequest,
  type DeleteOptions,
  type KubeKind,
  type KubeObject,
  type KubePorts,
  type ListOptions,
  type ListResult,
  type WatchEnd,
  type WatchEvent,
  type WatchOptions,
} from './kube-ports.ts';
export {
  createClientNodePorts,
  withApiErrors,
  type ClientNodePortsOptions,
  type ResilienceOptions,
} from './client-node-ports.ts';
export { systemClock, type TimerHandle } from './clock.ts';
export { silentLogger } from './logger.ts';
export { acquireAgentLock, type AcquireLockOptions, type HeldLock, type LockPolicy } from './agent-lock.ts';
export { DEFAULT_GRACES, type FailureGraces } from './job-watch.ts';
export { DEFAULT_RETENTION, type RetentionPolicy, type SweepResult } from './cleanup.ts';
export { readSelfPod, SERVICE_ACCOUNT_ROOT, type ReadSelfPodOptions, type SelfPod } from './self-pod.ts';
export { jobNameFor, leaseNameFor, labelValue, LABELS, ANNOTATIONS } from './names.ts';
export { followPodLog, type FollowPodLogOptions, type LogFollowEvent, type LogFollowResult } from './log-follow.ts';
export {
  createPodLogSource,
  buildPodLogPath,
  type PodLogSource,
  type PodLogRequest,
  type CreatePodLogSourceOptions,
} from './log/pod-log-source.ts';
export { initialLogCheckpoint } from './log/log-cursor.ts';
export { type AccessAnswer, type AccessQuery, type ClaimStatus } from './cluster-probe.ts';
export { type LoadKubeConfigOptions } from './load-kube-config.ts';
