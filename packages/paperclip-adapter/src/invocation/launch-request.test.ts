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
      layout: { namespace: 'agents', home: { mountPath: '/data', claimName: 'sessions' }, cwd: '/data/w/issue-1' },
      attempt: 1,
      command: ['claude'],
      env,
      files,
    });
    expect(request).toMatchObject({
      spec: {
        runId: run.runId,
        agentId: 'agent-1',
        image: 'registry.example/claude:2.1.331',
        command: ['claude'],
        env,
        resources: { requests: { cpu: '500m' }, limits: { memory: '4Gi' } },
        files: { 'prompt.md': 'p' },
        filePaths: { 'prompt.md': 'prompt.md' },
        filesMountPath: '/run/ck8s/files',
        envOnlyFileKeys: [],
        session: { mountPath: '/data', claimName: 'sessions', asHome: true },
        nodeSelector: { pool: 'agents' },
        labels: { team: 'x' },
        automountServiceAccountToken: false,
        timeoutSeconds: 900,
        terminationGracePeriodSeconds: 30,
        lockPolicy: 'wait',
        lockKey: '/data/w/issue-1',
      },
      target: { namespace: 'agents', kubeconfigPath: '/etc/kube/config' },
      attempt: 1,
      sensitiveFileKeys: [],
    });
    expect(request.spec.resources?.requests).not.toHaveProperty('memory');
  });

  it("gives the fresh-session retry its own run id, and folds the steps' files into kube-runtime's form", () => {
    const run = createFakeContext();
    const parsed = parseAdapterConfig(run.config);
    if (!parsed.success) throw new Error(JSON.stringify(parsed.issues));
    const { spec, sensitiveFileKeys } = assembleLaunchRequest({
      run,
      config: parsed.value,
      layout: { namespace: 'agents', home: { mountPath: '/home/agent', claimName: null }, cwd: '/home/agent/w' },
      attempt: 2,
      command: ['claude'],
      env: [{ name: 'PAPERCLIP_API_KEY', fileKey: 'paperclip-api-key' }],
      files: [
        { key: 'skill-0-0', path: 'skills/.claude/skills/x/SKILL.md', content: 's', sensitive: false },
        { key: 'paperclip-api-key', path: null, content: 'TOKEN', sensitive: true },
      ],
    });
    expect(spec.runId).toBe(`${run.runId}-attempt-2`);
    expect(spec.files).toEqual({ 'skill-0-0': 's', 'paperclip-api-key': 'TOKEN' });
    expect(spec.filePaths).toEqual({ 'skill-0-0': 'skills/.claude/skills/x/SKILL.md' });
    expect(spec.envOnlyFileKeys).toEqual(['paperclip-api-key']);
    expect(sensitiveFileKeys).toEqual(['paperclip-api-key']);
    expect(spec).not.toHaveProperty('resources');
  });
});
