import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  agentConfigurationDoc,
  CONFIG_SCHEMA,
  getConfigSchema,
  parseAdapterConfig,
  type AdapterConfig,
} from './config-schema.ts';
import { LEGACY_KEY_MAPPINGS } from './legacy-config.ts';
import { listLeaves } from './config-field-schema.ts';

function parsed(input: unknown): AdapterConfig {
  const result = parseAdapterConfig(input);
  if (!result.success) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

const minimal = { image: 'registry.example/claude:1' };

describe('parseAdapterConfig', () => {
  it('applies every default', () => {
    const value = parsed(minimal);
    expect(value).toMatchObject({
      image: 'registry.example/claude:1',
      maxTurnsPerRun: 0,
      dangerouslySkipPermissions: true,
      extraArgs: [],
      env: {},
      imagePullPolicy: 'IfNotPresent',
      imagePullSecrets: [],
      automountServiceAccountToken: false,
      labels: {},
      annotations: {},
      nodeSelector: {},
      tolerations: [],
      sessionVolume: { mountAs: 'home' },
      timeoutSec: 14_400,
      graceSec: 30,
      lockPolicy: 'wait',
      lockWaitSeconds: 600,
      unschedulableGraceSec: 300,
      imagePullGraceSec: 120,
      podCreateGraceSec: 60,
      retention: { onSuccess: 'delete', onFailure: 'keep', keepFailedSeconds: 86_400 },
      ttlSecondsAfterFinished: 3_600,
      anthropicApiKeySecret: { key: 'ANTHROPIC_API_KEY' },
      resources: { requests: {}, limits: {} },
    });
    expect(value.model).toBeUndefined();
    expect(value.namespace).toBeUndefined();
  });

  it('reports every issue at once, each with its dot-path', () => {
    const result = parseAdapterConfig({
      resources: { limits: { memory: 'lots' }, requests: { cpu: '1x' } },
      maxTurnsPerRun: -1,
      effort: 'extreme',
      namespace: 'Agents_NS',
      tolerations: '[{"operator":"Maybe"}]',
      paperclipApiUrl: 'http://127.0.0.1:3100',
      sessionVolume: { mountAs: 'relative/path' },
      extraArgs: ['--output-format', 'text'],
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    const byPath = Object.fromEntries(result.issues.map((issue) => [issue.path, issue.message]));
    expect(byPath['resources.limits.memory']).toBe('expected a Kubernetes quantity such as 512Mi, got "lots"');
    expect(byPath['resources.requests.cpu']).toMatch(/^expected a Kubernetes quantity such as 500m/);
    expect(byPath['maxTurnsPerRun']).toMatch(/≥ 0/);
    expect(byPath['effort']).toMatch(/one of low, medium, high/);
    expect(byPath['namespace']).toMatch(/DNS-1123 label/);
    expect(byPath['tolerations.0.operator']).toBe('expected Exists or Equal');
    expect(byPath['paperclipApiUrl']).toMatch(/reachable from the pod/);
    expect(byPath['sessionVolume.mountAs']).toMatch(/absolute path/);
    expect(byPath['extraArgs.0']).toMatch(/--output-format is set by the adapter/);
    expect(byPath['image']).toBe('required');
    expect(result.issues).toHaveLength(10);
  });

  it('rejects a non-object', () => {
    expect(parseAdapterConfig('x')).toEqual({
      success: false,
      issues: [{ path: '', message: 'expected an object' }],
      warnings: [],
    });
  });

  it('accepts the flat dotted keys the form stores, and numbers as quantities and numeric strings', () => {
    const value = parsed({
      ...minimal,
      'resources.limits.memory': '4Gi',
      'resources.requests.cpu': 2,
      'sessionVolume.claimName': 'sessions',
      timeoutSec: '600',
    });
    expect(value.resources).toEqual({ requests: { cpu: '2' }, limits: { memory: '4Gi' } });
    expect(value.sessionVolume.claimName).toBe('sessions');
    expect(value.timeoutSec).toBe(600);
  });

  it('lets the flat key win over a nested one, with a warning', () => {
    const result = parseAdapterConfig({
      ...minimal,
      resources: { limits: { memory: '1Gi' } },
      'resources.limits.memory': '2Gi',
    });
    expect(result.success && result.value.resources.limits.memory).toBe('2Gi');
    expect(result.warnings).toContain(
      "resources.limits.memory: set both as a flat key and nested; the flat key (the form's value) wins",
    );
  });

  it('parses text-area forms: key=value lines, JSON strings, one item per line', () => {
    const value = parsed({
      ...minimal,
      nodeSelector: 'pool=agents\n# comment\nkubernetes.io/arch = amd64\n',
      labels: '{"team":"platform"}',
      tolerations: '[{"key":"agents","operator":"Exists","effect":"NoSchedule"}]',
      extraArgs: '--allowedTools\nBash\n',
      imagePullSecrets: 'regcred\nother',
      env: 'FOO=bar\nEMPTY=',
      mcpServers: '{"mcpServers":{"docs":{"type":"http","url":"https://docs.example/mcp"}}}',
    });
    expect(value.nodeSelector).toEqual({ pool: 'agents', 'kubernetes.io/arch': 'amd64' });
    expect(value.labels).toEqual({ team: 'platform' });
    expect(value.tolerations).toEqual([{ key: 'agents', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(value.extraArgs).toEqual(['--allowedTools', 'Bash']);
    expect(value.imagePullSecrets).toEqual(['regcred', 'other']);
    expect(value.env).toEqual({ FOO: { value: 'bar' }, EMPTY: { value: '' } });
    expect(value.mcpServers).toEqual({ docs: { type: 'http', url: 'https://docs.example/mcp' } });
  });

  it('keeps Secret and ConfigMap references in env, takes plain bindings, drops PAPERCLIP_API_KEY with a warning', () => {
    const result = parseAdapterConfig({
      ...minimal,
      env: {
        TOKEN: { secretKeyRef: { name: 'gh', key: 'token' } },
        MODE: { configMapKeyRef: { name: 'settings', key: 'mode', optional: true } },
        PLAIN: { type: 'plain', value: 'x' },
        PAPERCLIP_API_KEY: 'stolen',
      },
    });
    expect(result.success && result.value.env).toEqual({
      TOKEN: { secretKeyRef: { name: 'gh', key: 'token' } },
      MODE: { configMapKeyRef: { name: 'settings', key: 'mode', optional: true } },
      PLAIN: { value: 'x' },
    });
    expect(result.warnings).toContain(
      'env.PAPERCLIP_API_KEY: ignored; the run token is always minted by Paperclip for each run',
    );
  });

  it('envRefs: Kubernetes references in a key of their own (Paperclip refuses them in env), joined into env', () => {
    const result = parseAdapterConfig({
      ...minimal,
      env: { PLAIN: 'x', BOUND: { type: 'secret_ref', secretId: '5d0c5a8e-1111-4222-8333-444455556666' } },
      envRefs: {
        TOKEN: { secretKeyRef: { name: 'gh', key: 'token' } },
        MODE: { configMapKeyRef: { name: 'settings', key: 'mode', optional: true } },
      },
    });
    expect(result.success && result.value.env).toEqual({
      PLAIN: { value: 'x' },
      TOKEN: { secretKeyRef: { name: 'gh', key: 'token' } },
      MODE: { configMapKeyRef: { name: 'settings', key: 'mode', optional: true } },
    });
    // An unresolved Paperclip binding (the form, a stored config) has no value for the pod: said, not fatal.
    expect(result.warnings).toContain(
      'env.BOUND: Paperclip secret_ref binding not resolved here (Paperclip resolves it for runs); not passed to the pod',
    );
    // In the text form of the UI's textarea too.
    const text = parseAdapterConfig({
      ...minimal,
      envRefs: JSON.stringify({ T: { secretKeyRef: { name: 'gh', key: 't' } } }),
    });
    expect(text.success && text.value.env).toEqual({ T: { secretKeyRef: { name: 'gh', key: 't' } } });
  });

  it('workspace.gitCredentialsEnv: Secret references only, joined into env; plain values, ConfigMaps and clashes refused', () => {
    const result = parseAdapterConfig({
      ...minimal,
      workspace: { mode: 'transfer', gitCredentialsEnv: { GH_TOKEN: { secretKeyRef: { name: 'gh', key: 'token' } } } },
    });
    expect(result.success && result.value.env).toEqual({ GH_TOKEN: { secretKeyRef: { name: 'gh', key: 'token' } } });
    const refused = parseAdapterConfig({
      ...minimal,
      env: { SAME: 'x' },
      workspace: {
        gitCredentialsEnv: {
          PLAIN: 'ghp_secret',
          MAP: { configMapKeyRef: { name: 'settings', key: 'token' } },
          SAME: { secretKeyRef: { name: 'gh', key: 'token' } },
        },
      },
    });
    expect(refused.success).toBe(false);
    if (refused.success) return;
    expect(refused.issues.map((issue) => issue.path)).toEqual([
      'workspace.gitCredentialsEnv.PLAIN',
      'workspace.gitCredentialsEnv.MAP',
    ]);
    // The plain value is never echoed back.
    expect(JSON.stringify(refused.issues)).not.toContain('ghp_secret');
    const clash = parseAdapterConfig({
      ...minimal,
      env: { SAME: 'x' },
      workspace: { gitCredentialsEnv: { SAME: { secretKeyRef: { name: 'gh', key: 'token' } } } },
    });
    expect(clash.success ? [] : clash.issues).toEqual([
      { path: 'workspace.gitCredentialsEnv.SAME', message: 'also set in env or envRefs: give each variable once' },
    ]);
  });

  it('envRefs refuses plain values, bad references and names also in env, each with its path', () => {
    const result = parseAdapterConfig({
      ...minimal,
      env: { SAME: 'x' },
      envRefs: {
        PLAIN: 'value',
        BAD: { secretKeyRef: { name: 'Bad_Name', key: 'k' } },
        SAME: { secretKeyRef: { name: 'gh', key: 'token' } },
      },
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.issues).toEqual([
      {
        path: 'envRefs.PLAIN',
        message:
          'expected {secretKeyRef: {name, key}} or {configMapKeyRef: {name, key}}, got "value" (plain values belong in env)',
      },
      expect.objectContaining({ path: 'envRefs.BAD.secretKeyRef.name' }),
    ]);
    const collision = parseAdapterConfig({
      ...minimal,
      env: { SAME: 'x' },
      envRefs: { SAME: { secretKeyRef: { name: 'gh', key: 'token' } } },
    });
    expect(collision.success === false && collision.issues).toEqual([
      { path: 'envRefs.SAME', message: 'also set in env: give each variable once' },
    ]);
  });

  it('reports bad env entries and bad label values with their paths', () => {
    const result = parseAdapterConfig({
      ...minimal,
      env: { '1BAD': 'x', REF: { secretKeyRef: { name: 'Bad_Name', key: 'k' } } },
      labels: { team: 'has spaces' },
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.issues.map((issue) => issue.path)).toEqual(['env.1BAD', 'env.REF.secretKeyRef.name', 'labels.team']);
  });

  it('drops reserved label prefixes and warns about unknown keys, but not about keys Paperclip manages', () => {
    const result = parseAdapterConfig({
      ...minimal,
      labels: { 'app.kubernetes.io/name': 'x', ok: 'y' },
      surprise: 1,
      paperclipRuntimeSkills: [],
      __paperclipConfigHash: 'abc',
    });
    expect(result.success && result.value.labels).toEqual({ ok: 'y' });
    expect(result.warnings).toEqual([
      'surprise: unknown setting, ignored',
      'labels.app.kubernetes.io/name: reserved label prefix, dropped',
    ]);
  });

  it('validates mcpServers entries and affinity keys', () => {
    const result = parseAdapterConfig({
      ...minimal,
      mcpServers: { broken: { type: 'http' } },
      affinity: { nodeAfinity: {} },
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.issues.map((issue) => issue.path)).toEqual(['mcpServers.broken', 'affinity.nodeAfinity']);
  });
});

describe('predecessor configuration', () => {
  const predecessor = {
    image: 'registry.example/claude:1',
    'resources.requests.cpu': '1000m',
    'resources.requests.memory': '2Gi',
    'resources.limits.cpu': '4000m',
    'resources.limits.memory': '8Gi',
    retainJobs: true,
    reattachOrphanedJobs: true,
    enableDocker: true,
    dockerImage: 'docker:28-dind',
    dockerCpuLimit: '2',
    dockerMemoryLimit: '2Gi',
    secretRef: 'paperclip-secrets',
    secretsNamespace: 'secrets',
    workspaceVolumeClaim: 'paperclip-data',
    workspaceMountPath: '/paperclip',
    nodeSelector: 'pool=agents',
    tolerations: '[{"key":"agents","operator":"Exists"}]',
    labels: 'team=platform',
    'providers.anthropic.accounts': ['a', 'b'],
    enableRtk: true,
    maxTurnsPerRun: 1000,
    timeoutSec: 3600,
    graceSec: 60,
  };

  it('maps every key to the current one and warns once per key that no longer applies', () => {
    const result = parseAdapterConfig(predecessor);
    expect(result.success).toBe(true);
    if (!result.success) return;
    expect(result.value).toMatchObject({
      resources: { requests: { cpu: '1000m', memory: '2Gi' }, limits: { cpu: '4000m', memory: '8Gi' } },
      retention: { onSuccess: 'keep', onFailure: 'keep' },
      lockPolicy: 'adopt',
      anthropicApiKeySecret: { name: 'paperclip-secrets', key: 'ANTHROPIC_API_KEY' },
      sessionVolume: { claimName: 'paperclip-data', mountAs: '/paperclip' },
      nodeSelector: { pool: 'agents' },
      tolerations: [{ key: 'agents', operator: 'Exists' }],
      labels: { team: 'platform' },
      maxTurnsPerRun: 1000,
      timeoutSec: 3600,
      graceSec: 60,
    });
    expect(result.warnings).toEqual([
      'retainJobs: deprecated predecessor setting, mapped to retention.onSuccess',
      'retainJobs: deprecated predecessor setting, mapped to retention.onFailure',
      'reattachOrphanedJobs: deprecated predecessor setting, mapped to lockPolicy',
      'workspaceVolumeClaim: deprecated predecessor setting, mapped to sessionVolume.claimName',
      'workspaceMountPath: deprecated predecessor setting, mapped to sessionVolume.mountAs',
      'secretRef: deprecated predecessor setting, mapped to anthropicApiKeySecret.name',
      'enableDocker: no longer supported, ignored: there is no privileged Docker-in-Docker sidecar; add a sidecar through podSpecPatch if you must',
      'dockerImage: no longer supported, ignored: there is no Docker sidecar',
      'dockerCpuLimit: no longer supported, ignored: there is no Docker sidecar',
      'dockerMemoryLimit: no longer supported, ignored: there is no Docker sidecar',
      'secretsNamespace: no longer supported, ignored: it was never used; Secrets are read from the Job namespace',
      'providers: no longer supported, ignored: providers.anthropic.accounts (ccrotate account pools) is not supported; use anthropicApiKeySecret',
      'enableRtk: no longer supported, ignored: it was removed in the predecessor 0.2.0',
    ]);
  });

  it('maps reattachOrphanedJobs false to reject, and leaves an explicit current key alone', () => {
    const result = parseAdapterConfig({
      ...minimal,
      reattachOrphanedJobs: false,
      secretRef: 'old',
      anthropicApiKeySecret: { name: 'new' },
    });
    expect(result.success && result.value.lockPolicy).toBe('reject');
    expect(result.success && result.value.anthropicApiKeySecret.name).toBe('new');
    expect(result.warnings).toContain(
      'secretRef: deprecated predecessor setting, ignored because anthropicApiKeySecret.name is set',
    );
  });

  it('lists a mapping for every predecessor key it handles', () => {
    expect(LEGACY_KEY_MAPPINGS.map((mapping) => mapping.key)).toEqual(
      expect.arrayContaining([
        'retainJobs',
        'reattachOrphanedJobs',
        'enableDocker',
        'dockerImage',
        'secretRef',
        'secretsNamespace',
        'workspaceVolumeClaim',
        'workspaceMountPath',
      ]),
    );
  });
});

describe('getConfigSchema', () => {
  it('has one form field per schema leaf, keyed by dot-path, with label, hint and group', () => {
    const schema = getConfigSchema();
    expect(schema.fields.map((field) => field.key)).toEqual(listLeaves(CONFIG_SCHEMA).map((leaf) => leaf.path));
    for (const field of schema.fields) {
      expect(field.label).not.toBe('');
      expect(field.hint).not.toBe('');
      expect(field.group).toBeDefined();
    }
    expect(schema.fields.find((field) => field.key === 'resources.limits.memory')).toMatchObject({
      type: 'text',
      group: 'Kubernetes',
    });
    expect(schema.fields.find((field) => field.key === 'timeoutSec')).toMatchObject({
      type: 'number',
      default: 14_400,
      meta: { unit: 'seconds' },
    });
    expect(schema.fields.find((field) => field.key === 'image')).toMatchObject({ required: true });
    expect(schema.fields.find((field) => field.key === 'effort')?.options?.[0]).toEqual({
      label: '(default)',
      value: '',
    });
  });

  it('matches the committed golden file', async () => {
    await expect(`${JSON.stringify(getConfigSchema(), null, 2)}\n`).toMatchFileSnapshot(
      './__fixtures__/config-schema.golden.json',
    );
  });

  it('round-trips: form defaults parse to the same config as no input', () => {
    const formValues: Record<string, unknown> = { image: 'x' };
    for (const field of getConfigSchema().fields)
      if (field.default !== undefined) formValues[field.key] = field.default;
    expect(parsed(formValues)).toEqual(parsed({ image: 'x' }));
  });
});

describe('agentConfigurationDoc', () => {
  it('documents every key with its default and unit', () => {
    for (const { path } of listLeaves(CONFIG_SCHEMA)) expect(agentConfigurationDoc).toContain(`| \`${path}\` |`);
    expect(agentConfigurationDoc).toContain('| `timeoutSec` | integer (≥ 0, ≤ 2592000), seconds | `14400` |');
  });
});

describe('AdapterConfig type', () => {
  it('is derived from the schema: defaulted fields are required, others optional', () => {
    expectTypeOf<AdapterConfig['timeoutSec']>().toEqualTypeOf<number>();
    expectTypeOf<AdapterConfig['lockPolicy']>().toEqualTypeOf<'wait' | 'adopt' | 'reject'>();
    expectTypeOf<AdapterConfig['model']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<AdapterConfig['resources']['limits']['memory']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<AdapterConfig['retention']['onFailure']>().toEqualTypeOf<'delete' | 'keep'>();
    expectTypeOf<AdapterConfig['sessionVolume']['claimName']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<AdapterConfig['extraArgs']>().toEqualTypeOf<string[]>();
  });
});

describe('parseAdapterConfig: values that would reach the runtime or leak a credential (issue 15)', () => {
  it('refuses claude-k8s.io/* keys in labels and annotations, naming each', () => {
    const result = parseAdapterConfig({
      ...minimal,
      labels: { 'claude-k8s.io/run-id': 'x', team: 'a' },
      annotations: { 'claude-k8s.io/cancel-requested': 'true', 'claude-k8s.io/keep-until': '2099', note: 'ok' },
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.issues.map((issue) => issue.path)).toEqual([
      'labels.claude-k8s.io/run-id',
      'annotations.claude-k8s.io/cancel-requested',
      'annotations.claude-k8s.io/keep-until',
    ]);
    expect(result.issues[0]?.message).toMatch(/^reserved key: claude-k8s\.io\/\*/);
  });

  it.each(['anthropicBaseUrl', 'paperclipApiUrl'])('refuses userinfo in %s without printing the password', (field) => {
    const result = parseAdapterConfig({ ...minimal, [field]: 'https://alice:s3cr3t-pw@gateway.example/v1' });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.issues.map((issue) => issue.path)).toEqual([field]);
    expect(result.issues[0]?.message).toMatch(/^credentials in the URL/);
    expect(JSON.stringify(result)).not.toContain('s3cr3t-pw');
  });

  it('refuses userinfo in an MCP server URL', () => {
    const result = parseAdapterConfig({
      ...minimal,
      mcpServers: { docs: { type: 'http', url: 'https://token:s3cr3t-pw@docs.example/mcp' } },
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.issues.map((issue) => issue.path)).toEqual(['mcpServers.docs.url']);
    expect(JSON.stringify(result)).not.toContain('s3cr3t-pw');
  });
});

describe('duration bounds', () => {
  it('every duration has a maximum, and a value above it is refused with the key named', () => {
    const durations = listLeaves(CONFIG_SCHEMA).filter(({ path }) => /(Sec|Seconds)$/.test(path));
    expect(durations.map(({ path }) => path)).toEqual(
      expect.arrayContaining(['timeoutSec', 'graceSec', 'lockWaitSeconds', 'imagePullGraceSec']),
    );
    for (const { path } of durations) {
      const leaf = path.split('.');
      const config: Record<string, unknown> = {};
      if (leaf.length === 1) config[path] = 40 * 86_400;
      else config[leaf[0]!] = { [leaf[1]!]: 40 * 86_400 };
      const result = parseAdapterConfig(config);
      expect(result.success, path).toBe(false);
      if (!result.success) expect(result.issues.map((issue) => issue.path)).toContain(path);
    }
  });
});
