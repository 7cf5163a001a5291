// Finding and stopping the processes of one Paperclip server. Shared by `stop()` (in the process that started the
// server) and by the owner watchdog (`owner-watchdog.ts`, a separate process), so both stop the same way.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { PaperclipServerError } from './paperclip-server-error.ts';
import {
  describeProcess,
  isRunning,
  listDescendants,
  signalProcess,
  waitForExit,
  type TrackedProcess,
} from './processes.ts';

/** What stopping the server's processes did (the data directory is the caller's business). */
export interface ServerStopResult {
  /** The node process exited on SIGTERM within the grace period. */
  graceful: boolean;
  /** Processes that needed a signal after the node process was gone (orphaned PostgreSQL) or a SIGKILL. */
  forced: TrackedProcess[];
  /** Every process of the server that was seen (all gone now). */
  processes: TrackedProcess[];
  durationMs: number;
}

/** `<instanceDir>/db/postmaster.pid`: where the embedded PostgreSQL records its postmaster pid. */
function postgresPidFileOf(instanceDir: string): string {
  return join(instanceDir, 'db', 'postmaster.pid');
}

/** The postmaster named by the pid file, only when it is a postgres serving this instance's data directory. */
function readPostmaster(instanceDir: string): TrackedProcess | undefined {
  try {
    const pid = Number(readFileSync(postgresPidFileOf(instanceDir), 'utf8').split('\n')[0]);
    const described = Number.isInteger(pid) && pid > 0 ? describeProcess(pid) : undefined;
    return described?.command.includes(join(instanceDir, 'db')) ? described : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Remembers every process of one server seen so far (pid + start time) and returns those still running: the node
 * process, its descendants, and the PostgreSQL postmaster with its children (which outlive a SIGKILLed node process).
 */
export function createProcessTracker(
  instanceDir: string,
  nodeProcess: () => TrackedProcess | undefined,
): () => TrackedProcess[] {
  const seen = new Map<string, TrackedProcess>();
  const track = (list: readonly TrackedProcess[]): void => {
    for (const item of list) seen.set(`${item.pid}:${item.startTime}`, item);
  };
  return () => {
    const node = nodeProcess();
    if (node) {
      track([node]);
      if (isRunning(node)) track(listDescendants(node.pid));
    }
    const postmaster = readPostmaster(instanceDir);
    if (postmaster) {
      track([postmaster]);
      track(listDescendants(postmaster.pid));
    }
    return [...seen.values()].filter(isRunning);
  };
}

/**
 * Processes whose working directory is exactly `directory` (the server runs with `cwd: dataDir`). Used by the
 * watchdog when its owner died between spawning the server and telling it the pid. Unreadable entries are skipped.
 */
export function findProcessesInDirectory(directory: string): TrackedProcess[] {
  const result: TrackedProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`) !== directory) continue;
    } catch {
      continue;
    }
    const described = describeProcess(Number(name));
    if (described) result.push(described);
  }
  return result;
}

/**
 * SIGTERM to the node process, wait `gracefulTimeoutMs`, SIGKILL; then a surviving PostgreSQL by its postmaster pid
 * (SIGINT = fast shutdown, SIGQUIT, SIGKILL); then SIGKILL to any other tracked process. Signals only tracked
 * processes (pid + start time), never by name. Throws if anything is still running at the end.
 */
export async function stopServerProcesses(input: {
  nodeProcess: TrackedProcess | undefined;
  snapshot: () => TrackedProcess[];
  instanceDir: string;
  gracefulTimeoutMs: number;
}): Promise<ServerStopResult> {
  const started = performance.now();
  const forced: TrackedProcess[] = [];
  const initial = input.snapshot();
  let graceful = true;
  if (input.nodeProcess) {
    signalProcess(input.nodeProcess, 'SIGTERM');
    graceful = (await waitForExit([input.nodeProcess], input.gracefulTimeoutMs)).length === 0;
    if (!graceful) {
      forced.push(input.nodeProcess);
      signalProcess(input.nodeProcess, 'SIGKILL');
      await waitForExit([input.nodeProcess], 5_000);
    }
  }
  // The server stops the PostgreSQL it started; one it reused or one orphaned by SIGKILL stays: stop it by pid.
  // SIGINT = PostgreSQL "fast shutdown", then SIGQUIT (immediate), then SIGKILL.
  for (const [signal, waitMs] of [
    ['SIGINT', 10_000],
    ['SIGQUIT', 5_000],
    ['SIGKILL', 5_000],
  ] as const) {
    const postmaster =
      readPostmaster(input.instanceDir) ??
      initial.find((item) => /\/postgres\s+-D\s/.test(item.command) && isRunning(item));
    if (!postmaster || !isRunning(postmaster)) break;
    graceful = false;
    forced.push(postmaster);
    signalProcess(postmaster, signal);
    await waitForExit([postmaster], waitMs);
  }
  const all = [...initial, ...input.snapshot()];
  for (const item of all.filter(isRunning)) {
    forced.push(item);
    signalProcess(item, 'SIGKILL');
  }
  const left = await waitForExit(all, 5_000);
  if (left.length > 0) {
    throw new PaperclipServerError(
      `stop paperclip: processes still running after SIGKILL: ${left.map((item) => `${item.pid} (${item.command})`).join(', ')}`,
    );
  }
  const unique = new Map(all.map((item) => [`${item.pid}:${item.startTime}`, item]));
  return { graceful, forced, processes: [...unique.values()], durationMs: Math.round(performance.now() - started) };
}
