// The pack of HEAD built from the workspace's files, checked by real git: `git index-pack` takes it, and the
// repository it makes holds exactly HEAD's objects, whatever the working tree holds.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { headPack } from './head-pack.ts';

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', '-C', dir, ...args], {
    encoding: 'utf8',
  }).trimEnd();
}

/** Indexes the pack into a new repository (as the pod does) and checks HEAD out there. */
async function receive(pack: AsyncIterable<Uint8Array>, dir: string, head: string, format: string): Promise<void> {
  git(root, 'init', '-q', `--object-format=${format}`, dir);
  const child = spawn('git', ['-C', dir, 'index-pack', '--stdin'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  for await (const chunk of pack) if (!child.stdin.write(chunk)) await new Promise((r) => child.stdin.once('drain', r));
  child.stdin.end();
  expect({ code: await closed, stderr }).toEqual({ code: 0, stderr: '' });
  writeFileSync(join(dir, '.git', 'shallow'), `${head}\n`);
  git(dir, 'update-ref', 'HEAD', head);
  git(dir, 'read-tree', '-u', '--reset', 'HEAD');
}

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'head-pack-test-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('headPack', () => {
  it('holds exactly HEAD’s objects: changed, converted, deleted, linked, executable, duplicate and submodule entries', async () => {
    const host = join(root, 'host');
    git(root, 'init', '-q', '-b', 'main', host);
    writeFileSync(join(host, 'old.txt'), 'history only\n');
    git(host, 'add', '-A');
    git(host, 'commit', '-q', '-m', 'first');
    rmSync(join(host, 'old.txt'));
    writeFileSync(join(host, 'plain.txt'), 'plain\n');
    writeFileSync(join(host, 'same-a.txt'), 'same\n');
    writeFileSync(join(host, 'same-b.txt'), 'same\n');
    writeFileSync(join(host, 'empty'), '');
    writeFileSync(join(host, 'changed.txt'), 'committed\n');
    writeFileSync(join(host, 'gone.txt'), 'deleted in the working tree\n');
    writeFileSync(join(host, 'run.sh'), '#!/bin/sh\necho hi\n');
    chmodSync(join(host, 'run.sh'), 0o755);
    symlinkSync('plain.txt', join(host, 'link'));
    symlinkSync('plain.txt', join(host, 'relinked'));
    writeFileSync(join(host, '.gitattributes'), '*.crlf text eol=crlf\n');
    writeFileSync(join(host, 'converted.crlf'), 'one\r\ntwo\r\n');
    writeFileSync(join(host, 'big.bin'), Buffer.alloc(300_000, 7)); // deflated
    writeFileSync(join(host, 'random.bin'), randomBytes(200_000)); // stored (would not shrink): several blocks
    git(host, 'add', '-A');
    // A submodule entry: a commit of another repository (not in this one's objects).
    git(host, 'update-index', '--add', '--cacheinfo', `160000,${'1'.repeat(40)},vendored`);
    git(host, 'commit', '-q', '-m', 'second');
    // The working tree now differs from HEAD in every way git allows.
    writeFileSync(join(host, 'changed.txt'), 'edited, not committed\n');
    unlinkSync(join(host, 'gone.txt'));
    unlinkSync(join(host, 'relinked'));
    symlinkSync('same-a.txt', join(host, 'relinked'));
    // Checked out again, `converted.crlf` is `one\r\ntwo\r\n` on disk (eol=crlf), `one\ntwo\n` in the blob; unchanged.
    unlinkSync(join(host, 'converted.crlf'));
    git(host, 'checkout', '--', 'converted.crlf');
    expect(readFileSync(join(host, 'converted.crlf'), 'utf8')).toBe('one\r\ntwo\r\n');
    expect(git(host, 'status', '--porcelain', '--', 'converted.crlf')).toBe('');
    const head = git(host, 'rev-parse', 'HEAD');

    const pod = join(root, 'pod');
    await receive(headPack(host, head), pod, head, 'sha1');

    expect(git(pod, 'ls-tree', '-r', '-t', 'HEAD')).toBe(git(host, 'ls-tree', '-r', '-t', 'HEAD'));
    expect(git(pod, 'rev-list', '--all', '--objects').split('\n').sort()).toEqual(
      git(host, 'rev-list', '--objects', '--max-count=1', 'HEAD').split('\n').sort(),
    );
    for (const path of ['changed.txt', 'gone.txt', 'converted.crlf', 'relinked', 'run.sh', 'big.bin', 'random.bin'])
      expect(git(pod, 'cat-file', '-p', `HEAD:${path}`)).toBe(git(host, 'cat-file', '-p', `HEAD:${path}`));
    expect(git(pod, 'fsck', '--no-dangling', '--connectivity-only')).toBe('');
    expect(git(pod, 'log', '--format=%s')).toBe('second');
    expect(git(pod, 'status', '--porcelain')).toBe('');
  });

  it('works for a SHA-256 repository', async () => {
    const host = join(root, 'host256');
    git(root, 'init', '-q', '--object-format=sha256', '-b', 'main', host);
    writeFileSync(join(host, 'a.txt'), 'a\n');
    writeFileSync(join(host, 'b.txt'), 'b\n');
    git(host, 'add', '-A');
    git(host, 'commit', '-q', '-m', 'one');
    writeFileSync(join(host, 'b.txt'), 'b, edited\n');
    const head = git(host, 'rev-parse', 'HEAD');
    expect(head).toHaveLength(64);
    const pod = join(root, 'pod256');
    await receive(headPack(host, head), pod, head, 'sha256');
    expect(git(pod, 'rev-parse', 'HEAD')).toBe(head);
    expect(git(pod, 'show', 'HEAD:b.txt')).toBe('b');
  });

  it('fails with the object’s name when git does not have it', async () => {
    const host = join(root, 'broken');
    git(root, 'init', '-q', '-b', 'main', host);
    writeFileSync(join(host, 'a.txt'), 'a\n');
    git(host, 'add', '-A');
    git(host, 'commit', '-q', '-m', 'one');
    const head = git(host, 'rev-parse', 'HEAD');
    const tree = git(host, 'rev-parse', 'HEAD^{tree}');
    rmSync(join(host, '.git', 'objects', tree.slice(0, 2), tree.slice(2)));
    await expect(
      (async () => {
        for await (const chunk of headPack(host, head)) void chunk;
      })(),
    ).rejects.toThrow(/git|tree/);
  });
});
