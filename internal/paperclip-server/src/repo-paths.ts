import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Paperclip release the harness installs unless told otherwise (the one researched in the spec). */
export const DEFAULT_PAPERCLIP_VERSION = '2026.916.1';

/** The monorepo root: the nearest ancestor of this file with a `pnpm-workspace.yaml`. */
function findRepoRoot(start: string = dirname(fileURLToPath(import.meta.url))): string {
  let directory = resolve(start);
  for (;;) {
    if (existsSync(join(directory, 'pnpm-workspace.yaml'))) return directory;
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`find repo root: no pnpm-workspace.yaml above ${start}`);
    directory = parent;
  }
}

/** `<repo>/.cache/paperclip`: one sub-directory per installed Paperclip version. */
export function defaultPaperclipCacheDir(): string {
  return join(findRepoRoot(), '.cache', 'paperclip');
}

/** `<repo>/.artifacts/paperclip-server`: server logs and screenshots (gitignored, uploaded by CI). */
export function defaultArtifactsDir(): string {
  return join(findRepoRoot(), '.artifacts', 'paperclip-server');
}

/**
 * A Node.js binary that satisfies Paperclip's `engines` (>= 24.11): the current one when it is new enough, else the
 * repo toolchain's `<repo>/.cache/toolchain/node-v<version>/bin/node` (fetched by `scripts/toolchain.sh`).
 */
export function resolveNode24(): string {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major > 24 || (major === 24 && minor >= 11)) return process.execPath;
  const toolchain = join(findRepoRoot(), '.cache', 'toolchain', 'bin', 'node');
  if (existsSync(toolchain)) return realpathSync(toolchain);
  throw new Error(
    `resolve node: Node ${process.versions.node} is too old for Paperclip (needs >= 24.11); run \`source scripts/toolchain.sh\``,
  );
}
