// The server side of the directory kind's way back, on a real directory, with streams as the pod's script writes them
// (the round trip with the real pod scripts is in transfer-session.test.ts). A hostile pod is simulated by streams
// naming paths and modes an honest one never would.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyDirectoryChanges, blobId, CONFLICTS_DIR, parseRawDiff, refusePodPath } from './apply-directory.ts';

let root: string;
let dir: string;
let outside: string;
let streamPath: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'apply-directory-'));
  dir = join(root, 'workspace');
  outside = join(root, 'outside');
  mkdirSync(dir);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'outside\n');
  streamPath = join(root, 'changes.stream');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

type Side = { mode: string; content: string } | null;
interface Change {
  path: string;
  base: Side;
  wanted: Side;
  /** Send other bytes than the wanted content under the wanted id (a forged blob). */
  forge?: string;
  /** Raw modes, for records an honest pod never sends. */
  modes?: [string, string];
}

const ZERO = '0'.repeat(40);
const idOf = (side: Side): string => (side === null ? ZERO : blobId(Buffer.from(side.content)));
const modeOf = (side: Side): string => (side === null ? '000000' : side.mode);

/** The stream DIRECTORY_EXPORT_SCRIPT writes: the raw diff's size, the raw diff, then `git cat-file --batch` records. */
function writeStream(changes: Change[]): void {
  const raw = changes
    .map(
      (change) =>
        `:${change.modes?.[0] ?? modeOf(change.base)} ${change.modes?.[1] ?? modeOf(change.wanted)} ${idOf(change.base)} ${idOf(change.wanted)} M\0${change.path}\0`,
    )
    .join('');
  const parts: Buffer[] = [Buffer.from(`${Buffer.byteLength(raw)}\n${raw}`)];
  for (const change of changes) {
    if (change.wanted === null) continue;
    const bytes = Buffer.from(change.forge ?? change.wanted.content);
    parts.push(Buffer.from(`${idOf(change.wanted)} blob ${bytes.byteLength}\n`), bytes, Buffer.from('\n'));
  }
  writeFileSync(streamPath, Buffer.concat(parts));
}

const file = (content: string, mode = '100644'): Side => ({ mode, content });
const apply = (exclude: string[] = ['node_modules', '*/node_modules', '.claude-k8s']) =>
  applyDirectoryChanges({ dir, runId: 'run-1', changesPath: streamPath, exclude });
const read = (path: string): string => readFileSync(join(dir, path), 'utf8');

describe('applyDirectoryChanges', () => {
  it('computes the blob ids git does', () => {
    const content = Buffer.from('hello\n\0binary\xff');
    expect(blobId(content)).toBe(
      execFileSync('git', ['hash-object', '--stdin'], { input: content, encoding: 'utf8' }).trim(),
    );
  });

  it('applies edits, additions, deletions, modes and symlinks where the server still has what the pod received', async () => {
    writeFileSync(join(dir, 'edit.txt'), 'before\n');
    mkdirSync(join(dir, 'gone'));
    writeFileSync(join(dir, 'gone', 'old.txt'), 'old\n');
    writeFileSync(join(dir, 'run.sh'), 'echo hi\n');
    writeFileSync(join(dir, 'same.txt'), 'already there\n');
    writeStream([
      { path: 'edit.txt', base: file('before\n'), wanted: file('after\n') },
      { path: 'gone/old.txt', base: file('old\n'), wanted: null },
      { path: 'new/deep/added.txt', base: null, wanted: file('added\n') },
      { path: 'run.sh', base: file('echo hi\n'), wanted: file('echo hi\n', '100755') },
      { path: 'link', base: null, wanted: file('edit.txt', '120000') },
      { path: 'same.txt', base: file('before\n'), wanted: file('already there\n') },
    ]);
    const result = await apply();
    expect(result).toEqual({
      // Deletions first, then the rest in the pod's order.
      applied: ['gone/old.txt', 'edit.txt', 'new/deep/added.txt', 'run.sh', 'link'],
      conflicts: [],
      keptIn: null,
      refused: [],
    });
    expect(read('edit.txt')).toBe('after\n');
    expect(read('new/deep/added.txt')).toBe('added\n');
    expect(existsSync(join(dir, 'gone'))).toBe(false); // the emptied directory went too
    expect(statSync(join(dir, 'run.sh')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(dir, 'link'))).toBe('edit.txt');
    expect(read('same.txt')).toBe('already there\n');
  });

  it("keeps the server's change and the agent's version (named) where both changed a file", async () => {
    writeFileSync(join(dir, 'shared.txt'), 'server edit\n');
    writeFileSync(join(dir, 'removed-by-agent.txt'), 'server edit too\n');
    writeStream([
      { path: 'shared.txt', base: file('original\n'), wanted: file('agent edit\n') },
      { path: 'removed-by-agent.txt', base: file('original\n'), wanted: null },
      { path: 'created-on-both.txt', base: null, wanted: file('agent\n') },
    ]);
    writeFileSync(join(dir, 'created-on-both.txt'), 'server\n');
    const result = await apply();
    expect(result.applied).toEqual([]);
    expect(result.conflicts.sort()).toEqual(['created-on-both.txt', 'removed-by-agent.txt', 'shared.txt']);
    expect(result.keptIn).toBe(`${CONFLICTS_DIR}/run-1`);
    expect(read('shared.txt')).toBe('server edit\n');
    expect(read('removed-by-agent.txt')).toBe('server edit too\n');
    expect(read('created-on-both.txt')).toBe('server\n');
    expect(read(`${CONFLICTS_DIR}/run-1/shared.txt`)).toBe('agent edit\n');
    expect(read(`${CONFLICTS_DIR}/run-1/created-on-both.txt`)).toBe('agent\n');
    expect(existsSync(join(dir, CONFLICTS_DIR, 'run-1', 'removed-by-agent.txt'))).toBe(false);
  });

  it('refuses paths outside the workspace, .git components, excluded paths and modes that are no file', async () => {
    writeStream([
      { path: '/etc/evil', base: null, wanted: file('x') },
      { path: `../outside/secret.txt`, base: null, wanted: file('pwned\n') },
      { path: 'a/../../outside/secret.txt', base: null, wanted: file('pwned\n') },
      { path: '.git/config', base: null, wanted: file('[core]\n') },
      { path: 'sub/.GIT/hooks/post-checkout', base: null, wanted: file('#!/bin/sh\n') },
      { path: 'node_modules/x.js', base: null, wanted: file('x') },
      { path: `${CONFLICTS_DIR}/run-0/forged.txt`, base: null, wanted: file('x') },
      { path: 'nested', base: null, wanted: file('x'), modes: ['000000', '160000'] },
      { path: 'forged.txt', base: null, wanted: file('claimed\n'), forge: 'other bytes\n' },
    ]);
    const result = await apply();
    expect(result.applied).toEqual([]);
    const reasons = Object.fromEntries(
      result.refused.map((entry) => {
        const end = entry.indexOf('": ') + 1;
        return [JSON.parse(entry.slice(0, end)) as string, entry.slice(end + 2)];
      }),
    );
    expect(reasons).toEqual({
      '/etc/evil': 'an absolute path',
      '../outside/secret.txt': 'a ".." component',
      'a/../../outside/secret.txt': 'a ".." component',
      '.git/config': 'a .git component',
      'sub/.GIT/hooks/post-checkout': 'a .git component',
      'node_modules/x.js': 'a path the transfer excludes',
      [`${CONFLICTS_DIR}/run-0/forged.txt`]: 'a path the transfer excludes',
      nested: 'a nested git repository (not carried)',
      'forged.txt': "its content is missing from the pod's stream or does not match its id",
    });
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('outside\n');
    expect(existsSync(join(dir, 'forged.txt'))).toBe(false);
    expect(refusePodPath('a//b', [])).toBe('a "" component');
    expect(refusePodPath('src/app.ts', [])).toBeNull();
  });

  it('never follows a symlink on the server: not through a parent, not at the target', async () => {
    symlinkSync(outside, join(dir, 'escape'));
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'secret-link'));
    writeStream([
      // Through a symlinked parent the server has: outside/new.txt must not appear.
      { path: 'escape/new.txt', base: null, wanted: file('pwned\n') },
      // A symlink the pod makes, then a file under it in the same stream.
      { path: 'made-link', base: null, wanted: file(outside, '120000') },
      { path: 'made-link/new2.txt', base: null, wanted: file('pwned\n') },
      // The server's symlink as the base: replacing it writes a file in its place, not through it.
      { path: 'secret-link', base: file(join(outside, 'secret.txt'), '120000'), wanted: file('replaced\n') },
    ]);
    const result = await apply();
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('outside\n');
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
    expect(existsSync(join(outside, 'new2.txt'))).toBe(false);
    expect(result.applied).toEqual(['made-link', 'secret-link']);
    expect(lstatSync(join(dir, 'secret-link')).isFile()).toBe(true);
    expect(read('secret-link')).toBe('replaced\n');
    expect(result.conflicts).toEqual(['escape/new.txt', 'made-link/new2.txt']);
    // The agent's versions are kept inside the workspace, in real directories.
    expect(read(`${CONFLICTS_DIR}/run-1/escape/new.txt`)).toBe('pwned\n');
    expect(lstatSync(join(dir, CONFLICTS_DIR, 'run-1', 'escape')).isDirectory()).toBe(true);
  });

  it('never reads a fifo, device or directory where the pod had a file: a conflict', async () => {
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    mkdirSync(join(dir, 'now-a-dir'));
    writeFileSync(join(dir, 'now-a-dir', 'inner.txt'), 'server\n');
    writeStream([
      { path: 'pipe', base: file('was a file\n'), wanted: file('agent\n') },
      { path: 'now-a-dir', base: file('was a file\n'), wanted: null },
    ]);
    const result = await apply();
    expect(result.applied).toEqual([]);
    expect(result.conflicts.sort()).toEqual(['now-a-dir', 'pipe']);
    expect(lstatSync(join(dir, 'pipe')).isFIFO()).toBe(true);
    expect(read('now-a-dir/inner.txt')).toBe('server\n');
  });

  it('keeps an executable bit as the base entry, and treats a mode change on the server as a change', async () => {
    writeFileSync(join(dir, 'tool.sh'), 'echo\n');
    chmodSync(join(dir, 'tool.sh'), 0o755);
    writeStream([{ path: 'tool.sh', base: file('echo\n'), wanted: file('echo two\n') }]);
    const result = await apply();
    expect(result.conflicts).toEqual(['tool.sh']);
    expect(read('tool.sh')).toBe('echo\n');
  });

  it('refuses a path that is not UTF-8 (it could not be written under the name the pod gave)', () => {
    const head = `:000000 100644 ${ZERO} ${blobId(Buffer.from('x'))} A\0`;
    const raw = Buffer.concat([Buffer.from(head), Buffer.from([0x61, 0xff, 0x62, 0]), Buffer.from(`${head}ok.txt\0`)]);
    const parsed = parseRawDiff(raw);
    expect(parsed.changes.map((change) => change.path)).toEqual(['ok.txt']);
    expect(parsed.refused).toEqual(['"a\ufffdb": a path that is not UTF-8 (not carried)']);
  });

  it('refuses a malformed stream as a whole', async () => {
    writeFileSync(streamPath, '11\n:garbage\0x\0');
    await expect(apply()).rejects.toThrow(/malformed/);
    writeFileSync(streamPath, '999\nshort');
    await expect(apply()).rejects.toThrow(/truncated/);
  });
});
