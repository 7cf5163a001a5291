// Entry of the owner watchdog process (see owner-watchdog.ts for what it does and the protocol). Run by
// `startOwnerWatchdog` with Node >= 24, which runs this TypeScript directly.
import { rm } from 'node:fs/promises';
import type { WatchdogConfig } from './owner-watchdog.ts';
import { isRunning, type TrackedProcess } from './processes.ts';
import { createProcessTracker, findProcessesInDirectory, stopServerProcesses } from './server-stop.ts';

const OWNER_POLL_MS = 250;
const TRACK_EVERY_MS = 2_000;

const config = JSON.parse(process.argv[2] ?? '') as WatchdogConfig;
const prefix = `[ck8s watchdog ${process.pid}, owner ${config.owner.pid}]`;
let server: TrackedProcess | undefined;
let state: 'watching' | 'cleaning' | 'done' = 'watching';
const snapshot = createProcessTracker(config.instanceDir, () => server);

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${prefix} ${message}\n`);
}

async function ownerGone(reason: string): Promise<void> {
  if (state !== 'watching') return;
  state = 'cleaning';
  clearInterval(timer);
  // The owner may have died between spawning the server and telling us its pid: the server runs in the data dir.
  server ??= findProcessesInDirectory(config.dataDir).find((item) => item.command.includes(' onboard '));
  log(`${reason}; stopping server ${server ? `pid ${server.pid}` : '(never spawned)'} and its PostgreSQL`);
  try {
    const result = await stopServerProcesses({
      nodeProcess: server,
      snapshot,
      instanceDir: config.instanceDir,
      gracefulTimeoutMs: config.gracefulTimeoutMs,
    });
    if (config.removeDataDir) await rm(config.dataDir, { recursive: true, force: true });
    log(
      `stopped ${result.processes.length} processes (graceful: ${result.graceful}, ${result.durationMs} ms)${config.removeDataDir ? `, removed ${config.dataDir}` : ''}`,
    );
    process.exit(0);
  } catch (error) {
    log(`cleanup failed: ${(error as Error).message}`);
    process.exit(1);
  }
}

let lastTrack = 0;
const timer = setInterval(() => {
  if (!isRunning(config.owner)) {
    void ownerGone('owner process is gone');
    return;
  }
  if (server && Date.now() - lastTrack >= TRACK_EVERY_MS) {
    lastTrack = Date.now();
    snapshot();
  }
}, OWNER_POLL_MS);

let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  for (let index = buffered.indexOf('\n'); index >= 0; index = buffered.indexOf('\n')) {
    const line = buffered.slice(0, index);
    buffered = buffered.slice(index + 1);
    if (!line.trim()) continue;
    let message: { server?: TrackedProcess; done?: boolean };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      log(`ignoring a malformed line from the owner: ${line.slice(0, 200)}`);
      continue;
    }
    if (message.server) server = message.server;
    if (message.done && state === 'watching') {
      state = 'done';
      process.exit(0);
    }
  }
});
// The owner's end of the pipe closes when it exits, whatever killed it.
process.stdin.on('end', () => void ownerGone('owner closed the watchdog pipe without stopping the server'));
process.stdin.on('error', () => void ownerGone('owner pipe failed'));
// Signals meant for the owner's terminal do not reach a detached process; a stray SIGINT/SIGHUP must not end the
// watch either.
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);
if (!isRunning(config.owner)) void ownerGone('owner process was gone before the watchdog started');
