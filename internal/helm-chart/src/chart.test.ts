/**
 * The chart without a cluster: helm lint, rendering of the documented value sets, the schema's refusals, the values
 * table, and no drift from the loose manifests in deploy/ (RBAC rules, NetworkPolicy, session claim).
 * The API server's validation of the rendered objects is in chart.cluster.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  deployManifest,
  ensureHelm,
  lint,
  one,
  repoRoot,
  template,
  templateRaw,
  valueSetFile,
  valueSets,
  type KubeObject,
} from './helm.ts';

let helm = '';
beforeAll(() => {
  helm = ensureHelm();
});

const kinds = (objects: KubeObject[]): string[] => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
const envOf = (deployment: KubeObject): Record<string, unknown> => {
  const spec = deployment['spec'] as {
    template: { spec: { containers: { env: { name: string; value?: string }[] }[] } };
  };
  const env = spec.template.spec.containers[0]?.env ?? [];
  return Object.fromEntries(env.map((e) => [e.name, e.value ?? 'valueFrom']));
};

/** Kinds without a namespace. */
const CLUSTER_SCOPED = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'];

describe('helm lint and template of the documented value sets', () => {
  it('is Helm 4 at the pinned version', () => {
    const version = execFileSync(helm, ['version', '--template', '{{.Version}}'], { encoding: 'utf8' });
    expect(version).toMatch(/^v4\.\d+\.\d+$/);
  });

  it.each(valueSets)('%s: lints clean with --strict', (set) => {
    const r = lint(helm, { namespace: 'paperclip', valueFiles: [valueSetFile(set)] });
    expect(r.stderr + r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.status).toBe(0);
  });

  it('default: the agents namespace with Pod Security restricted, the account, RBAC, policy and claim', () => {
    const objects = template(helm, { namespace: 'paperclip', valueFiles: [valueSetFile('default')] });
    expect(kinds(objects)).toEqual([
      'ClusterRole/claude-k8s-adapter-namespaces-agents',
      'ClusterRoleBinding/claude-k8s-adapter-namespaces-agents',
      'Namespace/agents',
      'NetworkPolicy/claude-agent-pods',
      'PersistentVolumeClaim/claude-sessions',
      'Role/claude-k8s-adapter',
      'RoleBinding/claude-k8s-adapter',
      'ServiceAccount/paperclip',
    ]);
    const ns = one(objects, 'Namespace');
    expect(ns.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
    for (const o of objects.filter((o) => !CLUSTER_SCOPED.includes(o.kind) && o.kind !== 'ServiceAccount')) {
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('agents');
    }
    // The namespace read (Pod Security check of the operator policy) is granted for the agents' namespace only.
    expect(one(objects, 'ClusterRole')['rules']).toEqual([
      { apiGroups: [''], resources: ['namespaces'], resourceNames: ['agents'], verbs: ['get'] },
    ]);
    expect(one(objects, 'ServiceAccount').metadata.namespace).toBe('paperclip');
    expect(one(objects, 'RoleBinding')['subjects']).toEqual([
      { kind: 'ServiceAccount', name: 'paperclip', namespace: 'paperclip' },
    ]);
  });

  it('agents-only-existing-namespace: no Namespace or ServiceAccount, everything in the release namespace', () => {
    const objects = template(helm, {
      namespace: 'agents',
      valueFiles: [valueSetFile('agents-only-existing-namespace')],
    });
    expect(kinds(objects)).toEqual([
      'ClusterRole/claude-k8s-adapter-namespaces-agents',
      'ClusterRoleBinding/claude-k8s-adapter-namespaces-agents',
      'NetworkPolicy/claude-agent-pods',
      'PersistentVolumeClaim/claude-sessions',
      'Role/claude-k8s-adapter',
      'RoleBinding/claude-k8s-adapter',
    ]);
    for (const o of objects.filter((o) => !CLUSTER_SCOPED.includes(o.kind)))
      expect(o.metadata.namespace).toBe('agents');
    expect(one(objects, 'RoleBinding')['subjects']).toEqual([
      { kind: 'ServiceAccount', name: 'paperclip', namespace: 'paperclip' },
    ]);
  });

  it('with-paperclip: an authenticated Paperclip whose adapter defaults point at in-cluster addresses', () => {
    const objects = template(helm, { namespace: 'paperclip', valueFiles: [valueSetFile('with-paperclip')] });
    expect(kinds(objects)).toEqual([
      'ClusterRole/claude-k8s-adapter-namespaces-agents',
      'ClusterRoleBinding/claude-k8s-adapter-namespaces-agents',
      'ConfigMap/paperclip-adapter-plugins',
      'Deployment/paperclip',
      'Namespace/agents',
      'NetworkPolicy/claude-agent-pods',
      'PersistentVolumeClaim/claude-sessions',
      'PersistentVolumeClaim/paperclip-home',
      'Role/claude-k8s-adapter',
      'RoleBinding/claude-k8s-adapter',
      'Secret/paperclip-auth',
      'Service/paperclip',
      'ServiceAccount/paperclip',
    ]);
    const deployment = one(objects, 'Deployment');
    const env = envOf(deployment);
    expect(env).toMatchObject({
      PAPERCLIP_DEPLOYMENT_MODE: 'authenticated',
      HOST: '0.0.0.0',
      PAPERCLIP_API_URL: 'http://paperclip.paperclip.svc.cluster.local:3100',
      PAPERCLIP_PUBLIC_URL: 'http://paperclip.paperclip.svc.cluster.local:3100',
      PAPERCLIP_NAMESPACE: 'agents',
      BETTER_AUTH_SECRET: 'valueFrom',
      CLAUDE_K8S_INSTRUCTIONS_DIRS: '/data/instructions',
    });
    expect(String(env['PAPERCLIP_ALLOWED_HOSTNAMES']).split(',')).toContain('paperclip.paperclip.svc.cluster.local');
    const podSpec = (deployment['spec'] as { template: { spec: Record<string, unknown> } }).template.spec;
    expect(podSpec['serviceAccountName']).toBe('paperclip');
    // The adapter's plugin record points at the package in the image.
    const plugins = JSON.parse(
      (one(objects, 'ConfigMap')['data'] as Record<string, string>)['adapter-plugins.json'] ?? '',
    ) as unknown;
    expect(plugins).toEqual([
      {
        packageName: '/opt/claude-k8s/node_modules/@claude-k8s/paperclip-adapter',
        localPath: '/opt/claude-k8s/node_modules/@claude-k8s/paperclip-adapter',
        type: 'claude_k8s',
        installedAt: '1970-01-01T00:00:00.000Z',
      },
    ]);
    // The agents' NetworkPolicy lets agents reach exactly these pods, on the Service's port.
    const selector = (deployment['spec'] as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    const egress = (one(objects, 'NetworkPolicy')['spec'] as { egress: unknown[] }).egress[1];
    expect(egress).toEqual({
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'paperclip' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': selector['app.kubernetes.io/name'] } },
        },
      ],
      ports: [{ protocol: 'TCP', port: 3100 }],
    });
    // The auth secret is random per render, and never the same twice.
    const again = one(
      template(helm, { namespace: 'paperclip', valueFiles: [valueSetFile('with-paperclip')] }),
      'Secret',
    );
    expect(again['data']).not.toEqual(one(objects, 'Secret')['data']);
  });

  it('sessions: storage class, size and access modes come from values; keepOnUninstall keeps the claim', () => {
    const objects = template(helm, {
      namespace: 'paperclip',
      setJson: {
        'sessions.storageClassName': 'fast-rwx',
        'sessions.size': '5Gi',
        'sessions.accessModes': ['ReadWriteOnce'],
        'sessions.keepOnUninstall': true,
      },
    });
    const pvc = one(objects, 'PersistentVolumeClaim');
    expect(pvc['spec']).toEqual({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'fast-rwx',
      resources: { requests: { storage: '5Gi' } },
    });
    expect(pvc.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
  });
});

describe('no drift from the loose manifests in deploy/', () => {
  it("the Role's rules are deploy/rbac.yaml's, verb for verb", () => {
    const chartRole = one(template(helm, { namespace: 'paperclip' }), 'Role');
    const deployRole = one(deployManifest('rbac.yaml'), 'Role');
    expect(chartRole['rules']).toEqual(deployRole['rules']);
    expect(chartRole.metadata.name).toBe(deployRole.metadata.name);
  });

  it("the NetworkPolicy's spec is deploy/network-policy.yaml's with the default values", () => {
    const chart = one(template(helm, { namespace: 'paperclip' }), 'NetworkPolicy');
    const deploy = one(deployManifest('network-policy.yaml'), 'NetworkPolicy');
    expect(chart['spec']).toEqual(deploy['spec']);
  });

  it("the session claim's spec is deploy/session-pvc.yaml's with the default values", () => {
    const chart = one(template(helm, { namespace: 'paperclip' }), 'PersistentVolumeClaim');
    const deploy = one(deployManifest('session-pvc.yaml'), 'PersistentVolumeClaim');
    expect(chart['spec']).toEqual(deploy['spec']);
    expect(chart.metadata.name).toBe(deploy.metadata.name);
  });
});

describe('bad values are refused with a message naming them', () => {
  const refused = (options: Parameters<typeof templateRaw>[1]): string => {
    const r = templateRaw(helm, options);
    expect(r.status, r.stdout).not.toBe(0);
    return r.stderr;
  };

  it('a misspelt key (the schema allows no unknown keys)', () => {
    expect(refused({ namespace: 'p', setJson: { 'sesions.size': '1Gi' } })).toMatch(/additional properties 'sesions'/);
  });

  it('a size that is not a quantity', () => {
    expect(refused({ namespace: 'p', setJson: { 'sessions.size': 'lots' } })).toMatch(/\/sessions\/size.*'lots'/);
  });

  it('an access mode Kubernetes does not have', () => {
    expect(refused({ namespace: 'p', setJson: { 'sessions.accessModes': ['ReadWriteSometimes'] } })).toMatch(
      /sessions\/accessModes\/0/,
    );
  });

  it('Paperclip enabled without an image', () => {
    expect(refused({ namespace: 'p', setJson: { 'paperclip.enabled': true } })).toMatch(/paperclip\/image\/repository/);
  });

  it('a policy variable outside the adapter policy (it could override the chart’s own settings)', () => {
    expect(refused({ namespace: 'p', setJson: { 'paperclip.policy': { PAPERCLIP_API_URL: 'http://x' } } })).toMatch(
      /invalid propertyName 'PAPERCLIP_API_URL'/,
    );
  });

  it('creating the release namespace itself', () => {
    expect(refused({ namespace: 'agents' })).toContain(
      'agents.namespace.create=true would create the release namespace "agents"',
    );
  });

  it('an external database without its Secret', () => {
    expect(
      refused({
        namespace: 'p',
        valueFiles: [valueSetFile('with-paperclip')],
        setJson: { 'paperclip.database.type': 'external' },
      }),
    ).toContain('paperclip.database.type=external needs paperclip.database.existingSecret');
  });
});

describe('the values table', () => {
  const generator = join(repoRoot, 'scripts', 'helm-values-table.mjs');
  const tempChart = (values: string, readme: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'values-table-'));
    writeFileSync(join(dir, 'values.yaml'), values);
    writeFileSync(join(dir, 'README.md'), readme);
    return dir;
  };
  const markers =
    '# T\n\n<!-- values-table:start (generated by scripts/helm-values-table.mjs; do not edit) -->\n<!-- values-table:end -->\n';

  it('refuses a value without a `# --` comment, naming it', () => {
    const dir = tempChart('a:\n  # -- documented\n  b: 1\n  c: two\n', markers);
    const r = spawnSync(process.execPath, [generator, '--chart', dir], { encoding: 'utf8' });
    rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("line 4: 'a.c' has no '# -- ' comment above it");
  });

  it('writes one row per documented value, with its type and default', () => {
    const dir = tempChart('a:\n  # -- the b\n  # of a\n  b: [x, y]\n# -- top | level\nc: {}\n', markers);
    const r = spawnSync(process.execPath, [generator, '--chart', dir], { encoding: 'utf8' });
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    rmSync(dir, { recursive: true, force: true });
    expect(r.status, r.stderr).toBe(0);
    expect(readme).toMatch(/\| `a\.b` +\| list +\| `\["x","y"\]` +\| the b of a +\|/);
    expect(readme).toMatch(/\| `c` +\| object +\| `\{\}` +\| top \\\| level +\|/);
  });

  it('in the chart README is generated from values.yaml and current', () => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'helm-values-table.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/helm-values-table: \d+ values, table current/);
    expect(r.status).toBe(0);
  });
});
