#!/usr/bin/env node
// Release-artifact check for one published package: pack it exactly as `pnpm publish` would, then check the tarball
// (not the source folder) with publint --strict and @arethetypeswrong/cli (esm-only profile), and look inside it for
// files that must never ship. Run from the package folder (its `check:package` script does), after its build.
//   node ../../scripts/check-package.mjs            check the package in the current folder
//   CK8S_PACK_DIR=/some/dir ...                      also keep the checked tarball there (the cluster tier installs it)
// A deliberate exception to attw (e.g. an entry point that is a classic script without types) goes in the package's
// own .attw.json, which attw reads from the package folder: { "excludeEntrypoints": ["./ui-parser"] }.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..');
const packageDir = resolve(process.argv[2] ?? process.cwd());
const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
const label = `${manifest.name}@${manifest.version}`;

/** Files that may exist in src but must never be published. */
const forbiddenInTarball = [
  /\.test\.ts$/,
  /\.test-d\.ts$/,
  /(^|\/)__fixtures__\//,
  /(^|\/)__snapshots__\//,
  /(^|\/)\.turbo\//,
  /\.tgz$/,
];

const problems = [];

function run(tool, command, args) {
  const result = spawnSync(command, args, {
    cwd: packageDir,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
  });
  if (result.error) throw new Error(`${label}: could not start ${tool} (${command}): ${result.error.message}`);
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

if (manifest.private === true) {
  console.error(`check:package ${label}: the package is private; only published packages are packed and checked`);
  process.exit(1);
}

const workDir = mkdtempSync(join(tmpdir(), 'ck8s-pack-'));
try {
  // 1. Pack with pnpm, which rewrites workspace: ranges and applies publishConfig the way publishing does.
  const pack = run('pnpm pack', 'pnpm', ['pack', '--json', '--pack-destination', workDir]);
  if (!pack.ok) throw new Error(`${label}: pnpm pack failed:\n${pack.output}`);
  const packed = JSON.parse(pack.output.slice(pack.output.indexOf('{')));
  const tarball = packed.filename;
  const files = packed.files.map((file) => file.path);

  // 2. What is inside: no tests, fixtures or snapshots; README and the main entry present; no workspace: ranges left.
  for (const file of files) {
    if (forbiddenInTarball.some((pattern) => pattern.test(file)))
      problems.push(`tarball contains ${file}, which must not be published (check "files" in package.json)`);
  }
  for (const required of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts']) {
    if (!files.includes(required))
      problems.push(`tarball lacks ${required}${required.startsWith('dist/') ? ' (was the package built?)' : ''}`);
  }
  const packedManifest = run('tar', 'tar', ['-xOzf', tarball, 'package/package.json']);
  if (!packedManifest.ok)
    throw new Error(`${label}: could not read package.json from ${tarball}:\n${packedManifest.output}`);
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [name, range] of Object.entries(JSON.parse(packedManifest.output)[field] ?? {})) {
      if (String(range).startsWith('workspace:')) problems.push(`packed ${field}.${name} is still "${range}"`);
    }
  }

  // 3. publint --strict on the tarball: exports, files, types, module format; warnings count as errors.
  const publint = run('publint', join(repoRoot, 'node_modules/.bin/publint'), ['run', tarball, '--strict']);
  if (!publint.ok) problems.push(`publint --strict failed:\n${indent(publint.output)}`);

  // 4. Are the types wrong? Resolution of every entry point for node16 (ESM) and bundler consumers.
  const attw = run('attw', join(repoRoot, 'node_modules/.bin/attw'), [
    tarball,
    '--profile',
    'esm-only',
    '--format',
    'table-flipped',
    '--no-emoji',
    '--no-color',
  ]);
  if (!attw.ok) problems.push(`@arethetypeswrong/cli --profile esm-only failed:\n${indent(attw.output)}`);

  if (problems.length > 0) {
    console.error(`check:package ${label}: FAILED (${problems.length} problem(s))`);
    for (const problem of problems) console.error(`  - ${problem}`);
    process.exitCode = 1;
  } else {
    const keepDir = process.env.CK8S_PACK_DIR;
    if (keepDir) {
      mkdirSync(keepDir, { recursive: true });
      copyFileSync(tarball, join(keepDir, basename(tarball)));
    }
    console.log(
      `check:package ${label}: ${files.length} files packed; publint --strict and attw --profile esm-only clean${keepDir ? `; kept in ${keepDir}` : ''}`,
    );
  }
} catch (error) {
  console.error(`check:package ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  rmSync(workDir, { recursive: true, force: true });
}

function indent(text) {
  return text
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
}
