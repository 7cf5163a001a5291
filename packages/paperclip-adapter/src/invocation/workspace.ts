/**
 * The workspace stage: what the pod's working directory holds and how the agent learns about it. Paperclip resolves a
 * workspace for most runs (`context.paperclipWorkspace`: the project's checkout, a per-issue git worktree, or the
 * agent's home on the server). Modes:
 *
 * - `shared`: the workspace lives on the operator's workspace volume; the pod mounts only this run's directories
 *   (the workspace, and for a git worktree the repository's git directory it points into) at the paths the server
 *   uses, runs as their owner, and works in place.
 * - `transfer`: no shared storage; the workspace is copied into the pod's own volume at the server's path through the
 *   Kubernetes API, and the agent's changes come back the same way (`workspace-transfer/`).
 * - `none`: the pod starts in its own directory (`cwd`, or `$HOME/workspaces/<agent>`), as before this stage.
 *
 * `auto` (the default) is `shared` when a workspace volume is configured and the run's workspace lies on it,
 * `transfer` when no volume is configured (for the agent's fallback home only when it is a git repository), else `none`.
 * {@link readWorkspaceHost} is the IO part (called from `readHostInputs`), {@link planWorkspace} the pure part.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import type { RunEnvVar, RunSpec } from '@claude-k8s/kube-runtime';
import {
  applyPaperclipWorkspaceEnv,
  shapePaperclipWorkspaceEnvForExecution,
} from '@paperclipai/adapter-utils/server-utils';
import type { AdapterConfig } from '../config-schema.ts';
import { errorMessage } from '../error-message.ts';
import type { WorkspaceVolumeSettings } from '../host-path-policy.ts';
import type { HostFiles } from '../ports.ts';
import { isRecord, readText } from '../raw-values.ts';
import type { InvocationFailure } from './invocation-failure.ts';
import type { HostRead } from './host-inputs.ts';
import { TRANSFER_CONTROL_DIR } from '../workspace-transfer/pod-scripts.ts';
import type { TransferKind } from '../workspace-transfer/transfer-session.ts';

type V1Volume = NonNullable<RunSpec['volumes']>[number];
type V1VolumeMount = NonNullable<RunSpec['volumeMounts']>[number];

/** Where Paperclip puts per-issue worktrees inside a project checkout (`<repo>/.paperclip/worktrees/<branch>`). */
const NESTED_WORKTREES = '.paperclip/worktrees';
/** Where Paperclip keeps a workspace's nested project repositories (adapter-utils' `PROJECT_REPOSITORIES_DIR`). */
const NESTED_REPOSITORIES = '.paperclip-repositories';
/** Name of the pod volume of the shared workspace claim. */
const WORKSPACE_VOLUME = 'workspace';

/** A path as the server names it, and with its symlinks resolved. */
export interface HostPath {
  path: string;
  realPath: string;
}

/** What the server's filesystem says about the run's workspace. */
export interface WorkspaceHostFacts {
  cwd: HostPath;
  /** Owner of the workspace directory: the pod runs as it in the shared mode. */
  owner: { uid: number; gid: number };
  /**
   * The workspace's git layout: no repository, a repository with its `.git` directory inside, or a linked worktree
   * whose `.git` file points at its git directory inside the repository's common git directory.
   */
  git: { kind: 'none' } | { kind: 'repository' } | { kind: 'worktree'; gitDir: HostPath; commonDir: HostPath };
  /** The workspace holds Paperclip's per-issue worktrees (`.paperclip/worktrees`): a project checkout. */
  holdsWorktrees: boolean;
  /** The workspace holds nested project repositories (`.paperclip-repositories`), each a git repository of its own. */
  holdsRepositories: boolean;
}

/** The run's workspace as read from the server (`null` when the run has none, or the server cannot stat files). */
export interface WorkspaceHostInputs {
  read: HostRead<WorkspaceHostFacts>;
  /** `AGENT_HOME` on the server with symlinks resolved, when the run names one and it exists. */
  agentHome: HostPath | null;
}

/** The workspace fields of a run's context (`context.paperclipWorkspace`) this stage uses. */
interface WorkspaceContext {
  cwd: string | null;
  source: string | null;
  strategy: string | null;
  workspaceId: string | null;
  repoUrl: string | null;
  repoRef: string | null;
  branchName: string | null;
  worktreePath: string | null;
  agentHome: string | null;
}

/** Reads `context.paperclipWorkspace`; `null` without one. */
function readWorkspaceContext(context: Record<string, unknown>): WorkspaceContext | null {
  const workspace = context['paperclipWorkspace'];
  if (!isRecord(workspace)) return null;
  return {
    cwd: readText(workspace['cwd']),
    source: readText(workspace['source']),
    strategy: readText(workspace['strategy']),
    workspaceId: readText(workspace['workspaceId']),
    repoUrl: readText(workspace['repoUrl']),
    repoRef: readText(workspace['repoRef']),
    branchName: readText(workspace['branchName']),
    worktreePath: readText(workspace['worktreePath']),
    agentHome: readText(workspace['agentHome']),
  };
}

/** The `gitdir:` target of a worktree's `.git` file, resolved against the worktree. */
function parseGitFile(content: string, worktree: string): string | null {
  const match = /^gitdir:\s*(.+?)\s*$/m.exec(content);
  if (!match?.[1]) return null;
  return resolve(worktree, match[1]);
}

/**
 * Reads what the shared mode needs from the server's filesystem: the workspace's real path and owner, its git layout
 * (following a worktree's `.git` file and its git directory's `commondir`), whether it holds per-issue worktrees, and
 * the agent home. `null` when the run names no workspace directory or `hostFiles` cannot stat. Never rejects.
 */
export async function readWorkspaceHost(
  hostFiles: HostFiles,
  context: Record<string, unknown>,
): Promise<WorkspaceHostInputs | null> {
  const workspace = readWorkspaceContext(context);
  const stat = hostFiles.stat?.bind(hostFiles);
  const realpath = hostFiles.realpath?.bind(hostFiles) ?? ((path: string) => Promise.resolve(resolve(path)));
  if (workspace?.cwd == null || !isAbsolute(workspace.cwd) || stat === undefined) return null;
  const cwdPath = workspace.cwd;
  const exists = async (path: string): Promise<{ isDirectory: boolean } | null> => stat(path).catch(() => null);
  let read: HostRead<WorkspaceHostFacts>;
  try {
    const realCwd = await realpath(cwdPath);
    const info = await stat(realCwd);
    if (!info.isDirectory) throw new Error(`${cwdPath} is not a directory`);
    const dotGit = await exists(`${realCwd}/.git`);
    let git: WorkspaceHostFacts['git'] = { kind: 'none' };
    if (dotGit?.isDirectory) git = { kind: 'repository' };
    else if (dotGit !== null) {
      const gitFile = new TextDecoder().decode(await hostFiles.readFile(`${realCwd}/.git`));
      const gitDir = parseGitFile(gitFile, cwdPath);
      if (gitDir === null) throw new Error(`${cwdPath}/.git is a file without a "gitdir:" line`);
      const realGitDir = await realpath(gitDir);
      const commondir = await hostFiles
        .readFile(`${realGitDir}/commondir`)
        .then((bytes) => new TextDecoder().decode(bytes).trim())
        .catch(() => null);
      const commonDir = commondir === null ? gitDir : resolve(gitDir, commondir);
      git = {
        kind: 'worktree',
        gitDir: { path: gitDir, realPath: realGitDir },
        commonDir: { path: commonDir, realPath: await realpath(commonDir) },
      };
    }
    const nested = await exists(`${realCwd}/${NESTED_WORKTREES}`);
    read = {
      ok: true,
      value: {
        cwd: { path: cwdPath, realPath: realCwd },
        owner: { uid: info.uid, gid: info.gid },
        git,
        holdsWorktrees: nested?.isDirectory === true,
        holdsRepositories: (await exists(`${realCwd}/${NESTED_REPOSITORIES}`)) !== null,
      },
    };
  } catch (error) {
    read = { ok: false, error: errorMessage(error) };
  }
  let agentHome: HostPath | null = null;
  if (workspace.agentHome !== null && isAbsolute(workspace.agentHome)) {
    const real = await realpath(workspace.agentHome).catch(() => null);
    if (real !== null && (await exists(real))?.isDirectory) agentHome = { path: workspace.agentHome, realPath: real };
  }
  return { read, agentHome };
}

/** Where the transfer mode copies the workspace from and to (see `workspace-transfer/`). */
export interface TransferTarget {
  /** A git repository (its HEAD, branch and changes travel) or a directory that is not one (its files travel). */
  kind: TransferKind;
  /** The workspace on the server (symlinks resolved). */
  hostDir: string;
  /** The workspace in the pod: the server's path, on the pod's own volume. */
  podDir: string;
  /** The control directory in the pod. */
  controlDir: string;
}

/** The outcome of the workspace stage. */
export interface WorkspacePlan {
  mode: 'shared' | 'transfer' | 'none';
  /** The pod's working directory when the workspace decides it; `null` = the pod layout's own. */
  cwd: string | null;
  /** `PAPERCLIP_WORKSPACE_*`, `PAPERCLIP_WORKSPACES_JSON`, `AGENT_HOME`: describing the pod's paths. */
  env: RunEnvVar[];
  volumes: V1Volume[];
  volumeMounts: V1VolumeMount[];
  /** The uid/gid the pod runs as (the workspace's owner in the shared mode); `null` = the default. */
  runAs: { uid: number; gid: number } | null;
  /** The transfer mode's paths; `null` in the other modes. */
  transfer: TransferTarget | null;
  notes: string[];
}

/** Input of {@link planWorkspace}. */
export interface WorkspaceInput {
  context: Record<string, unknown>;
  config: Pick<AdapterConfig, 'workspace' | 'cwd'>;
  /** The operator's shared workspace volume, `null` without one. */
  volume: WorkspaceVolumeSettings | null;
  host: WorkspaceHostInputs | null;
  /** The pod layout's working directory (used in the `none` mode). */
  podCwd: string;
}

function isInside(directory: string, path: string): boolean {
  const rel = relative(directory, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Today's (mode `none`) workspace variables: the pod's own directory, and the workspace's description. */
function podOwnEnv(workspace: WorkspaceContext, podCwd: string): RunEnvVar[] {
  const env: RunEnvVar[] = [];
  const add = (name: string, value: string | null): void => {
    if (value !== null) env.push({ name, value });
  };
  add('PAPERCLIP_WORKSPACE_CWD', podCwd);
  add('PAPERCLIP_WORKSPACE_SOURCE', workspace.source);
  add('PAPERCLIP_WORKSPACE_STRATEGY', workspace.strategy);
  add('PAPERCLIP_WORKSPACE_ID', workspace.workspaceId);
  add('PAPERCLIP_WORKSPACE_REPO_URL', workspace.repoUrl);
  add('PAPERCLIP_WORKSPACE_REPO_REF', workspace.repoRef);
  add('PAPERCLIP_WORKSPACE_BRANCH', workspace.branchName);
  return env;
}

function none(workspace: WorkspaceContext | null, podCwd: string, notes: string[]): WorkspacePlan {
  return {
    mode: 'none',
    cwd: null,
    env: workspace === null ? [] : podOwnEnv(workspace, podCwd),
    volumes: [],
    volumeMounts: [],
    runAs: null,
    transfer: null,
    notes,
  };
}

/** The mounts of the shared mode, or why the workspace cannot be mounted. */
function sharedMounts(
  facts: WorkspaceHostFacts,
  volume: WorkspaceVolumeSettings,
  agentHome: HostPath | null,
): { ok: true; mounts: V1VolumeMount[]; agentHomeMounted: boolean } | { ok: false; reason: string } {
  const targets: (HostPath & { what: string })[] = [{ ...facts.cwd, what: 'the workspace' }];
  if (facts.git.kind === 'worktree') {
    const { gitDir, commonDir } = facts.git;
    // A linked worktree needs the repository's common git directory (objects, refs) and its own git directory
    // (HEAD, index), which normally lies inside the common one. The repository's checkout is not mounted.
    if (!isInside(facts.cwd.realPath, commonDir.realPath))
      targets.push({ ...commonDir, what: "the worktree's repository git directory" });
    if (!isInside(commonDir.realPath, gitDir.realPath) && !isInside(facts.cwd.realPath, gitDir.realPath))
      targets.push({ ...gitDir, what: "the worktree's git directory" });
  }
  let agentHomeMounted = false;
  if (agentHome !== null) {
    if (targets.some((target) => isInside(target.realPath, agentHome.realPath))) agentHomeMounted = true;
    else if (isInside(volume.root, agentHome.realPath)) {
      targets.push({ ...agentHome, what: 'the agent home' });
      agentHomeMounted = true;
    }
  }
  const mounts: V1VolumeMount[] = [];
  for (const target of targets) {
    if (!isInside(volume.root, target.realPath))
      return {
        ok: false,
        reason: `${target.what} ${target.realPath} is not under the workspace volume's root ${volume.root}`,
      };
    const subPath = relative(volume.root, target.realPath);
    mounts.push({
      name: WORKSPACE_VOLUME,
      mountPath: target.path,
      ...(subPath === '' ? {} : { subPath }),
    });
  }
  return { ok: true, mounts, agentHomeMounted };
}

/**
 * Decides the run's workspace mode and what it puts in the pod. Runs without a Paperclip workspace keep the pod's
 * own directory. An explicit `shared` that cannot be honoured fails the run with the reason; `auto` falls back to
 * `none` with a note.
 */
export function planWorkspace(input: WorkspaceInput): WorkspacePlan | InvocationFailure {
  const workspace = readWorkspaceContext(input.context);
  const requested = input.config.workspace.mode;
  if (requested === 'none' || workspace === null || workspace.cwd === null) return none(workspace, input.podCwd, []);
  if (workspace.source === 'agent_home' && input.config.cwd !== undefined)
    return none(workspace, input.podCwd, [
      `workspace: the run has only the agent's fallback home; the configured cwd ${input.config.cwd} is used`,
    ]);
  if (requested === 'transfer' || (requested === 'auto' && input.volume === null))
    return planTransfer(input, { ...workspace, cwd: workspace.cwd }, requested);
  const refuse = (reason: string): WorkspacePlan | InvocationFailure =>
    requested === 'shared'
      ? {
          success: false,
          code: 'adapter_config_invalid',
          message: `workspace.mode shared: the run's workspace ${workspace.cwd} cannot be mounted: ${reason}`,
        }
      : none(workspace, input.podCwd, [
          `workspace: the run's workspace ${workspace.cwd} is not in the pod (${reason}); the pod works in ${input.podCwd}`,
        ]);
  if (input.volume === null)
    return refuse('the server names no workspace volume: CLAUDE_K8S_WORKSPACE_CLAIM / CLAUDE_K8S_WORKSPACE_ROOT');
  if (input.host === null) return refuse('the server cannot read its filesystem here');
  if (!input.host.read.ok) return refuse(`it cannot be read on the server: ${input.host.read.error}`);
  const facts = input.host.read.value;
  if (facts.owner.uid === 0)
    return refuse('it is owned by root, and agent pods run as a non-root user (the owner of the workspace)');
  const mounts = sharedMounts(facts, input.volume, input.host.agentHome);
  if (!mounts.ok) return refuse(mounts.reason);
  const volumeMounts = [...mounts.mounts];
  const notes = [
    `workspace: shared: ${volumeMounts.map((mount) => mount.mountPath).join(', ')} mounted from claim ${input.volume.claimName}; the pod runs as uid ${facts.owner.uid}`,
  ];
  if (facts.holdsWorktrees) {
    // A project checkout holds the other issues' worktrees: hide them.
    volumeMounts.push({ name: 'workspace-hidden', mountPath: `${facts.cwd.path}/${NESTED_WORKTREES}`, readOnly: true });
    notes.push(`workspace: ${NESTED_WORKTREES} (other issues' worktrees) is hidden in the pod`);
  }
  const env = workspaceEnv(
    input,
    workspace,
    facts,
    mounts.agentHomeMounted ? (input.host.agentHome?.path ?? null) : null,
  );
  return {
    mode: 'shared',
    cwd: facts.cwd.path,
    env,
    volumes: [
      { name: WORKSPACE_VOLUME, persistentVolumeClaim: { claimName: input.volume.claimName } },
      ...(facts.holdsWorktrees ? [{ name: 'workspace-hidden', emptyDir: { sizeLimit: '1Mi' } }] : []),
    ],
    volumeMounts,
    runAs: facts.owner,
    transfer: null,
    notes,
  };
}

/** Name of the pod volume of the transfer mode (the workspace and the control directory, as sub-paths). */
const TRANSFER_VOLUME = 'workspace-transfer';

/**
 * The transfer mode: the workspace (a git repository, or a directory that is not one) is copied into the pod's own
 * volume at the server's path, and the agent's changes come back, through `pods/exec` (`workspace-transfer/`). `auto`
 * falls back to `none` (quietly for the agent's fallback home) when the workspace cannot be transferred, and leaves the
 * agent's fallback home out unless it is a git repository (its size is unbounded); an explicit `transfer` carries it,
 * and fails the run when the workspace cannot be transferred.
 */
function planTransfer(
  input: WorkspaceInput,
  workspace: WorkspaceContext & { cwd: string },
  requested: AdapterConfig['workspace']['mode'],
): WorkspacePlan | InvocationFailure {
  const quiet = requested === 'auto' && workspace.source === 'agent_home';
  const skip = (reason: string): WorkspacePlan | InvocationFailure =>
    requested === 'transfer'
      ? {
          success: false,
          code: 'adapter_config_invalid',
          message: `workspace.mode transfer: the run's workspace ${workspace.cwd} cannot be transferred: ${reason}`,
        }
      : none(
          workspace,
          input.podCwd,
          quiet
            ? []
            : [
                `workspace: the run's workspace ${workspace.cwd} is not in the pod (${reason}); the pod works in ${input.podCwd}`,
              ],
        );
  if (input.host === null) return skip('the server cannot read its filesystem here');
  if (!input.host.read.ok) return skip(`it cannot be read on the server: ${input.host.read.error}`);
  const facts = input.host.read.value;
  if (facts.holdsRepositories)
    return skip(
      `it holds nested project repositories (${NESTED_REPOSITORIES}): the transfer mode brings back the changes of one repository, so theirs would be lost (the shared mode, with a workspace volume, carries them)`,
    );
  const kind = facts.git.kind === 'none' ? 'directory' : 'git';
  if (quiet && kind === 'directory') return none(workspace, input.podCwd, []);
  return {
    mode: 'transfer',
    cwd: facts.cwd.path,
    env: [
      ...workspaceEnv(input, workspace, facts, null),
      // The workspace directory is the volume's mount point, owned by root: git would refuse the repository as
      // "dubious ownership" for the pod's user. Trust exactly this directory (git's environment config, for the agent's
      // git and the transfer's own).
      { name: 'GIT_CONFIG_COUNT', value: '1' },
      { name: 'GIT_CONFIG_KEY_0', value: 'safe.directory' },
      { name: 'GIT_CONFIG_VALUE_0', value: facts.cwd.path },
    ],
    volumes: [{ name: TRANSFER_VOLUME, emptyDir: {} }],
    volumeMounts: [
      { name: TRANSFER_VOLUME, mountPath: facts.cwd.path, subPath: 'workspace' },
      { name: TRANSFER_VOLUME, mountPath: TRANSFER_CONTROL_DIR, subPath: 'control' },
    ],
    runAs: null,
    transfer: { kind, hostDir: facts.cwd.realPath, podDir: facts.cwd.path, controlDir: TRANSFER_CONTROL_DIR },
    notes: [
      kind === 'git'
        ? `workspace: transfer (git repository): ${facts.cwd.path} is copied into the pod through the Kubernetes API (pods/exec) before claude starts; the agent's commits and changes come back when it ends`
        : `workspace: transfer (directory, not a git repository): ${facts.cwd.path} is copied into the pod through the Kubernetes API (pods/exec) before claude starts; the agent's changed files come back when it ends`,
    ],
  };
}

/** `PAPERCLIP_WORKSPACE_*`, `AGENT_HOME` and `PAPERCLIP_WORKSPACES_JSON` for a workspace at the server's path in the pod. */
function workspaceEnv(
  input: WorkspaceInput,
  workspace: WorkspaceContext,
  facts: WorkspaceHostFacts,
  agentHome: string | null,
): RunEnvVar[] {
  const env: Record<string, string> = {};
  const worktreePath =
    workspace.worktreePath !== null && resolve(workspace.worktreePath) === resolve(facts.cwd.path)
      ? workspace.worktreePath
      : null;
  applyPaperclipWorkspaceEnv(env, {
    workspaceCwd: facts.cwd.path,
    workspaceSource: workspace.source,
    workspaceStrategy: workspace.strategy,
    workspaceId: workspace.workspaceId,
    workspaceRepoUrl: workspace.repoUrl,
    workspaceRepoRef: workspace.repoRef,
    workspaceBranch: workspace.branchName,
    workspaceWorktreePath: worktreePath,
    agentHome,
  });
  const hints = Array.isArray(input.context['paperclipWorkspaces'])
    ? input.context['paperclipWorkspaces'].filter(isRecord)
    : [];
  if (hints.length > 0) {
    // Only this run's workspace is in the pod: other hints lose their cwd (Paperclip's own shaping for a target
    // that does not see the server's filesystem).
    const shaped = shapePaperclipWorkspaceEnvForExecution({
      workspaceCwd: facts.cwd.path,
      workspaceHints: hints,
      executionTargetIsRemote: true,
      executionCwd: facts.cwd.path,
    });
    env['PAPERCLIP_WORKSPACES_JSON'] = JSON.stringify(shaped.workspaceHints);
  }
  return Object.entries(env).map(([name, value]) => ({ name, value }));
}
