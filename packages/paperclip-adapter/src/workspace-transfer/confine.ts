/**
 * The pod is not trusted with the server's filesystem: every path its changes name is checked before the server reads
 * or writes it. A bundle's trees are the pod's own objects (git does not check them on fetch), so they can name `..`,
 * `.git` or an absolute-looking path; and a symbolic link (an ordinary change, from this run or an earlier one) can
 * sit where the path expects a directory. Either would let the pod reach a file outside the workspace on the server.
 */
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Why `relative` is not a plain path below the workspace (`null` when it is): empty, absolute, with a NUL, a `.`/`..`
 * or empty component, or a `.git` component (any case: git's own metadata is never the agent's to write).
 */
export function pathSyntaxProblem(relative: string): string | null {
  if (relative === '') return 'an empty path';
  if (relative.includes('\0')) return 'a NUL in the path';
  if (relative.startsWith('/')) return 'an absolute path';
  for (const component of relative.split('/')) {
    if (component === '' || component === '.' || component === '..') return `a "${component}" component`;
    if (component.toLowerCase() === '.git') return 'a .git component';
  }
  return null;
}

/** Where the directories above a path lead: {@link walkParents}. */
export type ParentWalk =
  /** Every directory above the path is a real directory (made where missing, when asked); `dir` holds the path. */
  | { dir: string }
  /** A directory above the path does not exist (and was not to be made). */
  | { absent: true }
  /** A component above the path is a symbolic link or not a directory: the reason, naming it. */
  | { blocked: string };

/**
 * Walks the directories above `parts`' last component from `root` with `lstat`, never following a symbolic link;
 * with `create`, makes the missing ones (mode 0755) as it goes. Call it right before each read or write: an earlier
 * write of the same collection can change the answer.
 */
export async function walkParents(root: string, parts: readonly string[], create: boolean): Promise<ParentWalk> {
  let current = root;
  for (const part of parts.slice(0, -1)) {
    const next = join(current, part);
    let info = await lstat(next).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (info === null) {
      if (!create) return { absent: true };
      await mkdir(next, { mode: 0o755 }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      info = await lstat(next);
    }
    if (info.isSymbolicLink()) return { blocked: `${next.slice(root.length + 1)} is a symbolic link on the server` };
    if (!info.isDirectory()) return { blocked: `${next.slice(root.length + 1)} is not a directory on the server` };
    current = next;
  }
  return { dir: current };
}

/**
 * Why writing `relative` below `root` would leave it (`null` when it would not): its syntax
 * ({@link pathSyntaxProblem}), or a component above the file, as it is on disk now, that is a symbolic link or not a
 * directory ({@link walkParents}). Components that do not exist yet are fine (they are created as directories).
 */
export async function pathPlacementProblem(root: string, relative: string): Promise<string | null> {
  const syntax = pathSyntaxProblem(relative);
  if (syntax !== null) return syntax;
  const walk = await walkParents(root, relative.split('/'), false);
  return 'blocked' in walk ? walk.blocked : null;
}
