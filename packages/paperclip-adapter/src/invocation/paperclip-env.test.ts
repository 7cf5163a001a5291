import { describe, expect, it } from 'vitest';
import { createFakeContext } from '../../test/fakes.ts';
import type { RunEnvVar } from '@claude-k8s/kube-runtime';
import { buildPaperclipEnv, MAX_WAKE_PAYLOAD_ENV_BYTES } from './paperclip-env.ts';

const apiUrl = 'http://paperclip.svc:3100';
const plainValues = (env: RunEnvVar[]) =>
  Object.fromEntries(env.flatMap((entry) => ('value' in entry ? [[entry.name, entry.value]] : [])));

describe('buildPaperclipEnv', () => {
  it("sets the run context as plain values, with the workspace stage's variables", () => {
    const run = createFakeContext({
      context: {
        issueId: 'issue-9',
        commentId: 'comment-1',
        wakeReason: 'issue_commented',
        issueIds: ['i1', '', 3, 'i2'],
        paperclipIssue: { workMode: 'standard' },
        paperclipWorkspace: { cwd: '/srv/paperclip/ws', source: 'project', branchName: 'feature' },
      },
    });
    const workspaceEnv = [
      { name: 'PAPERCLIP_WORKSPACE_CWD', value: '/home/agent/workspaces/a1' },
      { name: 'PAPERCLIP_WORKSPACE_SOURCE', value: 'project' },
      { name: 'PAPERCLIP_WORKSPACE_BRANCH', value: 'feature' },
    ];
    const result = buildPaperclipEnv({ run, apiUrl, workspaceEnv });
    expect(plainValues(result.env)).toEqual({
      PAPERCLIP_API_URL: apiUrl,
      PAPERCLIP_RUNTIME_API_URL: apiUrl,
      PAPERCLIP_AGENT_ID: 'agent-1',
      PAPERCLIP_COMPANY_ID: 'company-1',
      PAPERCLIP_RUN_ID: run.runId,
      PAPERCLIP_TASK_ID: 'issue-9',
      PAPERCLIP_ISSUE_WORK_MODE: 'standard',
      PAPERCLIP_WAKE_REASON: 'issue_commented',
      PAPERCLIP_WAKE_COMMENT_ID: 'comment-1',
      PAPERCLIP_LINKED_ISSUE_IDS: 'i1,i2',
      PAPERCLIP_WORKSPACE_CWD: '/home/agent/workspaces/a1',
      PAPERCLIP_WORKSPACE_SOURCE: 'project',
      PAPERCLIP_WORKSPACE_BRANCH: 'feature',
      PAPERCLIP_RUN_SCRATCH_DIR: '/tmp/paperclip-run',
      PAPERCLIP_SCRATCH_DIR: '/tmp/paperclip-run',
    });
  });

  it('ships the run token in the per-run Secret, by reference only', () => {
    const run = createFakeContext({ context: {} });
    const result = buildPaperclipEnv({ run, apiUrl, workspaceEnv: [] });
    expect(result.files).toEqual([{ key: 'paperclip-api-key', path: null, content: run.authToken, sensitive: true }]);
    expect(result.env).toContainEqual({ name: 'PAPERCLIP_API_KEY', fileKey: 'paperclip-api-key' });
    expect(JSON.stringify(result.env)).not.toContain(run.authToken);
    expect(result.notes).toEqual([]);
  });

  it('moves a workspace value with URL credentials into the per-run Secret; a plain one stays a value (issue 15)', () => {
    const secretUrl = 'https://x-access-token:ghs_s3cr3t@github.com/acme/app.git';
    const withCredentials = buildPaperclipEnv({
      run: createFakeContext({ context: {} }),
      apiUrl,
      workspaceEnv: [
        { name: 'PAPERCLIP_WORKSPACE_REPO_URL', value: secretUrl },
        { name: 'PAPERCLIP_WORKSPACES_JSON', value: JSON.stringify([{ repoUrl: secretUrl }]) },
      ],
    });
    expect(JSON.stringify(withCredentials.env)).not.toContain('ghs_s3cr3t');
    expect(withCredentials.env).toContainEqual({
      name: 'PAPERCLIP_WORKSPACE_REPO_URL',
      fileKey: 'credential-PAPERCLIP_WORKSPACE_REPO_URL',
    });
    expect(withCredentials.env).toContainEqual({
      name: 'PAPERCLIP_WORKSPACES_JSON',
      fileKey: 'credential-PAPERCLIP_WORKSPACES_JSON',
    });
    expect(withCredentials.files).toContainEqual({
      key: 'credential-PAPERCLIP_WORKSPACE_REPO_URL',
      path: null,
      content: secretUrl,
      sensitive: true,
    });
    const plain = buildPaperclipEnv({
      run: createFakeContext({ context: {} }),
      apiUrl,
      workspaceEnv: [{ name: 'PAPERCLIP_WORKSPACE_REPO_URL', value: 'https://github.com/acme/app.git' }],
    });
    expect(plainValues(plain.env)['PAPERCLIP_WORKSPACE_REPO_URL']).toBe('https://github.com/acme/app.git');
    expect(plain.files.map((file) => file.key)).not.toContain('credential-PAPERCLIP_WORKSPACE_REPO_URL');
  });

  it('notes a run without a token', () => {
    const result = buildPaperclipEnv({
      run: createFakeContext({ context: {}, authToken: '' }),
      apiUrl,
      workspaceEnv: [],
    });
    expect(result.files).toEqual([]);
    expect(result.notes).toEqual([
      'no run token from Paperclip (supportsLocalAgentJwt): the agent cannot call the Paperclip API',
    ]);
  });

  it('the wake payload is a file, and an env value while it is small', () => {
    const small = buildPaperclipEnv({
      run: createFakeContext({ context: { paperclipWake: { a: 1 } } }),
      apiUrl,
      workspaceEnv: [],
    });
    expect(small.files[0]).toEqual({
      key: 'wake-payload.json',
      path: 'wake-payload.json',
      content: '{"a":1}',
      sensitive: false,
    });
    expect(small.env).toContainEqual({
      name: 'PAPERCLIP_WAKE_PAYLOAD_PATH',
      value: '/run/ck8s/files/wake-payload.json',
    });
    expect(small.env).toContainEqual({ name: 'PAPERCLIP_WAKE_PAYLOAD_JSON', fileKey: 'wake-payload.json' });
    const wake = { text: 'x'.repeat(MAX_WAKE_PAYLOAD_ENV_BYTES) };
    const large = buildPaperclipEnv({
      run: createFakeContext({ context: { paperclipWake: wake } }),
      apiUrl,
      workspaceEnv: [],
    });
    expect(large.env.map((entry) => entry.name)).not.toContain('PAPERCLIP_WAKE_PAYLOAD_JSON');
    expect(large.notes).toEqual([
      `wake payload is ${JSON.stringify(wake).length} bytes: only available as the file $PAPERCLIP_WAKE_PAYLOAD_PATH`,
    ]);
  });
});
