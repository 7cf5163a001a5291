/**
 * The transfer mode's way in for a git workspace: the objects of HEAD go once, as one git pack streamed over the
 * exec's stdin, and the pod checks HEAD out itself; then the uncommitted and untracked files (by Paperclip's snapshot
 * and exclude rules) as a tar, the deleted paths, and the `base` snapshot commit of what arrived.
 *
 * Paperclip's own copy-in (`prepareCommandManagedRuntime`) makes a depth-1 clone on the server, checks it out, and
 * sends the clone's `.git` and its checked-out files: every byte twice, plus the clone's writes on the server. This
 * one sends each object once, builds nothing on the server's disk (git and tar write straight into the exec), and
 * leaves the pod with an index whose stat data is fresh, so the `base` snapshot only hashes the overlay. What the pod
 * ends with is the same: a shallow (depth 1) repository on the branch at HEAD, with `origin` (credential-free), the
 * overlay, and the deletions. See docs/decisions/workspace-transfer-mode.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { join } from 'node:path';
import { shouldExcludePath } from '@paperclipai/adapter-utils/exclude-patterns';
import {
  GIT_ARCHIVE_EXCLUDES,
  readSanitizedOriginRemoteUrl,
  type GitWorkspaceSnapshot,
} from '@paperclipai/adapter-utils/git-workspace-sync';
import { mergeExcludes } from '@paperclipai/adapter-utils/sandbox-managed-runtime';
import { headPack } from './head-pack.ts';
import {
  CHECKOUT_PACK_SCRIPT,
  DELETE_PATHS_SCRIPT,
  FINISH_IN_SCRIPT,
  POD_REF,
  SNAPSHOT_SCRIPT,
} from './pod-scripts.ts';
import type { PodExec, TransferSettings } from './transfer-session.ts';

/**
 * The heavy directories Paperclip's sync leaves out of a workspace's overlay wherever they are (its
 * `SANDBOX_WORKSPACE_HEAVY_DIR_NAMES`, not exported by `@paperclipai/adapter-utils`; kept equal by a test against
 * Paperclip's own copy-in).
 */
export const HEAVY_DIR_NAMES = [
  'node_modules',
  'vendor',
  'dist',
  'build',
  'out',
  'coverage',
  '.next',
  '.turbo',
  '.cache',
];

/** {@link HEAVY_DIR_NAMES} as Paperclip's exclude patterns (the directory anywhere, and what is in it). */
export const HEAVY_DIR_EXCLUDES = HEAVY_DIR_NAMES.flatMap((name) => [name, `${name}/*`, `*/${name}`, `*/${name}/*`]);

/** Paths of the server's workspace that never go into a pod (a project checkout's other issues' worktrees). */
export const WORKSPACE_EXCLUDE = ['.paperclip/worktrees', '.paperclip/worktrees/*'];

/** The exclude patterns of the overlay, as Paperclip's `prepareSandboxManagedRuntime` builds them. */
function overlayExcludes(snapshot: GitWorkspaceSnapshot): string[] {
  return mergeExcludes(HEAVY_DIR_EXCLUDES, [...GIT_ARCHIVE_EXCLUDES], WORKSPACE_EXCLUDE, snapshot.ignoredPaths);
}

/** The overlay's paths that exist on the server now and are not excluded (Paperclip's selection of the overlay). */
async function overlayPaths(hostDir: string, snapshot: GitWorkspaceSnapshot): Promise<string[]> {
  const exclude = overlayExcludes(snapshot);
  const selected: string[] = [];
  for (const relative of snapshot.overlayPaths) {
    if (shouldExcludePath(relative, exclude)) continue;
    if ((await lstat(join(hostDir, relative)).catch(() => null)) !== null) selected.push(relative);
  }
  return selected;
}

/** The stdout of host processes (or a file) as chunks. */
export interface HostStream {
  chunks: AsyncIterable<Uint8Array>;
  /**
   * Once the pod's side ended: resolves when the processes succeeded; rejects when one failed. Processes still
   * running (the pod read all it needed, or gave up) are stopped and not judged.
   */
  settle: () => Promise<void>;
}

/** A spawned process's end: `null` on success, else why it failed. */
function endOf(child: ChildProcess, what: string): Promise<string | null> {
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  });
  // A pod side that stopped reading closes our end of the pipe: that is judged by the pod's exit, not here.
  child.stdin?.on('error', () => undefined);
  return new Promise((resolve) => {
    child.on('error', (error) => resolve(`${what} could not run on the server: ${error.message}`));
    child.on('close', (code, signal) =>
      resolve(
        code === 0 ? null : `${what} failed on the server (${signal ?? `exit ${code}`}): ${tail.trim().slice(-2000)}`,
      ),
    );
  });
}

function streamOf(output: Readable, children: { child: ChildProcess; what: string }[]): HostStream {
  const ends = children.map(({ child, what }) => endOf(child, what));
  // Read from the start (under back-pressure): Node discards a child's unread stdout once the child exits, and the
  // exec only starts reading after its connection is up — a small tar is done long before.
  const chunks = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
  output.pipe(chunks);
  return {
    chunks,
    settle: async () => {
      const running = children.filter(({ child }) => child.exitCode === null && child.signalCode === null);
      if (running.length > 0) {
        for (const { child } of children) child.kill();
        await Promise.all(ends);
        return;
      }
      const failure = (await Promise.all(ends)).find((end) => end !== null);
      if (failure !== undefined && failure !== null) throw new Error(failure);
    },
  };
}

/** The pack of HEAD ({@link headPack}) as a host stream: settling ends it (and its `git cat-file`). */
function packOfHead(hostDir: string, head: string): HostStream {
  const pack = headPack(hostDir, head);
  return {
    chunks: pack,
    settle: async () => {
      await pack.return(undefined);
    },
  };
}

/** A tar of `paths` (relative to `hostDir`; directories as empty entries, like Paperclip's overlay copy). */
function tarOf(hostDir: string, paths: readonly string[]): HostStream {
  const tar = spawn('tar', ['-c', '-f', '-', '--no-recursion', '--null', '-T', '-'], {
    cwd: hostDir,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, COPYFILE_DISABLE: '1' },
  });
  const stream = streamOf(tar.stdout, [{ child: tar, what: 'archiving the uncommitted and untracked files' }]);
  tar.stdin.end(Buffer.from(paths.map((path) => `${path}\0`).join(''), 'utf8'));
  return stream;
}

/** The message of a copy-in refused by `transferMaxInMiB`; `detail` says what passed it. */
export function overInLimit(maxInBytes: number, detail: string): string {
  return `the workspace is larger than workspace.transferMaxInMiB (${Math.round(maxInBytes / 1048576)} MiB): ${detail}, so claude was not started (raise workspace.transferMaxInMiB, or use workspace.mode shared)`;
}

/** Counts bytes against the in-budget; past it, ends the stream early and records the limit error. */
async function* metered(
  source: HostStream,
  budget: Budget,
  maxInBytes: number,
  what: string,
): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of source.chunks) {
      const bytes = chunk;
      if (budget.in + bytes.byteLength > maxInBytes) {
        budget.over = overInLimit(maxInBytes, `${what} passed ${maxInBytes} bytes`);
        return;
      }
      budget.in += bytes.byteLength;
      yield bytes;
    }
  } catch (error) {
    // The pod's side sees a cut stream and fails; the reason is this, said after the exec.
    budget.sourceError = error instanceof Error ? error : new Error(String(error));
  }
}

/** The bytes sent so far, and why a stream ended early. */
export interface Budget {
  in: number;
  over: string | null;
  sourceError?: Error;
}

/** A file on the server as a host stream. */
export function fileStream(path: string): HostStream {
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
  return {
    chunks: stream,
    settle: () => {
      stream.destroy();
      return Promise.resolve();
    },
  };
}

/** Sends `source` on the stdin of `command` in the pod, metered against the in-budget; throws on any failure. */
export async function send(
  exec: PodExec,
  what: string,
  command: readonly string[],
  source: HostStream,
  budget: Budget,
  settings: Pick<TransferSettings, 'maxInBytes' | 'execTimeoutMs'>,
): Promise<Awaited<ReturnType<PodExec>>> {
  let result: Awaited<ReturnType<PodExec>>;
  try {
    result = await exec(command, {
      stdin: metered(source, budget, settings.maxInBytes, what),
      timeoutMs: settings.execTimeoutMs,
    });
  } finally {
    // Also stops what is still running when the pod side ended early or the exec failed.
    await source.settle().catch((error: unknown) => {
      if (budget.over === null) throw error;
    });
  }
  if (budget.over !== null) throw new LimitError(budget.over);
  if (budget.sourceError !== undefined) throw new Error(`${what}: ${budget.sourceError.message}`);
  if (result.exitCode !== 0)
    throw new Error(`${what} failed in the pod (exit ${result.exitCode}): ${result.stderr.trim().slice(-2000)}`);
  return result;
}

/** One step of a copy-in and how long it took (the run log shows them; the benchmark prints them). */
export interface CopyInStep {
  step: string;
  /** Wall time on the server, from the end of the previous step. */
  ms: number;
  /** Durations the pod's script measured inside the step (`name ms` lines on its stdout). */
  podMs?: Record<string, number>;
}

/** The steps for the run's log: `workspace read 0.2 s, objects of HEAD … 5.1 s (index-pack 4.0 s, checkout 1.1 s), …`. */
export function describeSteps(steps: readonly CopyInStep[]): string {
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  return steps
    .map(({ step, ms, podMs }) => {
      const inPod = Object.entries(podMs ?? {}).map(([name, value]) => `${name} ${seconds(value)}`);
      return `${step} ${seconds(ms)}${inPod.length > 0 ? ` (in the pod: ${inPod.join(', ')})` : ''}`;
    })
    .join(', ');
}

/** The `<name> <ms>` lines a pod script prints about its phases. */
function podTimings(stdout: Uint8Array): Record<string, number> {
  const timings: Record<string, number> = {};
  for (const line of new TextDecoder().decode(stdout).split('\n')) {
    const match = /^([a-z-]+) (\d+)$/.exec(line.trim());
    if (match) timings[match[1] as string] = Number(match[2]);
  }
  return timings;
}

/** Runs `command` in the pod; throws naming `what` when it exits non-zero. */
export async function checked(
  exec: PodExec,
  what: string,
  command: readonly string[],
  options?: Parameters<PodExec>[1],
): Promise<Awaited<ReturnType<PodExec>>> {
  const result = await exec(command, options);
  if (result.exitCode !== 0)
    throw new Error(`${what} failed in the pod (exit ${result.exitCode}): ${result.stderr.trim().slice(-2000)}`);
  return result;
}

/** Steps timed from the previous one (the first from now). */
export function stepTimer(): { steps: CopyInStep[]; step: (name: string, podMs?: Record<string, number>) => void } {
  const steps: CopyInStep[] = [];
  let started = performance.now();
  return {
    steps,
    step: (name, podMs) => {
      const now = performance.now();
      steps.push({ step: name, ms: Math.round(now - started), ...(podMs === undefined ? {} : { podMs }) });
      started = now;
    },
  };
}

/** The in-budget was exceeded (the message names the setting). */
export class LimitError extends Error {
  override name = 'LimitError';
}

/**
 * Brings a git workspace (no nested project repositories) into the pod and writes the `base` snapshot; the caller
 * writes `ready`. Resolves the bytes sent. Throws {@link LimitError} past `maxInBytes`.
 */
export async function copyGitWorkspaceIn(input: {
  settings: TransferSettings;
  exec: PodExec;
  snapshot: GitWorkspaceSnapshot;
  runId: string;
}): Promise<{ bytesIn: number; steps: CopyInStep[] }> {
  const { settings, exec, snapshot } = input;
  const budget: Budget = { in: 0, over: null };
  const { steps, step } = stepTimer();
  const [origin, overlay] = await Promise.all([
    readSanitizedOriginRemoteUrl(settings.hostDir),
    overlayPaths(settings.hostDir, snapshot),
  ]);
  step('overlay selected');
  const checkout = await send(
    exec,
    'the git objects of HEAD',
    [
      'sh',
      '-c',
      CHECKOUT_PACK_SCRIPT,
      'checkout',
      settings.podDir,
      snapshot.headCommit,
      snapshot.branchName ?? '',
      origin ?? '',
      snapshot.headCommit.length === 64 ? 'sha256' : 'sha1',
    ],
    packOfHead(settings.hostDir, snapshot.headCommit),
    budget,
    settings,
  );
  step('objects of HEAD sent and checked out', podTimings(checkout.stdout));
  if (snapshot.deletedPaths.length > 0) {
    const result = await exec(['sh', '-c', DELETE_PATHS_SCRIPT, 'delete', settings.podDir], {
      stdin: Buffer.from(snapshot.deletedPaths.map((path) => `${path}\0`).join(''), 'utf8'),
      timeoutMs: settings.execTimeoutMs,
    });
    if (result.exitCode !== 0)
      throw new Error(
        `removing the deleted files failed in the pod (exit ${result.exitCode}): ${result.stderr.trim().slice(-2000)}`,
      );
  }
  step('deleted files removed');
  await send(
    exec,
    'the uncommitted and untracked files',
    [
      'env',
      `CK8S_SNAPSHOT=${SNAPSHOT_SCRIPT}`,
      'sh',
      '-c',
      FINISH_IN_SCRIPT,
      'finish',
      settings.podDir,
      settings.controlDir,
      POD_REF.base,
      `claude-k8s: the workspace as it arrived (run ${input.runId})`,
    ],
    tarOf(settings.hostDir, overlay),
    budget,
    settings,
  );
  step('overlay sent, base snapshot');
  return { bytesIn: budget.in, steps };
}
