import { readdirSync, readFileSync } from 'node:fs';

/** One process, identified by pid plus its start time (so a recycled pid is never mistaken for it). */
export interface TrackedProcess {
  pid: number;
  /** Start time in clock ticks since boot (`/proc/<pid>/stat` field 22). */
  startTime: number;
  /** `/proc/<pid>/cmdline`, space-joined, for messages. */
  command: string;
}

interface ProcStat {
  ppid: number;
  startTime: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), startTime: Number(fields[19]) };
  } catch {
    return undefined;
  }
}

function readCommand(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Describes a live process; `undefined` when it does not exist. */
export function describeProcess(pid: number): TrackedProcess | undefined {
  const stat = readStat(pid);
  return stat ? { pid, startTime: stat.startTime, command: readCommand(pid) } : undefined;
}

/** True while the exact process (same pid and start time) exists and is not a zombie. */
export function isRunning(process: TrackedProcess): boolean {
  const stat = readStat(process.pid);
  if (!stat || stat.startTime !== process.startTime) return false;
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${process.pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** All descendants of `rootPid` (children, grandchildren, ...), read from /proc. */
export function listDescendants(rootPid: number): TrackedProcess[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(name));
    children.set(stat.ppid, list);
  }
  const result: TrackedProcess[] = [];
  const queue = [...(children.get(rootPid) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    const described = describeProcess(pid);
    if (described) result.push(described);
    queue.push(...(children.get(pid) ?? []));
  }
  return result;
}

/** Sends `signal` to the exact process; false when it is already gone. */
export function signalProcess(process: TrackedProcess, signal: NodeJS.Signals): boolean {
  if (!isRunning(process)) return false;
  try {
    globalThis.process.kill(process.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Waits until none of `processes` runs any more; resolves to those still running at the deadline. */
export async function waitForExit(processes: readonly TrackedProcess[], timeoutMs: number): Promise<TrackedProcess[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = processes.filter(isRunning);
    if (alive.length === 0 || Date.now() >= deadline) return alive;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resident set size of a process in bytes (`VmRSS`), 0 when gone. */
export function readRssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
