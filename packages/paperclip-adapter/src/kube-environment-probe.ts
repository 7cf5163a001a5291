import {
  createClusterProbe,
  createKubeRuntime,
  loadKubeConfig,
  type KubeconfigFilePolicy,
} from '@claude-k8s/kube-runtime';
import type { AdapterConfig } from './config-schema.ts';
import type { EnvironmentProbe } from './environment-test.ts';
import { KUBE_RUNTIME_ID } from './kube-launcher.ts';

/**
 * The environment test's cluster questions, asked with the adapter's own credentials (the config's kubeconfig, under
 * the server's kubeconfig policy).
 */
export function createKubeEnvironmentProbe(
  config: AdapterConfig,
  kubeconfigPolicy: KubeconfigFilePolicy = { allowedDirectories: [] },
): EnvironmentProbe {
  const kubeConfig = loadKubeConfig({ path: config.kubeconfig ?? null, policy: kubeconfigPolicy });
  const probe = createClusterProbe(kubeConfig);
  const runtimeIn = (namespace: string) => createKubeRuntime({ kubeConfig, namespace, runtimeId: KUBE_RUNTIME_ID });
  return {
    async checkPermissions(namespace, permissions) {
      const answers = await probe.reviewAccess(namespace, permissions);
      return answers.map((answer) => ({
        permission: answer.query,
        allowed: answer.allowed,
        ...(answer.reason ? { reason: answer.reason } : {}),
      }));
    },
    secretHasKey: (namespace, name, key) => probe.secretHasKey(namespace, name, key),
    serverVersion: () => probe.serverVersion(),
    // The Job kube-runtime's startRun would create, dry-run through the same manifest path.
    dryRun: (target, spec) => runtimeIn(target.namespace).dryRun(spec),
    // The live probe: a real Job through startRun (the same manifest path as a run), followed to its end.
    async liveRun(target, spec) {
      let output = '';
      const handle = await runtimeIn(target.namespace).startRun({
        ...spec,
        onOutput: (chunk) => {
          // The probe prints a few KiB; a runaway image is cut rather than held in the server's memory.
          if (output.length < 1_048_576) output += chunk;
        },
      });
      const outcome = await handle.outcome;
      return {
        output,
        code: outcome.code,
        message: outcome.code === 'succeeded' ? null : outcome.message,
        jobName: handle.jobName,
      };
    },
    namespaceExists: (namespace) => probe.namespaceExists(namespace),
    async namespaceLabels(namespace) {
      const labels = await probe.namespaceLabels(namespace);
      if (labels === null) return { state: 'unreadable', reason: 'get namespaces is not granted' };
      return labels === 'missing' ? { state: 'missing' } : { state: 'found', labels };
    },
    async claimExists(namespace, name) {
      const status = await probe.claimStatus(namespace, name);
      return status === null ? null : status.exists;
    },
  };
}
