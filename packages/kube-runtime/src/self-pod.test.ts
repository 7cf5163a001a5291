import { createFakeCluster } from '@claude-k8s/kube-fakes';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createKubeRuntime, MissingConfigurationError, readSelfPod, type KubePorts } from './internal.ts';

describe('readSelfPod', () => {
  it('reads image, pull secrets, DNS, claims, env references and placement from the pod named by the downward API', async () => {
    const cluster = createFakeCluster();
    cluster.seed('pods', 'paperclip', {
      kind: 'Pod',
      metadata: { name: 'adapter-0' },
      spec: {
        serviceAccountName: 'paperclip',
        imagePullSecrets: [{ name: 'registry' }],
        dnsPolicy: 'ClusterFirst',
        nodeSelector: { pool: 'agents' },
        tolerations: [{ key: 'agents', operator: 'Exists' }],
        volumes: [{ name: 'sessions', persistentVolumeClaim: { claimName: 'claude-sessions' } }],
        containers: [
          {
            name: 'server',
            image: 'ghcr.io/x/paperclip:1',
            env: [
              { name: 'PLAIN', value: 'not inherited' },
              { name: 'KEY', valueFrom: { secretKeyRef: { name: 'anthropic', key: 'api-key' } } },
            ],
            envFrom: [{ configMapRef: { name: 'settings' } }],
          },
        ],
      },
    });
    const root = await mkdtemp(join(tmpdir(), 'sa-'));
    await writeFile(join(root, 'namespace'), 'paperclip\n');
    const self = await readSelfPod({
      env: { HOSTNAME: 'adapter-0' },
      serviceAccountRoot: root,
      ports: cluster.ports as unknown as KubePorts,
    });
    expect(self).toMatchObject({
      namespace: 'paperclip',
      podName: 'adapter-0',
      image: 'ghcr.io/x/paperclip:1',
      imagePullSecrets: ['registry'],
      serviceAccountName: 'paperclip',
      dnsPolicy: 'ClusterFirst',
      persistentVolumeClaims: { sessions: 'claude-sessions' },
      envReferences: [{ name: 'KEY', valueFrom: { secretKeyRef: { name: 'anthropic', key: 'api-key' } } }],
      envFrom: [{ configMapRef: { name: 'settings' } }],
      nodeSelector: { pool: 'agents' },
    });
  });

  it('out of cluster, names what is missing', async () => {
    const cluster = createFakeCluster();
    const error = await readSelfPod({
      env: {},
      serviceAccountRoot: '/nonexistent',
      ports: cluster.ports as unknown as KubePorts,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingConfigurationError);
    expect((error as Error).message).toBe(
      "read the runtime's own pod: missing POD_NAME (downward API metadata.name), POD_NAMESPACE or /nonexistent/namespace (set them explicitly)",
    );
  });

  it('a run without an image and without selfPod fails before any request, naming the option', async () => {
    const cluster = createFakeCluster();
    const runtime = createKubeRuntime({ ports: cluster.ports as unknown as KubePorts, namespace: 'a' });
    await expect(runtime.startRun({ runId: 'r', agentId: 'a', command: ['sh'], timeoutSeconds: 1 })).rejects.toThrow(
      /missing image/,
    );
    expect(cluster.requests).toEqual([]);
  });
});
