import { admittingPolicy, loadTranscript } from '../test/fakes.ts';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildSkillSnapshot } from './skills.ts';
import { createServerAdapter, type CreateServerAdapterOptions } from './create-server-adapter.ts';
import { listModels, MODELS } from './models.ts';
import { REQUIRED_PERMISSIONS, type RequiredPermission } from './permissions.ts';
import type { EnvironmentProbe } from './environment-test.ts';
import { createManualClock } from '@claude-k8s/test-utils';

describe('createServerAdapter', () => {
  it('returns the module Paperclip expects, with no arguments', () => {
    const adapter = createServerAdapter();
    expect(adapter).toMatchObject({
      type: 'claude_k8s',
      supportsLocalAgentJwt: true,
      supportsInstructionsBundle: true,
      instructionsPathKey: 'instructionsFilePath',
      requiresMaterializedRuntimeSkills: false,
      runtimeToolDelivery: 'native_mcp',
    });
    for (const member of [
      'execute',
      'testEnvironment',
      'listModels',
      'listSkills',
      'syncSkills',
      'getConfigSchema',
    ] as const)
      expect(typeof adapter[member]).toBe('function');
    expect(adapter.sessionCodec).toBeDefined();
    expect(adapter.models).toEqual(MODELS);
    expect(adapter.agentConfigurationDoc).toMatch(/^# claude_k8s agent configuration/);
  });
});

describe('models', () => {
  it('lists a fresh copy each time', async () => {
    const first = await listModels();
    first.pop();
    expect(await listModels()).toHaveLength(MODELS.length);
    expect(MODELS.map((model) => model.id)).toContain('claude-opus-5');
  });
});

describe('skills', () => {
  const config = {
    paperclipRuntimeSkills: [
      {
        key: 'paperclipai/paperclip/paperclip',
        runtimeName: 'paperclip',
        source: '/srv/skills/paperclip',
        versionId: 'v1',
      },
      { key: 'company/review', runtimeName: 'review', source: '/srv/skills/review' },
      { key: 'company/gone', runtimeName: 'gone', source: '/srv/skills/gone', sourceStatus: 'missing' },
    ],
    paperclipSkillSync: { desiredSkills: ['paperclipai/paperclip/paperclip', 'company/gone', 'company/unknown'] },
  };

  it('lists skills as ephemeral, shipped into each run pod', async () => {
    const snapshot = await createServerAdapter().listSkills?.({
      agentId: 'a',
      companyId: 'c',
      adapterType: 'claude_k8s',
      config,
    });
    expect(snapshot).toMatchObject({
      adapterType: 'claude_k8s',
      supported: true,
      mode: 'ephemeral',
      desiredSkills: ['paperclipai/paperclip/paperclip', 'company/gone', 'company/unknown'],
    });
    expect(snapshot?.entries.map((entry) => [entry.key, entry.state, entry.desired])).toEqual([
      ['paperclipai/paperclip/paperclip', 'configured', true],
      ['company/review', 'available', false],
      ['company/gone', 'missing', true],
      ['company/unknown', 'missing', true],
    ]);
    expect(snapshot?.entries[0]).toMatchObject({
      targetPath: '/run/ck8s/files/skills/.claude/skills/paperclip',
      sourcePath: '/srv/skills/paperclip',
      versionId: 'v1',
      managed: true,
    });
    expect(snapshot?.warnings).toEqual([
      'skill company/gone: its source is missing on the Paperclip server; runs skip it',
      'skill company/unknown is desired but Paperclip offers no files for it',
    ]);
  });

  it('sync reports the snapshot for the new desired set; no desired set means all', async () => {
    const snapshot = await createServerAdapter().syncSkills?.(
      { agentId: 'a', companyId: 'c', adapterType: 'claude_k8s', config },
      ['company/review'],
    );
    expect(snapshot?.entries.filter((entry) => entry.desired).map((entry) => entry.key)).toEqual(['company/review']);
    expect(buildSkillSnapshot({ paperclipRuntimeSkills: config.paperclipRuntimeSkills }, null).desiredSkills).toEqual([
      'paperclipai/paperclip/paperclip',
      'company/review',
      'company/gone',
    ]);
  });
});

/** Reads the rules of the Role in deploy/rbac.yaml with a YAML parser (any formatting of the file). */
function readRoleRules(): RequiredPermission[] {
  const text = readFileSync(fileURLToPath(new URL('../../../deploy/rbac.yaml', import.meta.url)), 'utf8');
  const role = parseAllDocuments(text)
    .map(
      (document) =>
        document.toJS() as { kind?: string; rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[] },
    )
    .find((document) => document.kind === 'Role');
  const permissions: RequiredPermission[] = [];
  for (const rule of role?.rules ?? []) {
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) {
        const [name = '', subresource] = resource.split('/');
        for (const verb of rule.verbs) {
          permissions.push({
            group: group as RequiredPermission['group'],
            resource: name,
            ...(subresource === undefined ? {} : { subresource }),
            verb: verb as RequiredPermission['verb'],
            purpose: '',
          });
        }
      }
    }
  }
  return permissions;
}

describe('REQUIRED_PERMISSIONS', () => {
  it('equals the Role in deploy/rbac.yaml, verb by verb', () => {
    const key = (permission: RequiredPermission) =>
      `${permission.group}/${permission.resource}${permission.subresource === undefined ? '' : `/${permission.subresource}`}:${permission.verb}`;
    expect(readRoleRules().map(key).sort()).toEqual(REQUIRED_PERMISSIONS.map(key).sort());
  });

  it('gives a purpose for every permission and has no duplicates', () => {
    const keys = REQUIRED_PERMISSIONS.map(
      (permission) => `${permission.group}/${permission.resource}/${permission.subresource ?? ''}:${permission.verb}`,
    );
    expect(new Set(keys).size).toBe(keys.length);
    for (const permission of REQUIRED_PERMISSIONS) expect(permission.purpose.length).toBeGreaterThan(10);
  });
});

describe('testEnvironment', () => {
  const clock = createManualClock();
  const base = {
    image: 'img:1',
    namespace: 'agents',
    paperclipApiUrl: 'http://paperclip.svc:3100',
    anthropicApiKeySecret: { name: 'anthropic-api-key' },
    sessionVolume: { claimName: 'claude-sessions' },
  };
  const probe = (denied: string[] = []): EnvironmentProbe => ({
    checkPermissions: (_namespace, permissions) =>
      Promise.resolve(
        permissions.map((permission) => ({
          permission,
          allowed: !denied.includes(
            `${permission.resource}${permission.subresource ? `/${permission.subresource}` : ''}:${permission.verb}`,
          ),
          reason: 'RBAC: denied',
        })),
      ),
    secretHasKey: (_namespace, name) => Promise.resolve(name === 'anthropic-api-key'),
    claimExists: () => Promise.resolve(false),
  });

  /**
   * The environment test of `config` by an adapter with the admitting policy, the manual clock, no server environment,
   * and `options` (a probe, for example).
   */
  const testEnvironment = (config: Record<string, unknown>, options: CreateServerAdapterOptions = {}) =>
    createServerAdapter({ ...admittingPolicy, clock, serverEnv: {}, ...options }).testEnvironment({
      companyId: 'c',
      adapterType: 'claude_k8s',
      config,
    });
  it('fails with every config issue as an error check', async () => {
    const result = await testEnvironment({ 'resources.limits.cpu': 'x' });
    expect(result.status).toBe('fail');
    expect(result.checks.map((check) => check.message)).toEqual([
      'image: required',
      'resources.limits.cpu: expected a Kubernetes quantity such as 500m, got "x"',
    ]);
    expect(result.testedAt).toBe('2026-11-24T15:00:00.000Z');
  });

  it('checks every permission and names the missing ones, and the Secret and the claim', async () => {
    const result = await testEnvironment(base, { probeFactory: () => probe(['jobs:patch', 'leases:create']) });
    expect(result.status).toBe('fail');
    expect(
      result.checks.filter((check) => check.code === 'claude_k8s_rbac_denied').map((check) => check.message),
    ).toEqual([
      'missing permission in agents: patch jobs.batch (needed to set ttlSecondsAfterFinished of a kept failed Job; relabel an adopted Job)',
      "missing permission in agents: create leases.coordination.k8s.io (needed to take an agent's run lock)",
    ]);
    expect(result.checks.map((check) => check.code)).toContain('claude_k8s_session_claim_missing');
    expect(result.checks.map((check) => check.code)).not.toContain('claude_k8s_api_key_secret_missing');
  });

  it('a missing pods/exec is an error for a transfer-mode agent, a warning under auto, nothing otherwise', async () => {
    const denied = async (mode: string) => {
      const result = await testEnvironment(
        { ...base, workspace: { mode } },
        { probeFactory: () => probe(['pods/exec:create', 'pods/exec:get']) },
      );
      return result.checks
        .filter((check) => check.code === 'claude_k8s_rbac_denied')
        .map((check) => `${check.level} ${check.message}`);
    };
    expect(await denied('transfer')).toEqual([
      "error missing permission in agents: create pods/exec (needed to workspace.mode transfer: copy the workspace into the run's container and collect the agent's changes)",
      'error missing permission in agents: get pods/exec (needed to workspace.mode transfer: the WebSocket upgrade of an exec is a GET (older apiservers authorize it as get))',
    ]);
    expect(await denied('auto')).toEqual([
      expect.stringMatching(/^warn missing permission in agents: create pods\/exec/),
      expect.stringMatching(/^warn missing permission in agents: get pods\/exec/),
    ]);
    expect(await denied('none')).toEqual([]);
    expect(await denied('shared')).toEqual([]);
  });

  it('checks the shared workspace volume: half a setting, a missing claim, shared without a volume', async () => {
    const codes = async (serverEnv: Record<string, string>, config: Record<string, unknown> = base) => {
      const adapter = createServerAdapter({
        clock,
        serverEnv,
        probeFactory: () => ({
          ...probe(),
          claimExists: (_namespace, name) => Promise.resolve(name === 'paperclip-workspaces'),
        }),
      });
      const result = await adapter.testEnvironment({ companyId: 'c', adapterType: 'claude_k8s', config });
      return result.checks.map((check) => `${check.code}: ${check.message}`);
    };
    expect(await codes({ CLAUDE_K8S_WORKSPACE_CLAIM: 'paperclip-workspaces' })).toContain(
      "claude_k8s_workspace_volume_invalid: the server's shared workspace volume needs both CLAUDE_K8S_WORKSPACE_CLAIM and CLAUDE_K8S_WORKSPACE_ROOT; only one is set",
    );
    expect(await codes({ CLAUDE_K8S_WORKSPACE_CLAIM: 'gone', CLAUDE_K8S_WORKSPACE_ROOT: '/srv/pc' })).toContain(
      'claude_k8s_workspace_claim_missing: PersistentVolumeClaim agents/gone (CLAUDE_K8S_WORKSPACE_CLAIM) not found',
    );
    expect(
      await codes({ CLAUDE_K8S_WORKSPACE_CLAIM: 'paperclip-workspaces', CLAUDE_K8S_WORKSPACE_ROOT: '/srv/pc' }),
    ).toContain(
      'claude_k8s_workspace_volume: workspaces under /srv/pc are mounted from claim agents/paperclip-workspaces',
    );
    expect(await codes({})).toContain(
      "claude_k8s_no_workspace_volume: no workspace volume: runs work in the pod's own directory, not in Paperclip's workspace",
    );
    expect(await codes({}, { ...base, workspace: { mode: 'shared' } })).toContain(
      'claude_k8s_workspace_volume_missing: workspace.mode is shared, but the server names no workspace volume',
    );
  });

  it('fails with the reason when the default probe cannot load the configured kubeconfig', async () => {
    const result = await testEnvironment({ ...base, kubeconfig: '/nonexistent/claude-k8s/kubeconfig' });
    expect(result.status).toBe('fail');
    expect(JSON.stringify(result.checks)).toContain('/nonexistent/claude-k8s/kubeconfig');
  });

  it('passes when everything is in place', async () => {
    const result = await testEnvironment(base, {
      probeFactory: () => ({ ...probe(), claimExists: () => Promise.resolve(true) }),
    });
    expect(result.status).toBe('pass');
    expect(result.checks.map((check) => check.code)).toEqual([
      'claude_k8s_config_valid',
      'claude_k8s_policy_ok',
      'claude_k8s_paperclip_url',
      'claude_k8s_no_workspace_volume',
      'claude_k8s_rbac_ok',
    ]);
  });

  it('dry-runs the Job this configuration would create and reports an admission refusal as an error', async () => {
    const requests: { image: string; namespace: string; command: string[] }[] = [];
    const refused = await testEnvironment(base, {
      probeFactory: () => ({
        ...probe(),
        claimExists: () => Promise.resolve(true),
        dryRun: (target, spec) => {
          requests.push({ image: spec.image ?? '', namespace: target.namespace, command: [...spec.command] });
          return Promise.resolve([
            'pod: 403: pods "x" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true',
          ]);
        },
      }),
    });
    expect(refused.status).toBe('fail');
    expect(refused.checks.at(-1)).toMatchObject({
      code: 'claude_k8s_dry_run_refused',
      level: 'error',
      message: expect.stringContaining('violates PodSecurity') as unknown,
    });
    expect(requests).toHaveLength(1);
    expect(requests[0]!.command.join(' ')).toContain('claude');

    const admitted = await testEnvironment(base, {
      probeFactory: () => ({
        ...probe(),
        claimExists: () => Promise.resolve(true),
        dryRun: () => Promise.resolve([]),
      }),
    });
    expect(admitted.status).toBe('pass');
    expect(admitted.checks.at(-1)).toMatchObject({ code: 'claude_k8s_dry_run_admitted', level: 'info' });
  });

  it('liveProbe: runs the probe Job after the dry run admitted it, and reports its three checks', async () => {
    const started: { namespace: string; command: string[]; timeoutSeconds: number | undefined }[] = [];
    const output = [
      'ck8s-probe:cli:begin',
      '2.1.331 (Claude Code)',
      'ck8s-probe:cli:end 0',
      'ck8s-probe:paperclip:begin',
      'HTTP 200',
      'ck8s-probe:paperclip:end 0',
      'ck8s-probe:model:begin',
      loadTranscript('e_api_error_401').stdout.trimEnd(),
      'ck8s-probe:model:end 1',
      '',
    ].join('\n');
    const testWith = (dryRunProblems: string[], config: Record<string, unknown>) =>
      testEnvironment(config, {
        probeFactory: () => ({
          ...probe(),
          claimExists: () => Promise.resolve(true),
          dryRun: () => Promise.resolve(dryRunProblems),
          liveRun: (target, spec) => {
            started.push({
              namespace: target.namespace,
              command: [...spec.command],
              timeoutSeconds: spec.timeoutSeconds,
            });
            return Promise.resolve({ output, code: 'succeeded', message: null, jobName: 'probe-job' });
          },
        }),
      });
    // Off by default: nothing is started.
    await testWith([], base);
    expect(started).toEqual([]);

    const result = await testWith([], { ...base, liveProbe: true, liveProbeTimeoutSec: 45 });
    expect(started).toHaveLength(1);
    expect(started[0]!.command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(started[0]!.command).toContain('--max-turns');
    expect(started[0]!.timeoutSeconds).toBe(45);
    expect(result.status).toBe('fail');
    expect(result.checks.slice(-3).map((check) => [check.code, check.level])).toEqual([
      ['claude_k8s_probe_cli_ok', 'info'],
      ['claude_k8s_probe_paperclip_ok', 'info'],
      ['claude_k8s_probe_model_auth_failed', 'error'],
    ]);

    // A configuration the dry run refuses is not started for real.
    const refused = await testWith(['pod: 403: forbidden'], { ...base, liveProbe: true });
    expect(started).toHaveLength(1);
    expect(refused.checks.at(-1)).toMatchObject({ code: 'claude_k8s_probe_skipped', level: 'warn' });
  });

  it('reports every operator policy refusal as an error check naming its setting (issue 15)', async () => {
    const adapter = createServerAdapter({
      clock,
      serverEnv: { CLAUDE_K8S_ALLOWED_SECRETS: 'anthropic-api-key', PAPERCLIP_API_URL: 'http://paperclip.svc:3100' },
      policy: { allowedNamespaces: ['agents'] },
      namespaceReader: admittingPolicy.namespaceReader,
      probeFactory: () => ({
        ...probe(),
        claimExists: () => Promise.resolve(true),
        namespaceLabels: () =>
          Promise.resolve({ state: 'found', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } }),
      }),
    });
    const result = await adapter.testEnvironment({
      companyId: 'c',
      adapterType: 'claude_k8s',
      config: {
        ...base,
        serviceAccountName: 'deployer',
        anthropicBaseUrl: 'https://collector.example',
        envRefs: { STOLEN: { secretKeyRef: { name: 'ck8s-other-run-1234', key: 'PAPERCLIP_API_KEY' } } },
        podSpecPatch: { containers: [] },
      },
    });
    expect(result.status).toBe('fail');
    expect(
      result.checks.filter((check) => check.code === 'claude_k8s_policy_refused').map((check) => check.message),
    ).toEqual([
      expect.stringMatching(
        /^serviceAccountName: refused by the operator policy \(CLAUDE_K8S_ALLOWED_SERVICE_ACCOUNTS\)/,
      ),
      expect.stringMatching(
        /^envRefs\.STOLEN\.secretKeyRef\.name: refused by the operator policy \(CLAUDE_K8S_ALLOWED_SECRETS\): Secret ck8s-other-run-1234 is a per-run Secret/,
      ),
      expect.stringMatching(
        /^podSpecPatch\.containers: refused by the operator policy \(CLAUDE_K8S_ALLOWED_POD_SPEC_PATCH_FIELDS\)/,
      ),
      expect.stringMatching(/^anthropicBaseUrl: refused by the operator policy \(CLAUDE_K8S_ALLOWED_MODEL_HOSTS\)/),
      expect.stringMatching(
        /^namespace: refused by the operator policy \(CLAUDE_K8S_REQUIRE_RESTRICTED_NAMESPACE\): namespace agents does not enforce Pod Security restricted \(pod-security\.kubernetes\.io\/enforce=baseline\)/,
      ),
    ]);
  });
});
