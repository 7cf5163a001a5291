// A hostile pod against the server's side of the transfer: the bundle is the pod's, so its trees and its paths are
// untrusted. Real git on both sides; the "pod" is a clone whose snapshot commits the test writes itself, the way a
// pod that does not run our scripts could.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyTransferredChanges } from './apply-changes.ts';
import { pathPlacementProblem, pathSyntaxProblem } from './confine.ts';

function git(dir: string, args: readonly string[], input?: string): string {
  return execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', '-C', dir, ...args], {
    encoding: 'utf8',
    ...(input === undefined ? {} : { input }),
  }).trimEnd();
}

let root: string;
let host: string;
let pod: string;
let head: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'apply-changes-test-'));
  host = join(root, 'server', 'app');
  mkdirSync(host, { recursive: true });
  mkdirSync(join(root, 'server', 'outside'));
  git(host, ['init', '-q', '-b', 'main']);
  writeFileSync(join(host, 'README.md'), 'hello\n');
  symlinkSync('../outside', join(host, 'link'));
  git(host, ['add', '-A']);
  git(host, ['commit', '-q', '-m', 'first']);
  head = git(host, ['rev-parse', 'HEAD']);
  pod = join(root, 'pod');
  execFileSync('git', ['clone', '-q', host, pod]);
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A commit of `tree` on top of the pod's HEAD. */
function commitOf(tree: string, message: string): string {
  return git(pod, ['commit-tree', tree, '-p', 'HEAD', '-m', message]);
}

/** The pod's bundle: `base` = the tree it received, `worktree` = `tree`. */
function bundleOf(worktreeTree: string): string {
  git(pod, ['update-ref', 'refs/claude-k8s/base', commitOf(git(pod, ['rev-parse', 'HEAD^{tree}']), 'base')]);
  git(pod, ['update-ref', 'refs/claude-k8s/worktree', commitOf(worktreeTree, 'worktree')]);
  const path = join(root, 'changes.bundle');
  git(pod, ['bundle', 'create', path, 'refs/claude-k8s/base', 'refs/claude-k8s/worktree', '--not', head]);
  return path;
}

function blob(content: string): string {
  return git(pod, ['hash-object', '-w', '--stdin'], content);
}

function tree(lines: readonly string[]): string {
  return git(pod, ['mktree'], `${lines.join('\n')}\n`);
}

describe('the server side of the transfer refuses paths that lead outside the workspace', () => {
  it('a tree naming "..", ".git" or a nested .git is refused and kept; the legitimate change is applied', async () => {
    const evil = tree([`100644 blob ${blob('evil\n')}\tevil`]);
    const hooks = tree([`100755 blob ${blob('#!/bin/sh\necho owned\n')}\tpost-checkout`]);
    const dotGit = tree([`040000 tree ${hooks}\thooks`]);
    const nested = tree([`040000 tree ${dotGit}\t.GIT`]);
    const crafted = tree([
      `100644 blob ${blob('hello, from the agent\n')}\tREADME.md`,
      `120000 blob ${blob('../outside')}\tlink`,
      `040000 tree ${evil}\t..`,
      `040000 tree ${dotGit}\t.git`,
      `040000 tree ${nested}\tsub`,
    ]);
    const result = await applyTransferredChanges({
      dir: host,
      runId: 'run-hostile',
      baseHead: head,
      baseBranch: 'main',
      bundlePath: bundleOf(crafted),
    });
    expect(result.applied).toEqual(['README.md']);
    expect(result.refused).toEqual([
      '"../evil": a ".." component',
      '".git/hooks/post-checkout": a .git component',
      '"sub/.GIT/hooks/post-checkout": a .git component',
    ]);
    expect(readFileSync(join(host, 'README.md'), 'utf8')).toBe('hello, from the agent\n');
    expect(existsSync(join(root, 'server', 'evil'))).toBe(false);
    expect(existsSync(join(host, '.git', 'hooks', 'post-checkout'))).toBe(false);
    expect(existsSync(join(host, 'sub'))).toBe(false);
    // Nothing is lost: the pod's tree is kept as refs, and named.
    expect(result.keptRefs).toContain('refs/claude-k8s/runs/run-hostile/worktree');
  });

  it('a file below a symbolic link is refused: the link is not followed on the server', async () => {
    // The agent turned `link` (a link out of the workspace) into a directory with a file in it, while the server
    // re-pointed `link` during the run: `link` is a conflict and stays a link, so `link/evil` would land outside.
    const replaced = tree([
      `100644 blob ${git(pod, ['rev-parse', 'HEAD:README.md'])}\tREADME.md`,
      `040000 tree ${tree([`100644 blob ${blob('evil\n')}\tevil`])}\tlink`,
    ]);
    const bundle = bundleOf(replaced);
    mkdirSync(join(root, 'server', 'elsewhere'));
    rmSync(join(host, 'link'));
    symlinkSync('../elsewhere', join(host, 'link'));
    const result = await applyTransferredChanges({
      dir: host,
      runId: 'run-link',
      baseHead: head,
      baseBranch: 'main',
      bundlePath: bundle,
    });
    expect(result.conflicts).toEqual(['link']);
    expect(result.refused).toEqual(['"link/evil": link is a symbolic link on the server']);
    expect(result.applied).toEqual([]);
    expect(lstatSync(join(host, 'link')).isSymbolicLink()).toBe(true);
    expect(existsSync(join(root, 'server', 'elsewhere', 'evil'))).toBe(false);
    expect(existsSync(join(root, 'server', 'outside', 'evil'))).toBe(false);
  });

  it('the same change without the conflict is applied: the link goes, the directory and its file come', async () => {
    const replaced = tree([
      `100644 blob ${git(pod, ['rev-parse', 'HEAD:README.md'])}\tREADME.md`,
      `040000 tree ${tree([`100644 blob ${blob('fine\n')}\tfile`])}\tlink`,
    ]);
    const result = await applyTransferredChanges({
      dir: host,
      runId: 'run-fine',
      baseHead: head,
      baseBranch: 'main',
      bundlePath: bundleOf(replaced),
    });
    expect(result.refused).toEqual([]);
    expect(result.applied).toEqual(['link', 'link/file']);
    expect(lstatSync(join(host, 'link')).isDirectory()).toBe(true);
    expect(readFileSync(join(host, 'link', 'file'), 'utf8')).toBe('fine\n');
    expect(existsSync(join(root, 'server', 'outside', 'file'))).toBe(false);
  });
});

describe('path checks', () => {
  it('names what is wrong with a path', () => {
    expect(pathSyntaxProblem('src/a.ts')).toBeNull();
    expect(pathSyntaxProblem('.github/workflows/ci.yml')).toBeNull();
    expect(pathSyntaxProblem('')).toBe('an empty path');
    expect(pathSyntaxProblem('/etc/passwd')).toBe('an absolute path');
    expect(pathSyntaxProblem('a//b')).toBe('a "" component');
    expect(pathSyntaxProblem('a/./b')).toBe('a "." component');
    expect(pathSyntaxProblem('a/../../b')).toBe('a ".." component');
    expect(pathSyntaxProblem('a/.Git/config')).toBe('a .git component');
    expect(pathSyntaxProblem('a\0b')).toBe('a NUL in the path');
  });

  it('a file where a directory is expected, and paths not there yet', async () => {
    expect(await pathPlacementProblem(host, 'README.md/x')).toBe('README.md is not a directory on the server');
    expect(await pathPlacementProblem(host, 'new/dir/file')).toBeNull();
    expect(await pathPlacementProblem(host, 'link')).toBeNull();
    expect(await pathPlacementProblem(host, 'link/x')).toBe('link is a symbolic link on the server');
  });
});
