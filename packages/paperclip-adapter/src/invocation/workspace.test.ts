import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAdapterConfig, type AdapterConfig } from '../config-schema.ts';
import { createNodeHostFiles } from '../node-host-files.ts';
import { createFakeContext, createMemoryHostFiles } from '../../test/fakes.ts';
import { planInvocation } from '../build-invocation.ts';
import { readHostInputs } from './host-inputs.ts';
import { planWorkspace, readWorkspaceHost, type WorkspaceHostInputs, type WorkspacePlan } from './workspace.ts';

function configOf(raw: Record<string, unknown>): AdapterConfig {
  const result = parseAdapterConfig({ image: 'agent:1', ...raw });
  if (!result.success) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

const POD_CWD = '/home/agent/workspaces/agent-1';
const ROOT = '/srv/paperclip';
const VOLUME = { claimName: 'paperclip-workspaces', root: ROOT };
const WORKTREE = '/srv/paperclip/projects/app/.paperclip/worktrees/PAP-1-fix';
const COMMON = '/srv/paperclip/projects/app/.git';

function worktreeContext(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    paperclipWorkspace: {
      cwd: WORKTREE,
      source: 'project',
      strategy: 'git_worktree',
      workspaceId: 'ws-1',
      repoUrl: 'https://git.example/app.git',
      repoRef: 'main',
      branchName: 'PAP-1-fix',
      worktreePath: WORKTREE,
      agentHome: '/srv/paperclip/instances/default/workspaces/agent-1',
      ...extra,
    },
  };
}

/** What the server's filesystem would say about {@link WORKTREE}. */
function worktreeHost(overrides: Partial<WorkspaceHostInputs> = {}): WorkspaceHostInputs {
  return {
    read: {
      ok: true,
      value: {
        cwd: { path: WORKTREE, realPath: WORKTREE },
        owner: { uid: 999, gid: 995 },
        git: {
          kind: 'worktree',
          gitDir: { path: `${COMMON}/worktrees/PAP-1-fix`, realPath: `${COMMON}/worktrees/PAP-1-fix` },
          commonDir: { path: COMMON, realPath: COMMON },
        },
        holdsWorktrees: false,
        holdsRepositories: false,
      },
    },
    agentHome: {
      path: '/srv/paperclip/instances/default/workspaces/agent-1',
      realPath: '/srv/paperclip/instances/default/workspaces/agent-1',
    },
    ...overrides,
  };
}

function plan(input: {
  context?: Record<string, unknown>;
  mode?: 'auto' | 'shared' | 'transfer' | 'none';
  cwd?: string;
  volume?: typeof VOLUME | null;
  host?: WorkspaceHostInputs | null;
}) {
  return planWorkspace({
    context: input.context ?? worktreeContext(),
    config: configOf({ workspace: { mode: input.mode ?? 'auto' }, ...(input.cwd ? { cwd: input.cwd } : {}) }),
    volume: input.volume === undefined ? VOLUME : input.volume,
    host: input.host === undefined ? worktreeHost() : input.host,
    podCwd: POD_CWD,
  });
}

function shared(result: ReturnType<typeof plan>): WorkspacePlan {
  if (!('mode' in result)) throw new Error(result.message);
  expect(result.mode).toBe('shared');
  return result;
}

const envOf = (result: WorkspacePlan) =>
  Object.fromEntries(result.env.map((entry) => [entry.name, 'value' in entry ? entry.value : '?']));

describe('planWorkspace', () => {
  it('a run without a Paperclip workspace keeps the pod its own directory and no workspace variables', () => {
    expect(plan({ context: {}, host: null })).toEqual({
      mode: 'none',
      cwd: null,
      env: [],
      volumes: [],
      volumeMounts: [],
      runAs: null,
      transfer: null,
      notes: [],
    });
  });

  it("mode none keeps today's variables: the pod's directory, and the workspace's description", () => {
    const result = plan({ mode: 'none' });
    expect(result).toMatchObject({ mode: 'none', cwd: null, volumes: [], runAs: null, notes: [] });
    expect(envOf(result as WorkspacePlan)).toEqual({
      PAPERCLIP_WORKSPACE_CWD: POD_CWD,
      PAPERCLIP_WORKSPACE_SOURCE: 'project',
      PAPERCLIP_WORKSPACE_STRATEGY: 'git_worktree',
      PAPERCLIP_WORKSPACE_ID: 'ws-1',
      PAPERCLIP_WORKSPACE_REPO_URL: 'https://git.example/app.git',
      PAPERCLIP_WORKSPACE_REPO_REF: 'main',
      PAPERCLIP_WORKSPACE_BRANCH: 'PAP-1-fix',
    });
  });

  it('shared: mounts the worktree and its repository git directory at the server paths, runs as their owner', () => {
    const result = shared(plan({}));
    expect(result.cwd).toBe(WORKTREE);
    expect(result.volumes).toEqual([
      { name: 'workspace', persistentVolumeClaim: { claimName: 'paperclip-workspaces' } },
    ]);
    expect(result.volumeMounts).toEqual([
      { name: 'workspace', mountPath: WORKTREE, subPath: 'projects/app/.paperclip/worktrees/PAP-1-fix' },
      { name: 'workspace', mountPath: COMMON, subPath: 'projects/app/.git' },
      {
        name: 'workspace',
        mountPath: '/srv/paperclip/instances/default/workspaces/agent-1',
        subPath: 'instances/default/workspaces/agent-1',
      },
    ]);
    // Never the repository's checkout (it holds the other issues' worktrees).
    expect(result.volumeMounts.map((mount) => mount.mountPath)).not.toContain('/srv/paperclip/projects/app');
    expect(result.runAs).toEqual({ uid: 999, gid: 995 });
    expect(envOf(result)).toEqual({
      PAPERCLIP_WORKSPACE_CWD: WORKTREE,
      PAPERCLIP_WORKSPACE_SOURCE: 'project',
      PAPERCLIP_WORKSPACE_STRATEGY: 'git_worktree',
      PAPERCLIP_WORKSPACE_ID: 'ws-1',
      PAPERCLIP_WORKSPACE_REPO_URL: 'https://git.example/app.git',
      PAPERCLIP_WORKSPACE_REPO_REF: 'main',
      PAPERCLIP_WORKSPACE_BRANCH: 'PAP-1-fix',
      PAPERCLIP_WORKSPACE_WORKTREE_PATH: WORKTREE,
      AGENT_HOME: '/srv/paperclip/instances/default/workspaces/agent-1',
    });
    expect(result.notes[0]).toContain('mounted from claim paperclip-workspaces; the pod runs as uid 999');
  });

  it('shared: PAPERCLIP_WORKSPACES_JSON keeps the run workspace and drops the cwd of workspaces not in the pod', () => {
    const result = shared(
      plan({
        context: {
          ...worktreeContext(),
          paperclipWorkspaces: [
            { workspaceId: 'ws-1', cwd: WORKTREE, repoUrl: 'https://git.example/app.git' },
            { workspaceId: 'ws-2', cwd: '/srv/paperclip/projects/other', projectId: 'p2' },
          ],
        },
      }),
    );
    expect(JSON.parse(envOf(result)['PAPERCLIP_WORKSPACES_JSON']!)).toEqual([
      { workspaceId: 'ws-1', cwd: WORKTREE, repoUrl: 'https://git.example/app.git' },
      { workspaceId: 'ws-2', projectId: 'p2' },
    ]);
  });

  it('shared: a symlinked workspace is mounted at the path the server uses, from its real sub-path', () => {
    const host = worktreeHost({ agentHome: null });
    if (!host.read.ok) throw new Error('fixture');
    host.read.value.cwd = { path: '/data/ws', realPath: '/srv/paperclip/real/ws' };
    host.read.value.git = { kind: 'repository' };
    const result = shared(plan({ context: worktreeContext({ cwd: '/data/ws', worktreePath: null }), host }));
    expect(result.cwd).toBe('/data/ws');
    expect(result.volumeMounts).toEqual([{ name: 'workspace', mountPath: '/data/ws', subPath: 'real/ws' }]);
    expect(envOf(result)['AGENT_HOME']).toBeUndefined();
  });

  it("shared: a project checkout hides Paperclip's per-issue worktrees inside it", () => {
    const host = worktreeHost({ agentHome: null });
    if (!host.read.ok) throw new Error('fixture');
    const checkout = '/srv/paperclip/projects/app';
    host.read.value.cwd = { path: checkout, realPath: checkout };
    host.read.value.git = { kind: 'repository' };
    host.read.value.holdsWorktrees = true;
    const result = shared(plan({ context: worktreeContext({ cwd: checkout, strategy: 'project_primary' }), host }));
    expect(result.volumeMounts).toEqual([
      { name: 'workspace', mountPath: checkout, subPath: 'projects/app' },
      { name: 'workspace-hidden', mountPath: `${checkout}/.paperclip/worktrees`, readOnly: true },
    ]);
    expect(result.volumes).toContainEqual({ name: 'workspace-hidden', emptyDir: { sizeLimit: '1Mi' } });
    expect(envOf(result)['PAPERCLIP_WORKSPACE_WORKTREE_PATH']).toBeUndefined();
  });

  const refusals: [string, Parameters<typeof plan>[0], string][] = [
    ['the server cannot stat', { host: null }, 'cannot read its filesystem'],
    [
      'an unreadable workspace',
      { host: { read: { ok: false, error: 'ENOENT: x' }, agentHome: null } },
      'cannot be read on the server: ENOENT: x',
    ],
    ['a workspace outside the root', { volume: { claimName: 'c', root: '/elsewhere' } }, 'is not under'],
    [
      'a git directory outside the root',
      {
        host: (() => {
          const host = worktreeHost();
          if (host.read.ok && host.read.value.git.kind === 'worktree')
            host.read.value.git.commonDir = { path: '/opt/repo/.git', realPath: '/opt/repo/.git' };
          return host;
        })(),
      },
      "the worktree's repository git directory /opt/repo/.git is not under the workspace volume's root /srv/paperclip",
    ],
    [
      'a root-owned workspace',
      {
        host: (() => {
          const host = worktreeHost();
          if (host.read.ok) host.read.value.owner = { uid: 0, gid: 0 };
          return host;
        })(),
      },
      'owned by root',
    ],
  ];
  for (const [what, input, reason] of refusals) {
    it(`${what}: auto falls back to the pod's own directory with a note; shared fails the run`, () => {
      const auto = plan({ ...input, mode: 'auto' });
      expect(auto).toMatchObject({ mode: 'none', cwd: null, volumes: [] });
      expect((auto as WorkspacePlan).notes.join('\n')).toContain(reason);
      expect((auto as WorkspacePlan).notes.join('\n')).toContain(`the pod works in ${POD_CWD}`);
      const explicit = plan({ ...input, mode: 'shared' });
      expect(explicit).toMatchObject({ success: false, code: 'adapter_config_invalid' });
      expect((explicit as { message: string }).message).toContain(`workspace.mode shared: the run's workspace`);
      expect((explicit as { message: string }).message).toContain(reason);
    });
  }

  it("without a volume, the agent's fallback home (no git repository) stays out of the pod without a note under auto; an explicit transfer carries it", () => {
    const context = worktreeContext({ source: 'agent_home', strategy: null, worktreePath: null });
    const home = worktreeHost();
    if (home.read.ok) home.read.value.git = { kind: 'none' };
    expect(plan({ context, volume: null, host: home })).toMatchObject({ mode: 'none', cwd: null, notes: [] });
    expect(plan({ context, volume: null, mode: 'shared' })).toMatchObject({ success: false });
    expect(plan({ context, volume: null, host: home, mode: 'transfer' })).toMatchObject({
      mode: 'transfer',
      transfer: { kind: 'directory', hostDir: WORKTREE },
    });
  });

  it('transfer (auto without a volume): the pod works at the server path on its own volume; the entry waits for it', () => {
    const result = plan({ volume: null });
    if (!('mode' in result)) throw new Error(result.message);
    expect(result).toMatchObject({
      mode: 'transfer',
      cwd: WORKTREE,
      runAs: null,
      volumes: [{ name: 'workspace-transfer', emptyDir: {} }],
      volumeMounts: [
        { name: 'workspace-transfer', mountPath: WORKTREE, subPath: 'workspace' },
        { name: 'workspace-transfer', mountPath: '/run/ck8s/transfer', subPath: 'control' },
      ],
      transfer: { kind: 'git', hostDir: WORKTREE, podDir: WORKTREE, controlDir: '/run/ck8s/transfer' },
    });
    expect(result.notes[0]).toContain('transfer (git repository)');
    expect(envOf(result)).toMatchObject({ PAPERCLIP_WORKSPACE_CWD: WORKTREE, PAPERCLIP_WORKSPACE_BRANCH: 'PAP-1-fix' });
    expect(envOf(result)).toMatchObject({
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'safe.directory',
      GIT_CONFIG_VALUE_0: WORKTREE,
    });
    expect(envOf(result)['AGENT_HOME']).toBeUndefined();
    // An explicit transfer wins over a configured volume; an explicit shared without a volume still fails.
    expect(plan({ mode: 'transfer' })).toMatchObject({ mode: 'transfer' });
    expect(plan({ volume: null, mode: 'shared' })).toMatchObject({
      success: false,
      message: expect.stringContaining('the server names no workspace volume') as unknown,
    });
  });

  it('transfer: a project workspace that is no git repository is carried as a directory (auto and transfer)', () => {
    const plain = worktreeHost();
    if (plain.read.ok) plain.read.value.git = { kind: 'none' };
    for (const mode of ['auto', 'transfer'] as const) {
      const result = plan({ volume: null, host: plain, mode });
      expect(result).toMatchObject({
        mode: 'transfer',
        cwd: WORKTREE,
        transfer: { kind: 'directory', hostDir: WORKTREE, podDir: WORKTREE },
      });
      expect((result as WorkspacePlan).notes[0]).toContain('transfer (directory, not a git repository)');
    }
  });

  it('transfer: a workspace that cannot be read: transfer fails', () => {
    expect(plan({ volume: null, host: null, mode: 'transfer' })).toMatchObject({
      success: false,
      message: expect.stringContaining('cannot read its filesystem') as unknown,
    });
  });

  it('transfer: a workspace with nested project repositories: auto notes it and works in the pod, transfer fails', () => {
    const multi = worktreeHost();
    if (multi.read.ok) multi.read.value.holdsRepositories = true;
    const auto = plan({ volume: null, host: multi });
    expect(auto).toMatchObject({ mode: 'none' });
    expect((auto as WorkspacePlan).notes[0]).toContain('nested project repositories (.paperclip-repositories)');
    expect(plan({ volume: null, host: multi, mode: 'transfer' })).toMatchObject({
      success: false,
      code: 'adapter_config_invalid',
      message: expect.stringContaining('theirs would be lost') as unknown,
    });
    // The shared mode mounts the workspace as it is: nested repositories included.
    expect(plan({ host: multi })).toMatchObject({ mode: 'shared' });
  });

  it("the agent's fallback home with a configured cwd: the cwd wins (as in claude_local)", () => {
    const result = plan({ context: worktreeContext({ source: 'agent_home' }), cwd: '/work' });
    expect(result).toMatchObject({ mode: 'none', cwd: null });
    expect((result as WorkspacePlan).notes[0]).toContain('the configured cwd /work is used');
  });
});

describe('readWorkspaceHost on a real git repository with a Paperclip worktree', () => {
  let root: string;
  let repo: string;
  let worktree: string;
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@e', ...args], { cwd, stdio: 'pipe' });

  beforeAll(() => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'ck8s-ws-')));
    repo = join(root, 'projects', 'app');
    mkdirSync(repo, { recursive: true });
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README.md'), 'hello\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'first');
    worktree = join(repo, '.paperclip', 'worktrees', 'PAP-1-fix');
    git(repo, 'worktree', 'add', '-q', '-b', 'PAP-1-fix', worktree);
    symlinkSync(worktree, join(root, 'link'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("follows the worktree's .git file to its git directory and the repository's common git directory", async () => {
    const host = await readWorkspaceHost(createNodeHostFiles(), {
      paperclipWorkspace: { cwd: join(root, 'link'), agentHome: join(root, 'missing-home') },
    });
    expect(host?.agentHome).toBeNull();
    expect(host?.read).toEqual({
      ok: true,
      value: {
        cwd: { path: join(root, 'link'), realPath: worktree },
        owner: { uid: process.getuid!(), gid: process.getgid!() },
        git: {
          kind: 'worktree',
          gitDir: {
            path: join(repo, '.git', 'worktrees', 'PAP-1-fix'),
            realPath: join(repo, '.git', 'worktrees', 'PAP-1-fix'),
          },
          commonDir: { path: join(repo, '.git'), realPath: join(repo, '.git') },
        },
        holdsWorktrees: false,
        holdsRepositories: false,
      },
    });
    // Owned by root here (the test runs as root); the shared mode refuses that, so plan as if the server's user owned it.
    if (host?.read.ok) host.read.value.owner = { uid: 1000, gid: 1000 };
    const plan = planWorkspace({
      context: { paperclipWorkspace: { cwd: join(root, 'link') } },
      config: configOf({}),
      volume: { claimName: 'ws', root },
      host,
      podCwd: POD_CWD,
    });
    if (!('mode' in plan)) throw new Error(plan.message);
    expect(plan.volumeMounts.map((mount) => mount.subPath)).toEqual([
      'projects/app/.paperclip/worktrees/PAP-1-fix',
      'projects/app/.git',
    ]);
  });

  it('a project checkout is a repository that holds worktrees; a missing workspace is a read failure', async () => {
    const files = createNodeHostFiles();
    const checkout = await readWorkspaceHost(files, { paperclipWorkspace: { cwd: repo, agentHome: repo } });
    expect(checkout?.read).toMatchObject({
      ok: true,
      value: { git: { kind: 'repository' }, holdsWorktrees: true, holdsRepositories: false },
    });
    expect(checkout?.agentHome).toEqual({ path: repo, realPath: repo });
    const missing = await readWorkspaceHost(files, { paperclipWorkspace: { cwd: join(root, 'gone') } });
    expect(missing?.read.ok).toBe(false);
    expect(missing?.read.ok === false && missing.read.error).toContain('ENOENT');
    expect(await readWorkspaceHost(files, {})).toBeNull();
    expect(await readWorkspaceHost(files, { paperclipWorkspace: { cwd: 'relative/path' } })).toBeNull();
    mkdirSync(join(repo, '.paperclip-repositories', 'lib'), { recursive: true });
    try {
      const multi = await readWorkspaceHost(files, { paperclipWorkspace: { cwd: repo } });
      expect(multi?.read).toMatchObject({ ok: true, value: { holdsRepositories: true } });
    } finally {
      rmSync(join(repo, '.paperclip-repositories'), { recursive: true });
    }
  });

  it('is read only with a shared volume: readHostInputs reads no workspace without a workspace context', async () => {
    const hostFiles = createMemoryHostFiles({});
    expect((await readHostInputs(hostFiles, { instructionsFilePath: undefined, skills: [] })).workspace).toBeNull();
  });
});

describe('planInvocation with a shared workspace', () => {
  it('the Job works in the workspace: mounts, user, working directory and variables in the launch', () => {
    const ctx = createFakeContext({ context: worktreeContext() });
    const config = configOf({ paperclipApiUrl: 'http://paperclip:3100' });
    const result = planInvocation(
      ctx,
      config,
      {
        skills: { skills: [], notes: [] },
        host: { instructions: null, instructionsDirectory: null, skills: [], workspace: worktreeHost() },
        runtimeMcpServers: [],
        workspaceVolume: VOLUME,
      },
      { serverEnv: {}, defaultNamespace: 'agents' },
    );
    if (!result.success) throw new Error(result.message);
    const { spec } = result.value.launch;
    expect(spec.volumes).toContainEqual({
      name: 'workspace',
      persistentVolumeClaim: { claimName: 'paperclip-workspaces' },
    });
    expect(spec.volumeMounts?.map((mount) => mount.mountPath)).toEqual([
      WORKTREE,
      COMMON,
      '/srv/paperclip/instances/default/workspaces/agent-1',
    ]);
    expect(spec.runAsUser).toBe(999);
    expect(spec.runAsGroup).toBe(995);
    // The launch script enters the workspace.
    expect(spec.command[4]).toBe(WORKTREE);
    expect(spec.env).toContainEqual({ name: 'PAPERCLIP_WORKSPACE_CWD', value: WORKTREE });
    expect(result.value.workspace).toEqual({ mode: 'shared', cwd: WORKTREE });
  });
});
