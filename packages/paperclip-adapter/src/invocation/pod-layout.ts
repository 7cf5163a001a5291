/**
 * Where things are in the agent's pod (mount paths, HOME, working directory, scratch directory, file names of the
 * per-run Secret), and the step that resolves a run's namespace, HOME and working directory from its config.
 */
import { sha256 } from './hash.ts';
import { createHash } from 'node:crypto';
import type { AdapterConfig } from '../config-schema.ts';
import type { SessionVolumeIdentity } from '../session-codec.ts';

/** Where the per-run Secret is mounted in the claude container. */
export const FILES_MOUNT_PATH = '/run/ck8s/files';
/** HOME of the agent when the session volume is mounted as `home` (and without a session volume). */
const DEFAULT_HOME = '/home/agent';
/** Scratch directory of the run inside the pod. */
export const SCRATCH_DIR = '/tmp/paperclip-run';

/** Names of the files of the per-run Secret, relative to {@link FILES_MOUNT_PATH} (also their Secret keys). */
export const RUN_FILE = {
  prompt: 'prompt.md',
  instructions: 'instructions.md',
  /** The sibling files of the instructions file (its bundle directory), by their own names. */
  instructionsDir: 'instructions',
  mcpConfig: 'mcp-config.json',
  runToken: 'paperclip-api-key',
  wakePayload: 'wake-payload.json',
  /** The directory passed to `--add-dir`; skills sit below it in `.claude/skills/<runtime name>/`. */
  skillsDir: 'skills',
} as const;

/** Directory of one skill's files, relative to {@link FILES_MOUNT_PATH}. */
export function skillDirectory(runtimeName: string): string {
  return `${RUN_FILE.skillsDir}/.claude/skills/${runtimeName}`;
}

/** Absolute path of a per-run file in the claude container. */
export function runFilePath(relativePath: string): string {
  return `${FILES_MOUNT_PATH}/${relativePath}`;
}

/** Namespace, HOME and working directory of one run. */
export interface PodLayout {
  /** Namespace of the Job: the config's, else the namespace Paperclip runs in. */
  namespace: string;
  /**
   * HOME of the container: the session volume claim mounted there (its per-agent `subPath`), or an emptyDir when
   * `claimName` is `null`.
   */
  home: { mountPath: string; claimName: string | null; subPath?: string };
  /** Working directory of claude in the pod. */
  cwd: string;
  /** The session volume as stored with a session (`null` without one). */
  sessionVolume: SessionVolumeIdentity | null;
  notes: string[];
}

/** Input of {@link planPodLayout}. */
export interface PodLayoutInput {
  agentId: string;
  /** The agent's company: part of its HOME's sub-path on the session volume. */
  companyId: string;
  /** Paperclip's task key of the run (`ctx.runtime.taskKey`): each task gets its own default working directory. */
  taskKey?: string | null;
  config: Pick<AdapterConfig, 'namespace' | 'sessionVolume' | 'cwd'>;
  /** Namespace when the config names none. */
  defaultNamespace: string;
}

/** A path segment for a raw id: the id itself when it is a safe file name, else a slug and a hash of it. */
function pathSegment(raw: string): string {
  if (/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/.test(raw)) return raw;
  const slug = raw
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 40);
  const hash = createHash('sha256').update(raw).digest('hex').slice(0, 10);
  return slug === '' ? hash : `${slug}-${hash}`;
}

/**
 * Resolves where the run lives: HOME is the session volume's mount path (`/home/agent` when it is mounted as
 * `home`, or without a volume), and the working directory is `cwd`, else `$HOME/workspaces/<agent id>/<task key>`
 * (`$HOME/workspaces/<agent id>` for a run without a task): runs of one agent on different tasks work side by side,
 * each in its own directory, as Paperclip runs them.
 */
export function planPodLayout(input: PodLayoutInput): PodLayout {
  const { config } = input;
  const namespace = config.namespace ?? input.defaultNamespace;
  const claimName = config.sessionVolume.claimName ?? null;
  const mountPath =
    config.sessionVolume.mountAs === 'home' || claimName === null
      ? DEFAULT_HOME
      : config.sessionVolume.mountAs.replace(/\/+$/, '');
  const agentDirectory = `${mountPath}/workspaces/${input.agentId.replace(/[^A-Za-z0-9._-]/g, '-')}`;
  const taskKey = input.taskKey ?? '';
  const cwd = config.cwd ?? (taskKey === '' ? agentDirectory : `${agentDirectory}/${pathSegment(taskKey)}`);
  if (claimName === null) return { namespace, home: { mountPath, claimName }, cwd, sessionVolume: null, notes: [] };
  const subPath = agentHomeSubPath(input.companyId, input.agentId);
  return {
    namespace,
    home: { mountPath, claimName, subPath },
    cwd,
    sessionVolume: { namespace, claimName, mountPath, subPath },
    notes: [],
  };
}

/** One path segment for a raw id: lower-case `[a-z0-9-]` (at most 40) and 12 hex digits of its hash; never `.`/`..`. */
function idSegment(id: string): string {
  const readable = id
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  const hash = sha256(id).slice(0, 12);
  return readable === '' ? hash : `${readable}-${hash}`;
}

/**
 * The sub-directory of the session volume that is one agent's HOME: `companies/<company>/agents/<agent>`, each id
 * made a safe segment (the hash keeps ids that slug alike apart). An agent's pod mounts only this directory, so no
 * agent reads or writes another's `~/.claude` (settings, hooks, sessions) or workspace.
 */
export function agentHomeSubPath(companyId: string, agentId: string): string {
  return `companies/${idSegment(companyId)}/agents/${idSegment(agentId)}`;
}
