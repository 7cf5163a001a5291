import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

// lc_stop_daemon (scripts/lib.sh) against real processes: it must stop by the recorded PID and never wait forever.
const LIB = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'lib.sh');

const started: number[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function clusterDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ck8s-stop-daemon-'));
  dirs.push(dir);
  await mkdir(join(dir, 'pids'));
  return dir;
}

/** Starts `sh -c SCRIPT` detached (the test process is its parent) and returns its PID. */
function startShell(script: string): number {
  const child = spawn('sh', ['-c', script], { stdio: 'ignore', detached: true });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start sh -c ${script}`);
  started.push(child.pid);
  return child.pid;
}

function processState(pid: number): string | null {
  const result = spawnSync('sed', ['-n', 's/.*) \\([A-Za-z]\\).*/\\1/p', `/proc/${pid}/stat`], { encoding: 'utf8' });
  return result.status === 0 && result.stdout.trim() !== '' ? result.stdout.trim() : null;
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs `lc_stop_daemon NAME ARGS...` in bash with lib.sh sourced; `prelude` runs first (e.g. to stub `kill`). */
function stopDaemon(dir: string, args: string[], prelude = '') {
  const started = Date.now();
  const result = spawnSync(
    'bash',
    ['-c', `source "$1"; ${prelude}\nlc_stop_daemon "\${@:2}"`, 'test', LIB, 'daemon', ...args],
    { encoding: 'utf8', env: { ...process.env, CK8S_CLUSTER_DIR: dir }, timeout: 30_000 },
  );
  return {
    status: result.status,
    signal: result.signal,
    stderr: result.stderr,
    seconds: (Date.now() - started) / 1000,
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('lc_stop_daemon', () => {
  it('stops a daemon that exits on SIGTERM and removes its pid file', async () => {
    const dir = await clusterDir();
    const pid = startShell('exec sleep 60');
    await writeFile(join(dir, 'pids', 'daemon.pid'), `${pid}\n`);

    const result = stopDaemon(dir, ['30']);

    expect(result.status).toBe(0);
    // Returned without waiting out the 30 s grace (with room for a loaded machine).
    expect(result.seconds).toBeLessThan(15);
    expect(processState(pid) ?? 'gone').toMatch(/^(gone|Z)$/);
    expect(await exists(join(dir, 'pids', 'daemon.pid'))).toBe(false);
  });

  it('sends SIGKILL after the grace to a daemon that ignores SIGTERM', async () => {
    const dir = await clusterDir();
    const pid = startShell("trap '' TERM; while :; do sleep 0.05; done");
    await writeFile(join(dir, 'pids', 'daemon.pid'), `${pid}\n`);
    await until(() => processState(pid) !== null, 'the daemon to start');

    const result = stopDaemon(dir, ['1']);

    expect(result.status).toBe(0);
    // Waited the 1 s grace; exit status 0 with the process gone means SIGKILL ended it (had it survived, the
    // function would have returned 1 after the kill wait).
    expect(result.seconds).toBeGreaterThanOrEqual(0.9);
    expect(processState(pid) ?? 'gone').toMatch(/^(gone|Z)$/);
    expect(await exists(join(dir, 'pids', 'daemon.pid'))).toBe(false);
  });

  it('counts an exited but unreaped daemon (a zombie) as stopped instead of waiting for its parent', async () => {
    const dir = await clusterDir();
    const childPidFile = join(dir, 'child.pid');
    // The exec'd `sleep 60` never reaps its child, so the short sleep stays a zombie while the parent lives.
    startShell(`sleep 0.1 & echo $! > '${childPidFile}'; exec sleep 60`);
    // The shell creates the file before it writes the pid: wait for the whole line, not for the file.
    const pidLine = async (): Promise<string> =>
      (await exists(childPidFile)) ? await readFile(childPidFile, 'utf8') : '';
    await until(async () => /^\d+\n$/.test(await pidLine()), 'the child pid');
    const zombie = Number((await pidLine()).trim());
    await until(() => processState(zombie) === 'Z', `pid ${zombie} to become a zombie`);
    await writeFile(join(dir, 'pids', 'daemon.pid'), `${zombie}\n`);

    const result = stopDaemon(dir, ['30', '30']);

    expect(result.status).toBe(0);
    // Not the 30 s grace a live process would get (with room for a loaded machine).
    expect(result.seconds).toBeLessThan(15);
    expect(await exists(join(dir, 'pids', 'daemon.pid'))).toBe(false);
  });

  it('gives up a bounded time after SIGKILL when the process outlives it, keeps the pid file and says so', async () => {
    const dir = await clusterDir();
    const pid = startShell("trap '' TERM; while :; do sleep 0.05; done");
    await writeFile(join(dir, 'pids', 'daemon.pid'), `${pid}\n`);
    await until(() => processState(pid) !== null, 'the daemon to start');

    // A process stuck in uninterruptible sleep survives SIGKILL; stand in for one by swallowing SIGKILL.
    const result = stopDaemon(dir, ['1', '1'], 'kill() { [[ $1 == -KILL ]] && return 0; builtin kill "$@"; }');

    expect(result.signal).toBeNull();
    expect(result.status).toBe(1);
    // 1 s grace + 1 s after SIGKILL, measured as wall-clock deadlines: bounded however slow each poll is.
    expect(result.seconds).toBeGreaterThanOrEqual(1.9);
    expect(result.seconds).toBeLessThan(10);
    expect(result.stderr).toMatch(
      new RegExp(`daemon \\(pid ${pid}\\) is still running 1 s after SIGKILL \\(state: [A-Z]\\)`),
    );
    expect(await exists(join(dir, 'pids', 'daemon.pid'))).toBe(true);
  });

  it('returns at once when no pid was recorded', async () => {
    const dir = await clusterDir();
    const result = stopDaemon(dir, []);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
  });
});
