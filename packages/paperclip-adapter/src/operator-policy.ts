/**
 * The operator's policy: what an agent's configuration may ask of the cluster. Agent configurations are written by
 * board users and, through hiring, by other agents, so every value in one is untrusted; the policy is read on the
 * server only (its environment, or `createServerAdapter({ policy })`), never from agent configuration. Each refusal
 * names the setting that refused it, so an operator knows what to change.
 */
import type { AdapterConfig } from './config-schema.ts';

/** The label Pod Security admission enforces a level with. */
const POD_SECURITY_ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';

/**
 * Pod spec fields a `podSpecPatch` may never set, whatever the operator lists: they would replace the container the
 * adapter hardens, mount anything, hand a service account or its token to the pod, share the node's namespaces, or
 * loosen the security context.
 */
const NEVER_PATCHABLE_FIELDS: readonly string[] = Object.freeze([
  'containers',
  'initContainers',
  'ephemeralContainers',
  'volumes',
  'serviceAccount',
  'serviceAccountName',
  'automountServiceAccountToken',
  'hostNetwork',
  'hostPID',
  'hostIPC',
  'hostUsers',
  'securityContext',
  'nodeName',
  'shareProcessNamespace',
]);

/** The `podSpecPatch` fields accepted by default: placement only. */
export const DEFAULT_PATCHABLE_FIELDS: readonly string[] = Object.freeze([
  'nodeSelector',
  'tolerations',
  'affinity',
  'topologySpreadConstraints',
  'priorityClassName',
  'runtimeClassName',
]);

/** Server-side policy settings; {@link createServerAdapter} options override the environment variables. */
export interface OperatorPolicySettings {
  /**
   * Namespaces agent Jobs may run in. Env: `CLAUDE_K8S_ALLOWED_NAMESPACES` (comma-separated). @default the default
   * namespace only (`CLAUDE_K8S_DEFAULT_NAMESPACE`, else the one Paperclip runs in)
   */
  allowedNamespaces?: readonly string[];
  /**
   * Refuse a namespace whose `pod-security.kubernetes.io/enforce` label is not `restricted` (read before each run).
   * Env: `CLAUDE_K8S_REQUIRE_RESTRICTED_NAMESPACE=false` turns it off. @default true
   */
  requireRestrictedNamespace?: boolean;
  /**
   * Service accounts an agent pod may run as, besides the namespace's `default` without a token. Env:
   * `CLAUDE_K8S_ALLOWED_SERVICE_ACCOUNTS`. @default [] (only `default`, never with a token)
   */
  allowedServiceAccounts?: readonly string[];
  /**
   * Secret names `envRefs` `secretKeyRef`s and `anthropicApiKeySecret` may name; `prefix*` matches by prefix. Per-run
   * Secrets (`ck8s-*`) are refused always. Env: `CLAUDE_K8S_ALLOWED_SECRETS`. @default [] (none)
   */
  allowedSecrets?: readonly string[];
  /**
   * Top-level pod spec fields a `podSpecPatch` may set; {@link NEVER_PATCHABLE_FIELDS} are refused even when listed.
   * Env: `CLAUDE_K8S_ALLOWED_POD_SPEC_PATCH_FIELDS`. @default {@link DEFAULT_PATCHABLE_FIELDS}
   */
  allowedPodSpecPatchFields?: readonly string[];
  /**
   * Hosts (`host` or `host:port`; `*.example.com` matches sub-domains) `anthropicBaseUrl` may point at. Env:
   * `CLAUDE_K8S_ALLOWED_MODEL_HOSTS`. @default [] (no base URL: the CLI's own default)
   */
  allowedModelHosts?: readonly string[];
  /**
   * Hosts `paperclipApiUrl` may point at. Env: `CLAUDE_K8S_ALLOWED_PAPERCLIP_HOSTS`. @default the host of the
   * server's `PAPERCLIP_API_URL` when that is not a loopback address
   */
  allowedPaperclipHosts?: readonly string[];
  /**
   * Resource requests of agent pods that configure none (per resource). Env: `CLAUDE_K8S_DEFAULT_REQUESTS`
   * (`cpu=250m,memory=512Mi`). @default {@link DEFAULT_REQUESTS}
   */
  defaultRequests?: ResourceQuantities;
  /** Resource limits of agent pods that configure none. Env: `CLAUDE_K8S_DEFAULT_LIMITS`. @default {@link DEFAULT_LIMITS} */
  defaultLimits?: ResourceQuantities;
  /**
   * The most an agent may request or be limited to, per resource. Env: `CLAUDE_K8S_MAX_RESOURCES`.
   * @default {@link MAX_RESOURCES}
   */
  maxResources?: ResourceQuantities;
  /** `sizeLimit` of the pod's writable `/tmp`. Env: `CLAUDE_K8S_TMP_SIZE_LIMIT`. @default '1Gi' */
  tmpSizeLimit?: string;
}

/** CPU and memory quantities (`500m`, `4Gi`). */
export interface ResourceQuantities {
  cpu?: string;
  memory?: string;
}

/** Default requests: enough to schedule the CLI sensibly, and never BestEffort (the first evicted under pressure). */
const DEFAULT_REQUESTS: Readonly<ResourceQuantities> = Object.freeze({ cpu: '250m', memory: '512Mi' });
/** Default limits: a runaway process ends as `k8s_oom_killed` instead of starving the node. */
const DEFAULT_LIMITS: Readonly<ResourceQuantities> = Object.freeze({ memory: '4Gi' });
/** Default bound of what an agent may ask for. */
const MAX_RESOURCES: Readonly<ResourceQuantities> = Object.freeze({ cpu: '8', memory: '32Gi' });

/** The policy with every default applied (see {@link resolveOperatorPolicy}). */
export interface OperatorPolicy {
  allowedNamespaces: readonly string[];
  requireRestrictedNamespace: boolean;
  allowedServiceAccounts: readonly string[];
  allowedSecrets: readonly string[];
  allowedPodSpecPatchFields: readonly string[];
  allowedModelHosts: readonly string[];
  allowedPaperclipHosts: readonly string[];
  defaultRequests: ResourceQuantities;
  defaultLimits: ResourceQuantities;
  maxResources: ResourceQuantities;
  tmpSizeLimit: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The environment variable of each setting (named in every refusal). */
const POLICY_ENV: Readonly<Record<keyof OperatorPolicy, string>> = Object.freeze({
  allowedNamespaces: 'CLAUDE_K8S_ALLOWED_NAMESPACES',
  requireRestrictedNamespace: 'CLAUDE_K8S_REQUIRE_RESTRICTED_NAMESPACE',
  allowedServiceAccounts: 'CLAUDE_K8S_ALLOWED_SERVICE_ACCOUNTS',
  allowedSecrets: 'CLAUDE_K8S_ALLOWED_SECRETS',
  allowedPodSpecPatchFields: 'CLAUDE_K8S_ALLOWED_POD_SPEC_PATCH_FIELDS',
  allowedModelHosts: 'CLAUDE_K8S_ALLOWED_MODEL_HOSTS',
  allowedPaperclipHosts: 'CLAUDE_K8S_ALLOWED_PAPERCLIP_HOSTS',
  defaultRequests: 'CLAUDE_K8S_DEFAULT_REQUESTS',
  defaultLimits: 'CLAUDE_K8S_DEFAULT_LIMITS',
  maxResources: 'CLAUDE_K8S_MAX_RESOURCES',
  tmpSizeLimit: 'CLAUDE_K8S_TMP_SIZE_LIMIT',
});

const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const SUFFIX: Readonly<Record<string, number>> = {
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity as a number (cores, bytes); `null` when it is no quantity. */
export function quantityValue(quantity: string): number | null {
  const match = QUANTITY.exec(quantity.trim());
  if (match === null) return null;
  const suffix = match[3] ?? '';
  const number = Number(match[1]);
  if (suffix === '' || /^[eE]/.test(suffix)) return Number(`${match[1]}${suffix}`);
  return number * (SUFFIX[suffix] ?? 1);
}

/** Parses `cpu=250m,memory=512Mi`; throws naming the variable on anything else (a broken policy must not pass). */
function resourcesFromEnv(name: string, value: string | undefined): ResourceQuantities | undefined {
  if (value === undefined) return undefined;
  const output: ResourceQuantities = {};
  for (const entry of value.split(/[,\s]+/).filter((item) => item !== '')) {
    const [key = '', quantity = ''] = entry.split('=');
    if ((key !== 'cpu' && key !== 'memory') || quantityValue(quantity) === null)
      throw new Error(`${name}: expected cpu=<quantity>,memory=<quantity>, got ${JSON.stringify(entry)}`);
    output[key] = quantity;
  }
  return output;
}

function listFromEnv(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(/[,\s]+/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

function hostOf(url: string | undefined): string | null {
  if (url === undefined || url.trim() === '') return null;
  try {
    const host = new URL(url.trim()).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '0.0.0.0' || host === '::' || host === '::1' || host.startsWith('127.')
      ? null
      : host;
  } catch {
    return null;
  }
}

/** The namespace a run uses when its configuration names none: the operator's, never guessed from an agent. */
export function defaultNamespaceFromEnv(settings: OperatorPolicySettings, env: Env): string | null {
  const configured = env['CLAUDE_K8S_DEFAULT_NAMESPACE']?.trim();
  if (configured) return configured;
  return (settings.allowedNamespaces ?? listFromEnv(env[POLICY_ENV.allowedNamespaces]))?.[0] ?? null;
}

/** Applies defaults: settings first, then the server's environment. `defaultNamespace` is the resolved default. */
export function resolveOperatorPolicy(
  settings: OperatorPolicySettings,
  env: Env,
  defaultNamespace: string,
): OperatorPolicy {
  const paperclipHost = hostOf(env['PAPERCLIP_API_URL']) ?? hostOf(env['PAPERCLIP_RUNTIME_API_URL']);
  return {
    allowedNamespaces: settings.allowedNamespaces ??
      listFromEnv(env[POLICY_ENV.allowedNamespaces]) ?? [defaultNamespace],
    requireRestrictedNamespace:
      settings.requireRestrictedNamespace ?? env[POLICY_ENV.requireRestrictedNamespace]?.trim() !== 'false',
    allowedServiceAccounts:
      settings.allowedServiceAccounts ?? listFromEnv(env[POLICY_ENV.allowedServiceAccounts]) ?? [],
    allowedSecrets: settings.allowedSecrets ?? listFromEnv(env[POLICY_ENV.allowedSecrets]) ?? [],
    allowedPodSpecPatchFields:
      settings.allowedPodSpecPatchFields ??
      listFromEnv(env[POLICY_ENV.allowedPodSpecPatchFields]) ??
      DEFAULT_PATCHABLE_FIELDS,
    allowedModelHosts: settings.allowedModelHosts ?? listFromEnv(env[POLICY_ENV.allowedModelHosts]) ?? [],
    allowedPaperclipHosts:
      settings.allowedPaperclipHosts ??
      listFromEnv(env[POLICY_ENV.allowedPaperclipHosts]) ??
      (paperclipHost === null ? [] : [paperclipHost]),
    defaultRequests: settings.defaultRequests ??
      resourcesFromEnv(POLICY_ENV.defaultRequests, env[POLICY_ENV.defaultRequests]) ?? { ...DEFAULT_REQUESTS },
    defaultLimits: settings.defaultLimits ??
      resourcesFromEnv(POLICY_ENV.defaultLimits, env[POLICY_ENV.defaultLimits]) ?? { ...DEFAULT_LIMITS },
    maxResources: settings.maxResources ??
      resourcesFromEnv(POLICY_ENV.maxResources, env[POLICY_ENV.maxResources]) ?? { ...MAX_RESOURCES },
    tmpSizeLimit: settings.tmpSizeLimit ?? env[POLICY_ENV.tmpSizeLimit]?.trim() ?? '1Gi',
  };
}

/** One value the policy refuses: the config path, the setting that refused it, and why. */
export interface PolicyRefusal {
  path: string;
  setting: keyof OperatorPolicy;
  message: string;
}

/** Formats a refusal: `path: refused by the operator policy (ENV_VAR): message`. */
export function formatPolicyRefusal(refusal: PolicyRefusal): string {
  return `${refusal.path}: refused by the operator policy (${POLICY_ENV[refusal.setting]}): ${refusal.message}`;
}

/** Whether `name` matches one entry of `patterns` (exact, or `prefix*`). */
function matchesName(name: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => (pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern));
}

/** Whether the URL's host (and port) is allowed: `host`, `host:port`, or `*.domain` entries. */
function hostAllowed(value: string, allowed: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port;
  return allowed.some((raw) => {
    const entry = raw.toLowerCase();
    const colon = entry.lastIndexOf(':');
    const hasPort = colon > 0 && /^\d+$/.test(entry.slice(colon + 1)) && !entry.includes(']');
    const entryHost = hasPort ? entry.slice(0, colon) : entry;
    if (hasPort && entry.slice(colon + 1) !== port) return false;
    if (entryHost.startsWith('*.')) return host.endsWith(entryHost.slice(1)) && host.length > entryHost.length - 1;
    return host === entryHost;
  });
}

/** The prefix of every per-run Secret (the Job's name): another run's token and files. */
const PER_RUN_SECRET_PREFIX = 'ck8s-';

function checkSecret(name: string, path: string, policy: OperatorPolicy, refusals: PolicyRefusal[]): void {
  if (name.startsWith(PER_RUN_SECRET_PREFIX)) {
    refusals.push({
      path,
      setting: 'allowedSecrets',
      message: `Secret ${name} is a per-run Secret (another run's token and files); it can never be referenced`,
    });
  } else if (!matchesName(name, policy.allowedSecrets)) {
    refusals.push({
      path,
      setting: 'allowedSecrets',
      message: `Secret ${name} is not in the allowed Secrets (${policy.allowedSecrets.join(', ') || 'none'})`,
    });
  }
}

/**
 * The refusals of a validated configuration under the policy (`[]` when it is within it). `namespace` is the one the
 * run would use (the configured one, else the default). The namespace's Pod Security label is checked separately,
 * against the cluster ({@link checkNamespaceLabels}).
 */
export function checkOperatorPolicy(
  config: Pick<
    AdapterConfig,
    | 'serviceAccountName'
    | 'automountServiceAccountToken'
    | 'envRefs'
    | 'workspace'
    | 'anthropicApiKeySecret'
    | 'podSpecPatch'
    | 'anthropicBaseUrl'
    | 'paperclipApiUrl'
    | 'resources'
  >,
  policy: OperatorPolicy,
  namespace: string,
): PolicyRefusal[] {
  const refusals: PolicyRefusal[] = [];
  for (const kind of ['requests', 'limits'] as const) {
    for (const resource of ['cpu', 'memory'] as const) {
      const asked = config.resources[kind][resource];
      const most = policy.maxResources[resource];
      if (asked === undefined || most === undefined) continue;
      if ((quantityValue(asked) ?? 0) > (quantityValue(most) ?? Infinity))
        refusals.push({
          path: `resources.${kind}.${resource}`,
          setting: 'maxResources',
          message: `${asked} is above the most an agent may ask for (${resource}=${most})`,
        });
    }
  }
  if (!policy.allowedNamespaces.includes(namespace))
    refusals.push({
      path: 'namespace',
      setting: 'allowedNamespaces',
      message: `namespace ${namespace} is not in the allowed namespaces (${policy.allowedNamespaces.join(', ') || 'none'})`,
    });
  const account = config.serviceAccountName ?? 'default';
  const accountListed = policy.allowedServiceAccounts.includes(account);
  if (account !== 'default' && !accountListed)
    refusals.push({
      path: 'serviceAccountName',
      setting: 'allowedServiceAccounts',
      message: `service account ${account} is not in the allowed service accounts (${policy.allowedServiceAccounts.join(', ') || 'none'})`,
    });
  else if (config.automountServiceAccountToken && !accountListed)
    refusals.push({
      path: 'automountServiceAccountToken',
      setting: 'allowedServiceAccounts',
      message: `a Kubernetes API token is mounted only for a service account the operator allows; ${account} is not one`,
    });
  for (const [name, value] of Object.entries(config.envRefs)) {
    if ('secretKeyRef' in value)
      checkSecret(value.secretKeyRef.name, `envRefs.${name}.secretKeyRef.name`, policy, refusals);
  }
  for (const [name, value] of Object.entries(config.workspace.gitCredentialsEnv))
    checkSecret(value.secretKeyRef.name, `workspace.gitCredentialsEnv.${name}.secretKeyRef.name`, policy, refusals);
  if (config.anthropicApiKeySecret.name !== undefined)
    checkSecret(config.anthropicApiKeySecret.name, 'anthropicApiKeySecret.name', policy, refusals);
  for (const field of Object.keys(config.podSpecPatch ?? {})) {
    if (NEVER_PATCHABLE_FIELDS.includes(field))
      refusals.push({
        path: `podSpecPatch.${field}`,
        setting: 'allowedPodSpecPatchFields',
        message: `${field} is never patchable: it would replace the hardened container, mount volumes, hand out a service account, share the node's namespaces or loosen the security context`,
      });
    else if (!policy.allowedPodSpecPatchFields.includes(field))
      refusals.push({
        path: `podSpecPatch.${field}`,
        setting: 'allowedPodSpecPatchFields',
        message: `${field} is not in the patchable fields (${policy.allowedPodSpecPatchFields.join(', ') || 'none'})`,
      });
  }
  if (config.anthropicBaseUrl !== undefined && !hostAllowed(config.anthropicBaseUrl, policy.allowedModelHosts))
    refusals.push({
      path: 'anthropicBaseUrl',
      setting: 'allowedModelHosts',
      message: `the host is not in the allowed model hosts (${policy.allowedModelHosts.join(', ') || 'none'}); the model API key would be sent there`,
    });
  if (config.paperclipApiUrl !== undefined && !hostAllowed(config.paperclipApiUrl, policy.allowedPaperclipHosts))
    refusals.push({
      path: 'paperclipApiUrl',
      setting: 'allowedPaperclipHosts',
      message: `the host is not in the allowed Paperclip hosts (${policy.allowedPaperclipHosts.join(', ') || 'none'}); the run token would be sent there`,
    });
  return refusals;
}

/** What the cluster says of a namespace: its labels, `missing`, or `unreadable` (e.g. no `get namespaces`). */
export type NamespaceLabels =
  | { state: 'found'; labels: Readonly<Record<string, string>> }
  | { state: 'missing' }
  | { state: 'unreadable'; reason: string };

/** The refusal of a namespace that is not Pod Security `restricted` (when the policy requires it), else `null`. */
export function checkNamespaceLabels(
  namespace: string,
  found: NamespaceLabels,
  policy: Pick<OperatorPolicy, 'requireRestrictedNamespace'>,
): PolicyRefusal | null {
  if (!policy.requireRestrictedNamespace) return null;
  const refuse = (message: string): PolicyRefusal => ({
    path: 'namespace',
    setting: 'requireRestrictedNamespace',
    message,
  });
  switch (found.state) {
    case 'missing':
      return refuse(`namespace ${namespace} does not exist`);
    case 'unreadable':
      return refuse(
        `the Pod Security label of namespace ${namespace} cannot be read (${found.reason}); grant get on this namespace (deploy/rbac.yaml) or turn the check off`,
      );
    case 'found': {
      const level = found.labels[POD_SECURITY_ENFORCE_LABEL];
      return level === 'restricted'
        ? null
        : refuse(
            `namespace ${namespace} does not enforce Pod Security restricted (${POD_SECURITY_ENFORCE_LABEL}=${level ?? '(unset)'})`,
          );
    }
  }
}

/** What the policy adds to every pod: effective requests and limits, and the `/tmp` size limit. */
export interface PodDefaults {
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  tmpSizeLimit: string;
}

/**
 * The pod's resources: the configured values over the policy's defaults, per resource; a limit below its request
 * (a configured request above the default limit) is raised to the request, as the apiserver requires.
 */
export function podDefaults(
  config: Pick<AdapterConfig, 'resources'>,
  policy: Pick<OperatorPolicy, 'defaultRequests' | 'defaultLimits' | 'tmpSizeLimit'>,
): PodDefaults {
  const pick = (configured: ResourceQuantities, fallback: ResourceQuantities): Record<string, string> => {
    const output: Record<string, string> = {};
    for (const resource of ['cpu', 'memory'] as const) {
      const value = configured[resource] ?? fallback[resource];
      if (value !== undefined && value !== '') output[resource] = value;
    }
    return output;
  };
  const requests = pick(config.resources.requests, policy.defaultRequests);
  const limits = pick(config.resources.limits, policy.defaultLimits);
  for (const [resource, limit] of Object.entries(limits)) {
    const request = requests[resource];
    if (request !== undefined && (quantityValue(limit) ?? 0) < (quantityValue(request) ?? 0)) {
      if (config.resources.limits[resource as 'cpu' | 'memory'] === undefined) limits[resource] = request;
    }
  }
  return {
    resources: {
      ...(Object.keys(requests).length > 0 ? { requests } : {}),
      ...(Object.keys(limits).length > 0 ? { limits } : {}),
    },
    tmpSizeLimit: policy.tmpSizeLimit,
  };
}
