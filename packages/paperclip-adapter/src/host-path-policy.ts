/**
 * The server-side policy on what an agent's configuration may make the Paperclip host read. Agent configurations are
 * written by board users and, through hiring, by other agents, so a path in one is untrusted: the kubeconfig must lie
 * in an operator allow-listed directory (and may not run commands), and the instructions file must lie in Paperclip's
 * managed instructions root of that agent or an operator allow-listed directory. Symlinks are resolved before the
 * check; a `..` segment is refused outright.
 */
import { homedir } from 'node:os';
import { delimiter, isAbsolute, relative, resolve } from 'node:path';
import type { KubeconfigFilePolicy } from '@claude-k8s/kube-runtime';

/** Server-side host-path settings; {@link createServerAdapter} options override the environment variables. */
export interface HostPathSettings {
  /**
   * Absolute directories an agent's `kubeconfig` may name a file in. Env: `CLAUDE_K8S_KUBECONFIG_DIR`
   * (`:`-separated). @default [] (an agent may name no kubeconfig; the server's own credentials are used)
   */
  kubeconfigDirectories?: readonly string[];
  /**
   * Accept kubeconfig users with an `exec` plugin or an `auth-provider` (they run commands on the Paperclip host).
   * Env: `CLAUDE_K8S_KUBECONFIG_ALLOW_EXEC=true`. @default false
   */
  allowKubeconfigExec?: boolean;
  /**
   * Absolute directories, besides each agent's managed instructions root, an `instructionsFilePath` may lie in.
   * Env: `CLAUDE_K8S_INSTRUCTIONS_DIRS` (`:`-separated). @default []
   */
  instructionsDirectories?: readonly string[];
  /**
   * The volume Paperclip's workspaces live on, for the shared workspace mode: a PersistentVolumeClaim in the runs'
   * namespace and the absolute directory on the Paperclip host its root corresponds to. Env:
   * `CLAUDE_K8S_WORKSPACE_CLAIM` and `CLAUDE_K8S_WORKSPACE_ROOT`. @default none (no workspace is mounted)
   */
  workspaceVolume?: WorkspaceVolumeSettings;
}

/** The operator's shared workspace volume (see {@link HostPathSettings.workspaceVolume}). */
export interface WorkspaceVolumeSettings {
  claimName: string;
  /** Absolute directory on the Paperclip host that is the claim's root. */
  root: string;
}

/**
 * The shared workspace volume: the settings', else the server environment's; `null` when neither names one. Both
 * variables must be set, the root an absolute path (else an error message).
 */
export function resolveWorkspaceVolume(
  settings: HostPathSettings,
  env: Env,
): { ok: true; value: WorkspaceVolumeSettings | null } | { ok: false; message: string } {
  if (settings.workspaceVolume) return { ok: true, value: settings.workspaceVolume };
  const claimName = env['CLAUDE_K8S_WORKSPACE_CLAIM']?.trim() ?? '';
  const root = env['CLAUDE_K8S_WORKSPACE_ROOT']?.trim() ?? '';
  if (claimName === '' && root === '') return { ok: true, value: null };
  if (claimName === '' || root === '')
    return {
      ok: false,
      message:
        "the server's shared workspace volume needs both CLAUDE_K8S_WORKSPACE_CLAIM and CLAUDE_K8S_WORKSPACE_ROOT; only one is set",
    };
  if (!isAbsolute(root))
    return { ok: false, message: `CLAUDE_K8S_WORKSPACE_ROOT ${root}: expected an absolute path on the Paperclip host` };
  return { ok: true, value: { claimName, root: resolve(root) } };
}

type Env = Readonly<Record<string, string | undefined>>;

function listFromEnv(value: string | undefined): string[] {
  return (value ?? '')
    .split(delimiter)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/** The kubeconfig policy handed to kube-runtime's `loadKubeConfig`: settings first, then the server's environment. */
export function resolveKubeconfigPolicy(settings: HostPathSettings, env: Env): KubeconfigFilePolicy {
  return {
    allowedDirectories: settings.kubeconfigDirectories ?? listFromEnv(env['CLAUDE_K8S_KUBECONFIG_DIR']),
    allowExecUsers: settings.allowKubeconfigExec ?? env['CLAUDE_K8S_KUBECONFIG_ALLOW_EXEC']?.trim() === 'true',
  };
}

/**
 * Paperclip's managed instructions root of one agent: `<PAPERCLIP_HOME>/instances/<PAPERCLIP_INSTANCE_ID>/companies/
 * <companyId>/agents/<agentId>/instructions`, as Paperclip's server computes it (`PAPERCLIP_HOME` default
 * `~/.paperclip`, instance default `default`).
 */
export function managedInstructionsRoot(agent: { id: string; companyId: string }, env: Env): string {
  const home = env['PAPERCLIP_HOME']?.trim();
  const homeDir = home ? resolve(home.replace(/^~(?=$|\/)/, homedir())) : resolve(homedir(), '.paperclip');
  const instance = env['PAPERCLIP_INSTANCE_ID']?.trim() || 'default';
  return resolve(homeDir, 'instances', instance, 'companies', agent.companyId, 'agents', agent.id, 'instructions');
}

/** The directories an agent's instructions may be read from. */
export function instructionsRoots(
  agent: { id: string; companyId: string },
  settings: HostPathSettings,
  env: Env,
): string[] {
  return [
    managedInstructionsRoot(agent, env),
    ...(settings.instructionsDirectories ?? listFromEnv(env['CLAUDE_K8S_INSTRUCTIONS_DIRS'])),
  ];
}

/** Result of {@link checkHostPath}: the path with symlinks resolved, or why it is refused. */
export type HostPathCheck = { ok: true; realPath: string } | { ok: false; message: string };

function isInside(directory: string, path: string): boolean {
  const rel = relative(directory, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Checks that `path` lies in one of `roots` once symlinks are resolved (by `realpath`; a root that does not exist
 * admits nothing). A missing file is not refused here: it resolves lexically, and its read fails later as a read.
 */
export async function checkHostPath(
  path: string,
  roots: readonly string[],
  options: { what: string; policy: string; realpath?: (path: string) => Promise<string> },
): Promise<HostPathCheck> {
  const realpath = options.realpath ?? ((candidate: string) => Promise.resolve(resolve(candidate)));
  const refuse = (why: string): HostPathCheck => ({
    ok: false,
    message: `${options.what} ${path}: refused by the server's ${options.policy}: ${why}`,
  });
  if (!isAbsolute(path)) return refuse('expected an absolute path');
  if (path.split(/[\\/]/).includes('..')) return refuse('a path with a ".." segment is not accepted');
  const real = await realpath(path).catch(() => resolve(path));
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => null);
    if (realRoot !== null && isInside(realRoot, real)) return { ok: true, realPath: real };
  }
  return refuse(`it resolves outside ${roots.join(', ')}`);
}
