/** The real-cluster backend of the contract suite (T3): KUBECONFIG is required; a unique restricted namespace. */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { ContractBackend } from './contract.ts';

/** Loads the admin kubeconfig; throws (the tier fails, never skips) when KUBECONFIG is unset. */
function requireKubeConfig(): KubeConfig {
  const path = process.env['KUBECONFIG'];
  if (path === undefined || path === '') {
    throw new Error(
      'The cluster tier needs KUBECONFIG (run it through scripts/with-cluster.sh or point it at a cluster).',
    );
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(path);
  return kubeConfig;
}

/** Image with `sh` present on the node. */
const TEST_IMAGE = process.env['CK8S_TEST_IMAGE'] ?? 'localhost/claude-k8s-agent:dev';
/** uid of the image's non-root user. */
const TEST_UID = Number(process.env['CK8S_TEST_UID'] ?? '1000');

/** Creates a namespace labelled `pod-security.kubernetes.io/enforce: restricted`; `dispose` deletes it. */
export async function startClusterBackend(prefix: string): Promise<ContractBackend> {
  const kubeConfig = requireKubeConfig();
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const namespace = `${prefix}-${process.pid}-${Date.now().toString(36)}`;
  await core.createNamespace({
    body: {
      metadata: {
        name: namespace,
        labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'claude-k8s.io/test': 'kube-runtime' },
      },
    },
  });
  // The namespace controller creates the default ServiceAccount asynchronously; pods need it.
  await eventually(
    async () =>
      (await core.listNamespacedServiceAccount({ namespace })).items.some((sa) => sa.metadata?.name === 'default'),
    'default ServiceAccount',
    30_000,
  );
  return {
    kubeConfig,
    namespace,
    image: TEST_IMAGE,
    runDefaults: { imagePullPolicy: 'Never', runAsUser: TEST_UID },
    eventually: (check, what) => eventually(check, what, 60_000),
    dispose: async () => {
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    },
  };
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for: ${what}`);
}
