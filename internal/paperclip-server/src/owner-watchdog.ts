// The owner watchdog: a small detached process, started with every Paperclip server, that stops the server (and its
// embedded PostgreSQL) and removes its data directory when the process that started it dies without calling
// `stop()` (a killed test worker, Ctrl-C during start, SIGKILL). See docs/decisions/paperclip-test-server-owner-watchdog.md.
//
// Protocol: the owner passes a JSON `WatchdogConfig` as the only argument and keeps the watchdog's stdin open; it
// writes JSON lines: `{"server": TrackedProcess}` once the server is spawned, `{"done": true}` when `stop()` has
// finished (the watchdog then exits without touching anything). End of stdin without `done`, or the owner's pid no
// longer running with its recorded start time, means the owner is gone.
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { PaperclipServerError } from './paperclip-server-error.ts';
import { describeProcess, signalProcess, waitForExit, type TrackedProcess } from './processes.ts';

/** What the watchdog process is told on its command line. */
export interface WatchdogConfig {
  /** The process that started the server (pid + start time, so a recycled pid does not look like a live owner). */
  owner: TrackedProcess;
  dataDir: string;
  instanceDir: string;
  /** Remove `dataDir` after stopping the server (the owner's `keepDataDir` is false). */
  removeDataDir: boolean;
  /** SIGTERM grace for the node process before SIGKILL. */
  gracefulTimeoutMs: number;
}

/** The owner's handle on its watchdog. */
export interface OwnerWatchdog {
  process: TrackedProcess;
  /** Tells the watchdog which node process is the server. */
  setServer(server: TrackedProcess): void;
  /** Tells the watchdog the owner stopped everything itself; waits until it exited (SIGKILL after 5 s). */
  end(): Promise<void>;
}

/** The watchdog's entry file, resolved through symlinks (Node strips types only outside `node_modules`). */
function watchdogEntry(): string {
  return realpathSync(fileURLToPath(new URL('./owner-watchdog-process.ts', import.meta.url)));
}

/**
 * Starts the watchdog detached (its own session: Ctrl-C on the owner's terminal does not reach it) with its output
 * appended to `logFd`, without keeping the owner's event loop alive.
 */
export async function startOwnerWatchdog(input: {
  nodePath: string;
  logFd: number;
  config: Omit<WatchdogConfig, 'owner'>;
}): Promise<OwnerWatchdog> {
  const owner = describeProcess(process.pid);
  if (!owner) throw new PaperclipServerError(`start paperclip: cannot read /proc/${process.pid}/stat for the watchdog`);
  const config: WatchdogConfig = { owner, ...input.config };
  const child = spawn(input.nodePath, [watchdogEntry(), JSON.stringify(config)], {
    cwd: '/',
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    stdio: ['pipe', input.logFd, input.logFd],
    detached: true,
  });
  const stdin = child.stdin as Socket;
  // A dead watchdog makes writes fail with EPIPE; its absence is detected by `end()`, not by a crash here.
  stdin.on('error', () => undefined);
  const watchdog = await new Promise<TrackedProcess>((resolve, reject) => {
    child.once('error', (error) =>
      reject(new PaperclipServerError(`start paperclip: spawn watchdog: ${error.message}`, { cause: error })),
    );
    child.once('spawn', () => {
      const described = child.pid === undefined ? undefined : describeProcess(child.pid);
      if (described) resolve(described);
      else reject(new PaperclipServerError('start paperclip: the watchdog process vanished right after spawn'));
    });
  });
  child.unref();
  stdin.unref();
  const send = (message: object): void => {
    if (stdin.writable) stdin.write(`${JSON.stringify(message)}\n`);
  };
  let ended: Promise<void> | undefined;
  return {
    process: watchdog,
    setServer: (server) => send({ server }),
    end: () => {
      ended ??= (async () => {
        send({ done: true });
        stdin.end();
        if ((await waitForExit([watchdog], 5_000)).length > 0) {
          signalProcess(watchdog, 'SIGKILL');
          await waitForExit([watchdog], 5_000);
        }
      })();
      return ended;
    },
  };
}
