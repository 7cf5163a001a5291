import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { findDependencyViolations, parseWorkspaceGlobs, readWorkspacePackages } from './private-dependencies.ts';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../../..');
const fixturesDir = join(import.meta.dirname, '__fixtures__');
const cli = join(import.meta.dirname, 'check-private-dependencies.ts');

describe('findDependencyViolations', () => {
  it('flags a private package in dependencies, peerDependencies and optionalDependencies, and workspace:* ranges', async () => {
    const violations = findDependencyViolations(await readWorkspacePackages(join(fixturesDir, 'workspace-bad')));
    expect(violations.map(({ package: name, field, dependency }) => `${name} ${field} ${dependency}`)).toEqual([
      '@fixture/pub dependencies @fixture/helpers',
      '@fixture/pub dependencies @fixture/other',
      '@fixture/pub peerDependencies @fixture/helpers',
      '@fixture/pub optionalDependencies @fixture/helpers',
    ]);
    expect(violations[0]?.message).toBe(
      '@fixture/pub (packages/pub/package.json): @fixture/helpers is a private workspace package; list it in devDependencies, not dependencies',
    );
  });

  it('accepts private packages in devDependencies and workspace:^ between published packages', async () => {
    expect(findDependencyViolations(await readWorkspacePackages(join(fixturesDir, 'workspace-good')))).toEqual([]);
  });

  it('holds for this repository', async () => {
    const packages = await readWorkspacePackages(repoRoot);
    expect(packages.map(({ manifest }) => manifest.name)).toContain('@claude-k8s/stream-json');
    expect(packages.some(({ manifest }) => manifest.private === true)).toBe(true);
    expect(findDependencyViolations(packages).map(({ message }) => message)).toEqual([]);
  });
});

describe('parseWorkspaceGlobs', () => {
  it('reads the packages list and stops at the next key', () => {
    expect(
      parseWorkspaceGlobs("packages:\n  - packages/*\n  - 'internal/*' # private\n\nallowBuilds:\n  esbuild: true\n"),
    ).toEqual(['packages/*', 'internal/*']);
  });
});

describe('check-private-dependencies CLI', () => {
  it('fails with one line per violation on the bad fixture', async () => {
    const failure = await run(process.execPath, [cli, join(fixturesDir, 'workspace-bad')]).then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('4 violation(s)');
    expect(failure?.stderr).toContain('list it in devDependencies, not peerDependencies');
  });

  it('passes on the good fixture', async () => {
    const { stdout } = await run(process.execPath, [cli, join(fixturesDir, 'workspace-good')]);
    expect(stdout).toContain('2 published and 1 private packages');
  });
});
