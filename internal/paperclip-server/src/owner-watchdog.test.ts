// The owner watchdog and the abortable start, against real Paperclip servers (no cluster needed; each start takes
// 10-30 s). The owner of a server is killed outright here, so nothing in it can clean up: only the watchdog can.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ensurePaperclipInstalled,
  isPortFree,
  isRunning,
  PaperclipServerError,
  startPaperclipServer,
  type TrackedProcess,
} from './index.ts';
import { describeProcess, signalProcess } from './processes.ts';
import { resolveNode24 } from './repo-paths.ts';

const FIXTURE = join(import.meta.dirname, '__fixtures__', 'start-server-child.ts');
/** How long the watchdog may take from the owner's death to everything gone (SIGTERM grace is 10 s). */
const CLEANUP_TIMEOUT_MS = 45_000;

/** Every process that belongs to the server in `dataDir`: its working directory or its command line is in there. */
function processesOf(dataDir: string): TrackedProcess[] {
  const result: TrackedProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cwd = '';
    try {
      cwd = readlinkSync(`/proc/${name}/cwd`);
    } catch {
      // gone, or not ours to read
    }
    const described = describeProcess(Number(name));
    if (!described) continue;
    if (cwd === dataDir || cwd.startsWith(`${dataDir}/`) || described.command.includes(dataDir)) result.push(described);
  }
  return result;
}

/** A postgres serving `dataDir` runs: the start is in its database phase. */
function postgresRunsIn(dataDir: string): boolean {
  return processesOf(dataDir).some((item) => /postgres\s+-D\s/.test(item.command));
}

const owners: ChildProcess[] = [];
const dataDirs: string[] = [];
const tracked: TrackedProcess[] = [];
// If the code under test leaks (as it did before the watchdog), kill exactly what this test started, so the next
// test and the machine are not left with a running server.
afterEach(async () => {
  for (const owner of owners.splice(0)) if (owner.exitCode === null && owner.signalCode === null) owner.kill('SIGKILL');
  for (const dataDir of dataDirs) tracked.push(...processesOf(dataDir));
  for (const item of tracked.splice(0)) signalProcess(item, 'SIGKILL');
  for (const dataDir of dataDirs.splice(0)) await rm(dataDir, { recursive: true, force: true });
});

async function newDataDir(): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ck8s-watchdog-test-'));
  dataDirs.push(dataDir);
  return dataDir;
}

/** What the fixture owner prints once its server is healthy. */
interface OwnerReport {
  pid: number;
  watchdog?: TrackedProcess;
  port: number;
  databasePort: number;
  processes: TrackedProcess[];
}

/** Starts the fixture owner process; `ready` resolves to what it printed once its server is healthy. */
function startOwner(dataDir: string): { owner: ChildProcess; ready: Promise<OwnerReport> } {
  const owner = spawn(resolveNode24(), [FIXTURE, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  owners.push(owner);
  const ready = new Promise<OwnerReport>((resolve, reject) => {
    createInterface({ input: owner.stdout }).once('line', (line) => resolve(JSON.parse(line) as OwnerReport));
    owner.once('exit', (code, signal) => reject(new Error(`owner exited ${code ?? signal} before the server was up`)));
  });
  return { owner, ready };
}

describe('the owner watchdog of a real Paperclip server', { timeout: 300_000 }, () => {
  it('stops the server and its PostgreSQL and removes the data dir when the owner is SIGKILLed', async () => {
    await ensurePaperclipInstalled();
    const dataDir = await newDataDir();
    const { owner, ready } = startOwner(dataDir);
    const server = await ready;
    tracked.push(...server.processes);
    const postmaster = server.processes.find((item) => item.command.includes(`-p ${server.databasePort}`));
    expect(postmaster).toBeDefined();
    expect(server.processes.find((item) => item.pid === server.pid)).toBeDefined();

    expect(server.watchdog && isRunning(server.watchdog)).toBe(true);

    owner.kill('SIGKILL');
    const killedAt = Date.now();
    await expect
      .poll(() => server.processes.filter(isRunning), { timeout: CLEANUP_TIMEOUT_MS, interval: 250 })
      .toEqual([]);
    console.info(
      `watchdog: all ${server.processes.length} server processes gone ${Date.now() - killedAt} ms after the owner's SIGKILL`,
    );
    await expect.poll(() => existsSync(dataDir), { timeout: 10_000 }).toBe(false);
    // The watchdog's own command line names the data dir: it too is gone once it has finished.
    await expect.poll(() => processesOf(dataDir), { timeout: 10_000 }).toEqual([]);
    expect(await isPortFree(server.port)).toBe(true);
    expect(await isPortFree(server.databasePort)).toBe(true);
  });

  it('stops a half-started server when the owner is SIGKILLed during the database init', async () => {
    await ensurePaperclipInstalled();
    const dataDir = await newDataDir();
    const { owner, ready } = startOwner(dataDir);
    ready.catch(() => undefined);
    await expect.poll(() => postgresRunsIn(dataDir), { timeout: 120_000, interval: 100 }).toBe(true);
    const started = processesOf(dataDir);
    tracked.push(...started);
    owner.kill('SIGKILL');
    await expect.poll(() => started.filter(isRunning), { timeout: CLEANUP_TIMEOUT_MS, interval: 250 }).toEqual([]);
    expect(processesOf(dataDir)).toEqual([]);
    await expect.poll(() => existsSync(dataDir), { timeout: 10_000 }).toBe(false);
  });

  it('ends with stop()', async () => {
    const install = await ensurePaperclipInstalled();
    const server = await startPaperclipServer({ install, dataDir: await newDataDir() });
    const watchdog = server.watchdog;
    tracked.push(...server.processes());
    expect(watchdog).toBeDefined();
    expect(isRunning(watchdog)).toBe(true);
    expect(watchdog.command).toContain('owner-watchdog-process.ts');
    await server.stop();
    expect(isRunning(watchdog)).toBe(false);
    expect(server.processes()).toEqual([]);
  });
});

describe('an aborted start', { timeout: 300_000 }, () => {
  it('stops everything already started and rejects with a clear error', async () => {
    const install = await ensurePaperclipInstalled();
    const dataDir = await newDataDir();
    const aborter = new AbortController();
    const start = startPaperclipServer({ install, dataDir, signal: aborter.signal });
    // Abort in the slow part: the embedded PostgreSQL is up, the server is not healthy yet.
    const raced = await Promise.race([
      start.then((server) => ({ server })),
      expect
        .poll(() => postgresRunsIn(dataDir), { timeout: 120_000, interval: 100 })
        .toBe(true)
        .then(() => ({ server: undefined })),
    ]);
    const started = processesOf(dataDir);
    tracked.push(...started);
    aborter.abort(new Error('test abort'));
    try {
      await expect(start).rejects.toSatisfy(
        (error: unknown) =>
          PaperclipServerError.isInstance(error) &&
          /start paperclip: aborted while the server was starting .*\(test abort\)/.test(error.message),
      );
    } finally {
      if (raced.server) await raced.server.stop();
    }
    expect(started.length).toBeGreaterThan(0);
    expect(started.filter(isRunning)).toEqual([]);
    expect(processesOf(dataDir)).toEqual([]);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('rejects at once, starting nothing, when the signal is already aborted', async () => {
    const dataDir = await newDataDir();
    const aborter = new AbortController();
    aborter.abort(new Error('early'));
    await expect(startPaperclipServer({ dataDir, signal: aborter.signal })).rejects.toThrow(
      /start paperclip: aborted before it began \(early\)/,
    );
    expect(processesOf(dataDir)).toEqual([]);
  });
});
