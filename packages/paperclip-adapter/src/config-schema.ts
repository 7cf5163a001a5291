/**
 * The ONE schema of the adapter configuration (`adapterConfig` of a `claude_k8s` agent). The validator
 * ({@link parseAdapterConfig}), the TypeScript type ({@link AdapterConfig}), Paperclip's form schema
 * ({@link getConfigSchema}) and the markdown doc ({@link agentConfigurationDoc}) are all derived from it.
 */
import type { AdapterConfigSchema, ConfigFieldSchema } from '@paperclipai/adapter-utils';
import {
  boolean,
  custom,
  enumeration,
  listLeaves,
  number,
  object,
  parseObjectNode,
  string,
  type ConfigIssue,
  type InferSchema,
  type ParseContext,
} from './config-field-schema.ts';
import { parseJsonObject, parseStringList } from './form-values.ts';
import { checkHttpUrl, isLoopbackUrl } from './http-url.ts';
import {
  checkDnsLabel,
  checkDnsSubdomain,
  parseEnv,
  parseEnvRefs,
  parseGitCredentialsEnv,
  parseQuantity,
  parseSecretNameList,
  parseStringMap,
  parseTolerations,
  type EnvValue,
  type KeyReference,
  type Toleration,
} from './kubernetes-fields.ts';
import { normalizeLegacyConfig } from './legacy-config.ts';
import { MODELS } from './models.ts';
import { isRecord } from './raw-values.ts';

const RESERVED_LABEL_PREFIXES = ['app.kubernetes.io/', 'paperclip.io/'];
/**
 * Keys under this prefix carry the runtime's own state (`claude-k8s.io/cancel-requested`, `keep-until`, the run
 * labels): a configured label or annotation there is refused, never merged.
 */
const RESERVED_KEY_PREFIX = 'claude-k8s.io/';
const CONTROLLED_CLI_FLAGS = [
  '-p',
  '--print',
  '--output-format',
  '--input-format',
  '--resume',
  '-r',
  '--continue',
  '-c',
  '--verbose',
  '--mcp-config',
  '--strict-mcp-config',
];

function quantity(example: string, label: string, hint: string) {
  return custom<string>({
    label,
    hint,
    group: 'Kubernetes',
    typeLabel: 'Kubernetes quantity',
    formControl: 'text',
    parse: parseQuantity(example),
    see: 'https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/',
  });
}

/** The configuration schema tree. Order = form order. */
export const CONFIG_SCHEMA = object({
  // ---------------------------------------------------------------- Claude Code
  model: string({
    label: 'Model',
    hint: 'Model id passed as --model. Empty: the CLI default. Any id is accepted.',
    group: 'Claude Code',
    ui: 'combobox',
    options: MODELS.map((model) => ({ label: model.label, value: model.id })),
  }),
  effort: enumeration(['low', 'medium', 'high'], {
    label: 'Effort',
    hint: 'Passed as --effort. Empty: the CLI default.',
    group: 'Claude Code',
  }),
  maxTurnsPerRun: number({
    label: 'Max turns per run',
    hint: 'Passed as --max-turns when greater than 0; 0 means no limit. A run that hits it ends with claude_max_turns and a fresh session next time.',
    group: 'Claude Code',
    unit: 'turns',
    min: 0,
    default: 0,
  }),
  dangerouslySkipPermissions: boolean({
    label: 'Skip permission prompts',
    hint: 'Passes --dangerously-skip-permissions. Runs are unattended and the pod runs as a non-root user, so the CLI accepts the flag (as root it needs IS_SANDBOX=1).',
    group: 'Claude Code',
    default: true,
  }),
  instructionsFilePath: string({
    label: 'Instructions file',
    hint: "Path on the Paperclip server of the agent instructions (AGENTS.md); Paperclip fills it for managed bundles. Must lie in the agent's managed instructions folder or a directory the operator allow-lists (CLAUDE_K8S_INSTRUCTIONS_DIRS). Shipped into the pod and passed with --append-system-prompt-file on fresh sessions.",
    group: 'Claude Code',
  }),
  extraArgs: custom<string[]>({
    label: 'Extra CLI arguments',
    hint: 'Appended to the claude command line, one per line (or a JSON array). Flags the adapter controls (--print, --output-format, --resume, --mcp-config, ...) are refused.',
    group: 'Claude Code',
    typeLabel: 'list of strings',
    formControl: 'textarea',
    parse: parseExtraArgs,
    default: [],
  }),
  mcpServers: custom<Record<string, unknown>>({
    label: 'MCP servers',
    hint: 'Extra MCP servers as a JSON object of name → Claude MCP server config (the .mcp.json "mcpServers" shape). Merged with the Paperclip-managed servers of the run.',
    group: 'Claude Code',
    typeLabel: 'JSON object',
    formControl: 'textarea',
    parse: parseMcpServers,
  }),
  env: custom<Record<string, EnvValue>>({
    label: 'Environment',
    hint: 'Extra environment of the claude container: KEY=value lines or a JSON object of strings or Paperclip bindings (plain, secret_ref and user_secret_ref, which Paperclip resolves before the run). Values travel in the per-run Secret, never in the Job object. Kubernetes Secret and ConfigMap references go in envRefs.',
    group: 'Claude Code',
    typeLabel: 'environment map',
    formControl: 'textarea',
    parse: parseEnv,
    default: {},
  }),
  envRefs: custom<Record<string, Exclude<EnvValue, { value: string }>>>({
    label: 'Environment from Secrets and ConfigMaps',
    hint: 'Environment of the claude container read by Kubernetes from the Job namespace: a JSON object of name → {"secretKeyRef": {"name", "key", "optional"?}} or {"configMapKeyRef": {...}}. The values never pass through Paperclip. A name may not also be in env.',
    group: 'Claude Code',
    typeLabel: 'JSON object',
    formControl: 'textarea',
    parse: parseEnvRefs,
    default: {},
  }),
  // ---------------------------------------------------------------- Budget
  budget: object({
    usdPerRun: number({
      label: 'Dollar limit per run',
      hint: 'Stops the run (budget_exceeded, session kept) once its tokens cost this much at list price; also passed as --max-budget-usd on fresh sessions with API-key billing. Ignored for subscription (OAuth) billing, where dollars mean nothing: use the token limit there. 0 = no limit.',
      group: 'Budget',
      unit: 'US dollars',
      integer: false,
      min: 0,
      default: 0,
    }),
    tokensPerRun: number({
      label: 'Token limit per run',
      hint: 'Stops the run (budget_exceeded, session kept) once input (uncached + cache writes) plus output tokens reach this; cache reads are not counted. Works with any billing. 0 = no limit.',
      group: 'Budget',
      unit: 'tokens',
      min: 0,
      default: 0,
    }),
    turnsPerRun: number({
      label: 'Turn limit per run',
      hint: 'Stops the run (budget_exceeded, session kept) after this many main-agent model calls. Unlike maxTurnsPerRun (the CLI flag) the session is kept. 0 = no limit.',
      group: 'Budget',
      unit: 'turns',
      min: 0,
      default: 0,
    }),
    paperclipMonthly: boolean({
      label: "Stop at Paperclip's monthly budget",
      hint: "Before each run, read the agent's and the company's remaining monthly budget in Paperclip with the run's own token (GET /api/companies/:id/budgets/overview) and use the lower one as the run's dollar limit when it is below usdPerRun. API-key billing only; if the budget cannot be read, the run keeps its own limits and says so.",
      group: 'Budget',
      default: false,
    }),
  }),
  // ---------------------------------------------------------------- Prompt
  promptTemplate: string({
    label: 'Prompt template',
    hint: 'Rendered into every prompt; {{agent.id}}, {{agent.name}}, {{agentId}}, {{companyId}}, {{runId}}, {{run.id}}, {{context.*}} are replaced. Empty: the built-in template.',
    group: 'Prompt',
    ui: 'textarea',
  }),
  bootstrapPromptTemplate: string({
    label: 'Bootstrap prompt template',
    hint: 'Rendered at the start of the prompt on fresh sessions only (same variables as the prompt template).',
    group: 'Prompt',
    ui: 'textarea',
  }),
  cwd: string({
    label: 'Working directory',
    hint: 'Absolute path inside the pod. Empty: <HOME>/workspaces/<agent id>/<task key> (<HOME>/workspaces/<agent id> for a run without a task), so runs on different tasks work side by side. A set cwd is shared by all runs of the agent: they are serialised by lockPolicy. Paths of the Paperclip host are not used: the pod has its own filesystem. A run whose Paperclip workspace is mounted (workspace.mode shared) works in that workspace instead.',
    group: 'Prompt',
    check: checkAbsolutePath,
  }),
  workspace: object({
    mode: enumeration(['auto', 'shared', 'transfer', 'none'], {
      label: 'Workspace in the pod',
      hint: "How the workspace Paperclip prepared for the run (project checkout, issue worktree) reaches the pod. shared: the pod mounts the run's workspace from the operator's workspace volume (CLAUDE_K8S_WORKSPACE_CLAIM / CLAUDE_K8S_WORKSPACE_ROOT) at the server's path and works in place; transfer: no shared storage, the workspace (a git repository, or a directory that is not one) is copied into the pod through the Kubernetes API (pods/exec) before claude starts and the agent's commits and changes come back the same way when it ends (what conflicts with changes made on the server meanwhile is kept, as git refs or for a directory under .claude-k8s/conflicts, never overwritten); none: the pod starts in its own directory (cwd); auto: shared when the run has a workspace on that volume, else transfer when no volume is configured (the agent's fallback home only when it is a git repository), else none.",
      group: 'Prompt',
      default: 'auto',
    }),
    transferMaxInMiB: number({
      label: 'Transfer: most bytes in',
      hint: "transfer mode: the most the workspace may weigh going into the pod (the git history of HEAD and the working tree's changes, as archives); a larger workspace fails the run before claude starts.",
      group: 'Prompt',
      unit: 'MiB',
      min: 1,
      max: 16_384,
      default: 1_024,
    }),
    transferMaxOutMiB: number({
      label: 'Transfer: most bytes back',
      hint: "transfer mode: the most the agent's changes may weigh coming back (a git bundle of its commits and its working tree, relative to what went in); past it nothing is applied and the run names the failure.",
      group: 'Prompt',
      unit: 'MiB',
      min: 1,
      max: 16_384,
      default: 256,
    }),
    transferCollectSec: number({
      label: 'Transfer: collection window',
      hint: "transfer mode: how long the adapter waits for the collection after claude ended (also after a cancel or timeout: the pod's grace period is extended by it). With no collector (Paperclip restarting), the pod keeps the changes for the run that adopts its Job up to the larger of this and adoptWithinSec.",
      group: 'Prompt',
      unit: 'seconds',
      min: 10,
      max: 3_600,
      default: 180,
    }),
    gitCredentialsEnv: custom<Record<string, { secretKeyRef: KeyReference }>>({
      label: 'Git credentials (Secret references)',
      hint: 'Environment for the agent\'s own git fetch and push in the pod (e.g. GIT_TOKEN, GH_TOKEN): a JSON object of name → {"secretKeyRef": {"name", "key"}}, read by Kubernetes from a Secret the operator allows (CLAUDE_K8S_ALLOWED_SECRETS). Plain values are refused. A name may not also be in env or envRefs.',
      group: 'Prompt',
      typeLabel: 'JSON object',
      formControl: 'textarea',
      parse: parseGitCredentialsEnv,
      default: {},
    }),
  }),
  // ---------------------------------------------------------------- Kubernetes
  namespace: string({
    label: 'Namespace',
    hint: "Namespace of the Jobs and their Secrets; must be one the operator allows (CLAUDE_K8S_ALLOWED_NAMESPACES) and enforce Pod Security restricted. Empty: the operator's default (CLAUDE_K8S_DEFAULT_NAMESPACE, else the first allowed namespace, else the namespace Paperclip runs in).",
    group: 'Kubernetes',
    check: checkDnsLabel,
    see: 'https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/object-meta/#ObjectMeta',
  }),
  kubeconfig: string({
    label: 'Kubeconfig path',
    hint: "Path on the Paperclip server of a kubeconfig file, inside a directory the operator allow-lists (CLAUDE_K8S_KUBECONFIG_DIR); exec and auth-provider users are refused unless the operator enables them. Empty: the server's own credentials (KUBECONFIG, else the in-cluster service account).",
    group: 'Kubernetes',
  }),
  image: string({
    label: 'Image',
    hint: 'Container image with the claude CLI, running as a non-root user.',
    group: 'Kubernetes',
    required: true,
    see: 'https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#Container',
  }),
  imagePullPolicy: enumeration(['IfNotPresent', 'Always', 'Never'], {
    label: 'Image pull policy',
    hint: 'imagePullPolicy of the claude container.',
    group: 'Kubernetes',
    default: 'IfNotPresent',
  }),
  imagePullSecrets: custom<string[]>({
    label: 'Image pull Secrets',
    hint: 'Names of Secrets (in the Job namespace) used to pull the image, one per line.',
    group: 'Kubernetes',
    typeLabel: 'list of Secret names',
    formControl: 'textarea',
    parse: parseSecretNameList,
    default: [],
  }),
  serviceAccountName: string({
    label: 'Service account',
    hint: "serviceAccountName of the agent pod; any other than default must be allowed by the operator (CLAUDE_K8S_ALLOWED_SERVICE_ACCOUNTS). Empty: the namespace's default service account.",
    group: 'Kubernetes',
    check: checkDnsSubdomain,
  }),
  automountServiceAccountToken: boolean({
    label: 'Mount service account token',
    hint: 'Mount a Kubernetes API token into the agent pod; only for a service account the operator allows (CLAUDE_K8S_ALLOWED_SERVICE_ACCOUNTS). Off by default: the agent does not need the Kubernetes API.',
    group: 'Kubernetes',
    default: false,
  }),
  resources: object({
    requests: object({
      cpu: quantity(
        '500m',
        'CPU request',
        "CPU the pod is guaranteed, e.g. 500m or 1. Empty: the operator's default (CLAUDE_K8S_DEFAULT_REQUESTS, 250m); at most CLAUDE_K8S_MAX_RESOURCES.",
      ),
      memory: quantity(
        '512Mi',
        'Memory request',
        "Memory the pod is guaranteed, e.g. 1Gi. Empty: the operator's default (CLAUDE_K8S_DEFAULT_REQUESTS, 512Mi); at most CLAUDE_K8S_MAX_RESOURCES.",
      ),
    }),
    limits: object({
      cpu: quantity(
        '500m',
        'CPU limit',
        "CPU limit, e.g. 2. Empty: the operator's default (CLAUDE_K8S_DEFAULT_LIMITS, none); at most CLAUDE_K8S_MAX_RESOURCES.",
      ),
      memory: quantity(
        '512Mi',
        'Memory limit',
        "Memory limit, e.g. 4Gi; the container is OOM-killed above it. Empty: the operator's default (CLAUDE_K8S_DEFAULT_LIMITS, 4Gi), raised to the request when that is higher; at most CLAUDE_K8S_MAX_RESOURCES.",
      ),
    }),
  }),
  labels: custom<Record<string, string>>({
    label: 'Labels',
    hint: 'Extra labels of the Job and pod: key=value lines or a JSON object. Keys under app.kubernetes.io/ and paperclip.io/ are reserved and dropped; keys under claude-k8s.io/ are refused.',
    group: 'Kubernetes',
    typeLabel: 'map of strings',
    formControl: 'textarea',
    parse: parseStringMap('labels'),
    default: {},
  }),
  annotations: custom<Record<string, string>>({
    label: 'Annotations',
    hint: 'Extra annotations of the Job and its pod (e.g. cluster-autoscaler.kubernetes.io/safe-to-evict=false, or a sidecar-injection opt-out): key=value lines or a JSON object. Keys under claude-k8s.io/ are reserved for the runtime and refused.',
    group: 'Kubernetes',
    typeLabel: 'map of strings',
    formControl: 'textarea',
    parse: parseStringMap('annotations'),
    default: {},
  }),
  podSpecPatch: custom<Record<string, unknown>>({
    label: 'Pod spec patch',
    hint: 'A JSON merge patch (RFC 7386) applied to the generated pod spec last. Only the top-level fields the operator allows (CLAUDE_K8S_ALLOWED_POD_SPEC_PATCH_FIELDS; default nodeSelector, tolerations, affinity, topologySpreadConstraints, priorityClassName, runtimeClassName); containers, volumes, service accounts, host namespaces and securityContext never.',
    group: 'Kubernetes',
    typeLabel: 'JSON object',
    formControl: 'textarea',
    parse: parseJsonObject('a pod spec patch'),
  }),
  // ---------------------------------------------------------------- Scheduling
  nodeSelector: custom<Record<string, string>>({
    label: 'Node selector',
    hint: 'key=value lines or a JSON object.',
    group: 'Scheduling',
    typeLabel: 'map of strings',
    formControl: 'textarea',
    parse: parseStringMap('node-selector'),
    default: {},
    see: 'https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#scheduling',
  }),
  tolerations: custom<Toleration[]>({
    label: 'Tolerations',
    hint: 'JSON array of tolerations, e.g. [{"key":"agents","operator":"Exists","effect":"NoSchedule"}].',
    group: 'Scheduling',
    typeLabel: 'JSON array',
    formControl: 'textarea',
    parse: parseTolerations,
    default: [],
    see: 'https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#scheduling',
  }),
  affinity: custom<Record<string, unknown>>({
    label: 'Affinity',
    hint: 'JSON object with nodeAffinity, podAffinity and/or podAntiAffinity.',
    group: 'Scheduling',
    typeLabel: 'JSON object',
    formControl: 'textarea',
    parse: parseJsonObject('an affinity', ['nodeAffinity', 'podAffinity', 'podAntiAffinity']),
  }),
  runtimeClassName: string({
    label: 'Runtime class',
    hint: 'runtimeClassName of the pod (e.g. gvisor, kata).',
    group: 'Scheduling',
    check: checkDnsSubdomain,
  }),
  priorityClassName: string({
    label: 'Priority class',
    hint: 'priorityClassName of the pod.',
    group: 'Scheduling',
    check: checkDnsSubdomain,
  }),
  // ---------------------------------------------------------------- Session & lifecycle
  sessionVolume: object({
    claimName: string({
      label: 'Session volume claim',
      hint: 'PersistentVolumeClaim that keeps HOME (Claude sessions under ~/.claude) between runs; needed to resume sessions. Empty: every run starts a fresh session.',
      group: 'Session & lifecycle',
      check: checkDnsSubdomain,
    }),
    mountAs: string({
      label: 'Session volume mount',
      hint: '"home" mounts the claim as the agent HOME (/home/agent); an absolute path mounts it there and makes that path HOME.',
      group: 'Session & lifecycle',
      check: (value) => (value === 'home' ? null : checkAbsolutePath(value)),
      default: 'home',
    }),
  }),
  timeoutSec: number({
    label: 'Timeout',
    hint: 'Run time limit, enforced as the Job activeDeadlineSeconds; 0 means no limit. A run that hits it ends as timed out. Default 4 hours; raise it for longer tasks (at most 30 days).',
    group: 'Session & lifecycle',
    unit: 'seconds',
    min: 0,
    max: 2_592_000,
    default: 14_400,
    see: 'https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/job-v1/#JobSpec',
  }),
  graceSec: number({
    label: 'Grace period',
    hint: 'Time claude gets between SIGTERM and SIGKILL on cancel or timeout (terminationGracePeriodSeconds); the adapter waits this long past the deadline too.',
    group: 'Session & lifecycle',
    unit: 'seconds',
    min: 0,
    max: 3_600,
    default: 30,
  }),
  resultGraceSec: number({
    label: 'Exit grace after the result',
    hint: "How long claude may keep running after it printed its final result (e.g. a hook or a background task holding it open). Then the Job is deleted and the run ends with that result, not as a timeout; resultJson.unmanagedBackgroundTask records the stop, as with claude_local's terminalResultCleanupGraceMs.",
    group: 'Session & lifecycle',
    unit: 'seconds',
    min: 0,
    max: 300,
    default: 5,
  }),
  lockPolicy: enumeration(['wait', 'adopt', 'reject'], {
    label: 'When a Job of this agent is still running',
    hint: 'Runs of one agent on different tasks run side by side, each in its own working directory; this decides what happens to a run whose working directory (and so session) a running Job of the agent already uses. wait: queue behind it (up to lock wait); adopt: take over a leftover Job of the same run; reject: fail the run at once.',
    group: 'Session & lifecycle',
    default: 'wait',
  }),
  lockWaitSeconds: number({
    label: 'Lock wait',
    hint: 'How long the wait policy queues before failing with k8s_lock_timeout.',
    group: 'Session & lifecycle',
    unit: 'seconds',
    min: 0,
    max: 86_400,
    default: 600,
  }),
  adoptWithinSec: number({
    label: 'Adopt orphaned Jobs within',
    hint: 'After a Paperclip restart or crash, the next run of the same task (or of the agent, for runs without a task) adopts the Job nobody follows any more: it streams its transcript and takes over its result and session. A Job nobody adopts within this time is deleted by the adapter (at start-up and every few minutes) and its lock freed.',
    group: 'Session & lifecycle',
    unit: 'seconds',
    min: 60,
    max: 604_800,
    default: 3_600,
  }),
  unschedulableGraceSec: number({
    label: 'Unschedulable grace',
    hint: 'How long a pod may stay unschedulable (e.g. while a cluster autoscaler adds a node) before the run fails with k8s_unschedulable.',
    group: 'Session & lifecycle',
    unit: 'seconds',
    min: 0,
    max: 86_400,
    default: 300,
  }),
  imagePullGraceSec: number({
    label: 'Image pull grace',
    hint: 'How long image pull errors (ErrImagePull, ImagePullBackOff) are tolerated before the run fails with k8s_image_pull.',
    group: 'Session & lifecycle',
    unit: 'seconds',
    min: 0,
    max: 86_400,
    default: 120,
  }),
  podCreateGraceSec: number({
    label: 'Pod creation grace',
    hint: "How long the Job controller may be refused the run's pod (FailedCreate: an exhausted ResourceQuota, an admission policy, a missing service account) before the run fails with k8s_never_started.",
    group: 'Session & lifecycle',
    unit: 'seconds',
    min: 0,
    max: 86_400,
    default: 60,
  }),
  retention: object({
    onSuccess: enumeration(['delete', 'keep'], {
      label: 'Keep succeeded Jobs',
      hint: 'delete: remove the Job (and its Secret) as soon as the run ends; keep: leave it for ttlSecondsAfterFinished.',
      group: 'Session & lifecycle',
      default: 'delete',
    }),
    onFailure: enumeration(['delete', 'keep'], {
      label: 'Keep failed Jobs',
      hint: 'keep: leave a failed Job and its pod for inspection for keepFailedSeconds (its per-run Secret, with the run token, is deleted as soon as the container has ended); delete: remove it at once.',
      group: 'Session & lifecycle',
      default: 'keep',
    }),
    keepFailedSeconds: number({
      label: 'Keep failed Jobs for',
      hint: 'How long a kept failed Job stays (its ttlSecondsAfterFinished is set to this when it fails).',
      group: 'Session & lifecycle',
      unit: 'seconds',
      min: 0,
      max: 2_592_000,
      default: 86_400,
    }),
  }),
  ttlSecondsAfterFinished: number({
    label: 'Job TTL after finish',
    hint: 'Safety net: Kubernetes deletes a finished Job after this long even when the adapter could not (e.g. Paperclip restarted).',
    group: 'Session & lifecycle',
    unit: 'seconds',
    min: 0,
    max: 2_592_000,
    default: 3_600,
    see: 'https://kubernetes.io/docs/concepts/workloads/controllers/ttlafterfinished/',
  }),
  // ---------------------------------------------------------------- Connectivity & credentials
  paperclipApiUrl: string({
    label: 'Paperclip API URL for pods',
    hint: "URL the agent pod uses to call Paperclip back (PAPERCLIP_API_URL, MCP URLs). Must be reachable from the pod: the server's loopback address is not. Its host must be allowed by the operator (CLAUDE_K8S_ALLOWED_PAPERCLIP_HOSTS; default the host of the server's PAPERCLIP_API_URL). Empty: the server's PAPERCLIP_API_URL when it is not a loopback URL.",
    group: 'Connectivity & credentials',
    check: checkHttpUrl,
  }),
  anthropicBaseUrl: string({
    label: 'Model API base URL',
    hint: 'ANTHROPIC_BASE_URL of the claude container (a gateway or proxy); its host must be allowed by the operator (CLAUDE_K8S_ALLOWED_MODEL_HOSTS). Empty: the CLI default.',
    group: 'Connectivity & credentials',
    check: checkHttpUrl,
  }),
  anthropicApiKeySecret: object({
    name: string({
      label: 'API key Secret',
      hint: 'Name of the Secret (in the Job namespace) holding the model API key, given to claude as ANTHROPIC_API_KEY through a secretKeyRef; must be allowed by the operator (CLAUDE_K8S_ALLOWED_SECRETS). The key never passes through Paperclip.',
      group: 'Connectivity & credentials',
      check: checkDnsSubdomain,
    }),
    key: string({
      label: 'API key Secret key',
      hint: 'Key inside that Secret.',
      group: 'Connectivity & credentials',
      default: 'ANTHROPIC_API_KEY',
    }),
  }),
  liveProbe: boolean({
    label: 'Live probe in the environment test',
    hint: "When on, the environment test also starts a short Job from this agent's image and configuration that checks, each as its own check, that the claude CLI runs, that the model API accepts the credentials (one 'Respond with hello.' request, as claude_local's hello probe) and that paperclipApiUrl answers from a pod. Off: only the checks that create nothing.",
    group: 'Connectivity & credentials',
    default: false,
  }),
  liveProbeTimeoutSec: number({
    label: 'Live probe timeout',
    hint: "How long the live probe's Job may take, image pull included, before the probe is reported as timed out (and its Job deleted).",
    group: 'Connectivity & credentials',
    unit: 'seconds',
    min: 10,
    max: 900,
    default: 180,
  }),
});

/** The validated adapter configuration, with defaults applied. */
export type AdapterConfig = InferSchema<typeof CONFIG_SCHEMA>;

/** Result of {@link parseAdapterConfig}. */
export type ParseAdapterConfigResult =
  | { success: true; value: AdapterConfig; warnings: string[] }
  | { success: false; issues: ConfigIssue[]; warnings: string[] };

/** Keys Paperclip itself writes into `adapterConfig`/`ctx.config`; accepted without a warning and not validated. */
export const PAPERCLIP_MANAGED_KEYS: readonly string[] = [
  'paperclipSkillSync',
  'paperclipRuntimeSkills',
  'paperclipConnectorSkillDigest',
  'instructionsRootPath',
  'instructionsEntryFile',
  'instructionsBundleMode',
];

function checkAbsolutePath(value: string): string | null {
  return value.startsWith('/') ? null : 'expected an absolute path such as /home/agent/workspace';
}

function parseExtraArgs(raw: unknown, path: string, context: ParseContext): string[] | undefined {
  const args = parseStringList(raw, path, context);
  if (args === undefined) return undefined;
  let failed = false;
  for (const [index, arg] of args.entries()) {
    const flag = arg.split('=')[0] ?? arg;
    if (CONTROLLED_CLI_FLAGS.includes(flag)) {
      context.issues.push({
        path: `${path}.${index}`,
        message: `${flag} is set by the adapter and cannot be overridden`,
      });
      failed = true;
    }
  }
  return failed ? undefined : args;
}

function parseMcpServers(raw: unknown, path: string, context: ParseContext): Record<string, unknown> | undefined {
  const parsed = parseJsonObject('an object of MCP servers')(raw, path, context);
  if (parsed === undefined) return undefined;
  const servers = isRecord(parsed['mcpServers']) && Object.keys(parsed).length === 1 ? parsed['mcpServers'] : parsed;
  let failed = false;
  for (const [name, server] of Object.entries(servers)) {
    if (!isRecord(server) || (typeof server['command'] !== 'string' && typeof server['url'] !== 'string')) {
      context.issues.push({
        path: `${path}.${name}`,
        message: 'expected an MCP server with "command" (stdio) or "url" (http/sse)',
      });
      failed = true;
    } else if (typeof server['url'] === 'string') {
      const problem = checkHttpUrl(server['url']);
      if (problem !== null) {
        context.issues.push({ path: `${path}.${name}.url`, message: problem });
        failed = true;
      }
    }
  }
  return failed ? undefined : servers;
}

/**
 * Validates an agent's `adapterConfig` (or `ctx.config`). Accepts nested objects, the flat dotted keys Paperclip's
 * form stores (`resources.limits.memory`), and the predecessor's keys (mapped, with a warning each). Returns every
 * issue at once, each with its dot-path.
 */
export function parseAdapterConfig(input: unknown): ParseAdapterConfigResult {
  if (input !== undefined && input !== null && !isRecord(input)) {
    return { success: false, issues: [{ path: '', message: 'expected an object' }], warnings: [] };
  }
  const normalized = normalizeLegacyConfig(input ?? {});
  const context: ParseContext = { issues: [], warnings: [...normalized.warnings] };
  const value = parseObjectNode(CONFIG_SCHEMA, normalized.config, '', context, (path) => {
    if (PAPERCLIP_MANAGED_KEYS.includes(path) || path.startsWith('__')) return;
    context.warnings.push(`${path}: unknown setting, ignored`);
  });
  for (const field of ['labels', 'annotations'] as const) {
    for (const key of Object.keys(value[field])) {
      if (key.startsWith(RESERVED_KEY_PREFIX))
        context.issues.push({
          path: `${field}.${key}`,
          message: `reserved key: ${RESERVED_KEY_PREFIX}* keys carry the runtime's own state (cancel requests, retention) and cannot be configured`,
        });
    }
  }
  for (const key of Object.keys(value.labels)) {
    if (RESERVED_LABEL_PREFIXES.some((prefix) => key.startsWith(prefix))) {
      context.warnings.push(`labels.${key}: reserved label prefix, dropped`);
      delete value.labels[key];
    }
  }
  // Git credentials join env too (Secret references only, checked by the operator policy like envRefs).
  for (const [name, reference] of Object.entries(value.workspace.gitCredentialsEnv)) {
    if (name in value.env || name in value.envRefs) {
      context.issues.push({
        path: `workspace.gitCredentialsEnv.${name}`,
        message: 'also set in env or envRefs: give each variable once',
      });
      continue;
    }
    value.env[name] = reference;
  }
  // envRefs join env (which the pod's environment is built from); one name in both is ambiguous.
  for (const [name, reference] of Object.entries(value.envRefs)) {
    if (name in value.env) {
      context.issues.push({ path: `envRefs.${name}`, message: 'also set in env: give each variable once' });
      continue;
    }
    value.env[name] = reference;
  }
  if (value.paperclipApiUrl !== undefined && isLoopbackUrl(value.paperclipApiUrl)) {
    context.issues.push({
      path: 'paperclipApiUrl',
      message: 'expected a URL reachable from the pod; a loopback address points at the pod itself',
    });
  }
  if (context.issues.length > 0) return { success: false, issues: context.issues, warnings: context.warnings };
  return { success: true, value, warnings: context.warnings };
}

/** Formats issues as one message: `path: message; path: message`. */
export function formatConfigIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ');
}

function defaultForForm(value: unknown): unknown {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? '' : value.join('\n');
  if (isRecord(value)) return Object.keys(value).length === 0 ? '' : JSON.stringify(value);
  return value;
}

/** Paperclip's declarative form: one field per schema leaf, keyed by its dot-path. */
export function getConfigSchema(): AdapterConfigSchema {
  const fields: ConfigFieldSchema[] = listLeaves(CONFIG_SCHEMA).map(({ path, leaf }) => {
    const field: ConfigFieldSchema = {
      key: path,
      label: leaf.meta.label,
      type: leaf.formControl,
      hint: leaf.meta.hint,
      group: leaf.meta.group,
    };
    const options = leaf.meta.options ?? leaf.enumValues?.map((value) => ({ label: value, value }));
    if (options !== undefined)
      field.options =
        leaf.meta.required === true || leaf.defaultValue !== undefined || leaf.formControl === 'combobox'
          ? [...options]
          : [{ label: '(default)', value: '' }, ...options];
    const formDefault = defaultForForm(leaf.defaultValue);
    if (formDefault !== undefined && formDefault !== '') field.default = formDefault;
    if (leaf.meta.required === true) field.required = true;
    const meta: Record<string, unknown> = { valueType: leaf.typeLabel };
    if (leaf.meta.unit !== undefined) meta['unit'] = leaf.meta.unit;
    if (leaf.meta.see !== undefined) meta['see'] = leaf.meta.see;
    field.meta = meta;
    return field;
  });
  return { fields };
}

function formatDefault(value: unknown): string {
  if (value === undefined) return '—';
  if (Array.isArray(value) && value.length === 0) return '`[]`';
  if (isRecord(value) && Object.keys(value).length === 0) return '`{}`';
  return `\`${JSON.stringify(value)}\``;
}

/** Builds the markdown configuration doc from the schema. */
function buildAgentConfigurationDoc(): string {
  const lines: string[] = [
    '# claude_k8s agent configuration',
    '',
    'Runs Claude Code for each heartbeat run as a Kubernetes Job. Keys may be nested (`resources: {limits: {memory}}`) or flat dotted (`"resources.limits.memory"`, as the form stores them).',
  ];
  let group = '';
  for (const { path, leaf } of listLeaves(CONFIG_SCHEMA)) {
    if (leaf.meta.group !== group) {
      group = leaf.meta.group;
      lines.push('', `## ${group}`, '', '| key | type | default | meaning |', '| --- | --- | --- | --- |');
    }
    const type = `${leaf.typeLabel}${leaf.meta.unit === undefined ? '' : `, ${leaf.meta.unit}`}`;
    const meaning = `${leaf.meta.required === true ? '**Required.** ' : ''}${leaf.meta.hint}`.replace(/\|/g, '\\|');
    lines.push(`| \`${path}\` | ${type} | ${formatDefault(leaf.defaultValue)} | ${meaning} |`);
  }
  lines.push(
    '',
    'The model API key is never configured as a value: point `anthropicApiKeySecret` at a Secret, add an `envRefs` entry with `secretKeyRef`, or bind a Paperclip secret in `env` (`{"type": "secret_ref", "secretId": ...}`).',
    '',
  );
  return lines.join('\n');
}

/** The markdown configuration doc (Paperclip's `agentConfigurationDoc`). */
export const agentConfigurationDoc: string = buildAgentConfigurationDoc();
