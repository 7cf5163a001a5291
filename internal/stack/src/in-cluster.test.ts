// The local cluster's chart values (in-cluster.ts) without a cluster: they pass the chart's schema and render the
// Paperclip pod the e2e test and `scripts/demo.sh --in-cluster` rely on.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHART_DIR, ensureHelm, localClusterValues, splitImageRef } from './in-cluster.ts';
import { repoRoot } from './start-stack.ts';

describe('splitImageRef', () => {
  it('splits at the tag after the last slash', () => {
    expect(splitImageRef('localhost/claude-k8s-agent:2.1.331-node24.21.0-9cce0f0fbcdc')).toEqual({
      repository: 'localhost/claude-k8s-agent',
      tag: '2.1.331-node24.21.0-9cce0f0fbcdc',
    });
    expect(splitImageRef('registry.local:5000/team/agent:1')).toEqual({
      repository: 'registry.local:5000/team/agent',
      tag: '1',
    });
  });

  it('refuses a reference without a tag, naming it', () => {
    expect(() => splitImageRef('registry.local:5000/team/agent')).toThrow(
      'image reference registry.local:5000/team/agent has no tag',
    );
  });
});

describe('the local cluster values render through the chart', () => {
  let helm = '';
  let dir = '';
  beforeAll(() => {
    helm = ensureHelm();
    dir = mkdtempSync(join(tmpdir(), 'in-cluster-values-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('Paperclip in the agent image with the pinned install and this checkout mounted, emptyDir home, no npm install', () => {
    const values = join(dir, 'values.json');
    writeFileSync(
      values,
      JSON.stringify(
        localClusterValues({
          agentsNamespace: 'incluster-agents',
          agentImage: 'localhost/claude-k8s-agent:2.1.331-node24.21.0-9cce0f0fbcdc',
          paperclipInstallDir: '/cache/paperclip/2026.916.1',
          allowedModelHosts: ['10.88.1.1'],
        }),
      ),
    );
    const r = spawnSync(helm, ['template', 'incluster', CHART_DIR, '-n', 'incluster-pc', '-f', values], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const objects = (
      loadAllYaml(r.stdout) as ({ kind: string; metadata: { name: string }; spec?: unknown } | null)[]
    ).filter((o) => o !== null);
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const pod = (
      deployment.spec as {
        template: {
          spec: {
            initContainers: { name: string }[];
            containers: {
              image: string;
              imagePullPolicy: string;
              command: string[];
              env: { name: string; value?: string }[];
              volumeMounts: unknown[];
            }[];
            volumes: unknown[];
          };
        };
      }
    ).template.spec;
    const server = pod.containers[0]!;
    expect(server.image).toBe('localhost/claude-k8s-agent:2.1.331-node24.21.0-9cce0f0fbcdc');
    expect(server.imagePullPolicy).toBe('Never');
    expect(server.command).toEqual(['node', '/opt/paperclip/node_modules/@paperclipai/server/dist/index.js']);
    expect(pod.initContainers.map((c) => c.name)).toEqual(['seed-adapter-plugins']);
    expect(server.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'paperclip-install', mountPath: '/opt/paperclip', readOnly: true },
        { name: 'claude-k8s-checkout', mountPath: repoRoot, readOnly: true },
      ]),
    );
    expect(pod.volumes).toContainEqual({ name: 'home', emptyDir: {} });
    const env = Object.fromEntries(server.env.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      PAPERCLIP_DEPLOYMENT_MODE: 'authenticated',
      PAPERCLIP_API_URL: 'http://paperclip.incluster-pc.svc.cluster.local:3100',
      PAPERCLIP_NAMESPACE: 'incluster-agents',
      CLAUDE_K8S_ALLOWED_MODEL_HOSTS: '10.88.1.1',
      CLAUDE_K8S_ALLOWED_SECRETS: 'claude-k8s-model-api-key',
    });
    // The fake model's portal address is opened in the agents' NetworkPolicy (the local cluster enforces it).
    const policy = objects.find((o) => o.kind === 'NetworkPolicy')! as unknown as {
      spec: { egress: { to?: { ipBlock?: { cidr: string } }[] }[] };
    };
    expect(policy.spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '10.88.1.1/32' } }] });
    const claim = objects.find((o) => o.kind === 'PersistentVolumeClaim')!;
    expect(claim.metadata.name).toBe('claude-sessions');
    expect(claim.spec).toMatchObject({ storageClassName: 'claude-k8s-local', accessModes: ['ReadWriteOnce'] });
    const plugins = objects.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    expect(JSON.parse(plugins.data['adapter-plugins.json']!)).toEqual([
      expect.objectContaining({ localPath: join(repoRoot, 'packages', 'paperclip-adapter'), type: 'claude_k8s' }),
    ]);
  });
});
