import type { V1Container, V1Namespace, V1PodSpec } from '@kubernetes/client-node';
import type { TestCluster } from './test-cluster.ts';

/**
 * A namespace that enforces Pod Security `restricted` (the latest version of the standard), with `labels` added.
 * @see https://kubernetes.io/docs/concepts/security/pod-security-admission/#pod-security-admission-labels-for-namespaces
 */
export function restrictedNamespace(name: string, labels: Record<string, string> = {}): V1Namespace {
  return {
    metadata: {
      name,
      labels: {
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
        ...labels,
      },
    },
  };
}

/**
 * A pod spec Pod Security `restricted` admits, with one container of the cluster's agent image: user and group 1000,
 * the runtime's default seccomp profile, no service account token, no Service environment variables, never restarted;
 * the container without privilege escalation or capabilities, on a read-only root filesystem, with small resources
 * (256 MiB at most) unless `container` sets its own. `pod` adds to the pod spec (volumes, for example).
 */
export function restrictedPodSpec(
  cluster: Pick<TestCluster, 'image' | 'kind'>,
  container: Omit<V1Container, 'image' | 'imagePullPolicy' | 'securityContext'>,
  pod: Omit<Partial<V1PodSpec>, 'containers'> = {},
): V1PodSpec {
  return {
    restartPolicy: 'Never',
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    ...pod,
    containers: [
      {
        image: cluster.image,
        // The local cluster's images are imported into its containerd, never pulled.
        imagePullPolicy: cluster.kind === 'local' ? 'Never' : 'IfNotPresent',
        resources: { limits: { memory: '256Mi' }, requests: { cpu: '50m', memory: '64Mi' } },
        ...container,
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        },
      },
    ],
  };
}
