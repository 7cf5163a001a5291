import { readFileSync } from 'node:fs';
import { exposeToPods } from './local-cluster.ts';

/** The cluster a test tier runs against. */
export interface TestCluster {
  /** `local` for the repository's own cluster, `external` for any other given through KUBECONFIG. */
  kind: 'local' | 'external';
  kubeconfig: string;
  server: string;
  /** The agent image to run (`CK8S_TEST_IMAGE`). */
  image: string;
  /**
   * The base URL at which pods reach a service on this machine's loopback `port`: on the local cluster through its
   * portal (`exposeToPods`); on another cluster `CK8S_POD_HOST` must name an address of this machine pods can reach
   * (and the service must listen there).
   */
  reachFromPods(port: number): Promise<string>;
}

/**
 * The cluster the cluster-tier tests use, from the environment `scripts/with-cluster.sh` sets up. Throws a clear
 * error (never skips) when no cluster was given, so a missing cluster fails the tier loudly.
 */
export function resolveTestCluster(env: NodeJS.ProcessEnv = process.env): TestCluster {
  const kubeconfig = env['KUBECONFIG'];
  if (!kubeconfig) {
    throw new Error(
      'The cluster tier needs a cluster: run it through scripts/with-cluster.sh (starts the local cluster), or set KUBECONFIG to an existing cluster.',
    );
  }
  const text = readFileSync(kubeconfig.split(':')[0] ?? kubeconfig, 'utf8');
  const server = /server:\s*(\S+)/.exec(text)?.[1] ?? 'unknown';
  const kind = env['CK8S_CLUSTER'] === 'local' ? 'local' : 'external';
  const image = env['CK8S_TEST_IMAGE'] ?? 'localhost/claude-k8s-agent:dev';
  const podHost = env['CK8S_POD_HOST'];
  const reachFromPods = async (port: number): Promise<string> => {
    if (kind === 'local') return exposeToPods(port);
    if (!podHost)
      throw new Error(
        'On an external cluster, set CK8S_POD_HOST to an address of this machine that pods can reach (tests that run the CLI need the fake model API).',
      );
    return `http://${podHost}:${port}`;
  };
  return { kind, kubeconfig, server, image, reachFromPods };
}
