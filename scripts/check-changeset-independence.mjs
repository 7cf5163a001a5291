#!/usr/bin/env node
// Proves that versions are independent: in a scratch copy of the workspace (every package.json, pnpm-workspace.yaml and
// the real .changeset/config.json), apply one changeset that touches only @claude-k8s/stream-json with the real
// `changeset version`, then check which packages moved:
//   - stream-json gets exactly the requested bump;
//   - a published package that depends on it at runtime gets a patch bump exactly when the new version leaves its
//     dependency range (updateInternalDependencies: "patch"): a minor of 0.x stream-json leaves paperclip-adapter's
//     "workspace:^" (published as ^0.y.z), so the adapter gets a patch; a patch stays in range, so the adapter stays;
//   - every other package, published or private, keeps its version (today: kube-runtime and all of internal/*).
// Both a minor and a patch changeset are applied, each in a fresh scratch copy (git-initialised, as changesets expects).
// The only change to the config is the changelog generator: changelog-github calls the GitHub API, so the scratch
// copy writes no changelog. Nothing in the repository is modified.
//   node scripts/check-changeset-independence.mjs [workspace root]      (minor and patch)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const toolRoot = resolve(import.meta.dirname, '..');
// The workspace to copy: this repository, or another root given as the first argument (the tests use fixtures).
const repoRoot = resolve(process.argv[2] ?? toolRoot);
const targetName = '@claude-k8s/stream-json';
const changesetCli = join(toolRoot, 'node_modules/@changesets/cli/bin.js');
const runtimeFields = ['dependencies', 'peerDependencies', 'optionalDependencies'];

/** Workspace package folders, from the `packages:` globs of pnpm-workspace.yaml (only `dir/*` globs are used here). */
function workspaceDirs(root) {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const block = yaml.split(/^packages:\s*$/m)[1]?.split(/^\S/m)[0] ?? '';
  const globs = [...block.matchAll(/^\s+-\s+['"]?([^'"\s#]+)/gm)].map((match) => match[1]);
  assert.ok(globs.length > 0, 'pnpm-workspace.yaml lists no packages');
  return globs.flatMap((glob) => {
    assert.match(glob, /^[\w.-]+\/\*$/, `unsupported workspace glob ${glob}; extend check-changeset-independence.mjs`);
    const parent = glob.slice(0, -2);
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${parent}/${entry.name}`)
      .filter((dir) => {
        try {
          readFileSync(join(root, dir, 'package.json'));
          return true;
        } catch {
          return false;
        }
      });
  });
}

function readManifests(root, dirs) {
  return new Map(dirs.map((dir) => [dir, JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'))]));
}

function bump(version, type) {
  const [major, minor, patch] = version.split('-')[0].split('.').map(Number);
  if (type === 'major') return `${major + 1}.0.0`;
  if (type === 'minor') return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
}

function parse(version) {
  return version.split('-')[0].split('.').map(Number);
}

/** Whether `version` still satisfies the dependency `range` written against `current` (the forms this repo uses). */
function satisfies(range, current, version) {
  const spec = range.startsWith('workspace:') ? range.slice('workspace:'.length) : range;
  const [major, minor, patch] = parse(version);
  const kind = spec === '^' || spec === '~' || spec === '*' ? spec : spec[0];
  const base = spec === '^' || spec === '~' || spec === '*' ? parse(current) : parse(spec.replace(/^[\^~]/, ''));
  if (spec === '*' && range.startsWith('workspace:')) return version === current; // published as the exact version
  const atLeast =
    major > base[0] || (major === base[0] && (minor > base[1] || (minor === base[1] && patch >= base[2])));
  if (!atLeast) return false;
  if (kind === '^')
    return base[0] > 0
      ? major === base[0]
      : base[1] > 0
        ? major === 0 && minor === base[1]
        : major === 0 && minor === 0 && patch === base[2];
  if (kind === '~') return major === base[0] && minor === base[1];
  assert.match(
    spec,
    /^\d+\.\d+\.\d+$/,
    `unsupported internal dependency range "${range}"; extend check-changeset-independence.mjs`,
  );
  return version === spec;
}

/**
 * The versions `changeset version` should produce: the target gets its bump; a published package whose runtime
 * dependency on a bumped package no longer satisfies its range gets a patch (updateInternalDependencies: "patch"),
 * repeated until nothing changes; everything else, and every private package, keeps its version.
 */
function expectedVersions(manifests, type) {
  const versions = new Map([...manifests.values()].map((manifest) => [manifest.name, manifest.version]));
  const target = [...manifests.values()].find((manifest) => manifest.name === targetName);
  assert.ok(target, `${targetName} is not a workspace package`);
  versions.set(targetName, bump(target.version, type));
  let changed = true;
  while (changed) {
    changed = false;
    for (const manifest of manifests.values()) {
      if (manifest.private === true || versions.get(manifest.name) !== manifest.version) continue;
      for (const field of runtimeFields) {
        for (const [name, range] of Object.entries(manifest[field] ?? {})) {
          const dependency = [...manifests.values()].find((other) => other.name === name);
          if (dependency === undefined || versions.get(name) === dependency.version) continue;
          if (
            !satisfies(range, dependency.version, versions.get(name)) &&
            versions.get(manifest.name) === manifest.version
          ) {
            versions.set(manifest.name, bump(manifest.version, 'patch'));
            changed = true;
          }
        }
      }
    }
  }
  return versions;
}

function checkIndependence(type) {
  const scratch = mkdtempSync(join(tmpdir(), 'ck8s-changesets-'));
  try {
    const dirs = workspaceDirs(repoRoot);
    for (const file of ['package.json', 'pnpm-workspace.yaml', ...dirs.map((dir) => `${dir}/package.json`)]) {
      mkdirSync(dirname(join(scratch, file)), { recursive: true });
      cpSync(join(repoRoot, file), join(scratch, file));
    }
    const config = JSON.parse(readFileSync(join(repoRoot, '.changeset/config.json'), 'utf8'));
    assert.deepEqual(config.fixed ?? [], [], '.changeset/config.json must have no fixed groups');
    assert.deepEqual(config.linked ?? [], [], '.changeset/config.json must have no linked groups');
    mkdirSync(join(scratch, '.changeset'));
    writeFileSync(
      join(scratch, '.changeset/config.json'),
      JSON.stringify({ ...config, changelog: false, commit: false }, null, 2),
    );
    writeFileSync(
      join(scratch, '.changeset/independence-check.md'),
      `---\n"${targetName}": ${type}\n---\n\nScratch change for the independence check.\n`,
    );

    const git = (...args) =>
      execFileSync('git', ['-c', 'user.name=check', '-c', 'user.email=check@localhost', ...args], {
        cwd: scratch,
        stdio: 'pipe',
      });
    git('init', '--quiet', '--initial-branch', config.baseBranch ?? 'main');
    git('add', '-A');
    git('commit', '--quiet', '--no-gpg-sign', '-m', 'scratch copy');

    const before = readManifests(scratch, dirs);
    execFileSync(process.execPath, [changesetCli, 'version'], {
      cwd: scratch,
      stdio: 'pipe',
      env: { ...process.env, GITHUB_TOKEN: '' },
    });
    const after = readManifests(scratch, dirs);

    const expected = expectedVersions(before, type);
    const lines = [];
    for (const [dir, old] of before) {
      const now = after.get(dir).version;
      assert.equal(
        now,
        expected.get(old.name),
        `${old.name} (${dir}): expected ${expected.get(old.name)} after a ${type} changeset for ${targetName} only, got ${now}`,
      );
      lines.push(`${old.name.padEnd(32)} ${old.version} -> ${now}${now === old.version ? ' (unchanged)' : ''}`);
    }
    // The shape this repository relies on today, stated explicitly so a change to it is a conscious one.
    const byName = (name) => [...before.keys()].find((dir) => before.get(dir).name === name);
    const adapter = byName('@claude-k8s/paperclip-adapter');
    const leavesRange = !satisfies(
      before.get(adapter).dependencies[targetName],
      before.get(byName(targetName)).version,
      after.get(byName(targetName)).version,
    );
    assert.equal(
      after.get(adapter).version,
      leavesRange ? bump(before.get(adapter).version, 'patch') : before.get(adapter).version,
      'paperclip-adapter gets a patch exactly when the new stream-json leaves its range',
    );
    assert.equal(
      after.get(byName('@claude-k8s/kube-runtime')).version,
      before.get(byName('@claude-k8s/kube-runtime')).version,
      'kube-runtime must not move',
    );
    console.log(`changeset independence (${type} for ${targetName}):\n  ${lines.join('\n  ')}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

try {
  for (const type of ['minor', 'patch']) checkIndependence(type);
  console.log('changeset independence: OK');
} catch (error) {
  console.error(`changeset independence: FAILED\n  ${error instanceof Error ? error.message : String(error)}`);
  if (error?.stderr) console.error(String(error.stderr));
  process.exitCode = 1;
}
