import { KubeConfig } from '@kubernetes/client-node';
import { MissingConfigurationError } from './kube-runtime-error.ts';

/** Where to take cluster credentials from. */
export interface LoadKubeConfigOptions {
  /** A kubeconfig file; `null`/absent: client-node's default order (`KUBECONFIG`, else `~/.kube/config`, else the in-cluster service account). */
  path?: string | null;
  /** @default process.env, read at call time */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Loads a KubeConfig: the given file, else client-node's default order (`KUBECONFIG`, `~/.kube/config`, the in-cluster service account
 * ). Throws {@link MissingConfigurationError} naming what is missing when none yields a cluster.
 */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (options.path) {
    kubeConfig.loadFromFile(options.path);
  } else {
    kubeConfig.loadFromDefault();
  }
  if (!kubeConfig.getCurrentCluster()) {
    const env = options.env ?? process.env;
    throw new MissingConfigurationError(
      [
        options.path
          ? `a current cluster in ${options.path}`
          : 'a kubeconfig (KUBECONFIG, the in-cluster service account or ~/.kube/config)',
      ],
      env['KUBERNETES_SERVICE_HOST'] ? 'in-cluster config' : 'kubeconfig',
    );
  }
  return kubeConfig;
}
