/**
 * The one place the launch request is assembled from the steps' results. When the launcher's input type changes,
 * this function is what changes.
 */
import type { AdapterExecutionContext } from '@paperclipai/adapter-utils';
import type { AdapterConfig } from '../config-schema.ts';
import type { EnvVarSpec, RunFile, RunLaunchRequest } from '../ports.ts';
import { FILES_MOUNT_PATH, type PodLayout } from './pod-layout.ts';

/** The launch request without what each attempt adds (attempt number, callbacks, abort signal). */
export type LaunchRequestBody = Omit<RunLaunchRequest, 'onOutput' | 'onProgress' | 'signal' | 'attempt'>;

/** Input of {@link assembleLaunchRequest}: the run's identity, its config, and the results of the pure steps. */
export interface LaunchRequestInput {
  run: Pick<AdapterExecutionContext, 'runId' | 'agent' | 'runtime'>;
  config: AdapterConfig;
  layout: Pick<PodLayout, 'namespace' | 'home'>;
  /** The container's full argv. */
  command: string[];
  env: EnvVarSpec[];
  files: RunFile[];
}

/** Assembles the launch request; pod and lifecycle settings are the config's, unchanged. */
export function assembleLaunchRequest(input: LaunchRequestInput): LaunchRequestBody {
  const { run, config, layout } = input;
  const { requests, limits } = config.resources;
  return {
    runId: run.runId,
    agentId: run.agent.id,
    companyId: run.agent.companyId,
    taskKey: run.runtime.taskKey,
    target: { namespace: layout.namespace, kubeconfigPath: config.kubeconfig ?? null },
    container: {
      image: config.image ?? '',
      imagePullPolicy: config.imagePullPolicy,
      command: input.command,
      env: input.env,
      resources: {
        requests: {
          ...(requests.cpu === undefined ? {} : { cpu: requests.cpu }),
          ...(requests.memory === undefined ? {} : { memory: requests.memory }),
        },
        limits: {
          ...(limits.cpu === undefined ? {} : { cpu: limits.cpu }),
          ...(limits.memory === undefined ? {} : { memory: limits.memory }),
        },
      },
    },
    files: { mountPath: FILES_MOUNT_PATH, entries: input.files },
    home: { ...layout.home },
    pod: {
      serviceAccountName: config.serviceAccountName ?? null,
      automountServiceAccountToken: config.automountServiceAccountToken,
      imagePullSecrets: config.imagePullSecrets,
      nodeSelector: config.nodeSelector,
      tolerations: config.tolerations,
      affinity: config.affinity ?? null,
      runtimeClassName: config.runtimeClassName ?? null,
      priorityClassName: config.priorityClassName ?? null,
      labels: { ...config.labels },
      annotations: config.annotations,
      podSpecPatch: config.podSpecPatch ?? null,
    },
    lifecycle: {
      timeoutSec: config.timeoutSec,
      graceSec: config.graceSec,
      lockPolicy: config.lockPolicy,
      lockWaitSeconds: config.lockWaitSeconds,
      unschedulableGraceSec: config.unschedulableGraceSec,
      imagePullGraceSec: config.imagePullGraceSec,
      retention: { ...config.retention },
      ttlSecondsAfterFinished: config.ttlSecondsAfterFinished,
    },
  };
}
