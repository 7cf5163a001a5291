/** The real-cluster backend of the contract suite (T3): KUBECONFIG is required; a unique restricted namespace. */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createPodLogSource } from '../src/internal.ts';
import type { ContractBackend, LogStep } from './contract.ts';
import { waitFor } from '@claude-k8s/test-utils';

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
  await waitFor('default ServiceAccount', 30_000, async () =>
    (await core.listNamespacedServiceAccount({ namespace })).items.some((sa) => sa.metadata?.name === 'default'),
  );
  return {
    kubeConfig,
    namespace,
    image: TEST_IMAGE,
    runDefaults: { imagePullPolicy: 'Never', runAsUser: TEST_UID },
    eventually: async (check, what) => {
      await waitFor(what, 60_000, check);
    },
    runLogWriter: async (name, steps) => {
      await core.createNamespacedPod({ namespace, body: logWriterPod(name, steps) });
      await waitFor(`pod ${name} terminated`, 120_000, async () => {
        const pod = await core.readNamespacedPodStatus({ name, namespace });
        return pod.status?.containerStatuses?.[0]?.state?.terminated !== undefined;
      });
      return { source: createPodLogSource({ kubeConfig }), namespace, pod: name, container: 'agent' };
    },
    // The apiserver keeps watch history for minutes only; resourceVersion 1 is long compacted on any cluster.
    forgetHistory: () => Promise.resolve(),
    dispose: async () => {
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    },
  };
}

/** A restricted-compliant pod whose container performs the steps (node writes and pauses), then exits. */
function logWriterPod(name: string, steps: readonly LogStep[]) {
  const program = [
    'const steps = JSON.parse(process.env.STEPS);',
    '(async () => {',
    '  for (const step of steps) {',
    "    if ('write' in step) await new Promise((resolve) => process.stdout.write(step.write.repeat(step.times ?? 1), resolve));",
    '    else await new Promise((resolve) => setTimeout(resolve, step.sleepMs));',
    '  }',
    '})();',
  ].join('\n');
  return {
    metadata: { name },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      securityContext: { runAsNonRoot: true, runAsUser: TEST_UID, seccompProfile: { type: 'RuntimeDefault' as const } },
      containers: [
        {
          name: 'agent',
          image: TEST_IMAGE,
          imagePullPolicy: 'Never',
          command: ['node', '-e', program],
          env: [{ name: 'STEPS', value: JSON.stringify(steps) }],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}
