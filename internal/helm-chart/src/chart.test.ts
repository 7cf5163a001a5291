/**
 * The chart without a cluster: helm lint, rendering of the documented value sets, the schema's refusals, the values
 * table, the agents' NetworkPolicy and its refusals, and no drift from the loose manifests in deploy/ (RBAC rules,
 * NetworkPolicy, session claim).
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

interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  volumeMounts?: Record<string, unknown>[];
}
interface PodSpec {
  serviceAccountName: string;
  initContainers: Container[];
  containers: Container[];
  volumes: ({ name: string } & Record<string, unknown>)[];
}

/** The chart's appVersion: the adapter version the chart installs by default. */
const chartAppVersion = (): string => {
  const match = /^appVersion: '([^']+)'$/m.exec(
    readFileSync(join(repoRoot, 'deploy/helm/claude-k8s/Chart.yaml'), 'utf8'),
  );
  if (!match?.[1]) throw new Error('Chart.yaml has no appVersion');
  return match[1];
};

/** The operator policy deploy/paperclip.yaml sets (Jobs only in `agents`, only the model key Secret). */
const PAPERCLIP_YAML_POLICY = {
  CLAUDE_K8S_ALLOWED_NAMESPACES: 'agents',
  CLAUDE_K8S_ALLOWED_SECRETS: 'anthropic-api-key',
  CLAUDE_K8S_INSTRUCTIONS_DIRS: '/paperclip/instructions',
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
      CLAUDE_K8S_INSTRUCTIONS_DIRS: '/paperclip/instructions',
      PAPERCLIP_HOME: '/paperclip',
    });
    expect(String(env['PAPERCLIP_ALLOWED_HOSTNAMES']).split(',')).toEqual(
      expect.arrayContaining(['paperclip.paperclip.svc.cluster.local', '127.0.0.1', 'localhost']),
    );
    const podSpec = (deployment['spec'] as { template: { spec: PodSpec } }).template.spec;
    expect(podSpec.serviceAccountName).toBe('paperclip');
    // The official image, at the pinned Paperclip release, started by its own entrypoint and command.
    const server = podSpec.containers[0]!;
    expect(server.image).toBe('ghcr.io/paperclipai/paperclip:2026.916.1');
    expect(server.command).toBeUndefined();
    expect(server.args).toBeUndefined();
    // The adapter: npm-installed by an init container of the same image into an emptyDir the server mounts read-only.
    const install = podSpec.initContainers.find((c) => c.name === 'install-adapter')!;
    expect(install.image).toBe(server.image);
    expect(install.command).toEqual([
      'npm',
      'install',
      '--prefix=/opt/claude-k8s',
      '--omit=dev',
      '--no-audit',
      '--no-fund',
      '--no-update-notifier',
      `@claude-k8s/paperclip-adapter@${chartAppVersion()}`,
    ]);
    expect(install.volumeMounts).toContainEqual({ name: 'adapter', mountPath: '/opt/claude-k8s' });
    expect(server.volumeMounts).toContainEqual({ name: 'adapter', mountPath: '/opt/claude-k8s', readOnly: true });
    expect(podSpec.volumes).toContainEqual({ name: 'adapter', emptyDir: {} });
    expect(podSpec.volumes).toContainEqual({ name: 'home', persistentVolumeClaim: { claimName: 'paperclip-home' } });
    // The adapter's plugin record points at the installed package.
    const plugins = JSON.parse(
      (one(objects, 'ConfigMap')['data'] as Record<string, string>)['adapter-plugins.json'] ?? '',
    ) as unknown;
    expect(plugins).toEqual([
      {
        packageName: '@claude-k8s/paperclip-adapter',
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

  it("the adapter version the chart installs (appVersion) is the adapter package's version", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'packages/paperclip-adapter/package.json'), 'utf8')) as {
      version: string;
    };
    expect(chartAppVersion()).toBe(pkg.version);
  });

  it('with-paperclip for a cluster without storage or registry: emptyDir home, own image and command, adapter from a volume', () => {
    const objects = template(helm, {
      namespace: 'paperclip',
      valueFiles: [valueSetFile('with-paperclip')],
      setJson: {
        'paperclip.persistence.enabled': false,
        'paperclip.image': { repository: 'localhost/node', tag: '24', pullPolicy: 'Never' },
        'paperclip.command': ['node', '/opt/paperclip/node_modules/@paperclipai/server/dist/index.js'],
        'paperclip.workingDir': '/paperclip',
        'paperclip.adapter': { install: { enabled: false }, path: '/src/packages/paperclip-adapter' },
        'paperclip.extraVolumes': [{ name: 'src', hostPath: { path: '/src', type: 'Directory' } }],
        'paperclip.extraVolumeMounts': [{ name: 'src', mountPath: '/src', readOnly: true }],
      },
    });
    expect(kinds(objects)).not.toContain('PersistentVolumeClaim/paperclip-home');
    const podSpec = (one(objects, 'Deployment')['spec'] as { template: { spec: PodSpec } }).template.spec;
    const server = podSpec.containers[0]!;
    expect(server.image).toBe('localhost/node:24');
    expect(server.imagePullPolicy).toBe('Never');
    expect(server.command).toEqual(['node', '/opt/paperclip/node_modules/@paperclipai/server/dist/index.js']);
    expect(server.workingDir).toBe('/paperclip');
    expect(podSpec.initContainers.map((c) => c.name)).toEqual(['seed-adapter-plugins']);
    expect(podSpec.volumes).toContainEqual({ name: 'home', emptyDir: {} });
    expect(podSpec.volumes).toContainEqual({ name: 'src', hostPath: { path: '/src', type: 'Directory' } });
    expect(podSpec.volumes.map((v) => v.name)).not.toContain('adapter');
    expect(server.volumeMounts).toContainEqual({ name: 'src', mountPath: '/src', readOnly: true });
    const plugins = JSON.parse(
      (one(objects, 'ConfigMap')['data'] as Record<string, string>)['adapter-plugins.json'] ?? '',
    ) as { localPath: string }[];
    expect(plugins[0]?.localPath).toBe('/src/packages/paperclip-adapter');
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

describe("the agents' NetworkPolicy", () => {
  type Egress = { to?: Record<string, unknown>[]; ports?: { protocol?: string; port?: number }[] };
  const policy = (setJson: Record<string, unknown> = {}, valueFiles: string[] = []) =>
    one(template(helm, { namespace: 'paperclip', setJson, valueFiles }), 'NetworkPolicy')['spec'] as {
      ingress: unknown[];
      egress: Egress[];
      policyTypes: string[];
    };
  const cidrsOf = (rule: Egress | undefined): string[] =>
    (rule?.to ?? []).map((peer) => (peer['ipBlock'] as { cidr: string } | undefined)?.cidr ?? 'selector');
  const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: 'TCP', port }));

  it('defaults: no ingress; egress to cluster and node-local DNS, Paperclip, and Anthropic’s API ranges on 443 only', () => {
    const spec = policy();
    expect(spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(spec.ingress).toEqual([]);
    expect(spec.egress).toEqual([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
          { ipBlock: { cidr: '169.254.20.10/32' } },
        ],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'paperclip' } },
            podSelector: { matchLabels: { 'app.kubernetes.io/name': 'paperclip' } },
          },
        ],
        ports: tcp(3100),
      },
      {
        to: [
          { ipBlock: { cidr: '160.79.104.0/23' } },
          { ipBlock: { cidr: '153.61.224.0/22' } },
          { ipBlock: { cidr: '2607:6bc0::/48' } },
        ],
        ports: tcp(443),
      },
    ]);
  });

  it('network-gateway-and-git: the gateway and GitHub’s ranges as rules of their own, extraEgress appended', () => {
    const spec = policy({}, [valueSetFile('network-gateway-and-git')]);
    expect(spec.egress).toHaveLength(5);
    expect(cidrsOf(spec.egress[0])).toEqual(['selector']); // no node-local DNS
    expect(cidrsOf(spec.egress[2])).toEqual(['10.20.30.40/32']);
    expect(spec.egress[2]?.ports).toEqual(tcp(443));
    expect(cidrsOf(spec.egress[3])).toContain('140.82.112.0/20');
    expect(spec.egress[3]?.ports).toEqual(tcp(443, 22));
    expect(spec.egress[4]).toEqual({
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'registry' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'verdaccio' } },
        },
      ],
      ports: tcp(4873),
    });
  });

  it('empty address lists render no rule at all (an egress rule without `to` would allow every destination)', () => {
    const spec = policy({ 'networkPolicy.modelApi.cidrs': [], 'networkPolicy.dns.nodeLocalCidrs': [] });
    expect(spec.egress).toHaveLength(2);
    for (const rule of spec.egress) expect(rule.to?.length).toBeGreaterThan(0);
  });

  it('every documented value set renders only rules with a non-empty `to`', () => {
    for (const set of valueSets) {
      const objects = template(helm, {
        namespace: set === 'agents-only-existing-namespace' ? 'agents' : 'paperclip',
        valueFiles: [valueSetFile(set)],
      });
      const spec = one(objects, 'NetworkPolicy')['spec'] as { egress: Egress[] };
      for (const rule of spec.egress) expect(rule.to?.length, `${set}: ${JSON.stringify(rule)}`).toBeGreaterThan(0);
    }
  });

  it('allowAnyPublicHttps: adds the old HTTPS-to-public-IPv4 rule, private, link-local and CGNAT ranges excepted', () => {
    const spec = policy({ 'networkPolicy.allowAnyPublicHttps': true });
    expect(spec.egress.at(-1)).toEqual({
      to: [
        {
          ipBlock: {
            cidr: '0.0.0.0/0',
            except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '100.64.0.0/10'],
          },
        },
      ],
      ports: tcp(443),
    });
    // The model API rule stays.
    expect(cidrsOf(spec.egress[2])).toEqual(['160.79.104.0/23', '153.61.224.0/22', '2607:6bc0::/48']);
  });

  it('extraEgress may allow a wide range whose `except` holds the metadata addresses', () => {
    const rule = {
      // (The API requires each `except` to be a strict subset of `cidr`.)
      to: [{ ipBlock: { cidr: '160.0.0.0/4', except: ['169.254.0.0/16'] } }],
      ports: tcp(8443),
    };
    expect(policy({ 'networkPolicy.extraEgress': [rule] }).egress.at(-1)).toEqual(rule);
  });

  it('a CIDR next to a metadata address is fine (the check is containment, not a prefix match)', () => {
    const spec = policy({
      'networkPolicy.modelApi.cidrs': ['169.254.169.255/32', 'fd00:ec2::255/128', '169.254.168.0/24'],
    });
    expect(cidrsOf(spec.egress[2])).toEqual(['169.254.169.255/32', 'fd00:ec2::255/128', '169.254.168.0/24']);
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

  it("deploy/paperclip.yaml is the chart's Paperclip for its names (Deployment, Service, plugin record, home claim)", () => {
    const chart = template(helm, {
      namespace: 'paperclip',
      valueFiles: [valueSetFile('with-paperclip')],
      setJson: { 'paperclip.policy': PAPERCLIP_YAML_POLICY },
    });
    const loose = deployManifest('paperclip.yaml');
    for (const [kind, name] of [
      ['Deployment', 'paperclip'],
      ['Service', 'paperclip'],
      ['PersistentVolumeClaim', 'paperclip-home'],
    ] as const)
      expect(one(loose, kind, name)['spec'], `${kind}/${name}`).toEqual(one(chart, kind, name)['spec']);
    expect(one(loose, 'ConfigMap', 'paperclip-adapter-plugins')['data']).toEqual(
      one(chart, 'ConfigMap', 'paperclip-adapter-plugins')['data'],
    );
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

  it('Paperclip enabled with an empty image repository', () => {
    expect(
      refused({ namespace: 'p', setJson: { 'paperclip.enabled': true, 'paperclip.image.repository': '' } }),
    ).toMatch(/paperclip\/image\/repository/);
  });

  it('an adapter path outside the directory the adapter install writes', () => {
    expect(
      refused({
        namespace: 'p',
        valueFiles: [valueSetFile('with-paperclip')],
        setJson: { 'paperclip.adapter.path': '/opt/elsewhere/paperclip-adapter' },
      }),
    ).toContain('paperclip.adapter.path "/opt/elsewhere/paperclip-adapter" is outside /opt/claude-k8s/node_modules/');
  });

  it('an extra volume mount without a mount path', () => {
    expect(
      refused({
        namespace: 'p',
        valueFiles: [valueSetFile('with-paperclip')],
        setJson: { 'paperclip.extraVolumeMounts': [{ name: 'x' }] },
      }),
    ).toMatch(/extraVolumeMounts\/0.*mountPath/);
  });

  it('a policy variable outside the adapter policy (it could override the chart’s own settings)', () => {
    expect(refused({ namespace: 'p', setJson: { 'paperclip.policy': { PAPERCLIP_API_URL: 'http://x' } } })).toMatch(
      /invalid propertyName 'PAPERCLIP_API_URL'/,
    );
  });

  describe('NetworkPolicy addresses agents must never reach', () => {
    const np = (key: string, value: unknown) =>
      refused({ namespace: 'p', setJson: { [`networkPolicy.${key}`]: value } });

    it.each([
      ['modelApi.cidrs', ['0.0.0.0/0'], 'networkPolicy.modelApi.cidrs[0]: "0.0.0.0/0" allows every address'],
      ['gitHosts.cidrs', ['192.30.252.0/22', '::/0'], 'networkPolicy.gitHosts.cidrs[1]: "::/0" allows every address'],
    ])('%s %j: every address, pointing at allowAnyPublicHttps', (key, value, message) => {
      const stderr = np(key, value);
      expect(stderr).toContain(message);
      expect(stderr).toContain('set networkPolicy.allowAnyPublicHttps=true');
    });

    it('0.0.0.0/0 stays refused with allowAnyPublicHttps set (the hatch is its own rule, with exceptions)', () => {
      const stderr = refused({
        namespace: 'p',
        setJson: { 'networkPolicy.allowAnyPublicHttps': true, 'networkPolicy.modelApi.cidrs': ['0.0.0.0/0'] },
      });
      expect(stderr).toContain('"0.0.0.0/0" allows every address');
    });

    it.each([
      ['modelApi.cidrs', ['169.254.169.254/32'], 'modelApi.cidrs[0]: "169.254.169.254/32"', '169.254.169.254'],
      ['modelApi.cidrs', ['160.0.0.0/4'], 'modelApi.cidrs[0]: "160.0.0.0/4"', '169.254.169.254'],
      ['dns.nodeLocalCidrs', ['169.254.0.0/16'], 'dns.nodeLocalCidrs[0]: "169.254.0.0/16"', '169.254.169.254'],
      ['gitHosts.cidrs', ['fd00:ec2::/32'], 'gitHosts.cidrs[0]: "fd00:ec2::/32"', 'fd00:ec2::254'],
      ['gitHosts.cidrs', ['fc00::/7'], 'gitHosts.cidrs[0]: "fc00::/7"', 'fd00:ec2::254'],
      [
        'modelApi.cidrs',
        ['fd00:ec2:0:0:0:0:0:254/128'],
        'modelApi.cidrs[0]: "fd00:ec2:0:0:0:0:0:254/128"',
        'fd00:ec2::254',
      ],
      ['modelApi.cidrs', ['100.64.0.0/10'], 'modelApi.cidrs[0]: "100.64.0.0/10"', '100.100.100.200'],
      ['modelApi.cidrs', ['64:ff9b::/96'], 'modelApi.cidrs[0]: "64:ff9b::/96"', '64:ff9b::a9fe:a9fe'],
    ])('%s %j: holds a metadata address', (key, value, where, address) => {
      const stderr = np(key, value);
      expect(stderr).toContain(`networkPolicy.${where} holds the cloud metadata address ${address}`);
    });

    it('an extraEgress ipBlock holding a metadata address without an `except` for it', () => {
      const stderr = np('extraEgress', [
        { to: [{ podSelector: {} }, { ipBlock: { cidr: '100.0.0.0/8', except: ['100.64.0.0/16'] } }] },
      ]);
      // The `except` leaves Alibaba Cloud's 100.100.100.200 inside.
      expect(stderr).toContain(
        'networkPolicy.extraEgress[0].to[1].ipBlock.cidr: "100.0.0.0/8" holds the cloud metadata address 100.100.100.200',
      );
    });

    it('an extraEgress rule without `to` (it would allow every destination)', () => {
      expect(np('extraEgress', [{ ports: [{ port: 22 }] }])).toMatch(
        /\/networkPolicy\/extraEgress\/0.*missing property 'to'/s,
      );
    });

    it('a CIDR the schema does not accept', () => {
      expect(np('modelApi.cidrs', ['api.anthropic.com'])).toMatch(
        /\/networkPolicy\/modelApi\/cidrs\/0.*does not match pattern/,
      );
      expect(np('modelApi.cidrs', ['1.2.3.4/33'])).toMatch(/\/networkPolicy\/modelApi\/cidrs\/0/);
      expect(np('modelApi.cidrs', ['1:2:3:4:5:6:7:8:9/64'])).toContain(
        'networkPolicy.modelApi.cidrs[0]: "1:2:3:4:5:6:7:8:9/64" is not a CIDR',
      );
    });

    it('the values of chart 0.1.0 (modelApi.cidr/except), saying what replaced them', () => {
      expect(np('modelApi.cidr', '0.0.0.0/0')).toContain(
        'networkPolicy.modelApi.cidr and .except were replaced in chart 0.2.0 by networkPolicy.modelApi.cidrs',
      );
    });
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
