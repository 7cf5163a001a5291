/**
 * The host side of the transfer mode's way back: the agent's changes arrive as a git bundle of two snapshot commits
 * made in the pod — `base` (the working tree as it arrived, on top of the server's HEAD) and `worktree` (the working
 * tree when claude ended, on top of the agent's HEAD). From them:
 *
 * - the agent's commits (`worktree^1`) are integrated into the server's branch with Paperclip's own
 *   `integrateImportedGitHead` (fast-forward; a merge commit when the server's branch moved and git merges cleanly);
 * - the agent's working-tree changes (`base` → `worktree`, committed ones included) are applied file by file, each only
 *   where the server's file is still what the pod received (else it is a conflict, never overwritten);
 * - the index of the touched paths follows the pod's: what the agent staged (the bundle's `index` snapshot, when the
 *   pod could write it) is staged, the rest is reset to the new HEAD (uncommitted changes stay uncommitted).
 *
 * Every path is checked first ({@link pathPlacementProblem}): one that would lead outside the workspace (`..`, `.git`, a
 * symbolic link above it) is refused, never read or written.
 *
 * What cannot be applied stays in the workspace's git directory as `refs/claude-k8s/runs/<runId>/{base,agent,worktree}`
 * (and `index`)
 * and is named in the result. Everything runs under Paperclip's directory merge lock (`withDirectoryMergeLock`).
 */
import { execFile } from 'node:child_process';
import { lstat, readlink, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { integrateImportedGitHead } from '@paperclipai/adapter-utils/git-workspace-sync';
import { withDirectoryMergeLock } from '@paperclipai/adapter-utils/workspace-restore-merge';
import { pathPlacementProblem, walkParents } from './confine.ts';

/** The ref namespace of one run's snapshots in the workspace's git directory. */
function runRefPrefix(runId: string): string {
  return `refs/claude-k8s/runs/${runId.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

interface GitOptions {
  input?: Uint8Array;
  /** Return stdout as bytes. */
  raw?: boolean;
  /** Exit codes that are answers, not failures. */
  okCodes?: number[];
}

/** Runs git in `dir`; resolves stdout (text, or bytes with `raw`) and the exit code. */
function git(
  dir: string,
  args: readonly string[],
  options: GitOptions = {},
): Promise<{ code: number; stdout: Buffer; text: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      ['-C', dir, ...args],
      { encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024, timeout: 300_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        if (code !== 0 && !(options.okCodes ?? []).includes(code)) {
          reject(new Error(`git ${args[0] ?? ''} failed (${code}): ${stderr.toString('utf8').trim().slice(0, 2000)}`));
          return;
        }
        resolve({ code, stdout, text: options.raw ? '' : stdout.toString('utf8') });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** One path's entry in a tree or on disk: git mode and blob id; `null` = absent. */
type Entry = { mode: string; oid: string } | null;

async function treeEntries(dir: string, commit: string, paths: readonly string[]): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>();
  for (const path of paths) entries.set(path, null);
  if (paths.length === 0) return entries;
  const listed = await git(dir, ['ls-tree', '-r', '-z', '--full-tree', commit], {});
  for (const line of listed.text.split('\0')) {
    const match = /^(\d+) (\w+) ([0-9a-f]+)\t(.*)$/s.exec(line);
    if (match && entries.has(match[4] as string))
      entries.set(match[4] as string, { mode: match[1] as string, oid: match[3] as string });
  }
  return entries;
}

/** The entry of `path` in the server's working tree, hashed like git would store it. */
async function diskEntry(dir: string, path: string): Promise<Entry> {
  const full = join(dir, path);
  const info = await lstat(full).catch(() => null);
  if (info === null || info.isDirectory()) return null;
  if (info.isSymbolicLink()) {
    const target = await readlink(full);
    const hashed = await git(dir, ['hash-object', '--stdin'], { input: Buffer.from(target) });
    return { mode: '120000', oid: hashed.text.trim() };
  }
  const hashed = await git(dir, ['hash-object', '--no-filters', '--', path]);
  return { mode: (info.mode & 0o111) !== 0 ? '100755' : '100644', oid: hashed.text.trim() };
}

function same(left: Entry, right: Entry): boolean {
  if (left === null || right === null) return left === right;
  return left.oid === right.oid && left.mode === right.mode;
}

async function writeEntry(dir: string, path: string, entry: Entry): Promise<void> {
  const full = join(dir, path);
  if (entry === null) {
    await rm(full, { force: true });
    return;
  }
  // The directories above are made the way they were checked: never through a symbolic link.
  const parents = await walkParents(dir, path.split('/'), true);
  if ('blocked' in parents) throw new Error(`${path}: ${parents.blocked}`);
  const blob = await git(dir, ['cat-file', 'blob', entry.oid], { raw: true });
  await rm(full, { force: true });
  if (entry.mode === '120000') await symlink(blob.stdout.toString('utf8'), full);
  else {
    await writeFile(full, blob.stdout);
    await chmod(full, entry.mode === '100755' ? 0o755 : 0o644);
  }
}

/**
 * Stages in the server's index what the agent had staged in the pod: each path whose entry in the agent's index
 * differs from its HEAD gets the index entry (added, changed or removed), provided the server's working tree now holds
 * the agent's version of it (a conflicting or refused path is left alone).
 */
async function restageAgentIndex(
  dir: string,
  refs: { index: string; agentHead: string; worktree: string; skip: ReadonlySet<string> },
): Promise<string[]> {
  const staged = (await git(dir, ['diff', '--name-only', '--no-renames', '-z', refs.agentHead, refs.index])).text
    .split('\0')
    .filter((path) => path !== '' && !refs.skip.has(path));
  if (staged.length === 0) return [];
  const indexed = await treeEntries(dir, refs.index, staged);
  const worktree = await treeEntries(dir, refs.worktree, staged);
  const zero = '0'.repeat(refs.agentHead.length);
  const lines: string[] = [];
  for (const path of staged) {
    if ((await pathPlacementProblem(dir, path)) !== null) continue;
    if (!same(await diskEntry(dir, path), worktree.get(path) ?? null)) continue;
    const entry = indexed.get(path) ?? null;
    lines.push(entry === null ? `0 ${zero}\t${path}` : `${entry.mode} ${entry.oid}\t${path}`);
  }
  if (lines.length > 0)
    await git(dir, ['update-index', '-z', '--index-info'], { input: Buffer.from(`${lines.join('\0')}\0`) });
  return lines.map((line) => line.slice(line.indexOf('\t') + 1));
}

/** What {@link applyTransferredChanges} did. */
export interface AppliedChanges {
  /** The server's HEAD before and after. */
  headBefore: string;
  headAfter: string;
  /** The agent's HEAD in the pod. */
  agentHead: string;
  /** How many commits of the agent are now in the branch (0 when none or not integrated). */
  commits: number;
  /** Working-tree paths written or deleted in the server's workspace. */
  applied: string[];
  /** Paths the server changed during the run as well: left as they are on the server. */
  conflicts: string[];
  /** Paths refused because they lead outside the workspace, each with the reason (`<path>: <reason>`). */
  refused: string[];
  /** Set when the agent's commits could not be integrated (nothing of the working tree was applied then). */
  commitConflict: string | null;
  /** The refs kept in the workspace's git directory (empty when everything applied). */
  keptRefs: string[];
}

/** Input of {@link applyTransferredChanges}. */
export interface ApplyInput {
  /** The workspace on the server (its real path). */
  dir: string;
  runId: string;
  /** The server's HEAD the pod received (the snapshot's `headCommit`). */
  baseHead: string;
  /** The branch the pod received (`null`: detached). */
  baseBranch: string | null;
  /** The bundle file (refs `refs/claude-k8s/base`, `refs/claude-k8s/worktree` and, optionally, `refs/claude-k8s/index`). */
  bundlePath: string;
}

/**
 * Imports the bundle and applies what the agent did to the server's workspace without overwriting what changed on
 * the server meanwhile. See the module comment.
 */
export async function applyTransferredChanges(input: ApplyInput): Promise<AppliedChanges> {
  const prefix = runRefPrefix(input.runId);
  const refs = { base: `${prefix}/base`, worktree: `${prefix}/worktree`, agent: `${prefix}/agent` };
  const indexRef = `${prefix}/index`;
  const heads = (await git(input.dir, ['bundle', 'list-heads', input.bundlePath])).text;
  const withIndex = /\srefs\/claude-k8s\/index$/m.test(heads);
  await git(input.dir, [
    'fetch',
    '--quiet',
    '--no-tags',
    '--no-write-fetch-head',
    input.bundlePath,
    `+refs/claude-k8s/base:${refs.base}`,
    `+refs/claude-k8s/worktree:${refs.worktree}`,
    ...(withIndex ? [`+refs/claude-k8s/index:${indexRef}`] : []),
  ]);
  const agentHead = (await git(input.dir, ['rev-parse', `${refs.worktree}^1`])).text.trim();
  await git(input.dir, ['update-ref', refs.agent, agentHead]);

  return withDirectoryMergeLock(input.dir, async (dir) => {
    const headBefore = (await git(dir, ['rev-parse', 'HEAD'])).text.trim();
    const branch = await git(dir, ['symbolic-ref', '-q', '--short', 'HEAD'], { okCodes: [1] });
    const branchNow = branch.code === 0 ? branch.text.trim() : null;
    let commitConflict: string | null = null;
    if (branchNow !== input.baseBranch)
      commitConflict = `the server's workspace switched from ${input.baseBranch ?? 'a detached HEAD'} to ${branchNow ?? 'a detached HEAD'} during the run`;
    else if (agentHead !== input.baseHead) {
      try {
        await integrateImportedGitHead({ localDir: dir, importedHead: agentHead });
      } catch (error) {
        commitConflict = `the agent's commits could not be merged into ${branchNow ?? 'HEAD'}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
      }
    }
    const headAfter = (await git(dir, ['rev-parse', 'HEAD'])).text.trim();
    const changed = (await git(dir, ['diff', '--name-only', '--no-renames', '-z', refs.base, refs.worktree])).text
      .split('\0')
      .filter((path) => path !== '');
    const applied: string[] = [];
    const conflicts: string[] = [];
    const refused: string[] = [];
    const refusedPaths = new Set<string>();
    if (commitConflict === null) {
      const before = await treeEntries(dir, refs.base, changed);
      const after = await treeEntries(dir, refs.worktree, changed);
      for (const path of changed) {
        // Checked at each path, not once: a write before this one may have put a symbolic link above it.
        const problem = await pathPlacementProblem(dir, path);
        if (problem !== null) {
          refused.push(`${JSON.stringify(path)}: ${problem}`);
          refusedPaths.add(path);
          continue;
        }
        const received = before.get(path) ?? null;
        const wanted = after.get(path) ?? null;
        const current = await diskEntry(dir, path);
        if (same(current, wanted)) continue;
        if (!same(current, received)) {
          conflicts.push(path);
          continue;
        }
        await writeEntry(dir, path, wanted);
        applied.push(path);
      }
      // The index of what moved follows the new HEAD (uncommitted changes stay uncommitted, as in the pod).
      const moved =
        headAfter === headBefore
          ? []
          : (await git(dir, ['diff', '--name-only', '--no-renames', '-z', headBefore, headAfter])).text
              .split('\0')
              .filter((path) => path !== '');
      const touched = [...new Set([...applied, ...moved])];
      if (touched.length > 0)
        await git(dir, ['reset', '-q', 'HEAD', '--pathspec-from-file=-', '--pathspec-file-nul'], {
          input: Buffer.from(touched.join('\0')),
        });
      // What the agent staged is staged here too (where the working tree holds the agent's version).
      if (withIndex)
        await restageAgentIndex(dir, {
          index: indexRef,
          agentHead,
          worktree: refs.worktree,
          skip: new Set([...conflicts, ...refusedPaths]),
        });
    }
    const commits =
      commitConflict === null && agentHead !== input.baseHead
        ? Number((await git(dir, ['rev-list', '--count', agentHead, `^${input.baseHead}`])).text.trim())
        : 0;
    const keep = commitConflict !== null || conflicts.length > 0 || refused.length > 0;
    if (!keep) for (const ref of [...Object.values(refs), indexRef]) await git(dir, ['update-ref', '-d', ref]);
    return {
      headBefore,
      headAfter,
      agentHead,
      commits,
      applied,
      conflicts: commitConflict === null ? conflicts : changed,
      refused,
      commitConflict,
      keptRefs: keep ? [refs.agent, refs.worktree, refs.base, ...(withIndex ? [indexRef] : [])] : [],
    };
  });
}
