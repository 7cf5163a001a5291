import { readFileSync } from 'node:fs';

/** The cluster a test tier runs against. */
export interface TestCluster {
  /** `local` for the repository's own cluster, `external` for any other given through KUBECONFIG. */
  kind: 'local' | 'external';
  kubeconfig: string;
  server: string;
  /** The agent image to run (`CK8S_TEST_IMAGE`). */
  image: string;
}

/**
 * The cluster the cluster-tier tests use, from the environment `scripts/with-cluster.sh` sets up. Throws a clear
 * error (never skips) when no cluster was given, so a missing cluster fails the tier loudly.
 */
export function resolveTestCluster(env: NodeJS.ProcessEnv = process.env): TestCluster {
  const kubeconfig = env['KUBECONFIG'];
  if (!kubeconfig) {
    throw new Error('The cluster tier needs a cluster: run it through scripts/with-cluster.sh (starts the local cluster), or set KUBECONFIG to an existing cluster.');
  }
  const text = readFileSync(kubeconfig.split(':')[0] ?? kubeconfig, 'utf8');
  const server = /server:\s*(\S+)/.exec(text)?.[1] ?? 'unknown';
  const kind = env['CK8S_CLUSTER'] === 'local' ? 'local' : 'external';
  const image = env['CK8S_TEST_IMAGE'] ?? 'localhost/claude-k8s-agent:dev';
  return { kind, kubeconfig, server, image };
}
