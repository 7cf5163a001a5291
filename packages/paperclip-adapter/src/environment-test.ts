/**
 * `testEnvironment(ctx)`: checks the configuration and, through the {@link EnvironmentProbe} port, the cluster
 * (permissions one by one, the API key Secret, the session volume claim).
 */
import type {
  AdapterEnvironmentCheck,
  AdapterEnvironmentTestContext,
  AdapterEnvironmentTestResult,
  AdapterExecutionContext,
} from '@paperclipai/adapter-utils';
import { buildInvocation } from './build-invocation.ts';
import { resolvePaperclipApiUrl } from './invocation/paperclip-api-url.ts';
import { parseAdapterConfig, type AdapterConfig } from './config-schema.ts';
import { REQUIRED_PERMISSIONS, type RequiredPermission } from './permissions.ts';
import type { RunSpec } from '@claude-k8s/kube-runtime';
import type { Clock, HostFiles, RunAccumulatorLike, RunTarget } from './ports.ts';
import { liveProbeChecks, liveProbeSpec, type LiveProbeRun } from './live-probe.ts';
import { createStreamJsonAccumulator } from './stream-json-accumulator.ts';
import type { RunInvocation } from './build-invocation.ts';
import { errorMessage } from './error-message.ts';
import { resolveWorkspaceVolume, type HostPathSettings } from './host-path-policy.ts';
import {
  checkNamespaceLabels,
  checkOperatorPolicy,
  formatPolicyRefusal,
  resolveOperatorPolicy,
  podDefaults,
  type NamespaceLabels,
  type OperatorPolicy,
  type OperatorPolicySettings,
  type PodDefaults,
  type PolicyRefusal,
} from './operator-policy.ts';

/** What the environment test asks the cluster (implemented over kube-runtime's API clients). */
export interface EnvironmentProbe {
  /** One SelfSubjectAccessReview per permission, in the given namespace. */
  checkPermissions(
    namespace: string,
    permissions: readonly RequiredPermission[],
  ): Promise<{ permission: RequiredPermission; allowed: boolean; reason?: string }[]>;
  /** Whether a Secret exists and has the key (`null` when the check itself failed). */
  secretHasKey(namespace: string, name: string, key: string): Promise<boolean | null>;
  /** Whether a PersistentVolumeClaim exists (`null` when the check itself failed). */
  claimExists(namespace: string, name: string): Promise<boolean | null>;
  /** The apiserver's version; throws when the cluster does not answer. */
  serverVersion?(): Promise<string>;
  /** Whether the namespace exists (`null` when this identity may not read namespaces). */
  namespaceExists?(namespace: string): Promise<boolean | null>;
  /** The namespace's labels (its Pod Security level), `missing`, or `unreadable`. */
  namespaceLabels?(namespace: string): Promise<NamespaceLabels>;
  /**
   * A server-side dry run of the Job (and its pod) kube-runtime would create for `spec` in `target`: admission (Pod
   * Security, quotas, LimitRanges, webhooks) answers without anything being persisted. The problems, `[]` when
   * admitted.
   */
  dryRun?(target: RunTarget, spec: RunSpec): Promise<string[]>;
  /**
   * Starts `spec` as a real Job in `target` (the live probe), waits for its end and returns its container log and
   * outcome; the Job is deleted afterwards.
   */
  liveRun?(target: RunTarget, spec: RunSpec): Promise<LiveProbeRun>;
}

/** Collaborators of {@link createTestEnvironment}. */
export interface EnvironmentTestDependencies {
  getProbe: (config: AdapterConfig) => EnvironmentProbe | null;
  /** Reads instructions and skills on the Paperclip host (to build the sample run of the dry run). */
  hostFiles?: HostFiles;
  clock: Clock;
  serverEnv: Readonly<Record<string, string | undefined>>;
  resolveDefaultNamespace: () => Promise<string>;
  /** Server-side host-path settings (the shared workspace volume). @default {} (the environment's) */
  hostPaths?: HostPathSettings;
  /** The operator's policy (see {@link OperatorPolicySettings}); unset fields: the environment. @default {} */
  policy?: OperatorPolicySettings;
  /** Classifies the live probe's hello request (stream-json). @default the adapter's accumulator */
  createAccumulator?: () => RunAccumulatorLike;
  /** Run id of a live probe's Job. @default a random UUID */
  probeRunId?: () => string;
}

function policyCheck(refusal: PolicyRefusal): AdapterEnvironmentCheck {
  return {
    code: 'claude_k8s_policy_refused',
    level: 'error',
    message: formatPolicyRefusal(refusal),
    hint: 'The operator policy of the Paperclip server bounds agent configurations: change the value, or have the operator widen the named setting.',
  };
}

function describePermission(permission: RequiredPermission): string {
  const resource =
    permission.subresource === undefined ? permission.resource : `${permission.resource}/${permission.subresource}`;
  return `${permission.verb} ${permission.group === '' ? resource : `${resource}.${permission.group}`}`;
}

/** Creates the adapter's `testEnvironment`. */
export function createTestEnvironment(
  dependencies: EnvironmentTestDependencies,
): (ctx: AdapterEnvironmentTestContext) => Promise<AdapterEnvironmentTestResult> {
  return async function testEnvironment(ctx) {
    const checks: AdapterEnvironmentCheck[] = [];
    const finish = (): AdapterEnvironmentTestResult => ({
      adapterType: 'claude_k8s',
      status: checks.some((check) => check.level === 'error')
        ? 'fail'
        : checks.some((check) => check.level === 'warn')
          ? 'warn'
          : 'pass',
      checks,
      testedAt: new Date(dependencies.clock.now()).toISOString(),
    });
    const parsed = parseAdapterConfig(ctx.config);
    for (const warning of parsed.warnings)
      checks.push({ code: 'claude_k8s_config_warning', level: 'warn', message: warning });
    if (!parsed.success) {
      for (const issue of parsed.issues)
        checks.push({
          code: 'claude_k8s_config_invalid',
          level: 'error',
          message: `${issue.path || '(config)'}: ${issue.message}`,
        });
      return finish();
    }
    const config = parsed.value;
    checks.push({ code: 'claude_k8s_config_valid', level: 'info', message: 'configuration is valid' });
    const defaultNamespace = await dependencies.resolveDefaultNamespace();
    const namespace = config.namespace ?? defaultNamespace;
    let policy: OperatorPolicy;
    try {
      policy = resolveOperatorPolicy(dependencies.policy ?? {}, dependencies.serverEnv, defaultNamespace);
    } catch (error) {
      checks.push({
        code: 'claude_k8s_policy_invalid',
        level: 'error',
        message: `the server's operator policy is invalid: ${errorMessage(error)}`,
      });
      return finish();
    }
    const refusals = checkOperatorPolicy(config, policy, namespace);
    for (const refusal of refusals) checks.push(policyCheck(refusal));
    if (refusals.length === 0)
      checks.push({
        code: 'claude_k8s_policy_ok',
        level: 'info',
        message: 'the configuration is within the operator policy',
      });
    const apiUrl = resolvePaperclipApiUrl(config, dependencies.serverEnv);
    if (apiUrl === null)
      checks.push({
        code: 'claude_k8s_paperclip_url_missing',
        level: 'error',
        message: 'no Paperclip URL reachable from pods',
        hint: 'Set paperclipApiUrl (or PAPERCLIP_API_URL of the server) to an address pods can reach.',
      });
    else checks.push({ code: 'claude_k8s_paperclip_url', level: 'info', message: `pods call Paperclip at ${apiUrl}` });
    if (
      config.anthropicApiKeySecret.name === undefined &&
      !('ANTHROPIC_API_KEY' in config.env) &&
      !('CLAUDE_CODE_OAUTH_TOKEN' in config.env)
    ) {
      checks.push({
        code: 'claude_k8s_api_key_missing',
        level: 'warn',
        message: 'no model API credentials configured',
        hint: 'Set anthropicApiKeySecret to a Secret holding ANTHROPIC_API_KEY.',
      });
    }
    if (config.sessionVolume.claimName === undefined)
      checks.push({
        code: 'claude_k8s_no_session_volume',
        level: 'info',
        message: 'no session volume: every run starts a fresh Claude session',
      });
    const workspaceVolume = resolveWorkspaceVolume(dependencies.hostPaths ?? {}, dependencies.serverEnv);
    if (!workspaceVolume.ok)
      checks.push({ code: 'claude_k8s_workspace_volume_invalid', level: 'error', message: workspaceVolume.message });
    else if (workspaceVolume.value === null && config.workspace.mode === 'shared')
      checks.push({
        code: 'claude_k8s_workspace_volume_missing',
        level: 'error',
        message: 'workspace.mode is shared, but the server names no workspace volume',
        hint: 'Set CLAUDE_K8S_WORKSPACE_CLAIM and CLAUDE_K8S_WORKSPACE_ROOT on the Paperclip server (see the guide, "The project workspace in the pod").',
      });
    else if (workspaceVolume.value === null && config.workspace.mode === 'auto')
      checks.push({
        code: 'claude_k8s_no_workspace_volume',
        level: 'info',
        message: "no workspace volume: runs work in the pod's own directory, not in Paperclip's workspace",
      });

    let probe: EnvironmentProbe | null;
    try {
      probe = dependencies.getProbe(config);
    } catch (error) {
      checks.push({
        code: 'claude_k8s_kubeconfig_invalid',
        level: 'error',
        message: `cannot load the cluster credentials: ${errorMessage(error)}`,
        hint: "Set kubeconfig to a readable kubeconfig file inside a directory the operator allow-lists (CLAUDE_K8S_KUBECONFIG_DIR; exec users need CLAUDE_K8S_KUBECONFIG_ALLOW_EXEC=true), or leave it empty to use the server's own credentials.",
      });
      return finish();
    }
    if (probe === null) {
      checks.push({
        code: 'claude_k8s_cluster_unchecked',
        level: 'warn',
        message: 'cluster checks are not available in this build',
      });
      return finish();
    }
    if (probe.serverVersion) {
      try {
        const version = await probe.serverVersion();
        checks.push({
          code: 'claude_k8s_cluster_reachable',
          level: 'info',
          message: `cluster reachable (Kubernetes ${version})`,
        });
      } catch (error) {
        checks.push({
          code: 'claude_k8s_api_unreachable',
          level: 'error',
          message: `the cluster does not answer: ${errorMessage(error)}`,
          hint: 'Check the kubeconfig (server address, credentials) and the network path from the Paperclip server to the apiserver.',
        });
        return finish();
      }
    }
    let exists: boolean | null | undefined;
    if (probe.namespaceLabels) {
      const labels: NamespaceLabels = await probe
        .namespaceLabels(namespace)
        .catch((error: unknown) => ({ state: 'unreadable', reason: errorMessage(error) }) as const);
      const refused = labels.state === 'missing' ? null : checkNamespaceLabels(namespace, labels, policy);
      if (refused !== null) checks.push(policyCheck(refused));
      else if (labels.state === 'found' && policy.requireRestrictedNamespace)
        checks.push({
          code: 'claude_k8s_namespace_restricted',
          level: 'info',
          message: `namespace ${namespace} enforces Pod Security restricted`,
        });
      exists = labels.state === 'unreadable' ? null : labels.state === 'found';
    } else if (probe.namespaceExists) {
      exists = await probe.namespaceExists(namespace).catch(() => null);
    }
    if (exists === false) {
      checks.push({
        code: 'claude_k8s_namespace_missing',
        level: 'error',
        message: `namespace ${namespace} does not exist`,
        hint: `Create it (kubectl create namespace ${namespace}) with the label pod-security.kubernetes.io/enforce=restricted.`,
      });
      return finish();
    }
    if (exists === true)
      checks.push({ code: 'claude_k8s_namespace_exists', level: 'info', message: `namespace ${namespace} exists` });
    try {
      const reviews = await probe.checkPermissions(namespace, REQUIRED_PERMISSIONS);
      const denied = reviews.filter((review) => !review.allowed);
      if (denied.length === 0)
        checks.push({
          code: 'claude_k8s_rbac_ok',
          level: 'info',
          message: `all ${reviews.length} permissions granted in namespace ${namespace}`,
        });
      for (const review of denied) {
        // A permission of one workspace mode: an error for an agent in it, a warning under auto (which may pick it),
        // nothing for the other modes.
        const mode = review.permission.workspaceMode;
        if (mode !== undefined && config.workspace.mode !== mode && config.workspace.mode !== 'auto') continue;
        checks.push({
          code: 'claude_k8s_rbac_denied',
          level: mode !== undefined && config.workspace.mode === 'auto' ? 'warn' : 'error',
          message: `missing permission in ${namespace}: ${describePermission(review.permission)} (needed to ${review.permission.purpose})`,
          detail: review.reason ?? null,
          hint: "Apply deploy/rbac.yaml (or add the verb to the Role bound to Paperclip's service account).",
        });
      }
    } catch (error) {
      checks.push({
        code: 'claude_k8s_api_unreachable',
        level: 'error',
        message: `Kubernetes API not reachable: ${errorMessage(error)}`,
      });
      return finish();
    }
    if (config.anthropicApiKeySecret.name !== undefined) {
      const found = await probe.secretHasKey(
        namespace,
        config.anthropicApiKeySecret.name,
        config.anthropicApiKeySecret.key,
      );
      if (found === false)
        checks.push({
          code: 'claude_k8s_api_key_secret_missing',
          level: 'error',
          message: `Secret ${namespace}/${config.anthropicApiKeySecret.name} with key ${config.anthropicApiKeySecret.key} not found`,
        });
      else if (found === null)
        checks.push({
          code: 'claude_k8s_api_key_secret_unchecked',
          level: 'warn',
          message: 'could not check the API key Secret',
        });
    }
    if (config.sessionVolume.claimName !== undefined) {
      const found = await probe.claimExists(namespace, config.sessionVolume.claimName);
      if (found === false)
        checks.push({
          code: 'claude_k8s_session_claim_missing',
          level: 'error',
          message: `PersistentVolumeClaim ${namespace}/${config.sessionVolume.claimName} not found`,
        });
      else if (found === null)
        checks.push({
          code: 'claude_k8s_session_claim_unchecked',
          level: 'warn',
          message: 'could not check the session volume claim',
        });
    }
    if (workspaceVolume.ok && workspaceVolume.value !== null && config.workspace.mode !== 'none') {
      const { claimName, root } = workspaceVolume.value;
      const found = await probe.claimExists(namespace, claimName);
      if (found === false)
        checks.push({
          code: 'claude_k8s_workspace_claim_missing',
          level: 'error',
          message: `PersistentVolumeClaim ${namespace}/${claimName} (CLAUDE_K8S_WORKSPACE_CLAIM) not found`,
          hint: `Create a claim in ${namespace} for the volume whose root is ${root} on the Paperclip host.`,
        });
      else if (found === null)
        checks.push({
          code: 'claude_k8s_workspace_claim_unchecked',
          level: 'warn',
          message: 'could not check the workspace volume claim',
        });
      else
        checks.push({
          code: 'claude_k8s_workspace_volume',
          level: 'info',
          message: `workspaces under ${root} are mounted from claim ${namespace}/${claimName}`,
        });
    }
    // The sample run, when the apiserver admitted it: the live probe starts its manifest for real.
    const admitted =
      probe.dryRun && dependencies.hostFiles
        ? await dryRunSample(
            probe.dryRun.bind(probe),
            ctx,
            config,
            namespace,
            dependencies,
            checks,
            podDefaults(config, policy),
          )
        : null;
    if (config.liveProbe) {
      const liveRun = probe.liveRun?.bind(probe);
      const available = liveRun !== undefined && probe.dryRun !== undefined && dependencies.hostFiles !== undefined;
      if (available && admitted !== null && !checks.some((check) => check.level === 'error'))
        await runLiveProbe(liveRun, admitted, config, dependencies, checks);
      else
        checks.push({
          code: 'claude_k8s_probe_skipped',
          level: 'warn',
          message: available
            ? 'the live probe did not run: fix the errors above first'
            : 'the live probe is not available in this build',
        });
    }
    return finish();
  };
}

/** Runs the live probe's Job (see live-probe.ts) and adds its checks. */
async function runLiveProbe(
  liveRun: (target: RunTarget, spec: RunSpec) => Promise<LiveProbeRun>,
  sample: RunInvocation,
  config: AdapterConfig,
  dependencies: EnvironmentTestDependencies,
  checks: AdapterEnvironmentCheck[],
): Promise<void> {
  const runId = dependencies.probeRunId?.() ?? `environment-probe-${crypto.randomUUID()}`;
  const spec = liveProbeSpec(sample.launch.spec, config, sample.workspace.cwd, runId);
  let run: LiveProbeRun;
  try {
    run = await liveRun(sample.launch.target, spec);
  } catch (error) {
    checks.push({
      code: 'claude_k8s_probe_not_run',
      level: 'error',
      message: `the live probe's Job could not be run: ${errorMessage(error)}`,
    });
    return;
  }
  checks.push(
    ...liveProbeChecks(run, dependencies.createAccumulator ?? createStreamJsonAccumulator, sample.paperclipApiUrl),
  );
}

/**
 * Builds the run this configuration would start (a sample run id and agent) and has the apiserver dry-run it. The
 * sample invocation when it was admitted, else `null`.
 */
async function dryRunSample(
  dryRun: (target: RunTarget, spec: RunSpec) => Promise<string[]>,
  ctx: AdapterEnvironmentTestContext,
  config: AdapterConfig,
  namespace: string,
  dependencies: EnvironmentTestDependencies,
  checks: AdapterEnvironmentCheck[],
  pod: PodDefaults,
): Promise<RunInvocation | null> {
  const sample = {
    runId: '00000000-0000-4000-8000-000000000000',
    agent: {
      id: 'environment-test',
      companyId: ctx.companyId,
      name: 'environment-test',
      adapterType: 'claude_k8s',
      adapterConfig: ctx.config,
    },
    runtime: { sessionId: null, sessionParams: null, sessionDisplayId: null, taskKey: null },
    config: ctx.config,
    context: {},
    authToken: 'environment-test',
    onLog: () => Promise.resolve(),
  } as unknown as AdapterExecutionContext;
  const built = await buildInvocation(sample, config, {
    hostFiles: dependencies.hostFiles!,
    serverEnv: dependencies.serverEnv,
    defaultNamespace: namespace,
    podDefaults: pod,
  });
  if (!built.success) {
    checks.push({
      code: 'claude_k8s_dry_run_unbuilt',
      level: 'warn',
      message: `no sample Job to dry-run: ${built.message}`,
    });
    return null;
  }
  try {
    const problems = await dryRun(built.value.launch.target, built.value.launch.spec);
    if (problems.length === 0) {
      checks.push({
        code: 'claude_k8s_dry_run_admitted',
        level: 'info',
        message: `a Job of this configuration is admitted in ${namespace} (server-side dry run: Pod Security, quotas, limits)`,
      });
      return built.value;
    } else {
      for (const problem of problems) {
        checks.push({
          code: 'claude_k8s_dry_run_refused',
          level: 'error',
          message: `the apiserver would refuse a Job of this configuration: ${problem}`,
          hint: 'Pod Security, a ResourceQuota, a LimitRange or an admission webhook refused it: adjust resources, podSpecPatch or the namespace policy.',
        });
      }
    }
  } catch (error) {
    checks.push({
      code: 'claude_k8s_dry_run_failed',
      level: 'warn',
      message: `could not dry-run a Job: ${errorMessage(error)}`,
    });
  }
  return null;
}
