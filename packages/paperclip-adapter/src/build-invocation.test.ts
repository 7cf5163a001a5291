import { agentHomeSubPath } from './invocation/pod-layout.ts';
import { describe, expect, it } from 'vitest';
import { createFakeContext, createMemoryHostFiles, fakeContextSessionTarget } from '../test/fakes.ts';
import { buildInvocation, type RunInvocation } from './build-invocation.ts';
import { buildInvocationMeta } from './invocation/invocation-card.ts';
import { encodeSessionParams } from './session-codec.ts';
import { LAUNCH_SCRIPT } from './invocation/claude-args.ts';
import { parseAdapterConfig, type AdapterConfig } from './config-schema.ts';
import { planInvocation } from './build-invocation.ts';
import { listRunFiles } from './invocation/launch-request.ts';
import { instructionsPathDirective } from './invocation/prompt-bundle.ts';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.run-token.signature';
const MCP_TOKEN = 'mcp-secret-token';

function configOf(raw: Record<string, unknown>): AdapterConfig {
  const result = parseAdapterConfig(raw);
  if (!result.success) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

/** The operator allow-listed instructions directory of these tests. */
const INSTRUCTIONS_DIR = '/srv/paperclip/agents/a1/instructions';

const hostFiles = createMemoryHostFiles({
  '/srv/paperclip/agents/a1/instructions/AGENTS.md': '# Be careful',
  '/srv/skills/paperclip/SKILL.md': '---\nname: paperclip\n---\nUse the API.',
  '/srv/skills/paperclip/scripts/helper.sh': 'echo hi',
  '/srv/skills/other/SKILL.md': 'not desired',
});

function richContext(extra: Record<string, unknown> = {}) {
  return createFakeContext({
    configOverrides: {
      instructionsFilePath: '/srv/paperclip/agents/a1/instructions/AGENTS.md',
      model: 'claude-sonnet-5',
      effort: 'high',
      maxTurnsPerRun: 25,
      extraArgs: ['--append-system-prompt', 'Be brief.'],
      env: {
        FOO: 'bar',
        GH_TOKEN: { secretKeyRef: { name: 'gh', key: 'token' } },
        TMPDIR: '/srv/paperclip/tmp/run',
        PAPERCLIP_RUN_SCRATCH_DIR: '/srv/scratch',
      },
      mcpServers: { docs: { type: 'http', url: 'https://docs.example/mcp' } },
      paperclipRuntimeSkills: [
        { key: 'paperclipai/paperclip/paperclip', runtimeName: 'paperclip', source: '/srv/skills/paperclip' },
        { key: 'company/other', runtimeName: 'other', source: '/srv/skills/other' },
      ],
      paperclipSkillSync: { desiredSkills: ['paperclipai/paperclip/paperclip'] },
      ...extra,
    },
    runtimeMcp: {
      getServers: () => [
        {
          name: 'paperclip-projects',
          url: 'http://127.0.0.1:3100/api/mcp/project-tools?x=1',
          token: MCP_TOKEN,
          connectionId: 'c1',
        },
      ],
    },
    context: {
      wakeReason: 'issue_assigned',
      taskId: 'issue-1',
      paperclipTaskMarkdown: '# Task',
      paperclipIssue: { id: 'issue-1', workMode: 'standard' },
      paperclipWake: { reason: 'issue_assigned', issue: { id: 'issue-1', identifier: 'KST-1', title: 'Build it' } },
      paperclipWorkspace: {
        cwd: '/srv/paperclip/workspaces/a1',
        source: 'project',
        repoUrl: 'https://git.example/repo',
        repoRef: 'main',
        workspaceId: 'ws-1',
      },
      issueIds: ['issue-1', 'issue-2'],
    },
  });
}

async function build(
  context = richContext(),
  options: { forceFreshSession?: boolean; serverEnv?: Record<string, string> } = {},
): Promise<RunInvocation> {
  const result = await buildInvocation(context, configOf(context.config), {
    hostFiles,
    serverEnv: options.serverEnv ?? {},
    defaultNamespace: 'paperclip',
    forceFreshSession: options.forceFreshSession ?? false,
    hostPaths: { instructionsDirectories: [INSTRUCTIONS_DIR] },
  });
  if (!result.success) throw new Error(result.message);
  return result.value;
}

describe('buildInvocation: command line', () => {
  it('fresh session: the full claude argv in order, wrapped in the launch script', async () => {
    const invocation = await build();
    expect(invocation.claudeArgs).toEqual([
      'claude',
      '--print',
      '--output-format',
      'stream-json',
      '--verbose',
      '--dangerously-skip-permissions',
      '--model',
      'claude-sonnet-5',
      '--effort',
      'high',
      '--max-turns',
      '25',
      '--append-system-prompt-file',
      '/run/ck8s/files/instructions.md',
      '--mcp-config',
      '/run/ck8s/files/mcp-config.json',
      '--strict-mcp-config',
      '--add-dir',
      '/run/ck8s/files/skills',
      '--append-system-prompt',
      'Be brief.',
    ]);
    expect(invocation.launch.spec.command).toEqual([
      '/bin/sh',
      '-c',
      LAUNCH_SCRIPT,
      'ck8s-launch',
      '/home/agent/workspaces/agent-1/issue-1',
      ...invocation.claudeArgs,
    ]);
    expect(LAUNCH_SCRIPT).toContain('exec "$@" < /run/ck8s/files/prompt.md');
    expect(invocation.resume).toEqual({ resume: false, reason: null });
  });

  it('resumes a matching session: --resume, no instructions file, compact prompt', async () => {
    const first = await build();
    const context = richContext();
    context.runtime = {
      sessionId: null,
      sessionDisplayId: null,
      taskKey: 'issue-1',
      sessionParams: encodeSessionParams({ sessionId: 'ef4396a5-b2f7-468b-9c86-9d272562d804', ...first.sessionTarget }),
    };
    const invocation = await build(context);
    expect(invocation.resume).toEqual({ resume: true, sessionId: 'ef4396a5-b2f7-468b-9c86-9d272562d804' });
    expect(invocation.claudeArgs.slice(5, 7)).toEqual(['--resume', 'ef4396a5-b2f7-468b-9c86-9d272562d804']);
    expect(invocation.claudeArgs).not.toContain('--append-system-prompt-file');
    expect(Object.keys(invocation.launch.spec.files ?? {})).not.toContain('instructions.md');
    expect(invocation.notes).toContain('resuming session ef4396a5-b2f7-468b-9c86-9d272562d804');
  });

  it('starts fresh and says why when the stored session does not match, or when forced', async () => {
    const context = richContext();
    context.runtime = {
      sessionId: null,
      sessionDisplayId: null,
      taskKey: 'issue-1',
      sessionParams: encodeSessionParams({
        ...fakeContextSessionTarget,
        sessionId: 'ef4396a5-b2f7-468b-9c86-9d272562d804',
        cwd: '/elsewhere',
      }),
    };
    const invocation = await build(context);
    expect(invocation.claudeArgs).not.toContain('--resume');
    expect(invocation.notes.find((note) => note.includes('not resumed'))).toMatch(
      /not resumed: working directory changed from \/elsewhere/,
    );
    const forced = await build(context, { forceFreshSession: true });
    expect(forced.resume).toEqual({ resume: false, reason: 'retrying with a fresh session' });
  });

  it('resumes a bare session id (wakes without a task) only when a session volume holds the session files', async () => {
    const bare = {
      sessionId: 'ef4396a5-b2f7-468b-9c86-9d272562d804',
      sessionParams: null,
      sessionDisplayId: null,
      taskKey: null,
    };
    const withVolume = createFakeContext({ configOverrides: { sessionVolume: { claimName: 'claude-sessions' } } });
    withVolume.runtime = bare;
    const resumed = await build(withVolume);
    expect(resumed.resume).toEqual({ resume: true, sessionId: bare.sessionId });
    expect(resumed.launch.spec.command.join(' ')).toContain(`--resume ${bare.sessionId}`);
    const withoutVolume = createFakeContext({ configOverrides: { sessionVolume: {} } });
    withoutVolume.runtime = bare;
    expect((await build(withoutVolume)).notes[0]).toMatch(
      /only a bare session id was stored and no session volume is configured/,
    );
  });

  it('omits optional flags when unset and honours a custom cwd and session mount path', async () => {
    const context = createFakeContext({
      configOverrides: {
        dangerouslySkipPermissions: false,
        cwd: '/data/project',
        sessionVolume: { claimName: 'sessions', mountAs: '/data' },
      },
    });
    const invocation = await build(context);
    expect(invocation.claudeArgs).toEqual(['claude', '--print', '--output-format', 'stream-json', '--verbose']);
    expect(invocation.launch.spec.session).toEqual({
      mountPath: '/data',
      claimName: 'sessions',
      subPath: agentHomeSubPath('company-1', 'agent-1'),
      asHome: true,
    });
    expect(invocation.sessionTarget).toEqual({
      cwd: '/data/project',
      promptBundleKey: null,
      mcpServerIdentity: null,
      sessionVolume: {
        namespace: 'agents',
        claimName: 'sessions',
        mountPath: '/data',
        subPath: agentHomeSubPath('company-1', 'agent-1'),
      },
    });
    expect(invocation.launch.spec.env).toContainEqual({ name: 'HOME', value: '/data' });
  });
});

describe('buildInvocation: files and env', () => {
  it('ships prompt, instructions, MCP config, wake payload and desired skills as files of the per-run Secret', async () => {
    const invocation = await build();
    const files = Object.fromEntries(listRunFiles(invocation.launch).map((file) => [file.key, file]));
    expect(invocation.launch.spec.filesMountPath).toBe('/run/ck8s/files');
    expect(files['prompt.md']?.content).toBe(invocation.prompt.text);
    expect(files['instructions.md']?.content).toBe(
      `# Be careful${instructionsPathDirective('/run/ck8s/files/instructions.md', '/run/ck8s/files/instructions/')}`,
    );
    expect(
      Object.values(files)
        .filter((file) => file.key.startsWith('skill-'))
        .map((file) => file.path),
    ).toEqual(['skills/.claude/skills/paperclip/SKILL.md', 'skills/.claude/skills/paperclip/scripts/helper.sh']);
    const mcp = JSON.parse(files['mcp-config.json']?.content as string) as {
      mcpServers: Record<string, { url: string; headers?: Record<string, string> }>;
    };
    expect(mcp.mcpServers['docs']?.url).toBe('https://docs.example/mcp');
    expect(mcp.mcpServers['paperclip-projects']).toEqual({
      type: 'http',
      url: 'http://paperclip.paperclip.svc:3100/api/mcp/project-tools?x=1',
      headers: { Authorization: `Bearer ${MCP_TOKEN}` },
    });
    expect(files['mcp-config.json']?.sensitive).toBe(true);
    expect(files['paperclip-api-key']).toMatchObject({ path: null, content: TOKEN, sensitive: true });
  });

  it('never puts a secret value in the container env: token, API key and config env go by reference', async () => {
    const invocation = await build();
    const env = invocation.launch.spec.env ?? [];
    expect(env).toContainEqual({ name: 'PAPERCLIP_API_KEY', fileKey: 'paperclip-api-key' });
    expect(env).toContainEqual({
      name: 'ANTHROPIC_API_KEY',
      secretKeyRef: { name: 'anthropic-api-key', key: 'ANTHROPIC_API_KEY' },
    });
    expect(env).toContainEqual({ name: 'FOO', fileKey: 'env-FOO' });
    expect(env).toContainEqual({ name: 'GH_TOKEN', secretKeyRef: { name: 'gh', key: 'token' } });
    expect(env).toContainEqual({ name: 'PAPERCLIP_WAKE_PAYLOAD_JSON', fileKey: 'wake-payload.json' });
    const plain = env.flatMap((entry) => ('value' in entry ? [entry.value] : []));
    expect(plain.join('\n')).not.toContain(TOKEN);
    expect(plain).not.toContain('bar');
    expect(env.map((entry) => entry.name)).not.toContain('TMPDIR');
    expect(invocation.notes).toContain(
      'env not passed to the pod (set by the adapter, or paths of the Paperclip host): PAPERCLIP_RUN_SCRATCH_DIR, TMPDIR',
    );
  });

  it('sets the Paperclip run context and pod-side paths as plain values', async () => {
    const env = Object.fromEntries(
      ((await build()).launch.spec.env ?? []).flatMap((entry) => ('value' in entry ? [[entry.name, entry.value]] : [])),
    );
    expect(env).toMatchObject({
      HOME: '/home/agent',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      PAPERCLIP_API_URL: 'http://paperclip.paperclip.svc:3100',
      PAPERCLIP_AGENT_ID: 'agent-1',
      PAPERCLIP_COMPANY_ID: 'company-1',
      PAPERCLIP_RUN_ID: '5d0c5a8e-1111-4222-8333-444455556666',
      PAPERCLIP_TASK_ID: 'issue-1',
      PAPERCLIP_ISSUE_WORK_MODE: 'standard',
      PAPERCLIP_WAKE_REASON: 'issue_assigned',
      PAPERCLIP_LINKED_ISSUE_IDS: 'issue-1,issue-2',
      PAPERCLIP_WORKSPACE_CWD: '/home/agent/workspaces/agent-1/issue-1',
      PAPERCLIP_WORKSPACE_REPO_URL: 'https://git.example/repo',
      PAPERCLIP_WORKSPACE_REPO_REF: 'main',
      PAPERCLIP_RUN_SCRATCH_DIR: '/tmp/paperclip-run',
    });
  });

  it('passes pod settings through (the runtime adds its own labels)', async () => {
    const context = createFakeContext({
      configOverrides: {
        nodeSelector: 'pool=agents',
        labels: { team: 'x' },
        'resources.limits.memory': '4Gi',
        timeoutSec: 900,
        kubeconfig: '/etc/kube/config',
      },
    });
    const { spec, target } = (await build(context)).launch;
    expect(spec.nodeSelector).toEqual({ pool: 'agents' });
    expect(spec.labels).toEqual({ team: 'x' });
    expect(spec.resources).toEqual({ limits: { memory: '4Gi' } });
    expect(spec).toMatchObject({ timeoutSeconds: 900, terminationGracePeriodSeconds: 30, lockPolicy: 'wait' });
    expect(target).toEqual({ namespace: 'agents', kubeconfigPath: '/etc/kube/config' });
    expect(spec.automountServiceAccountToken).toBe(false);
  });

  it('the onMeta payload carries no secret value', async () => {
    const invocation = await build();
    const meta = buildInvocationMeta(invocation, { jobName: 'job-1', namespace: 'agents', attempt: 1 });
    const text = JSON.stringify(meta);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(MCP_TOKEN);
    expect(text).not.toContain('"bar"');
    expect(meta.env?.['PAPERCLIP_API_KEY']).toBe('<per-run Secret key paperclip-api-key>');
    expect(meta.env?.['ANTHROPIC_API_KEY']).toBe('<Secret anthropic-api-key key ANTHROPIC_API_KEY>');
    expect(meta).toMatchObject({
      adapterType: 'claude_k8s',
      command: 'claude',
      cwd: '/home/agent/workspaces/agent-1/issue-1',
      prompt: invocation.prompt.text,
    });
  });
});

describe('buildInvocation: failures as values', () => {
  it('needs a Paperclip URL pods can reach', async () => {
    const context = createFakeContext({ configOverrides: { paperclipApiUrl: undefined } });
    const config = configOf(context.config);
    expect(
      await buildInvocation(context, config, {
        hostFiles,
        serverEnv: { PAPERCLIP_API_URL: 'http://127.0.0.1:3100' },
        defaultNamespace: 'x',
      }),
    ).toMatchObject({ success: false, code: 'adapter_config_invalid' });
    const fromServer = await buildInvocation(context, config, {
      hostFiles,
      serverEnv: { PAPERCLIP_API_URL: 'http://paperclip.svc:3100/' },
      defaultNamespace: 'x',
    });
    expect(fromServer.success && fromServer.value.paperclipApiUrl).toBe('http://paperclip.svc:3100');
  });

  it('refuses an instructions path outside the managed root and the allow-list, and reads nothing (issue 15)', async () => {
    const files = createMemoryHostFiles({ '/etc/paperclip/.env': 'DB_PASSWORD=hunter2' });
    const outside = createFakeContext({ configOverrides: { instructionsFilePath: '/etc/paperclip/.env' } });
    const result = await buildInvocation(outside, configOf(outside.config), {
      hostFiles: files,
      serverEnv: { PAPERCLIP_HOME: '/srv/paperclip' },
      defaultNamespace: 'x',
    });
    expect(result).toEqual({
      success: false,
      code: 'adapter_config_invalid',
      message:
        "instructionsFilePath /etc/paperclip/.env: refused by the server's instructions roots policy (CLAUDE_K8S_INSTRUCTIONS_DIRS): it resolves outside /srv/paperclip/instances/default/companies/company-1/agents/agent-1/instructions",
    });
    expect(files.reads).toEqual([]);
    const managed = '/srv/paperclip/instances/default/companies/company-1/agents/agent-1/instructions/AGENTS.md';
    const inside = createFakeContext({ configOverrides: { instructionsFilePath: managed } });
    const accepted = await buildInvocation(inside, configOf(inside.config), {
      hostFiles: createMemoryHostFiles({ [managed]: '# mine' }),
      serverEnv: { PAPERCLIP_HOME: '/srv/paperclip' },
      defaultNamespace: 'x',
    });
    expect(accepted.success).toBe(true);
  });

  it('warns on unreadable instructions (the run goes on without them) and reports oversized files', async () => {
    const missing = createFakeContext({ configOverrides: { instructionsFilePath: `${INSTRUCTIONS_DIR}/nope.md` } });
    const withoutInstructions = await buildInvocation(missing, configOf(missing.config), {
      hostFiles,
      serverEnv: {},
      defaultNamespace: 'x',
      hostPaths: { instructionsDirectories: [INSTRUCTIONS_DIR] },
    });
    if (!withoutInstructions.success) throw new Error(withoutInstructions.message);
    expect(withoutInstructions.value.notes.join('\n')).toContain(
      `Warning: could not read agent instructions file "${INSTRUCTIONS_DIR}/nope.md"`,
    );
    expect(listRunFiles(withoutInstructions.value.launch).map((file) => file.key)).not.toContain('instructions.md');
    const huge = createFakeContext({ context: { paperclipTaskMarkdown: 'x'.repeat(1_000_000) } });
    expect(
      await buildInvocation(huge, configOf(huge.config), { hostFiles, serverEnv: {}, defaultNamespace: 'x' }),
    ).toMatchObject({ success: false, code: 'adapter_files_too_large' });
  });

  it('uses the default namespace when the config names none', async () => {
    const context = createFakeContext({ configOverrides: { namespace: undefined } });
    expect((await build(context)).launch.target.namespace).toBe('paperclip');
  });
});

describe('planInvocation: the pure part, from data already read', () => {
  const skills = { skills: [], notes: ['skill a/x skipped: its source is missing on the Paperclip server'] };
  const unreadable = {
    instructions: { path: '/i.md', read: { ok: false as const, error: 'EACCES' } },
    skills: [],
  };

  it('reports a missing Paperclip URL before an unreadable instructions warning, and reads nothing itself', () => {
    const context = createFakeContext({ configOverrides: { paperclipApiUrl: undefined } });
    const options = { serverEnv: {}, defaultNamespace: 'x' };
    expect(
      planInvocation(context, configOf(context.config), { skills, host: unreadable, runtimeMcpServers: [] }, options),
    ).toMatchObject({
      success: false,
      code: 'adapter_config_invalid',
    });
    const withUrl = createFakeContext();
    expect(
      planInvocation(withUrl, configOf(withUrl.config), { skills, host: unreadable, runtimeMcpServers: [] }, options),
    ).toMatchObject({
      success: true,
      value: {
        notes: expect.arrayContaining([
          'Warning: could not read agent instructions file "/i.md": EACCES; the run has no instructions.',
        ]) as unknown,
      },
    });
  });

  it("concatenates the steps' notes in pipeline order", () => {
    const context = createFakeContext({ authToken: '', configOverrides: { env: { TMPDIR: '/tmp/x' } } });
    const result = planInvocation(
      context,
      configOf(context.config),
      { skills, host: { instructions: null, skills: [] }, runtimeMcpServers: [] },
      { serverEnv: {}, defaultNamespace: 'x', forceFreshSession: true },
    );
    expect(result.success && result.value.notes).toEqual([
      'skill a/x skipped: its source is missing on the Paperclip server',
      'retrying with a fresh session',
      'no run token from Paperclip (supportsLocalAgentJwt): the agent cannot call the Paperclip API',
      'env not passed to the pod (set by the adapter, or paths of the Paperclip host): TMPDIR',
    ]);
  });
});
