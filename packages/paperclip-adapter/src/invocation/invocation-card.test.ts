import { describe, expect, it } from 'vitest';
import type { RunInvocation } from '../build-invocation.ts';
import { buildInvocationMeta, describeEnvVar } from './invocation-card.ts';

describe('describeEnvVar', () => {
  it('shows plain values, and every other kind as a reference', () => {
    expect(describeEnvVar({ name: 'A', value: 'v' })).toBe('v');
    expect(describeEnvVar({ name: 'B', fileKey: 'env-B' })).toBe('<per-run Secret key env-B>');
    expect(describeEnvVar({ name: 'C', secretKeyRef: { name: 's', key: 'k' } })).toBe('<Secret s key k>');
    expect(describeEnvVar({ name: 'D', configMapKeyRef: { name: 'm', key: 'k' } })).toBe('<ConfigMap m key k>');
  });
});

describe('buildInvocationMeta', () => {
  const invocation = {
    launch: {
      spec: {
        image: 'img:1',
        env: [
          { name: 'HOME', value: '/home/agent' },
          { name: 'PAPERCLIP_API_KEY', fileKey: 'paperclip-api-key' },
        ],
        files: { 'prompt.md': 'héllo', 'paperclip-api-key': 'TOKEN-VALUE' },
        filePaths: { 'prompt.md': 'prompt.md' },
        filesMountPath: '/run/ck8s/files',
        envOnlyFileKeys: ['paperclip-api-key'],
        session: { mountPath: '/home/agent', claimName: null, asHome: true },
      },
      sensitiveFileKeys: ['paperclip-api-key'],
    },
    claudeArgs: ['claude', '--print'],
    prompt: { text: 'héllo', metrics: { totalChars: 5 } },
    resume: { resume: true, sessionId: 's1' },
    sessionTarget: { cwd: '/w', promptBundleKey: null, mcpServerIdentity: null, sessionVolume: null },
    notes: ['resuming session s1'],
    paperclipApiUrl: 'http://pc.svc',
  } as unknown as RunInvocation;

  it('command, env as references, prompt, notes then the Job line; file sizes but never their content', () => {
    const meta = buildInvocationMeta(invocation, { jobName: 'job-1', namespace: 'agents', attempt: 2 });
    expect(meta).toEqual({
      adapterType: 'claude_k8s',
      command: 'claude',
      cwd: '/w',
      commandArgs: ['--print'],
      commandNotes: [
        'resuming session s1',
        'Job agents/job-1 (attempt 2), image img:1; prompt read from /run/ck8s/files/prompt.md on stdin',
      ],
      env: { HOME: '/home/agent', PAPERCLIP_API_KEY: '<per-run Secret key paperclip-api-key>' },
      prompt: 'héllo',
      promptMetrics: { totalChars: 5 },
      context: {
        namespace: 'agents',
        jobName: 'job-1',
        attempt: 2,
        image: 'img:1',
        home: { mountPath: '/home/agent', claimName: null },
        resumedSessionId: 's1',
        files: [
          { key: 'prompt.md', path: 'prompt.md', bytes: 6, sensitive: false },
          { key: 'paperclip-api-key', path: null, bytes: 11, sensitive: true },
        ],
        paperclipApiUrl: 'http://pc.svc',
      },
    });
    expect(JSON.stringify(meta)).not.toContain('TOKEN-VALUE');
  });
});
