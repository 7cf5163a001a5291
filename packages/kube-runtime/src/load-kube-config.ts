import { readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeRuntimeError, MissingConfigurationError } from './kube-runtime-error.ts';

/**
 * What a kubeconfig named by an untrusted party (an agent's configuration) may be. Set by the operator on the server,
 * never per agent.
 */
export interface KubeconfigFilePolicy {
  /**
   * Absolute directories a kubeconfig path must lie inside, after symlinks are resolved. A path with a `..` segment
   * is refused before resolution. Empty: every path is refused.
   */
  allowedDirectories: readonly string[];
  /**
   * Accept users with an `exec` credential plugin or an `auth-provider`. Both make the loading process run a command
   * or contact an identity provider on the Paperclip host. @default false
   */
  allowExecUsers?: boolean;
}

/** Where to take cluster credentials from. */
export interface LoadKubeConfigOptions {
  /** A kubeconfig file; `null`/absent: client-node's default order (`KUBECONFIG`, else `~/.kube/config`, else the in-cluster service account). */
  path?: string | null;
  /** @default process.env, read at call time */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Applied to {@link LoadKubeConfigOptions.path} when set: the file must lie in an allowed directory and (unless
   * allowed) have no exec/auth-provider user. Absent: the path is trusted (the caller's own). The default order
   * (no path) is the process's own configuration and is never restricted.
   */
  policy?: KubeconfigFilePolicy;
}

/** A kubeconfig file was refused by the server's {@link KubeconfigFilePolicy}, or could not be read or parsed. */
export class KubeconfigRefusedError extends KubeRuntimeError {
  override name = 'KubeconfigRefusedError';
  /** `outside-allowed-directories`, `exec-user` (exec/auth-provider refused) or `unreadable` (missing, not a kubeconfig). */
  readonly reason: 'outside-allowed-directories' | 'exec-user' | 'unreadable';
  constructor(reason: KubeconfigRefusedError['reason'], message: string) {
    super(message);
    this.reason = reason;
  }
}

function isInside(directory: string, path: string): boolean {
  const rel = relative(directory, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function realOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

function checkPath(path: string, policy: KubeconfigFilePolicy): string {
  const refuse = (why: string): KubeconfigRefusedError =>
    new KubeconfigRefusedError(
      'outside-allowed-directories',
      `kubeconfig ${path}: refused by the server's kubeconfig policy: ${why}`,
    );
  if (!isAbsolute(path)) throw refuse('expected an absolute path');
  if (path.split(/[\\/]/).includes('..')) throw refuse('a path with a ".." segment is not accepted');
  if (policy.allowedDirectories.length === 0)
    throw refuse('no kubeconfig directory is allow-listed on the server (CLAUDE_K8S_KUBECONFIG_DIR)');
  const real = realOrNull(path);
  if (real === null) throw new KubeconfigRefusedError('unreadable', `kubeconfig ${path}: no such file`);
  const inside = policy.allowedDirectories.some((directory) => {
    const realDirectory = realOrNull(directory);
    return realDirectory !== null && isInside(realDirectory, real);
  });
  if (!inside)
    throw refuse(`it resolves outside the allow-listed directories (${policy.allowedDirectories.join(', ')})`);
  return real;
}

function parseFile(path: string, shownPath: string): KubeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new KubeconfigRefusedError(
      'unreadable',
      `kubeconfig ${shownPath}: cannot be read${typeof code === 'string' ? ` (${code})` : ''}`,
    );
  }
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromString(text);
  } catch {
    // The parser's message quotes the file; the file may be anything (a .env with passwords), so it is not shown.
    throw new KubeconfigRefusedError(
      'unreadable',
      `kubeconfig ${shownPath}: not a valid kubeconfig (content not shown)`,
    );
  }
  return kubeConfig;
}

/**
 * Loads a KubeConfig: the given file, else client-node's default order (`KUBECONFIG`, `~/.kube/config`, the in-cluster
 * service account). A given file is read and parsed here, and an error never quotes its content. With a
 * {@link LoadKubeConfigOptions.policy} the file must pass it, else {@link KubeconfigRefusedError}. Throws
 * {@link MissingConfigurationError} naming what is missing when none yields a cluster.
 */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfig {
  let kubeConfig: KubeConfig;
  if (options.path) {
    const real = options.policy ? checkPath(options.path, options.policy) : options.path;
    kubeConfig = parseFile(real, options.path);
    if (options.policy && options.policy.allowExecUsers !== true) {
      const user = kubeConfig.users.find(
        (candidate) => candidate.exec !== undefined || candidate.authProvider !== undefined,
      );
      if (user)
        throw new KubeconfigRefusedError(
          'exec-user',
          `kubeconfig ${options.path}: user ${user.name} uses ${user.exec !== undefined ? 'an exec credential plugin' : 'an auth-provider'}, refused by the server's kubeconfig policy (exec/auth-provider users run commands on the Paperclip host; the operator enables them with CLAUDE_K8S_KUBECONFIG_ALLOW_EXEC=true)`,
        );
    }
  } else {
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
  }
  if (!kubeConfig.getCurrentCluster()) {
    const env = options.env ?? process.env;
    throw new MissingConfigurationError(
      [
        options.path
          ? `a current cluster in ${options.path}`
          : 'a kubeconfig (KUBECONFIG, the in-cluster service account or ~/.kube/config)',
      ],
      env['KUBERNETES_SERVICE_HOST'] ? 'in-cluster config' : 'kubeconfig',
    );
  }
  return kubeConfig;
}
