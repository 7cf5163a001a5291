import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClusterProbe } from './cluster-probe.ts';

const kubeconfigPath = process.env['KUBECONFIG'];
if (!kubeconfigPath) throw new Error('The cluster tier needs KUBECONFIG (run it through scripts/with-cluster.sh).');
const admin = new KubeConfig();
admin.loadFromFile(kubeconfigPath);
const core = admin.makeApiClient(CoreV1Api);
const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
const namespace = `ck8s-probe-${process.pid}`;
const image = process.env['CK8S_TEST_IMAGE'] ?? 'localhost/claude-k8s-agent:dev';

/** A kubeconfig for a ServiceAccount of the test namespace: a real, limited identity. */
async function serviceAccountConfig(name: string): Promise<KubeConfig> {
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const token = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = admin.getCurrentCluster()!;
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [
      { name: 'c', server: cluster.server, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: false },
    ],
    users: [{ name: 'u', token: token.status?.token ?? '' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u', namespace }],
    currentContext: 'x',
  });
  return config;
}

describe('cluster probe (real apiserver)', () => {
  beforeAll(async () => {
    await core.createNamespace({
      body: { metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
    });
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'model-key' }, stringData: { 'api-key': 'not-a-real-key' } },
    });
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'jobs-only' },
        rules: [{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'get'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'jobs-only' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'jobs-only' },
        subjects: [{ kind: 'ServiceAccount', name: 'limited', namespace }],
      },
    });
  });

  afterAll(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('answers version, namespace, secret key and claim questions', async () => {
    const probe = createClusterProbe(admin);
    expect(await probe.serverVersion()).toMatch(/^v1\.\d+\.\d+/);
    expect(await probe.namespaceExists(namespace)).toBe(true);
    expect(await probe.namespaceExists(`${namespace}-missing`)).toBe(false);
    expect(await probe.secretHasKey(namespace, 'model-key', 'api-key')).toBe(true);
    expect(await probe.secretHasKey(namespace, 'model-key', 'other')).toBe(false);
    expect(await probe.secretHasKey(namespace, 'no-such-secret', 'api-key')).toBe(false);
    expect(await probe.claimStatus(namespace, 'no-such-claim')).toEqual({ exists: false });
  });

  it('reviews each permission of a limited identity separately', async () => {
    const probe = createClusterProbe(await serviceAccountConfig('limited'));
    const answers = await probe.reviewAccess(namespace, [
      { group: 'batch', resource: 'jobs', verb: 'create' },
      { group: 'batch', resource: 'jobs', verb: 'delete' },
      { group: '', resource: 'pods', subresource: 'log', verb: 'get' },
    ]);
    expect(answers.map((answer) => answer.allowed)).toEqual([true, false, false]);
    // Without `get secrets` the Secret check cannot answer rather than claiming the Secret is missing.
    expect(await probe.secretHasKey(namespace, 'model-key', 'api-key')).toBeNull();
  });

  it('dry-runs a Job and a Pod from its template: Pod Security refuses a privileged one, admits a restricted one', async () => {
    const probe = createClusterProbe(admin);
    const job = (privileged: boolean) => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: privileged ? 'privileged' : 'restricted', namespace },
      spec: {
        template: {
          spec: {
            restartPolicy: 'Never',
            securityContext: privileged
              ? {}
              : { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'main',
                image,
                securityContext: privileged
                  ? { privileged: true }
                  : { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
              },
            ],
          },
        },
      },
    });
    expect(await probe.dryRunJob(job(false))).toEqual([]);
    const problems = await probe.dryRunJob(job(true));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^pod: 403: .*violates PodSecurity "restricted:latest": privileged/);
    const jobs = await admin
      .makeApiClient((await import('@kubernetes/client-node')).BatchV1Api)
      .listNamespacedJob({ namespace });
    expect(jobs.items).toHaveLength(0);
  });
});
