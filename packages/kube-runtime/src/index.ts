/**
 * The public surface of kube-runtime: what its consumers use (the adapter, the README example) and the types their
 * signatures name. Building blocks for tests and benchmarks are in `./internal` (no semver promise).
 */
export { VERSION } from './version.ts';
export {
  createKubeRuntime,
  type CreateKubeRuntimeOptions,
  type KubeRuntime,
  type LogFollowTiming,
  type RunFollowOptions,
  type RunHandle,
  type RunSpec,
  type StartRunInput,
} from './create-kube-runtime.ts';
export type { RunEnvVar } from './job-manifest.ts';
export type { OutcomeCode, RunEvent, RunKubeEvent, RunOutcome, RunOutput, RunProgressEvent } from './outcome.ts';
export { decodeLogCheckpoint, type LogCheckpoint } from './log/log-cursor.ts';
export {
  KubeRuntimeError,
  KubeApiError,
  LockHeldError,
  OutputDeliveryError,
  RunCancelledError,
  RunDetachedError,
  RunNotFoundError,
} from './kube-runtime-error.ts';
export {
  PodExecError,
  type PodExecFailure,
  type PodExecInput,
  type PodExecResult,
  type ExecTransport,
  type ExecConnection,
  type ExecStatus,
} from './pod-exec.ts';
export { clearLongTimeout, setLongTimeout, type Clock, type LongTimer } from './clock.ts';
export type { Logger } from './logger.ts';
export { createClusterProbe, type ClusterProbe } from './cluster-probe.ts';
export { KubeconfigRefusedError, loadKubeConfig, type KubeconfigFilePolicy } from './load-kube-config.ts';
export type { AdoptableRun, AdoptionQuery, FollowedRuns, OrphanSweepResult } from './adoption.ts';
