import { describe, expect, it } from 'vitest';
import { parseAdapterConfig, type AdapterConfig } from './config-schema.ts';
import {
  checkNamespaceLabels,
  checkOperatorPolicy,
  DEFAULT_PATCHABLE_FIELDS,
  defaultNamespaceFromEnv,
  formatPolicyRefusal,
  podDefaults,
  quantityValue,
  resolveOperatorPolicy,
  type OperatorPolicy,
} from './operator-policy.ts';

function config(raw: Record<string, unknown>): AdapterConfig {
  const parsed = parseAdapterConfig({ image: 'img:1', ...raw });
  if (!parsed.success) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

/** The defaults, with Paperclip's own URL at paperclip.paperclip.svc and `agents` as the default namespace. */
const defaults: OperatorPolicy = resolveOperatorPolicy(
  {},
  { PAPERCLIP_API_URL: 'http://paperclip.paperclip.svc:3100/api' },
  'agents',
);

function refusalsOf(raw: Record<string, unknown>, policy: OperatorPolicy = defaults, namespace = 'agents'): string[] {
  return checkOperatorPolicy(config(raw), policy, namespace).map(formatPolicyRefusal);
}

describe('resolveOperatorPolicy', () => {
  it('defaults to the safe settings', () => {
    expect(defaults).toEqual({
      allowedNamespaces: ['agents'],
      requireRestrictedNamespace: true,
      allowedServiceAccounts: [],
      allowedSecrets: [],
      allowedPodSpecPatchFields: DEFAULT_PATCHABLE_FIELDS,
      allowedModelHosts: [],
      allowedPaperclipHosts: ['paperclip.paperclip.svc'],
      defaultRequests: { cpu: '250m', memory: '512Mi' },
      defaultLimits: { memory: '4Gi' },
      maxResources: { cpu: '8', memory: '32Gi' },
      tmpSizeLimit: '1Gi',
    });
    // A loopback PAPERCLIP_API_URL is no host pods can use.
    expect(
      resolveOperatorPolicy({}, { PAPERCLIP_API_URL: 'http://127.0.0.1:3100' }, 'x').allowedPaperclipHosts,
    ).toEqual([]);
  });

  it('reads every setting from the server environment; options win over it', () => {
    const env = {
      CLAUDE_K8S_ALLOWED_NAMESPACES: 'agents, agents-b',
      CLAUDE_K8S_REQUIRE_RESTRICTED_NAMESPACE: 'false',
      CLAUDE_K8S_ALLOWED_SERVICE_ACCOUNTS: 'builder',
      CLAUDE_K8S_ALLOWED_SECRETS: 'anthropic-api-key,team-*',
      CLAUDE_K8S_ALLOWED_POD_SPEC_PATCH_FIELDS: 'tolerations',
      CLAUDE_K8S_ALLOWED_MODEL_HOSTS: 'gateway.internal:8443',
      CLAUDE_K8S_ALLOWED_PAPERCLIP_HOSTS: 'paperclip.example',
      CLAUDE_K8S_DEFAULT_REQUESTS: 'cpu=1,memory=1Gi',
      CLAUDE_K8S_DEFAULT_LIMITS: 'cpu=2,memory=2Gi',
      CLAUDE_K8S_MAX_RESOURCES: 'memory=8Gi',
      CLAUDE_K8S_TMP_SIZE_LIMIT: '256Mi',
    };
    expect(resolveOperatorPolicy({}, env, 'ignored')).toEqual({
      allowedNamespaces: ['agents', 'agents-b'],
      requireRestrictedNamespace: false,
      allowedServiceAccounts: ['builder'],
      allowedSecrets: ['anthropic-api-key', 'team-*'],
      allowedPodSpecPatchFields: ['tolerations'],
      allowedModelHosts: ['gateway.internal:8443'],
      allowedPaperclipHosts: ['paperclip.example'],
      defaultRequests: { cpu: '1', memory: '1Gi' },
      defaultLimits: { cpu: '2', memory: '2Gi' },
      maxResources: { memory: '8Gi' },
      tmpSizeLimit: '256Mi',
    });
    expect(() => resolveOperatorPolicy({}, { CLAUDE_K8S_MAX_RESOURCES: 'gpu=1' }, 'x')).toThrow(
      'CLAUDE_K8S_MAX_RESOURCES: expected cpu=<quantity>,memory=<quantity>, got "gpu=1"',
    );
    expect(resolveOperatorPolicy({ allowedSecrets: ['x'] }, env, 'ignored').allowedSecrets).toEqual(['x']);
  });

  it('takes the default namespace from the operator, never from an agent', () => {
    expect(defaultNamespaceFromEnv({}, { CLAUDE_K8S_DEFAULT_NAMESPACE: 'agents' })).toBe('agents');
    expect(defaultNamespaceFromEnv({}, { CLAUDE_K8S_ALLOWED_NAMESPACES: 'a,b' })).toBe('a');
    expect(defaultNamespaceFromEnv({ allowedNamespaces: ['c'] }, {})).toBe('c');
    expect(defaultNamespaceFromEnv({}, {})).toBeNull();
  });
});

describe('checkOperatorPolicy: each refusal names its setting', () => {
  it('admits a configuration within the defaults', () => {
    expect(
      refusalsOf({
        paperclipApiUrl: 'http://paperclip.paperclip.svc:3100',
        podSpecPatch: { tolerations: [], nodeSelector: { pool: 'agents' } },
        serviceAccountName: 'default',
      }),
    ).toEqual([]);
  });

  it('a namespace outside the allowed namespaces', () => {
    expect(refusalsOf({ namespace: 'kube-system' }, defaults, 'kube-system')).toEqual([
      'namespace: refused by the operator policy (CLAUDE_K8S_ALLOWED_NAMESPACES): namespace kube-system is not in the allowed namespaces (agents)',
    ]);
  });

  it('a service account not allowed, and a token for the default one', () => {
    expect(refusalsOf({ serviceAccountName: 'cluster-admin-sa' })).toEqual([
      'serviceAccountName: refused by the operator policy (CLAUDE_K8S_ALLOWED_SERVICE_ACCOUNTS): service account cluster-admin-sa is not in the allowed service accounts (none)',
    ]);
    expect(refusalsOf({ automountServiceAccountToken: true })).toEqual([
      'automountServiceAccountToken: refused by the operator policy (CLAUDE_K8S_ALLOWED_SERVICE_ACCOUNTS): a Kubernetes API token is mounted only for a service account the operator allows; default is not one',
    ]);
    const allowing = { ...defaults, allowedServiceAccounts: ['builder'] };
    expect(refusalsOf({ serviceAccountName: 'builder', automountServiceAccountToken: true }, allowing)).toEqual([]);
  });

  it('a Secret not allowed, in env and as the API key', () => {
    expect(
      refusalsOf({
        anthropicApiKeySecret: { name: 'database-password' },
        envRefs: { DB: { secretKeyRef: { name: 'database-password', key: 'password' } } },
      }),
    ).toEqual([
      'envRefs.DB.secretKeyRef.name: refused by the operator policy (CLAUDE_K8S_ALLOWED_SECRETS): Secret database-password is not in the allowed Secrets (none)',
      'anthropicApiKeySecret.name: refused by the operator policy (CLAUDE_K8S_ALLOWED_SECRETS): Secret database-password is not in the allowed Secrets (none)',
    ]);
    const allowing = { ...defaults, allowedSecrets: ['anthropic-api-key', 'team-*'] };
    expect(
      refusalsOf(
        {
          anthropicApiKeySecret: { name: 'anthropic-api-key' },
          envRefs: { GH: { secretKeyRef: { name: 'team-github', key: 'token' } } },
        },
        allowing,
      ),
    ).toEqual([]);
  });

  it('a git credentials Secret not allowed', () => {
    expect(
      refusalsOf({
        workspace: { gitCredentialsEnv: { GH_TOKEN: { secretKeyRef: { name: 'ci-token', key: 'token' } } } },
      }),
    ).toEqual([
      'workspace.gitCredentialsEnv.GH_TOKEN.secretKeyRef.name: refused by the operator policy (CLAUDE_K8S_ALLOWED_SECRETS): Secret ci-token is not in the allowed Secrets (none)',
    ]);
  });

  it("another run's per-run Secret, even when the operator allows everything", () => {
    const allowing = { ...defaults, allowedSecrets: ['*'] };
    expect(
      refusalsOf(
        { envRefs: { TOKEN: { secretKeyRef: { name: 'ck8s-agent-2-run-9-1a2b3c4d', key: 'PAPERCLIP_API_KEY' } } } },
        allowing,
      ),
    ).toEqual([
      "envRefs.TOKEN.secretKeyRef.name: refused by the operator policy (CLAUDE_K8S_ALLOWED_SECRETS): Secret ck8s-agent-2-run-9-1a2b3c4d is a per-run Secret (another run's token and files); it can never be referenced",
    ]);
  });

  it('a podSpecPatch field outside the allowed ones, and the never-patchable fields even when listed', () => {
    expect(refusalsOf({ podSpecPatch: { dnsPolicy: 'Default' } })).toEqual([
      `podSpecPatch.dnsPolicy: refused by the operator policy (CLAUDE_K8S_ALLOWED_POD_SPEC_PATCH_FIELDS): dnsPolicy is not in the patchable fields (${DEFAULT_PATCHABLE_FIELDS.join(', ')})`,
    ]);
    const listing = {
      ...defaults,
      allowedPodSpecPatchFields: ['containers', 'volumes', 'hostNetwork', 'securityContext'],
    };
    expect(
      refusalsOf(
        { podSpecPatch: { containers: [], volumes: [], hostNetwork: true, securityContext: { runAsUser: 0 } } },
        listing,
      ).map((message) => message.split(':')[0]),
    ).toEqual([
      'podSpecPatch.containers',
      'podSpecPatch.volumes',
      'podSpecPatch.hostNetwork',
      'podSpecPatch.securityContext',
    ]);
  });

  it('a model base URL or a Paperclip URL outside the allowed hosts', () => {
    expect(
      refusalsOf({ anthropicBaseUrl: 'https://collector.example/v1', paperclipApiUrl: 'https://elsewhere.example' }),
    ).toEqual([
      'anthropicBaseUrl: refused by the operator policy (CLAUDE_K8S_ALLOWED_MODEL_HOSTS): the host is not in the allowed model hosts (none); the model API key would be sent there',
      'paperclipApiUrl: refused by the operator policy (CLAUDE_K8S_ALLOWED_PAPERCLIP_HOSTS): the host is not in the allowed Paperclip hosts (paperclip.paperclip.svc); the run token would be sent there',
    ]);
    const allowing = { ...defaults, allowedModelHosts: ['gateway.internal:8443', '*.models.example'] };
    expect(refusalsOf({ anthropicBaseUrl: 'https://gateway.internal:8443' }, allowing)).toEqual([]);
    expect(refusalsOf({ anthropicBaseUrl: 'https://eu.models.example' }, allowing)).toEqual([]);
    // The port is part of an entry that names one; a bare suffix is no sub-domain.
    expect(refusalsOf({ anthropicBaseUrl: 'https://gateway.internal:9000' }, allowing)).toHaveLength(1);
    expect(refusalsOf({ anthropicBaseUrl: 'https://evilmodels.example' }, allowing)).toHaveLength(1);
  });
});

describe('resources: defaults under the configured values, bounded by the policy', () => {
  it('refuses a request or limit above the most an agent may ask for', () => {
    expect(refusalsOf({ resources: { limits: { memory: '64Gi' }, requests: { cpu: '8' } } })).toEqual([
      'resources.limits.memory: refused by the operator policy (CLAUDE_K8S_MAX_RESOURCES): 64Gi is above the most an agent may ask for (memory=32Gi)',
    ]);
    expect(refusalsOf({ resources: { requests: { cpu: '8500m' } } })).toHaveLength(1);
  });

  it('gives a pod without resources the defaults (never BestEffort), the config winning per resource', () => {
    expect(podDefaults(config({}), defaults)).toEqual({
      resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '4Gi' } },
      tmpSizeLimit: '1Gi',
    });
    expect(podDefaults(config({ resources: { limits: { cpu: '2' }, requests: { memory: '1Gi' } } }), defaults)).toEqual(
      {
        resources: { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '2', memory: '4Gi' } },
        tmpSizeLimit: '1Gi',
      },
    );
    // A request above the default limit raises that limit (the apiserver refuses limit < request).
    expect(podDefaults(config({ resources: { requests: { memory: '6Gi' } } }), defaults).resources.limits).toEqual({
      memory: '6Gi',
    });
  });

  it('reads quantities as Kubernetes does', () => {
    expect(quantityValue('500m')).toBe(0.5);
    expect(quantityValue('1Gi')).toBe(2 ** 30);
    expect(quantityValue('1G')).toBe(1e9);
    expect(quantityValue('1e3')).toBe(1000);
    expect(quantityValue('lots')).toBeNull();
  });
});

describe('checkNamespaceLabels', () => {
  const restricted = { 'pod-security.kubernetes.io/enforce': 'restricted' };

  it('admits a restricted namespace and refuses any other, a missing or an unreadable one', () => {
    expect(checkNamespaceLabels('agents', { state: 'found', labels: restricted }, defaults)).toBeNull();
    const refused = (found: Parameters<typeof checkNamespaceLabels>[1]) => {
      const refusal = checkNamespaceLabels('paperclip', found, defaults);
      return refusal === null ? null : formatPolicyRefusal(refusal);
    };
    expect(refused({ state: 'found', labels: {} })).toBe(
      'namespace: refused by the operator policy (CLAUDE_K8S_REQUIRE_RESTRICTED_NAMESPACE): namespace paperclip does not enforce Pod Security restricted (pod-security.kubernetes.io/enforce=(unset))',
    );
    expect(refused({ state: 'found', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } })).toContain(
      'enforce=privileged',
    );
    expect(refused({ state: 'missing' })).toContain('namespace paperclip does not exist');
    expect(refused({ state: 'unreadable', reason: 'get namespaces is not granted' })).toContain(
      'cannot be read (get namespaces is not granted)',
    );
  });

  it('checks nothing when the operator turned the check off', () => {
    expect(
      checkNamespaceLabels('agents', { state: 'found', labels: {} }, { requireRestrictedNamespace: false }),
    ).toBeNull();
  });
});
