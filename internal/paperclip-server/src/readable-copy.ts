import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PaperclipServerError } from './paperclip-server-error.ts';
import { assertReadableBy, grantReadAccess, type ServiceUser } from './service-user.ts';

const execFileAsync = promisify(execFile);

/** A world-traversable place for copies: `/var/tmp/ck8s-paperclip` (sticky like /tmp, kept across reboots). */
export const DEFAULT_MIRROR_ROOT = '/var/tmp/ck8s-paperclip';

/** Options of {@link ensureReadableCopy}. */
export interface EnsureReadableCopyOptions {
  user: ServiceUser;
  /** @default '/var/tmp/ck8s-paperclip' */
  mirrorRoot?: string;
  /**
   * Hard-link the files (`cp -al`, falls back to a copy across file systems) instead of copying them. Only for trees
   * that are already group/other-readable, since a hard link shares the original's mode. @default false
   */
  hardlink?: boolean;
  /** A key that changes when the content does (e.g. a version); the copy is reused while it stays the same. @default none: always re-copy */
  cacheKey?: string;
}

/**
 * Returns `path` when `user` can read it; otherwise copies it (a file or a directory tree) to a directory the user
 * can reach, grants the user read access to the copy, and returns the copy's path. For a checkout under a
 * non-traversable home directory (e.g. `/home/runner/work/...` on CI runners), where `grantReadAccess` alone is not
 * enough and parent directories must not be opened up.
 */
export async function ensureReadableCopy(path: string, options: EnsureReadableCopyOptions): Promise<string> {
  const source = resolve(path);
  try {
    await assertReadableBy(options.user, source);
    return source;
  } catch {
    // copy below
  }
  const root = options.mirrorRoot ?? DEFAULT_MIRROR_ROOT;
  await mkdir(root, { recursive: true, mode: 0o755 });
  const digest = createHash('sha256').update(source).digest('hex').slice(0, 12);
  const target = join(root, `${basename(source)}-${digest}${options.cacheKey ? `-${options.cacheKey}` : ''}`);
  const marker = `${target}.complete`;
  if (options.cacheKey && existsSync(marker) && existsSync(target)) return target;
  const staging = `${target}.partial-${process.pid}-${Date.now()}`;
  try {
    if (options.hardlink) {
      await execFileAsync('cp', ['-al', source, staging]).catch(() => execFileAsync('cp', ['-a', source, staging]));
    } else {
      await execFileAsync('cp', ['-a', source, staging]);
      await grantReadAccess(staging, { user: options.user });
    }
    await rm(target, { recursive: true, force: true });
    await rename(staging, target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw new PaperclipServerError(
      `copy ${source} to ${target} for ${options.user.name}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  await assertReadableBy(options.user, target);
  if (options.cacheKey) await writeFile(marker, `${new Date().toISOString()}\n`);
  return target;
}
