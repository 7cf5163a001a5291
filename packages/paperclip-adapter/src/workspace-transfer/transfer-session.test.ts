// The transfer round trip with real git and Paperclip's real sync helpers; only the pod is replaced: a directory on
// this machine, reached through an exec that runs the argv locally (the scripts themselves are the real ones).
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDetachedError } from '@claude-k8s/kube-runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TransferTarget } from '../invocation/workspace.ts';
import {
  collect,
  copyIn,
  releaseContainer,
  waitForClaudeExit,
  type PodExec,
  type TransferSettings,
} from './transfer-session.ts';
import { CONTROL_FILE, TRANSFER_LAUNCH_SCRIPT } from './pod-scripts.ts';
import { resumeRunTransfer, startRunTransfer, type TransferExec, type TransferHandle } from './run-transfer.ts';

/** {@link collect} of a git workspace. */
async function collectGit(...args: Parameters<typeof collect>) {
  const collected = await collect(...args);
  if (collected.kind !== 'git') throw new Error(`collected a ${collected.kind}`);
  return collected;
}

/** Runs the argv on this machine, like `pods/exec` would in the container. */
const localExec: PodExec = (command, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(command[0] as string, command.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let stderr = '';
    let failed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (failed) return; // abandoned, as pods/exec's stdout limit does: nothing more is delivered
      bytes += chunk.byteLength;
      if (bytes > (options.maxStdoutBytes ?? 16 * 1024 * 1024) && !failed) {
        failed = true;
        child.kill();
        reject(new Error('exec in test/pod/claude: stdout passed its limit'));
        return;
      }
      if (options.onStdout)
        Promise.resolve(options.onStdout(new Uint8Array(chunk))).catch((error: unknown) => {
          failed = true;
          reject(error instanceof Error ? error : new Error(String(error)));
        });
      else chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (!failed)
        resolve({ exitCode: code ?? -1, stdout: new Uint8Array(Buffer.concat(chunks)), stdoutBytes: bytes, stderr });
    });
    void (async () => {
      if (options.stdin instanceof Uint8Array) child.stdin.write(options.stdin);
      else if (options.stdin) for await (const chunk of options.stdin) child.stdin.write(chunk);
      child.stdin.end();
    })();
  });

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', '-C', dir, ...args], {
    encoding: 'utf8',
  }).trimEnd();
}

/** `git status --short` lines, without the other issue's worktree directory (untracked on the server). */
function statusOf(dir: string): string[] {
  return git(dir, 'status', '--short')
    .split('\n')
    .filter((line) => line !== '?? .paperclip/')
    .sort();
}

let root: string;
let settings: TransferSettings;
let host: string;
let pod: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'transfer-test-'));
  host = join(root, 'server', 'app');
  pod = join(root, 'pod', 'app');
  const control = join(root, 'pod', 'control');
  mkdirSync(host, { recursive: true });
  mkdirSync(control, { recursive: true });
  git(host, 'init', '-q', '-b', 'main');
  writeFileSync(join(host, 'README.md'), 'hello\n');
  writeFileSync(join(host, 'obsolete.txt'), 'old\n');
  writeFileSync(join(host, 'shared.txt'), 'one\ntwo\n');
  writeFileSync(join(host, '.gitignore'), 'build/\n');
  git(host, 'add', '-A');
  git(host, 'commit', '-q', '-m', 'first');
  writeFileSync(join(host, 'README.md'), 'hello, edited on the server\n');
  writeFileSync(join(host, 'untracked.txt'), 'not yet added\n');
  mkdirSync(join(host, 'build'));
  writeFileSync(join(host, 'build', 'out.bin'), 'ignored\n');
  // Another issue's worktree inside the project checkout (untracked): never copied into this run's pod.
  mkdirSync(join(host, '.paperclip', 'worktrees', 'PAP-9-other'), { recursive: true });
  writeFileSync(join(host, '.paperclip', 'worktrees', 'PAP-9-other', 'secret.txt'), 'other issue\n');
  settings = {
    kind: 'git',
    hostDir: host,
    podDir: pod,
    controlDir: control,
    maxInBytes: 64 * 1024 * 1024,
    maxOutBytes: 16 * 1024 * 1024,
    execTimeoutMs: 60_000,
  };
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

/** What the scripted agent does in the pod. */
function agentWorks(): void {
  writeFileSync(join(pod, 'added.txt'), 'added by the agent\n');
  rmSync(join(pod, 'obsolete.txt'));
  writeFileSync(join(pod, 'shared.txt'), 'one\ntwo\nthree\n');
  git(pod, 'add', '-A');
  git(pod, 'commit', '-q', '-m', 'agent: edit, add, delete');
  writeFileSync(join(pod, 'notes.txt'), 'uncommitted\n');
  writeFileSync(join(pod, 'README.md'), 'hello, edited on the server\nand by the agent\n');
}

describe('the transfer round trip', () => {
  it('brings the overlay and the deletions in when the exec reads its stdin late (a real connection takes a while)', async () => {
    rmSync(join(host, 'obsolete.txt'));
    // pods/exec starts reading stdin only once its WebSocket is up: the host's tar has long ended by then.
    const lateExec: PodExec = (command, options) =>
      new Promise((resolve) => setTimeout(resolve, 300)).then(() => localExec(command, options));
    await copyIn({ settings, exec: lateExec, runId: 'run-late' });
    expect(readFileSync(join(pod, 'untracked.txt'), 'utf8')).toBe('not yet added\n');
    expect(readFileSync(join(pod, 'README.md'), 'utf8')).toBe('hello, edited on the server\n');
    expect(git(pod, 'status', '--short')).toBe(' M README.md\n D obsolete.txt\n?? untracked.txt');
  });

  it('brings HEAD, uncommitted and untracked files in (not ignored ones), and the commits and changes back', async () => {
    const head = git(host, 'rev-parse', 'HEAD');
    const copied = await copyIn({ settings, exec: localExec, runId: 'run-1' });
    expect(copied).toMatchObject({ baseHead: head, baseBranch: 'main' });
    expect(existsSync(join(settings.controlDir, CONTROL_FILE.ready))).toBe(true);
    expect(git(pod, 'rev-parse', 'HEAD')).toBe(head);
    expect(git(pod, 'branch', '--show-current')).toBe('main');
    expect(readFileSync(join(pod, 'README.md'), 'utf8')).toBe('hello, edited on the server\n');
    expect(readFileSync(join(pod, 'untracked.txt'), 'utf8')).toBe('not yet added\n');
    expect(existsSync(join(pod, 'build'))).toBe(false);
    expect(existsSync(join(pod, '.paperclip', 'worktrees'))).toBe(false);
    expect(git(pod, 'status', '--short')).toBe(' M README.md\n?? untracked.txt');

    agentWorks();
    const collected = await collectGit({ settings, exec: localExec, runId: 'run-1', copied });
    expect(collected.conflicts).toEqual([]);
    expect(collected.commitConflict).toBeNull();
    expect(collected.commits).toBe(1);
    expect(collected.keptRefs).toEqual([]);
    expect(git(host, 'log', '-1', '--format=%s')).toBe('agent: edit, add, delete');
    expect(git(host, 'rev-parse', 'HEAD')).toBe(git(pod, 'rev-parse', 'HEAD'));
    expect(git(host, 'rev-parse', 'HEAD~1')).toBe(head);
    expect(readFileSync(join(host, 'shared.txt'), 'utf8')).toBe('one\ntwo\nthree\n');
    expect(existsSync(join(host, 'obsolete.txt'))).toBe(false);
    expect(readFileSync(join(host, 'README.md'), 'utf8')).toContain('and by the agent');
    // The agent's `git add -A` committed the untracked file it received; its new file stays uncommitted.
    expect(statusOf(host)).toEqual([' M README.md', '?? notes.txt']);
    expect(git(host, 'show', 'HEAD:untracked.txt')).toBe('not yet added');
    expect(readFileSync(join(host, 'build', 'out.bin'), 'utf8')).toBe('ignored\n');
    expect(git(host, 'for-each-ref', 'refs/claude-k8s')).toBe('');
    // Only what changed came back: a bundle of a few objects, not the tree.
    expect(collected.bytesOut).toBeLessThan(4096);
  });

  it('keeps a file the server changed during the run as a conflict, in refs, without overwriting it', async () => {
    const copied = await copyIn({ settings, exec: localExec, runId: 'run-2' });
    writeFileSync(join(pod, 'untracked.txt'), 'the agent wrote this\n');
    writeFileSync(join(pod, 'README.md'), 'agent version\n');
    writeFileSync(join(host, 'README.md'), 'server version during the run\n');
    const collected = await collectGit({ settings, exec: localExec, runId: 'run-2', copied });
    expect(collected.conflicts).toEqual(['README.md']);
    expect(collected.applied).toEqual(['untracked.txt']);
    expect(readFileSync(join(host, 'README.md'), 'utf8')).toBe('server version during the run\n');
    expect(collected.keptRefs).toEqual([
      'refs/claude-k8s/runs/run-2/agent',
      'refs/claude-k8s/runs/run-2/worktree',
      'refs/claude-k8s/runs/run-2/base',
      'refs/claude-k8s/runs/run-2/index',
    ]);
    // Recoverable: the agent's version is in the kept worktree ref.
    expect(git(host, 'show', 'refs/claude-k8s/runs/run-2/worktree:README.md')).toBe('agent version');
  });

  it("keeps the agent's commits as a ref when they do not merge with the server's new commits", async () => {
    const copied = await copyIn({ settings, exec: localExec, runId: 'run-3' });
    writeFileSync(join(pod, 'shared.txt'), 'agent line\n');
    git(pod, 'commit', '-q', '-am', 'agent change');
    writeFileSync(join(host, 'shared.txt'), 'server line\n');
    git(host, 'commit', '-q', '-m', 'server change', '--', 'shared.txt');
    const serverHead = git(host, 'rev-parse', 'HEAD');
    const collected = await collectGit({ settings, exec: localExec, runId: 'run-3', copied });
    expect(collected.commitConflict).toContain('could not be merged');
    expect(git(host, 'rev-parse', 'HEAD')).toBe(serverHead);
    expect(git(host, 'log', '-1', '--format=%s', 'refs/claude-k8s/runs/run-3/agent')).toBe('agent change');
    expect(collected.conflicts).toContain('shared.txt');
  });

  it('what the agent staged comes back staged; unstaged edits stay unstaged', async () => {
    const copied = await copyIn({ settings, exec: localExec, runId: 'run-staged' });
    writeFileSync(join(pod, 'staged-new.txt'), 'new and staged\n');
    writeFileSync(join(pod, 'shared.txt'), 'one\ntwo\nstaged line\n');
    git(pod, 'add', 'staged-new.txt', 'shared.txt');
    // Staged, then edited again: the index keeps the staged version, the file the newer one.
    writeFileSync(join(pod, 'shared.txt'), 'one\ntwo\nstaged line\nunstaged line\n');
    git(pod, 'rm', '-q', '--cached', 'obsolete.txt');
    git(pod, 'add', 'README.md'); // the server's uncommitted edit, staged by the agent unchanged
    writeFileSync(join(pod, 'untracked.txt'), 'edited, not staged\n');
    const podStatus = git(pod, 'status', '--short').split('\n').sort();
    const collected = await collectGit({ settings, exec: localExec, runId: 'run-staged', copied });
    expect(collected).toMatchObject({ conflicts: [], commitConflict: null, commits: 0, keptRefs: [] });
    expect(statusOf(host)).toEqual(podStatus);
    expect(statusOf(host)).toEqual([
      '?? obsolete.txt',
      '?? untracked.txt',
      'A  staged-new.txt',
      'D  obsolete.txt',
      'M  README.md',
      'MM shared.txt',
    ]);
    expect(git(host, 'show', ':shared.txt')).toBe('one\ntwo\nstaged line');
    expect(readFileSync(join(host, 'shared.txt'), 'utf8')).toBe('one\ntwo\nstaged line\nunstaged line\n');
    expect(git(host, 'for-each-ref', 'refs/claude-k8s')).toBe('');
  });

  it('merges the agent commits when the server committed elsewhere meanwhile', async () => {
    const copied = await copyIn({ settings, exec: localExec, runId: 'run-4' });
    writeFileSync(join(pod, 'added.txt'), 'agent\n');
    git(pod, 'add', 'added.txt');
    git(pod, 'commit', '-q', '-m', 'agent adds');
    writeFileSync(join(host, 'server.txt'), 'server\n');
    git(host, 'add', 'server.txt');
    git(host, 'commit', '-q', '-m', 'server adds');
    const collected = await collectGit({ settings, exec: localExec, runId: 'run-4', copied });
    expect(collected.commitConflict).toBeNull();
    expect(git(host, 'show', 'HEAD:added.txt')).toBe('agent');
    expect(git(host, 'show', 'HEAD:server.txt')).toBe('server');
    expect(readFileSync(join(host, 'added.txt'), 'utf8')).toBe('agent\n');
    expect(statusOf(host)).toEqual([' M README.md', '?? untracked.txt']);
  });

  it('refuses a workspace that gained nested project repositories after planning: claude is not started', async () => {
    const nested = join(host, '.paperclip-repositories', 'lib');
    mkdirSync(nested, { recursive: true });
    git(nested, 'init', '-q', '-b', 'main');
    writeFileSync(join(nested, 'lib.txt'), 'lib\n');
    git(nested, 'add', '-A');
    git(nested, 'commit', '-q', '-m', 'lib');
    await expect(copyIn({ settings, exec: localExec, runId: 'run-nested' })).rejects.toThrow(
      /holds nested project repositories .*claude was not started/,
    );
    expect(existsSync(join(settings.controlDir, CONTROL_FILE.abort))).toBe(true);
    expect(existsSync(join(settings.controlDir, CONTROL_FILE.ready))).toBe(false);
  });

  it('refuses a workspace over transferMaxInMiB before claude starts, and changes over transferMaxOutMiB', async () => {
    // Incompressible, committed and in the working tree: past the limit while HEAD's objects go in.
    writeFileSync(join(host, 'big.bin'), randomBytes(3 * 1024 * 1024));
    git(host, 'add', 'big.bin');
    git(host, 'commit', '-q', '-m', 'big');
    // The container's real entry, waiting for the workspace; its `claude` would leave a mark.
    const claudeRan = join(root, 'claude-ran');
    const entry = spawn(
      'sh',
      [
        '-c',
        TRANSFER_LAUNCH_SCRIPT,
        'ck8s-launch',
        settings.controlDir,
        '20',
        '1',
        join(root, 'prompt'),
        pod,
        'sh',
        '-c',
        `: > ${claudeRan}`,
      ],
      { env: { ...process.env, PAPERCLIP_RUN_SCRATCH_DIR: join(root, 'scratch') }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let entryErr = '';
    entry.stderr.on('data', (chunk: Buffer) => (entryErr += chunk.toString()));
    const entryEnded = new Promise<number | null>((resolve) => entry.on('close', resolve));
    const refused = await copyIn({
      settings: { ...settings, maxInBytes: 1024 * 1024 },
      exec: localExec,
      runId: 'run-5',
    })
      .then(() => null)
      .catch((error: unknown) => error as Error);
    expect(refused?.message).toBe(
      'the workspace is larger than workspace.transferMaxInMiB (1 MiB): the git objects of HEAD passed 1048576 bytes, so claude was not started (raise workspace.transferMaxInMiB, or use workspace.mode shared)',
    );
    expect(await entryEnded).toBe(125);
    expect(entryErr).toContain('could not be copied into the pod; claude did not start');
    expect(existsSync(claudeRan)).toBe(false);
    rmSync(join(settings.controlDir, CONTROL_FILE.abort));
    rmSync(pod, { recursive: true, force: true });
    const copied = await copyIn({ settings, exec: localExec, runId: 'run-5' });
    writeFileSync(join(pod, 'huge.bin'), randomBytes(2 * 1024 * 1024));
    await expect(
      collect({ settings: { ...settings, maxOutBytes: 1024 * 1024 }, exec: localExec, runId: 'run-5', copied }),
    ).rejects.toThrow(/larger than workspace.transferMaxOutMiB \(1 MiB\); nothing was applied/);
    expect(existsSync(join(host, 'huge.bin'))).toBe(false);
  });

  it('waits for the entry to report claude ended, and stops waiting when the container is gone', async () => {
    setTimeout(() => writeFileSync(join(settings.controlDir, CONTROL_FILE.exited), '3\n'), 300);
    await expect(
      waitForClaudeExit({ exec: localExec, controlDir: settings.controlDir, stop: new Promise(() => {}) }),
    ).resolves.toBe(3);
    rmSync(join(settings.controlDir, CONTROL_FILE.exited));
    const gone = Promise.withResolvers<void>();
    setTimeout(gone.resolve, 200);
    await expect(
      waitForClaudeExit({ exec: localExec, controlDir: settings.controlDir, stop: gone.promise }),
    ).resolves.toBeNull();
    await releaseContainer(localExec, settings.controlDir);
    expect(existsSync(join(settings.controlDir, CONTROL_FILE.collected))).toBe(true);
  });
});

/** A run's transfer across a Paperclip restart, on this machine's "pod": run `run-a` is detached, `run-b` adopts it. */
const restartExec: TransferExec = (input) => localExec(input.command, input);
const restartLimits = { maxInMiB: 64, maxOutMiB: 16 };
const logs: string[] = [];
const log = (line: string): Promise<void> => {
  logs.push(line);
  return Promise.resolve();
};
const control = (file: string) => join(settings.controlDir, file);
const target = (kind = settings.kind): TransferTarget => ({
  kind,
  hostDir: settings.hostDir,
  podDir: settings.podDir,
  controlDir: settings.controlDir,
});
const handle = (outcome: Promise<unknown> = new Promise(() => {})): TransferHandle => ({
  containerName: 'agent',
  containerStarted: Promise.resolve('pod-1'),
  outcome,
});

/** The adopting run `run-b` resumes the transfer of `run-a`'s Job. */
const adopt = (through: TransferExec = restartExec, kind = settings.kind) =>
  resumeRunTransfer({
    target: target(kind),
    runId: 'run-b',
    adoptedRunId: 'run-a',
    handle: handle(),
    exec: through,
    limits: restartLimits,
    log,
  });

/** The original run `run-a` until Paperclip's shutdown detached it (copy-in done, claude released). */
async function detach(): Promise<Awaited<ReturnType<typeof startRunTransfer>>> {
  const outcome = Promise.withResolvers<unknown>();
  const running = startRunTransfer({
    target: target(),
    runId: 'run-a',
    handle: handle(outcome.promise),
    exec: restartExec,
    limits: restartLimits,
    log,
  });
  while (!existsSync(control(CONTROL_FILE.ready))) await new Promise((resolve) => setTimeout(resolve, 50));
  outcome.reject(new RunDetachedError('ns', 'job-a', 'run-a', 'server shutdown'));
  return running;
}

describe('a transfer across a Paperclip restart (the adopting run resumes it)', () => {
  /** The original run, until Paperclip's shutdown detached it: copy-in done, claude released, nothing collected. */
  async function detachedRun(): Promise<void> {
    const report = await detach();
    expect(report).toMatchObject({ error: null, collected: null });
    expect(report.skipped).toContain('shutting down');
    // No `collected`: the entry keeps the pod (and the changes) for the adopter.
    expect(existsSync(control(CONTROL_FILE.collected))).toBe(false);
  }

  it('a run detached by the shutdown leaves the pod waiting; the adopter collects once claude ends', async () => {
    const head = git(host, 'rev-parse', 'HEAD');
    await detachedRun();
    agentWorks();
    setTimeout(() => writeFileSync(control(CONTROL_FILE.exited), '0\n'), 300);
    const report = await adopt();
    expect(report.error).toBeNull();
    expect(report).toMatchObject({ claudeExit: 0, copiedIn: null });
    expect(report.collected).toMatchObject({ commits: 1, conflicts: [], keptRefs: [] });
    expect(git(host, 'log', '-1', '--format=%s')).toBe('agent: edit, add, delete');
    expect(git(host, 'rev-parse', 'HEAD~1')).toBe(head);
    expect(readFileSync(join(host, 'notes.txt'), 'utf8')).toBe('uncommitted\n');
    expect(existsSync(control(CONTROL_FILE.collected))).toBe(true);
  });

  it('a copy-in the restart interrupted is done again from scratch before claude starts', async () => {
    // What the interrupted copy-in left: the record, half a tree, no `ready`.
    writeFileSync(
      control('transfer.json'),
      `${JSON.stringify({ runId: 'run-a', hostDir: settings.hostDir, podDir: settings.podDir, branch: 'main' })}\n`,
    );
    mkdirSync(join(pod, '.git'), { recursive: true });
    writeFileSync(join(pod, 'half-copied.txt'), 'partial\n');
    const resumed = adopt();
    while (!existsSync(control(CONTROL_FILE.ready))) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(existsSync(join(pod, 'half-copied.txt'))).toBe(false);
    expect(git(pod, 'status', '--short')).toBe(' M README.md\n?? untracked.txt');
    writeFileSync(join(pod, 'added.txt'), 'after the restart\n');
    writeFileSync(control(CONTROL_FILE.exited), '0\n');
    const report = await resumed;
    expect(report.error).toBeNull();
    expect(report.copiedIn).not.toBeNull();
    expect(readFileSync(join(host, 'added.txt'), 'utf8')).toBe('after the restart\n');
    expect(logs.join('')).toContain('copied in again');
  });

  it('does not copy into a pod that was given another workspace: the entry is told to give up', async () => {
    writeFileSync(
      control('transfer.json'),
      `${JSON.stringify({ runId: 'run-a', hostDir: '/elsewhere', podDir: '/elsewhere', branch: 'main' })}\n`,
    );
    const report = await adopt();
    expect(report.error).toMatchObject({ trip: 'in' });
    expect(report.error?.message).toContain('/elsewhere');
    expect(existsSync(control(CONTROL_FILE.abort))).toBe(true);
    expect(existsSync(control(CONTROL_FILE.ready))).toBe(false);
  });

  it('changes collected before the restart, or a pod that cannot be reached: nothing applied, and said so', async () => {
    writeFileSync(control(CONTROL_FILE.collected), '');
    const done = await adopt();
    expect(done).toMatchObject({ error: null, skipped: 'the changes had been collected before the restart' });
    const gone: TransferExec = () => Promise.reject(new Error('container agent is not running'));
    const lost = await adopt(gone);
    expect(lost.error?.message).toContain('cannot be reached');
  });
});

describe('a directory workspace (not a git repository)', () => {
  let plain: string;
  beforeEach(() => {
    plain = join(root, 'server', 'notes');
    mkdirSync(join(plain, 'docs'), { recursive: true });
    writeFileSync(join(plain, 'README.md'), 'hello\n');
    writeFileSync(join(plain, 'todo.txt'), 'one\n');
    writeFileSync(join(plain, 'obsolete.txt'), 'old\n');
    writeFileSync(join(plain, 'docs', 'guide.md'), 'guide\n');
    mkdirSync(join(plain, 'node_modules', 'dep'), { recursive: true });
    writeFileSync(join(plain, 'node_modules', 'dep', 'index.js'), 'heavy\n');
    mkdirSync(join(plain, '.paperclip', 'worktrees', 'PAP-9-other'), { recursive: true });
    writeFileSync(join(plain, '.paperclip', 'worktrees', 'PAP-9-other', 'secret.txt'), 'other issue\n');
    settings = { ...settings, kind: 'directory', hostDir: plain, podDir: join(root, 'pod', 'notes') };
  });

  it('goes in without a .git and without what Paperclip excludes; the changes come back file by file, conflicts kept', async () => {
    const copied = await copyIn({ settings, exec: localExec, runId: 'run-d' });
    const inPod = settings.podDir;
    expect(readFileSync(join(inPod, 'README.md'), 'utf8')).toBe('hello\n');
    expect(readFileSync(join(inPod, 'docs', 'guide.md'), 'utf8')).toBe('guide\n');
    expect(existsSync(join(inPod, '.git'))).toBe(false);
    expect(existsSync(join(inPod, 'node_modules'))).toBe(false);
    expect(existsSync(join(inPod, '.paperclip', 'worktrees'))).toBe(false);
    expect(existsSync(join(settings.controlDir, CONTROL_FILE.ready))).toBe(true);
    expect(copied).toMatchObject({ baseHead: '', baseBranch: null });

    // The agent edits, adds (an executable, a symlink), deletes; writes what the transfer leaves out.
    writeFileSync(join(inPod, 'README.md'), 'hello\nfrom the agent\n');
    writeFileSync(join(inPod, 'todo.txt'), 'one\ntwo (agent)\n');
    mkdirSync(join(inPod, 'src'));
    writeFileSync(join(inPod, 'src', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    execFileSync('ln', ['-s', 'README.md', join(inPod, 'readme-link')]);
    rmSync(join(inPod, 'obsolete.txt'));
    mkdirSync(join(inPod, 'node_modules', 'new'), { recursive: true });
    writeFileSync(join(inPod, 'node_modules', 'new', 'x.js'), 'installed in the pod\n');
    // Meanwhile the server changes a file the agent also edits.
    writeFileSync(join(plain, 'todo.txt'), 'one\nserver line\n');

    const collected = await collect({ settings, exec: localExec, runId: 'run-d', copied });
    if (collected.kind !== 'directory') throw new Error('expected a directory');
    expect(collected.applied.sort()).toEqual(['README.md', 'obsolete.txt', 'readme-link', 'src/run.sh']);
    expect(collected.conflicts).toEqual(['todo.txt']);
    expect(collected.refused).toEqual([]);
    expect(collected.keptIn).toBe('.claude-k8s/conflicts/run-d');
    expect(readFileSync(join(plain, 'README.md'), 'utf8')).toBe('hello\nfrom the agent\n');
    expect(readFileSync(join(plain, 'todo.txt'), 'utf8')).toBe('one\nserver line\n');
    expect(readFileSync(join(plain, '.claude-k8s', 'conflicts', 'run-d', 'todo.txt'), 'utf8')).toBe(
      'one\ntwo (agent)\n',
    );
    expect(existsSync(join(plain, 'obsolete.txt'))).toBe(false);
    expect(
      execFileSync('sh', ['-c', 'test -x "$1" && echo x', 'sh', join(plain, 'src', 'run.sh')], { encoding: 'utf8' }),
    ).toBe('x\n');
    expect(execFileSync('readlink', [join(plain, 'readme-link')], { encoding: 'utf8' }).trim()).toBe('README.md');
    expect(existsSync(join(plain, 'node_modules', 'new'))).toBe(false);
    expect(existsSync(join(plain, '.git'))).toBe(false);
    // Bytes in proportion to the change.
    expect(collected.bytesOut).toBeLessThan(2048);
  });

  it('an unchanged directory brings nothing back; a second collection (an adopter) applies nothing twice', async () => {
    const copied = await copyIn({ settings, exec: localExec, runId: 'run-e' });
    const nothing = await collect({ settings, exec: localExec, runId: 'run-e', copied });
    expect(nothing).toMatchObject({ kind: 'directory', applied: [], conflicts: [] });
    writeFileSync(join(settings.podDir, 'new.txt'), 'agent\n');
    expect(await collect({ settings, exec: localExec, runId: 'run-e', copied })).toMatchObject({
      applied: ['new.txt'],
    });
    expect(await collect({ settings, exec: localExec, runId: 'run-e', copied })).toMatchObject({
      applied: [],
      conflicts: [],
    });
  });

  it('refuses a directory over transferMaxInMiB before claude starts', async () => {
    writeFileSync(join(plain, 'big.bin'), randomBytes(64 * 1024));
    const error = await copyIn({ settings: { ...settings, maxInBytes: 16 * 1024 }, exec: localExec, runId: 'r' }).catch(
      (caught: unknown) => caught as Error,
    );
    expect((error as Error).message).toMatch(/larger than workspace.transferMaxInMiB .* so claude was not started/);
    expect(existsSync(join(settings.controlDir, CONTROL_FILE.abort))).toBe(true);
  });

  it('after a restart the adopter collects a directory; a pod given a git workspace is refused', async () => {
    expect((await detach()).skipped).toContain('shutting down');
    const record = JSON.parse(readFileSync(join(settings.controlDir, 'transfer.json'), 'utf8')) as { kind: string };
    expect(record.kind).toBe('directory');

    writeFileSync(join(settings.podDir, 'after.txt'), 'written before the restart ended\n');
    writeFileSync(join(settings.controlDir, CONTROL_FILE.exited), '0\n');
    const refused = await adopt(restartExec, 'git');
    expect(refused.error?.message).toContain('(directory), but this run');
    rmSync(join(settings.controlDir, CONTROL_FILE.collected), { force: true });
    const report = await adopt();
    expect(report.error).toBeNull();
    expect(report.collected).toMatchObject({ kind: 'directory', applied: ['after.txt'] });
    expect(readFileSync(join(plain, 'after.txt'), 'utf8')).toBe('written before the restart ended\n');
  });
});
