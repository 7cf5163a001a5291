import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ensurePaperclipInstalled, type PaperclipInstall } from './ensure-paperclip-installed.ts';
import { PaperclipServerError, PortInUseError } from './paperclip-server-error.ts';
import { findFreePort, isPortFree } from './tcp-ports.ts';
import { ensureReadableCopy } from './readable-copy.ts';
import { describeProcess, readRssBytes, signalProcess, type TrackedProcess } from './processes.ts';
import { startOwnerWatchdog, type OwnerWatchdog } from './owner-watchdog.ts';
import { createProcessTracker, stopServerProcesses, type ServerStopResult } from './server-stop.ts';
import { defaultArtifactsDir, resolveNode24 } from './repo-paths.ts';
import { resolveServerUser, DEFAULT_SERVICE_USER, type ServiceUser } from './service-user.ts';

const execFileAsync = promisify(execFile);

/** Options of {@link startPaperclipServer}. */
export interface StartPaperclipServerOptions {
  /** HTTP port (API, UI, WebSocket) on 127.0.0.1. Fails with `PortInUseError` when taken. @default a free port */
  port?: number;
  /** Embedded PostgreSQL port on 127.0.0.1. Fails with `PortInUseError` when taken. @default a free port */
  databasePort?: number;
  /** `PAPERCLIP_HOME`: config, database, logs, run logs, adapter store. Created and given to the service user. @default a new `ck8s-paperclip-*` dir in `os.tmpdir()` */
  dataDir?: string;
  /** Keep `dataDir` when stopping. @default false */
  keepDataDir?: boolean;
  /** Extra environment for the server process (and so for in-process adapters), e.g. `KUBECONFIG`. Files it names must be readable by the service user: see `grantReadAccess`. */
  env?: Record<string, string>;
  /** Paperclip version, installed on demand. @default '2026.916.1' */
  version?: string;
  /** Install cache. @default `<repo>/.cache/paperclip` */
  cacheDir?: string;
  /** An install from `ensurePaperclipInstalled` (skips the install check). */
  install?: PaperclipInstall;
  /** The non-root account the server runs as (ignored when this process is not root: it runs as the current user). @default 'ck8s-paperclip' */
  user?: string;
  /** Node >= 24.11 binary. @default the current Node when new enough, else the repo toolchain's */
  nodePath?: string;
  /** Server stdout+stderr. @default `<repo>/.artifacts/paperclip-server/server-<port>-<time>.log` */
  logFile?: string;
  /** How long to wait for `GET /api/health` to answer `status: ok`, in milliseconds. @default 120_000 */
  startTimeoutMs?: number;
  /** Aborts the start: everything started so far is stopped and removed, then the start rejects with a `PaperclipServerError` saying it was aborted. Ignored once the start has resolved (use `stop()`). */
  signal?: AbortSignal;
}

/** How a stop went. */
export interface PaperclipStopReport extends ServerStopResult {
  dataDirRemoved: boolean;
}

/** A running Paperclip server. `await using server = await startPaperclipServer()` stops it at scope end. */
export interface PaperclipServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`: the UI. */
  url: string;
  /** `<url>/api`. */
  apiUrl: string;
  port: number;
  databasePort: number;
  /** `PAPERCLIP_HOME`. */
  dataDir: string;
  /** `<dataDir>/instances/default`: config.json, db/, logs/, data/run-logs/. */
  instanceDir: string;
  /** Pid of the server's node process. */
  pid: number;
  /** The owner watchdog: stops the server if this process dies without `stop()`; `stop()` ends it. */
  watchdog: TrackedProcess;
  logFile: string;
  user: ServiceUser;
  install: PaperclipInstall;
  /** Milliseconds from spawn to a healthy `/api/health`. */
  startDurationMs: number;
  /** The node process, its descendants and the PostgreSQL postmaster, as of now. */
  processes(): TrackedProcess[];
  /** Resident memory in bytes: the node process alone, and summed over all its processes (shared memory counted repeatedly). */
  readRss(): { server: number; total: number };
  /** The last `lines` lines of the server log. */
  readLogTail(lines?: number): string;
  /** SIGTERM, wait, SIGKILL if needed, then stop a surviving PostgreSQL by its postmaster pid; throws if anything stays. Idempotent. */
  stop(options?: { keepDataDir?: boolean; gracefulTimeoutMs?: number }): Promise<PaperclipStopReport>;
}

/**
 * Starts a real Paperclip server (`paperclipai onboard -y --bind loopback --no-install-service --run`) as a non-root
 * user, on the given or free ports, in `local_trusted` mode on 127.0.0.1, and waits until it is healthy.
 */
export async function startPaperclipServer(options: StartPaperclipServerOptions = {}): Promise<PaperclipServer> {
  const signal = options.signal;
  const checkAborted = (phase: string): void => {
    if (signal?.aborted) throw abortedError(signal, phase);
  };
  checkAborted('before it began');
  const user = await resolveServerUser(options.user ?? DEFAULT_SERVICE_USER);
  const install =
    options.install ?? (await ensurePaperclipInstalled({ version: options.version, cacheDir: options.cacheDir, user }));
  checkAborted('after the install check');
  // A toolchain under a non-traversable home (CI runners) is not reachable by the server user: run a hard-linked copy.
  const nodeSource = options.nodePath ?? resolveNode24();
  const nodeDir = await ensureReadableCopy(dirname(nodeSource), {
    user,
    hardlink: true,
    cacheKey: `node-${process.versions.node}`,
  });
  const nodePath = join(nodeDir, basename(nodeSource));

  const port = await claimPort(options.port, 'paperclip http');
  let databasePort = await claimPort(options.databasePort, 'embedded postgres');
  while (databasePort === port) databasePort = await claimPort(undefined, 'embedded postgres');
  checkAborted('before the server was spawned');

  const logFile =
    options.logFile ??
    join(defaultArtifactsDir(), `server-${port}-${new Date().toISOString().replace(/[:.]/g, '-')}.log`);
  await mkdir(dirname(logFile), { recursive: true });
  const logFd = openSync(logFile, 'a');
  const keepDataDir = options.keepDataDir ?? false;
  let dataDir: string | undefined = options.dataDir;
  let watchdog: OwnerWatchdog | undefined;
  // Until the server is spawned, a failure (or an abort) undoes what exists so far: watchdog, log fd, data dir.
  const undoBeforeSpawn = async (): Promise<void> => {
    await watchdog?.end();
    closeSync(logFd);
    if (dataDir !== undefined && !keepDataDir) await rm(dataDir, { recursive: true, force: true });
  };
  let instanceDir: string;
  try {
    dataDir ??= await mkdtemp(join(tmpdir(), 'ck8s-paperclip-'));
    instanceDir = join(dataDir, 'instances', 'default');
    // Started before the server, so an owner killed at any later point leaves nothing running.
    watchdog = await startOwnerWatchdog({
      nodePath: nodeSource,
      logFd,
      config: { dataDir, instanceDir, removeDataDir: !keepDataDir, gracefulTimeoutMs: 10_000 },
    });
    await mkdir(instanceDir, { recursive: true });
    await writeConfig(instanceDir, port, databasePort);
    await execFileAsync('chown', ['-R', `${user.uid}:${user.gid}`, dataDir]);
    await execFileAsync('chmod', ['0700', dataDir]);
    checkAborted('before the server was spawned');
  } catch (error) {
    await undoBeforeSpawn();
    throw error;
  }
  const ownerWatchdog = watchdog;

  const env: Record<string, string> = {
    PATH: `${dirname(nodePath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: user.home,
    PAPERCLIP_HOME: dataDir,
    PAPERCLIP_TELEMETRY_DISABLED: '1',
    DO_NOT_TRACK: '1',
    PAPERCLIP_UPDATE_CHECK: '0',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    PORT: String(port),
    ...options.env,
  };
  const started = performance.now();
  const child = spawn(
    nodePath,
    [install.entry, 'onboard', '-y', '--bind', 'loopback', '--no-install-service', '--run'],
    {
      cwd: dataDir,
      env,
      stdio: ['ignore', logFd, logFd],
      detached: true,
      ...(user.uid === process.getuid?.() ? {} : { uid: user.uid, gid: user.gid }),
    },
  );
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let exitInfo: string | undefined;
  child.once('exit', (code, exitSignal) => {
    exitInfo = `exited ${code ?? exitSignal}`;
  });
  let nodeProcess: TrackedProcess;
  try {
    nodeProcess = await new Promise<TrackedProcess>((resolve, reject) => {
      child.once('spawn', () => {
        const described = child.pid === undefined ? undefined : describeProcess(child.pid);
        if (described) resolve(described);
        else
          reject(
            new PaperclipServerError(`start paperclip: the server process vanished right after spawn; see ${logFile}`),
          );
      });
      void spawnError.then((error) =>
        reject(new PaperclipServerError(`start paperclip: spawn ${nodePath}: ${error.message}`, { cause: error })),
      );
    });
  } catch (error) {
    await undoBeforeSpawn();
    throw error;
  }
  ownerWatchdog.setServer(nodeProcess);
  const serverDataDir = dataDir;

  const url = `http://127.0.0.1:${port}`;
  const snapshot = createProcessTracker(instanceDir, () => nodeProcess);
  const readLogTail = (lines = 40): string => readTail(logFile, lines);

  let stopPromise: Promise<PaperclipStopReport> | undefined;
  const stop = (
    stopOptions: { keepDataDir?: boolean; gracefulTimeoutMs?: number } = {},
  ): Promise<PaperclipStopReport> => {
    stopPromise ??= stopServerProcesses({
      nodeProcess,
      snapshot,
      instanceDir,
      gracefulTimeoutMs: stopOptions.gracefulTimeoutMs ?? 20_000,
    }).then(async (report) => {
      process.off('exit', emergencyStop);
      closeSync(logFd);
      const keep = stopOptions.keepDataDir ?? keepDataDir;
      if (!keep) await rm(serverDataDir, { recursive: true, force: true });
      // Only now: if stopping failed, the watchdog stays and tries again once this process is gone.
      await ownerWatchdog.end();
      return { ...report, dataDirRemoved: !keep };
    });
    return stopPromise;
  };
  // Fast path if the caller exits without stopping us: signal what we started (synchronously, so no waiting); the
  // watchdog then finishes the job (waits, escalates, removes the data dir).
  const emergencyStop = (): void => {
    for (const item of snapshot()) signalProcess(item, item.pid === nodeProcess.pid ? 'SIGTERM' : 'SIGINT');
  };
  process.once('exit', emergencyStop);

  try {
    await waitForHealthy({
      url,
      port,
      databasePort,
      timeoutMs: options.startTimeoutMs ?? 120_000,
      logFile,
      exited: () => exitInfo,
      onPoll: snapshot,
      signal,
    });
    await verifyRuntimeInfo(instanceDir, nodeProcess.pid, port, logFile);
    checkAborted('after the server was healthy');
  } catch (error) {
    await stop().catch((stopError: unknown) => {
      throw new PaperclipServerError(
        `${(error as Error).message}; stopping what it had started failed too: ${(stopError as Error).message}`,
        { cause: error },
      );
    });
    throw error;
  }
  const startDurationMs = Math.round(performance.now() - started);
  snapshot();

  return {
    url,
    apiUrl: `${url}/api`,
    port,
    databasePort,
    dataDir: serverDataDir,
    instanceDir,
    pid: nodeProcess.pid,
    watchdog: ownerWatchdog.process,
    logFile,
    user,
    install,
    startDurationMs,
    processes: snapshot,
    readRss: () => {
      const all = snapshot();
      return {
        server: readRssBytes(nodeProcess.pid),
        total: all.reduce((sum, item) => sum + readRssBytes(item.pid), 0),
      };
    },
    readLogTail,
    stop,
    [Symbol.asyncDispose]: async () => {
      await stop();
    },
  };
}

async function claimPort(requested: number | undefined, purpose: string): Promise<number> {
  if (requested === undefined) return findFreePort();
  if (!(await isPortFree(requested))) throw new PortInUseError(requested, purpose);
  return requested;
}

/** Writes the config `onboard -y --bind loopback` would write, with our ports; onboard then keeps it ("existing config preserved"). */
async function writeConfig(instanceDir: string, port: number, databasePort: number): Promise<void> {
  const configFile = join(instanceDir, 'config.json');
  if (existsSync(configFile)) {
    const config = JSON.parse(await readFile(configFile, 'utf8')) as {
      server: { port: number };
      database: { embeddedPostgresPort: number };
    };
    config.server.port = port;
    config.database.embeddedPostgresPort = databasePort;
    await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
    return;
  }
  const config = {
    $meta: { version: 1, updatedAt: new Date().toISOString(), source: 'onboard' },
    database: {
      mode: 'embedded-postgres',
      embeddedPostgresDataDir: join(instanceDir, 'db'),
      embeddedPostgresPort: databasePort,
      backup: { enabled: false, intervalMinutes: 60, retentionDays: 30, dir: join(instanceDir, 'data', 'backups') },
    },
    logging: { mode: 'file', logDir: join(instanceDir, 'logs') },
    server: {
      deploymentMode: 'local_trusted',
      exposure: 'private',
      bind: 'loopback',
      host: '127.0.0.1',
      port,
      allowedHostnames: [],
      serveUi: true,
    },
    telemetry: { enabled: false },
    updates: { checkEnabled: false },
    auth: { baseUrlMode: 'auto', disableSignUp: false },
    storage: {
      provider: 'local_disk',
      localDisk: { baseDir: join(instanceDir, 'data', 'storage') },
      s3: { bucket: 'paperclip', region: 'us-east-1', prefix: '', forcePathStyle: false },
    },
    secrets: {
      provider: 'local_encrypted',
      strictMode: false,
      localEncrypted: { keyFilePath: join(instanceDir, 'secrets', 'master.key') },
    },
  };
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
}

function readTail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitForHealthy(input: {
  url: string;
  port: number;
  databasePort: number;
  timeoutMs: number;
  logFile: string;
  exited: () => string | undefined;
  onPoll: () => void;
  signal: AbortSignal | undefined;
}): Promise<void> {
  const deadline = Date.now() + input.timeoutMs;
  const phase = 'while the server was starting (onboarding, database init)';
  for (;;) {
    let last: string;
    if (input.signal?.aborted) throw abortedError(input.signal, phase);
    input.onPoll();
    const exited = input.exited();
    if (exited)
      throw new PaperclipServerError(
        `start paperclip ${input.url}: server ${exited} before it was healthy; log ${input.logFile}:\n${readTail(input.logFile, 40)}`,
      );
    const log = readTail(input.logFile, 400);
    if (/Embedded PostgreSQL port is in use/.test(log)) {
      throw new PortInUseError(input.databasePort, 'embedded postgres (taken while the server started)');
    }
    try {
      const timeout = AbortSignal.timeout(3_000);
      const response = await fetch(`${input.url}/api/health`, {
        signal: input.signal ? AbortSignal.any([timeout, input.signal]) : timeout,
      });
      const body = (await response.json().catch(() => ({}))) as { status?: string };
      if (response.ok && body.status === 'ok') return;
      last = `${response.status} ${JSON.stringify(body).slice(0, 200)}`;
    } catch (error) {
      if (input.signal?.aborted) throw abortedError(input.signal, phase);
      last = (error as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new PaperclipServerError(
        `start paperclip ${input.url}: not healthy after ${input.timeoutMs} ms (last: ${last}); log ${input.logFile}:\n${readTail(input.logFile, 40)}`,
      );
    }
    await sleep(250, input.signal);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function abortedError(signal: AbortSignal, phase: string): PaperclipServerError {
  const reason: unknown = signal.reason;
  const detail = reason instanceof Error ? reason.message : String(reason);
  return new PaperclipServerError(
    `start paperclip: aborted ${phase} (${detail}); everything it had started is stopped`,
    { cause: reason },
  );
}

/** Paperclip silently moves to the next free port when its port is taken; make sure the healthy server is ours. */
async function verifyRuntimeInfo(instanceDir: string, pid: number, port: number, logFile: string): Promise<void> {
  try {
    const info = JSON.parse(await readFile(join(instanceDir, 'runtime-info.json'), 'utf8')) as {
      pid?: number;
      port?: number;
    };
    if (info.port !== port) throw new PortInUseError(port, `paperclip http (the server moved to ${info.port})`);
    if (info.pid !== pid)
      throw new PaperclipServerError(
        `start paperclip: runtime-info.json names pid ${info.pid}, expected ${pid}; log ${logFile}`,
      );
  } catch (error) {
    if (PaperclipServerError.isInstance(error)) throw error;
    // runtime-info.json is informational; older/newer versions may not write it.
  }
}
