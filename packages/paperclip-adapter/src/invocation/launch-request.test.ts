import { describe, expect, it } from 'vitest';
import { createFakeContext } from '../../test/fakes.ts';
import { parseAdapterConfig } from '../config-schema.ts';
import { assembleLaunchRequest } from './launch-request.ts';

describe('assembleLaunchRequest', () => {
  it("takes the run's identity and the steps' results, and passes pod and lifecycle settings through", () => {
    const run = createFakeContext({
      configOverrides: {
        nodeSelector: 'pool=agents',
        labels: { team: 'x' },
        'resources.requests.cpu': '500m',
        'resources.limits.memory': '4Gi',
        timeoutSec: 900,
        kubeconfig: '/etc/kube/config',
      },
    });
    const parsed = parseAdapterConfig(run.config);
    if (!parsed.success) throw new Error(JSON.stringify(parsed.issues));
    const env = [{ name: 'HOME', value: '/data' }];
    const files = [{ key: 'prompt.md', path: 'prompt.md', content: 'p', sensitive: false }];
    const request = assembleLaunchRequest({
      run,
      config: parsed.value,
      layout: { namespace: 'agents', home: { mountPath: '/data', claimName: 'sessions' } },
      command: ['claude'],
      env,
      files,
    });
    expect(request).toMatchObject({
      runId: run.runId,
      agentId: 'agent-1',
      companyId: 'company-1',
      taskKey: 'issue-1',
      target: { namespace: 'agents', kubeconfigPath: '/etc/kube/config' },
      container: {
        image: 'registry.example/claude:2.1.331',
        command: ['claude'],
        env,
        resources: { requests: { cpu: '500m' }, limits: { memory: '4Gi' } },
      },
      files: { mountPath: '/run/ck8s/files', entries: files },
      home: { mountPath: '/data', claimName: 'sessions' },
      pod: { nodeSelector: { pool: 'agents' }, labels: { team: 'x' }, automountServiceAccountToken: false },
      lifecycle: { timeoutSec: 900, graceSec: 30, lockPolicy: 'wait' },
    });
    expect(request.container.resources.requests).not.toHaveProperty('memory');
  });
});
