export { VERSION } from './version.ts';
export {
  createKubeRuntime,
  type CreateKubeRuntimeOptions,
  type KubeRuntime,
  type RunHandle,
  type StartRunInput,
} from './create-kube-runtime.ts';
export {
  buildJobManifest,
  buildRunSecret,
  runLabels,
  filesSize,
  DEFAULT_CONTAINER_NAME,
  DEFAULT_FILES_MOUNT_PATH,
  SECRET_SIZE_LIMIT,
  type JobManifestInput,
  type KeyRef,
  type RunEnvVar,
  type SecretOwner,
  type SessionVolume,
} from './job-manifest.ts';
export { classifyRun, jobFinish, OUTCOME_HINTS, type Classification, type ClassifyInput } from './classify-failure.ts';
export {
  OUTCOME_CODES,
  type OutcomeCode,
  type RunEvent,
  type RunKubeEvent,
  type RunOutcome,
  type RunPhase,
} from './outcome.ts';
export {
  KubeRuntimeError,
  KubeApiError,
  InvalidRunInputError,
  MissingConfigurationError,
  LockHeldError,
  RunNotFoundError,
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
export { systemClock, silentLogger, type Clock, type Logger, type TimerHandle } from './clock.ts';
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
export { initialLogCheckpoint, decodeLogCheckpoint, type LogCheckpoint } from './log/log-cursor.ts';
export {
  createClusterProbe,
  type AccessAnswer,
  type AccessQuery,
  type ClaimStatus,
  type ClusterProbe,
} from './cluster-probe.ts';
export {
  KubeconfigRefusedError,
  loadKubeConfig,
  type KubeconfigFilePolicy,
  type LoadKubeConfigOptions,
} from './load-kube-config.ts';
