import { execFile } from 'node:child_process';
import { lstat, readdir, chown, chmod } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PaperclipServerError } from './paperclip-server-error.ts';

const execFileAsync = promisify(execFile);

/** The non-root system user that runs Paperclip (its embedded PostgreSQL refuses to run as root). */
export const DEFAULT_SERVICE_USER = 'ck8s-paperclip';

/** A resolved local account. */
export interface ServiceUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Looks up a local account; `undefined` when it does not exist. */
async function readServiceUser(name: string = DEFAULT_SERVICE_USER): Promise<ServiceUser | undefined> {
  try {
    const { stdout } = await execFileAsync('getent', ['passwd', name]);
    const [, , uid, gid, , home] = stdout.trim().split(':');
    return { name, uid: Number(uid), gid: Number(gid), home: home ?? `/home/${name}` };
  } catch {
    return undefined;
  }
}

/**
 * Returns the service user, creating it first when missing (`useradd --system --create-home`, no login shell).
 * Idempotent. When the current process is not root the user must already exist (or the current user is used when
 * it is non-root itself, see `startPaperclipServer`).
 */
export async function ensureServiceUser(name: string = DEFAULT_SERVICE_USER): Promise<ServiceUser> {
  const existing = await readServiceUser(name);
  if (existing) return existing;
  if (process.getuid?.() !== 0) {
    throw new PaperclipServerError(
      `create user ${name}: not root; create it once with \`sudo useradd --system --create-home ${name}\``,
    );
  }
  try {
    await execFileAsync('useradd', ['--system', '--create-home', '--shell', '/usr/sbin/nologin', name]);
  } catch (error) {
    // Another process may have created it at the same time.
    const raced = await readServiceUser(name);
    if (raced) return raced;
    throw new PaperclipServerError(`create user ${name}: useradd failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const created = await readServiceUser(name);
  if (!created)
    throw new PaperclipServerError(`create user ${name}: useradd succeeded but getent does not see the user`);
  return created;
}

/**
 * The account Paperclip runs as: the service user (created when missing) when this process is root, else the
 * current user (already non-root, so the embedded PostgreSQL accepts it).
 */
export async function resolveServerUser(name: string = DEFAULT_SERVICE_USER): Promise<ServiceUser> {
  if (process.getuid?.() === 0) return ensureServiceUser(name);
  const { stdout } = await execFileAsync('id', ['-un']);
  return {
    name: stdout.trim(),
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    home: process.env['HOME'] ?? '/tmp',
  };
}

/** Runs `command` as `user` (uid/gid switch by Node itself, supplementary groups dropped); resolves to its stdout. */
export async function runAsUser(
  user: ServiceUser,
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number } = {},
): Promise<string> {
  const { stdout } = await execFileAsync(command, args, {
    uid: user.uid,
    gid: user.gid,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: user.home },
    cwd: '/',
    timeout: options.timeoutMs ?? 30_000,
  });
  return stdout;
}

/** Throws a clear error when `user` cannot read `path` (and traverse every directory above it). */
export async function assertReadableBy(user: ServiceUser, path: string, what: string = path): Promise<void> {
  try {
    await runAsUser(user, 'test', ['-r', path]);
  } catch {
    const blocker = await findUntraversableAncestor(user, path);
    const hint = blocker
      ? `directory ${blocker} is not traversable by ${user.name}`
      : `${path} is not readable by ${user.name}`;
    throw new PaperclipServerError(
      `check access ${what}: ${hint}; place it under a readable directory or call grantReadAccess()`,
    );
  }
}

async function findUntraversableAncestor(user: ServiceUser, path: string): Promise<string | undefined> {
  const ancestors: string[] = [];
  for (let directory = dirname(resolve(path)); ; directory = dirname(directory)) {
    ancestors.unshift(directory);
    if (dirname(directory) === directory) break;
  }
  for (const directory of ancestors) {
    try {
      await runAsUser(user, 'test', ['-x', directory]);
    } catch {
      return directory;
    }
  }
  return undefined;
}

/**
 * Makes `path` (a file, or a directory recursively) readable by the service user: the group becomes the service
 * user's primary group and gets read (plus execute on directories and on files executable by their owner).
 * Nothing becomes world-readable, and no directory above `path` is touched: when one of them is not traversable by
 * the service user this throws and names it (keep such files under `/tmp`, `os.tmpdir()` or `<repo>/.cache`).
 * Use it for files the Paperclip server process must read: a kubeconfig, a local-path adapter package, fixtures.
 */
export async function grantReadAccess(path: string, options: { user?: ServiceUser } = {}): Promise<void> {
  const user = options.user ?? (await resolveServerUser());
  await grantTree(resolve(path), user.gid);
  await assertReadableBy(user, path);
}

async function grantTree(path: string, gid: number): Promise<void> {
  const info = await lstat(path);
  if (info.isSymbolicLink()) return;
  if (info.gid !== gid) await chown(path, info.uid, gid);
  const ownerExecute = (info.mode & 0o100) !== 0;
  const groupBits = info.isDirectory() || ownerExecute ? 0o050 : 0o040;
  await chmod(path, (info.mode & 0o7777) | groupBits);
  if (info.isDirectory()) {
    for (const entry of await readdir(path)) await grantTree(join(path, entry), gid);
  }
}
