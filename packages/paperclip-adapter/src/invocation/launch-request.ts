/**
 * The one place the launch is assembled from the steps' results: kube-runtime's own `RunSpec` (what `startRun` takes
 * besides the callbacks and the abort signal, and what `dryRun` takes), plus the little only the adapter uses. When
 * kube-runtime's input type changes, this function is what changes.
 */
import type { RunEnvVar, RunSpec } from '@claude-k8s/kube-runtime';
import type { AdapterExecutionContext } from '@paperclipai/adapter-utils';
import type { AdapterConfig } from '../config-schema.ts';
import type { RunTarget } from '../ports.ts';
import type { PodDefaults } from '../operator-policy.ts';
import { FILES_MOUNT_PATH, type PodLayout } from './pod-layout.ts';
import type { WorkspacePlan } from './workspace.ts';

/**
 * One file of the per-run Secret as the pipeline's steps list it (in order, with its sensitivity);
 * {@link assembleLaunchRequest} folds the list into kube-runtime's `files`, `filePaths` and `envOnlyFileKeys`.
 */
export interface RunFile {
  /** Key in the Secret's data: `[-._a-zA-Z0-9]+`, unique within the run. */
  key: string;
  /** Path relative to the files' mount path where the file appears; `null` = not mounted (env only). */
  path: string | null;
  /** File content (UTF-8 text or bytes). */
  content: string | Uint8Array;
  /** True when the content is a credential (the run token, env values): never logged, never in `onMeta`. */
  sensitive: boolean;
}

/** One attempt of a run as the adapter launches it: kube-runtime's `RunSpec` and what only the adapter needs. */
export interface RunLaunch {
  /** Passed unchanged to `dryRun`, and to `startRun` with the callbacks and the abort signal. */
  spec: RunSpec;
  /** The cluster the run goes to (picks the kube-runtime instance). */
  target: RunTarget;
  /** 1, or 2 for the fresh-session retry (whose Job has its own run id). */
  attempt: number;
  /** Keys of `spec.files` whose content is a credential: shown by size and key only, never by value. */
  sensitiveFileKeys: string[];
}

/** Input of {@link assembleLaunchRequest}: the run's identity, its config, and the results of the pure steps. */
export interface LaunchRequestInput {
  run: Pick<AdapterExecutionContext, 'runId' | 'agent'> & {
    runtime?: Pick<AdapterExecutionContext['runtime'], 'taskKey'>;
  };
  config: AdapterConfig;
  layout: Pick<PodLayout, 'namespace' | 'home' | 'cwd'>;
  /** 1, or 2 for the fresh-session retry. */
  attempt: number;
  /** The container's full argv. */
  command: string[];
  env: RunEnvVar[];
  files: RunFile[];
  /** The operator policy's resources (defaults under the configured values) and `/tmp` bound; absent: the config's. */
  podDefaults?: PodDefaults;
  /** The workspace stage's volumes, mounts and user; absent = none. */
  workspace?: Pick<WorkspacePlan, 'volumes' | 'volumeMounts' | 'runAs'> & { transfer?: WorkspacePlan['transfer'] };
}

/** The per-run Job's run id of an attempt: the fresh-session retry of a run gets its own Job. */
function runIdOfAttempt(runId: string, attempt: number): string {
  return attempt <= 1 ? runId : `${runId}-attempt-${attempt}`;
}

/** The set entries of a resource list (`undefined` and `''` left out); `undefined` when none is set. */
function resourceList(record: Record<string, string | undefined>): Record<string, string> | undefined {
  const entries = Object.entries(record).filter(
    (entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '',
  );
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}

/** Assembles the launch of one attempt; pod and lifecycle settings are the config's, unchanged. */
export function assembleLaunchRequest(input: LaunchRequestInput): RunLaunch {
  const { run, config, layout, files } = input;
  const requests = input.podDefaults?.resources.requests ?? resourceList(config.resources.requests);
  const limits = input.podDefaults?.resources.limits ?? resourceList(config.resources.limits);
  return {
    spec: {
      runId: runIdOfAttempt(run.runId, input.attempt),
      agentId: run.agent.id,
      // The adoption identity after a restart (docs/decisions/adoption-after-restart.md).
      ...(run.runtime?.taskKey ? { taskKey: run.runtime.taskKey } : {}),
      adoptWithinSeconds: config.adoptWithinSec,
      image: config.image ?? '',
      imagePullPolicy: config.imagePullPolicy,
      imagePullSecrets: config.imagePullSecrets,
      command: input.command,
      env: input.env,
      files: Object.fromEntries(files.map((file) => [file.key, file.content])),
      filePaths: Object.fromEntries(files.flatMap((file) => (file.path === null ? [] : [[file.key, file.path]]))),
      filesMountPath: FILES_MOUNT_PATH,
      envOnlyFileKeys: files.filter((file) => file.path === null).map((file) => file.key),
      session: { ...layout.home, asHome: true },
      ...(input.workspace && input.workspace.volumes.length > 0 ? { volumes: input.workspace.volumes } : {}),
      ...(input.workspace && input.workspace.volumeMounts.length > 0
        ? { volumeMounts: input.workspace.volumeMounts }
        : {}),
      ...(input.workspace?.runAs
        ? { runAsUser: input.workspace.runAs.uid, runAsGroup: input.workspace.runAs.gid }
        : {}),
      ...(requests || limits
        ? { resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) } }
        : {}),
      ...(input.podDefaults ? { writableSizeLimit: input.podDefaults.tmpSizeLimit } : {}),
      nodeSelector: config.nodeSelector,
      tolerations: config.tolerations,
      ...(config.affinity ? { affinity: config.affinity } : {}),
      ...(config.runtimeClassName ? { runtimeClassName: config.runtimeClassName } : {}),
      ...(config.priorityClassName ? { priorityClassName: config.priorityClassName } : {}),
      ...(config.serviceAccountName ? { serviceAccountName: config.serviceAccountName } : {}),
      automountServiceAccountToken: config.automountServiceAccountToken,
      labels: { ...config.labels },
      annotations: config.annotations,
      ...(config.podSpecPatch ? { podSpecPatch: config.podSpecPatch } : {}),
      timeoutSeconds: config.timeoutSec,
      // The transfer mode's entry stays up after claude (also after SIGTERM) until the changes are collected.
      terminationGracePeriodSeconds:
        config.graceSec + (input.workspace?.transfer ? config.workspace.transferCollectSec : 0),
      ttlSecondsAfterFinished: config.ttlSecondsAfterFinished,
      lockPolicy: config.lockPolicy,
      // Only runs that share the working directory (and so the task's session) are serialised.
      lockKey: layout.cwd,
      lockWaitSeconds: config.lockWaitSeconds,
      retention: { ...config.retention },
      graces: {
        unschedulableGraceSeconds: config.unschedulableGraceSec,
        imagePullGraceSeconds: config.imagePullGraceSec,
        podCreateGraceSeconds: config.podCreateGraceSec,
      },
    },
    target: { namespace: layout.namespace, kubeconfigPath: config.kubeconfig ?? null },
    attempt: input.attempt,
    sensitiveFileKeys: files.filter((file) => file.sensitive).map((file) => file.key),
  };
}

/** The per-run Secret's files of a launch as a list in key order of `spec.files` (for the invocation card and tests). */
export function listRunFiles(launch: Pick<RunLaunch, 'spec' | 'sensitiveFileKeys'>): RunFile[] {
  const { spec, sensitiveFileKeys } = launch;
  const envOnly = new Set(spec.envOnlyFileKeys);
  return Object.entries(spec.files ?? {}).map(([key, content]) => ({
    key,
    path: envOnly.has(key) ? null : (spec.filePaths?.[key] ?? key),
    content,
    sensitive: sensitiveFileKeys.includes(key),
  }));
}
