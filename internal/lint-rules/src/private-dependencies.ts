import { glob, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The fields of a workspace package's `package.json` that the check reads. */
export interface WorkspaceManifest {
  name?: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** One workspace package: its folder relative to the workspace root, and its manifest. */
export interface WorkspacePackage {
  directory: string;
  manifest: WorkspaceManifest;
}

/** One broken rule, phrased for the person who has to fix it. */
export interface DependencyViolation {
  package: string;
  field: string;
  dependency: string;
  message: string;
}

const runtimeFields = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const;

/**
 * The dependency rules between workspace packages:
 * a published package lists a private workspace package only in `devDependencies` (a consumer could not install it),
 * and reaches another workspace package at runtime only through a `workspace:^` or `workspace:~` range (changesets
 * rewrites it to a caret or tilde range on publish, so versions stay independent; `workspace:*` would pin exactly).
 */
export function findDependencyViolations(packages: readonly WorkspacePackage[]): DependencyViolation[] {
  const privateNames = new Set(
    packages.filter(({ manifest }) => manifest.private === true).map(({ manifest }) => manifest.name),
  );
  const workspaceNames = new Set(packages.map(({ manifest }) => manifest.name));
  const violations: DependencyViolation[] = [];
  for (const { directory, manifest } of packages) {
    if (manifest.private === true) continue;
    const name = manifest.name ?? directory;
    for (const field of runtimeFields) {
      for (const [dependency, range] of Object.entries(manifest[field] ?? {})) {
        if (privateNames.has(dependency)) {
          violations.push({
            package: name,
            field,
            dependency,
            message: `${name} (${directory}/package.json): ${dependency} is a private workspace package; list it in devDependencies, not ${field}`,
          });
        } else if (workspaceNames.has(dependency) && range !== 'workspace:^' && range !== 'workspace:~') {
          violations.push({
            package: name,
            field,
            dependency,
            message: `${name} (${directory}/package.json): ${field}.${dependency} is "${range}"; use "workspace:^" so each package keeps its own version`,
          });
        }
      }
    }
  }
  return violations;
}

/** The `packages:` globs of a `pnpm-workspace.yaml` (block list form, as this repository writes it). */
export function parseWorkspaceGlobs(yaml: string): string[] {
  const globs: string[] = [];
  let inPackages = false;
  for (const line of yaml.split(/\r?\n/)) {
    if (/^packages:\s*$/.test(line)) {
      inPackages = true;
    } else if (inPackages && /^\s+-\s+/.test(line)) {
      globs.push(
        line
          .replace(/^\s+-\s+/, '')
          .replace(/\s+#.*$/, '')
          .replace(/^['"]|['"]$/g, ''),
      );
    } else if (inPackages && /^\S/.test(line)) {
      inPackages = false;
    }
  }
  return globs;
}

/** Every workspace package under `root`, found through the globs of its `pnpm-workspace.yaml`. */
export async function readWorkspacePackages(root: string): Promise<WorkspacePackage[]> {
  const globs = parseWorkspaceGlobs(await readFile(join(root, 'pnpm-workspace.yaml'), 'utf8'));
  if (globs.length === 0) throw new Error(`read workspace ${root}: pnpm-workspace.yaml lists no packages`);
  const packages: WorkspacePackage[] = [];
  for await (const file of glob(
    globs.map((pattern) => `${pattern}/package.json`),
    { cwd: root, exclude: (path) => path.includes('node_modules') },
  )) {
    const manifest = JSON.parse(await readFile(join(root, file), 'utf8')) as WorkspaceManifest;
    packages.push({ directory: file.replace(/\/package\.json$/, ''), manifest });
  }
  return packages.sort((a, b) => a.directory.localeCompare(b.directory));
}
