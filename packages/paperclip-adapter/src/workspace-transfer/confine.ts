/**
 * The pod is not trusted with the server's filesystem: every path its changes name is checked before the server reads
 * or writes it. A bundle's trees are the pod's own objects (git does not check them on fetch), so they can name `..`,
 * `.git` or an absolute-looking path; and a symbolic link (an ordinary change, from this run or an earlier one) can
 * sit where the path expects a directory. Either would let the pod reach a file outside the workspace on the server.
 */
import { lstat } from 'node:fs/promises';
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

/**
 * Why writing `relative` below `root` would leave it (`null` when it would not): a component above the file, as it is
 * on disk now, is a symbolic link or not a directory. Components that do not exist yet are fine (they are created as
 * directories). Call it again right before each write: an earlier write of the same collection can change the answer.
 */
export async function pathPlacementProblem(root: string, relative: string): Promise<string | null> {
  const syntax = pathSyntaxProblem(relative);
  if (syntax !== null) return syntax;
  const components = relative.split('/');
  let current = root;
  for (const component of components.slice(0, -1)) {
    current = join(current, component);
    const info = await lstat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (info === null) return null;
    if (info.isSymbolicLink()) return `${current.slice(root.length + 1)} is a symbolic link on the server`;
    if (!info.isDirectory()) return `${current.slice(root.length + 1)} is not a directory on the server`;
  }
  return null;
}
