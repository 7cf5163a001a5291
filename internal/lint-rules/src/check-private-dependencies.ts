// Checks the dependency rules between the workspace's packages (see findDependencyViolations).
// Usage: node internal/lint-rules/src/check-private-dependencies.ts [workspace root, default: the repository root]
import { resolve } from 'node:path';
import { findDependencyViolations, readWorkspacePackages } from './private-dependencies.ts';

const root = resolve(process.argv[2] ?? resolve(import.meta.dirname, '../../..'));
const packages = await readWorkspacePackages(root);
const violations = findDependencyViolations(packages);
if (violations.length > 0) {
  console.error(`dependency check: ${violations.length} violation(s) in ${root}`);
  for (const violation of violations) console.error(`  - ${violation.message}`);
  process.exitCode = 1;
} else {
  const published = packages.filter(({ manifest }) => manifest.private !== true).length;
  console.log(
    `dependency check: ${published} published and ${packages.length - published} private packages; published packages use private ones only as devDependencies`,
  );
}
