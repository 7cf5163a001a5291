/**
 * The chart against a real Kubernetes API server (the local cluster at the pinned version, or KUBECONFIG's):
 * - every object rendered for each documented value set passes the API server's validation: server-side apply as a
 *   dry run with strict field validation (unknown or misplaced fields are errors, as are invalid values), admission
 *   included;
 * - the NetworkPolicy's values are refused where a CIDR holds the API server's address (found with lookup);
 * - the default value set installed for real with `helm install`: the namespace enforces Pod Security restricted,
 *   the ServiceAccount gets exactly the Role's verbs in the agents' namespace and nothing else, and `helm uninstall`
 *   leaves none of the chart's objects behind.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTestCluster } from '@claude-k8s/local-cluster';
import { waitFor } from '@claude-k8s/test-utils';
import { ensureHelm, runHelm, templateRaw, valueSetFile, valueSets, chartDir, type ValueSet } from './helm.ts';
import { kubectl, kubectlOk } from './kubectl.ts';

const cluster = resolveTestCluster();
// Namespaces `helm-chart-<random>-*`: two runs never collide, and they are easy to find and clean up by hand.
const id = randomBytes(3).toString('hex');
const serverNs = `helm-chart-${id}-srv`;
const agentsNs = `helm-chart-${id}-agents`;
const installNs = `helm-chart-${id}-rel`;
const installAgentsNs = `helm-chart-${id}-inst`;
const release = `ck8s-${id}`;
let helm = '';

console.info(`[chart] ${cluster.kind} cluster at ${cluster.server}`);

function namespaceGone(name: string): boolean {
  const r = kubectl(['get', 'namespace', name, '-o', 'name']);
  if (r.status !== 0 && /NotFound|not found/.test(r.stderr)) return true;
  if (r.status !== 0) throw new Error(`kubectl get namespace ${name}: ${r.stderr}`);
  return false;
}

beforeAll(() => {
  helm = ensureHelm();
  kubectlOk(['create', 'namespace', serverNs]);
  kubectlOk(['create', 'namespace', agentsNs]);
  kubectlOk(['create', 'namespace', installNs]);
});

afterAll(() => {
  runHelm(helm, ['uninstall', release, '--namespace', installNs, '--wait', '--timeout', '60s']);
  for (const ns of [serverNs, agentsNs, installNs, installAgentsNs]) {
    kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=false']);
  }
});

/** The value set rendered into this run's namespaces. */
function render(set: ValueSet, setJson: Record<string, unknown> = {}): string {
  const agentsOnly = set === 'agents-only-existing-namespace';
  const overrides: Record<string, unknown> = agentsOnly
    ? { 'adapter.serviceAccount.namespace': serverNs, ...setJson }
    : { 'agents.namespace.name': agentsNs, ...setJson };
  const r = templateRaw(helm, {
    namespace: agentsOnly ? agentsNs : serverNs,
    valueFiles: [valueSetFile(set)],
    setJson: overrides,
  });
  if (r.status !== 0) throw new Error(`helm template ${set} failed: ${r.stderr}`);
  return r.stdout;
}

/** Server-side apply of `manifest` as a dry run with strict field validation; the objects are not stored. */
function validateOnServer(manifest: string) {
  return kubectl(
    [
      'apply',
      '--server-side',
      '--dry-run=server',
      '--validate=strict',
      '--field-manager=claude-k8s-chart-test',
      '-f',
      '-',
    ],
    manifest,
  );
}

describe('the API server validates every rendered object', () => {
  it.each(valueSets)('%s: server-side dry run, strict field validation', (set) => {
    const manifest = render(set);
    const r = validateOnServer(manifest);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const applied = r.stdout.trim().split('\n');
    const rendered = manifest.split('\n').filter((l) => /^kind: /.test(l)).length;
    expect(applied).toHaveLength(rendered);
    for (const line of applied) expect(line).toMatch(/ serverside-applied \(server dry run\)$/);
  });

  it('the NetworkPolicy with the escape hatch and an extraEgress range with an `except` is valid too', () => {
    const r = validateOnServer(
      render('default', {
        'networkPolicy.allowAnyPublicHttps': true,
        'networkPolicy.extraEgress': [
          { to: [{ ipBlock: { cidr: '160.0.0.0/4', except: ['169.254.0.0/16'] } }], ports: [{ port: 8443 }] },
        ],
      }),
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('refuses a field the API does not know (so the check above can fail)', () => {
    const r = validateOnServer(
      render('default', {
        'networkPolicy.extraEgress': [{ to: [{ ipBlock: { cidr: '192.0.2.0/24' } }], toPorts: [{ port: 22 }] }],
      }),
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/\.spec\.egress\[3\]\.toPorts: field not declared in schema/);
  });

  it('refuses an invalid value the chart schema lets through (a CIDR the API rejects)', () => {
    const r = validateOnServer(render('default', { 'networkPolicy.modelApi.cidrs': ['300.0.0.0/8'] }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/NetworkPolicy.*invalid/is);
  });
});

describe("the agents' NetworkPolicy never allows the API server", () => {
  it('refuses, where lookup reaches the cluster (install, or template --dry-run=server), a CIDR holding its address', () => {
    // The API server's own addresses: the endpoints of the `kubernetes` Service (whatever their EndpointSlice's name).
    const addresses = kubectlOk([
      'get',
      'endpointslices',
      '-n',
      'default',
      '-l',
      'kubernetes.io/service-name=kubernetes',
      '-o',
      'jsonpath={.items[*].endpoints[*].addresses[*]}',
    ])
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    expect(addresses.length).toBeGreaterThan(0);
    const address = addresses[0] ?? '';
    const cidr = address.includes(':') ? `${address}/128` : `${address}/32`;
    const args = ['template', release, chartDir, '--namespace', serverNs, '--set', `agents.namespace.name=${agentsNs}`];
    const withCidr = ['--set-json', `networkPolicy.gitHosts.cidrs=${JSON.stringify([cidr])}`];
    // Without the cluster (plain `helm template`) lookup finds nothing, so the same values render ...
    expect(runHelm(helm, [...args, ...withCidr]).status).toBe(0);
    // ... and with it they are refused, naming the value and the address.
    const r = runHelm(helm, [...args, '--dry-run=server', ...withCidr]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(
      `networkPolicy.gitHosts.cidrs[0]: "${cidr}" holds the API server's address ${address} (the kubernetes Service's cluster IP or an endpoint of it)`,
    );
    // An installer that cannot read the EndpointSlice turns the check off.
    const off = runHelm(helm, [
      ...args,
      '--dry-run=server',
      ...withCidr,
      '--set',
      'networkPolicy.checkApiServerAddress=false',
    ]);
    // (A server dry run may still stop later, at objects this file's other tests created outside the release, such
    // as the agents' namespace: only the address check is asserted here.)
    expect(off.stderr).not.toContain("holds the API server's address");
    // The defaults pass the check.
    const ok = runHelm(helm, [...args, '--dry-run=server']);
    expect(ok.stderr).not.toContain("holds the API server's address");
  });
});

describe('helm install and uninstall of the default value set', () => {
  it('installs, enforces Pod Security restricted, grants the adapter exactly its verbs, and uninstalls cleanly', async () => {
    const install = runHelm(helm, [
      'install',
      release,
      chartDir,
      '--namespace',
      installNs,
      '--set',
      `agents.namespace.name=${installAgentsNs}`,
    ]);
    // No --wait: the session claim stays Pending on a cluster without a volume provisioner (the local one).
    expect(install.status, install.stderr).toBe(0);
    expect(install.stdout).toContain('STATUS: deployed');

    const labels = JSON.parse(
      kubectlOk(['get', 'namespace', installAgentsNs, '-o', 'jsonpath={.metadata.labels}']),
    ) as Record<string, string>;
    expect(labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });

    // Pod Security admission refuses a pod that is not `restricted` in the created namespace.
    const privileged = kubectl([
      'run',
      'psa-probe',
      '-n',
      installAgentsNs,
      '--image=busybox',
      '--dry-run=server',
      '--privileged',
      '--restart=Never',
    ]);
    expect(privileged.status).not.toBe(0);
    expect(privileged.stderr).toMatch(/violates PodSecurity "restricted/);

    const sa = `system:serviceaccount:${installNs}:paperclip`;
    // A subresource goes in --subresource: `can-i get pods/log` would ask about the pod named "log".
    const can = (verb: string, resource: string, ns: string, subresource?: string): string =>
      kubectl([
        'auth',
        'can-i',
        verb,
        resource,
        ...(subresource ? [`--subresource=${subresource}`] : []),
        '-n',
        ns,
        '--as',
        sa,
      ]).stdout.trim();
    expect(can('create', 'jobs.batch', installAgentsNs)).toBe('yes');
    expect(can('get', 'pods', installAgentsNs, 'log')).toBe('yes');
    expect(can('create', 'pods', installAgentsNs, 'exec')).toBe('yes');
    expect(can('get', 'pods', installAgentsNs)).toBe('no');
    expect(can('update', 'leases.coordination.k8s.io', installAgentsNs)).toBe('yes');
    expect(can('create', 'deployments.apps', installAgentsNs)).toBe('no');
    expect(can('list', 'secrets', installAgentsNs)).toBe('no');
    expect(can('create', 'jobs.batch', installNs)).toBe('no');

    const owned = () =>
      kubectl([
        'get',
        'serviceaccounts,roles,rolebindings,networkpolicies,persistentvolumeclaims',
        '-A',
        '-l',
        `app.kubernetes.io/instance=${release}`,
        '-o',
        'name',
      ]).stdout.trim();
    expect(owned().split('\n').sort()).toEqual([
      'networkpolicy.networking.k8s.io/claude-agent-pods',
      'persistentvolumeclaim/claude-sessions',
      'role.rbac.authorization.k8s.io/claude-k8s-adapter',
      'rolebinding.rbac.authorization.k8s.io/claude-k8s-adapter',
      'serviceaccount/paperclip',
    ]);

    const uninstall = runHelm(helm, ['uninstall', release, '--namespace', installNs, '--wait', '--timeout', '120s']);
    expect(uninstall.status, uninstall.stderr).toBe(0);
    await waitFor(`namespace ${installAgentsNs} deleted`, 120_000, () => namespaceGone(installAgentsNs), {
      intervalMs: 1000,
    });
    expect(owned()).toBe('');
    // No release record left either (Helm keeps it in Secrets of the release namespace).
    expect(kubectlOk(['get', 'secrets', '-n', installNs, '-l', 'owner=helm', '-o', 'name']).trim()).toBe('');
  });
});
