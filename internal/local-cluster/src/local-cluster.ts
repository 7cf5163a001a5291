import { execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const scriptsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts');

/** A component of the local cluster that can be restarted in place. */
export type ClusterComponent =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kubelet'
  | 'kube-proxy'
  | 'coredns'
  | 'kube-router';

/** An image imported into the node's containerd. */
export interface ClusterImage {
  /** Full reference, e.g. `localhost/claude-k8s-agent:3f2a…`. */
  ref: string;
  /** Path of the OCI tarball it was imported from. */
  tar: string;
}

/** What `status` reports about the local cluster. */
export interface ClusterStatus {
  running: boolean;
  nodeReady: boolean;
  kubeconfig: string;
  server: string;
  state: string;
  version: string;
  images: { pause: ClusterImage; agent: ClusterImage } | null;
  components: Record<string, { state: 'running' | 'stopped'; pid?: number }>;
}

/** Options shared by the calls: extra environment for the scripts (e.g. `CLAUDE_K8S_CACHE`, ports). */
export interface LocalClusterOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the scripts' progress lines go; default: the parent's stderr. */
  onProgress?: (line: string) => void;
}

function runScript(script: string, args: readonly string[], options: LocalClusterOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(scriptsDir, script), args, {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderrTail = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-4000);
      if (options.onProgress)
        for (const line of chunk.split('\n'))
          if (line) options.onProgress(line);
          else process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else
        reject(
          new Error(
            `local-cluster ${script} ${args.join(' ')} failed with exit code ${code}: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
    });
  });
}

function parseStatus(stdout: string): ClusterStatus {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as ClusterStatus;
}

/** Build (or reuse) the binaries and images and bring the cluster up; reuses a running healthy cluster. */
export async function clusterUp(options: LocalClusterOptions = {}): Promise<ClusterStatus> {
  return parseStatus(await runScript('up.sh', [], options));
}

/** Stop every process of the cluster and remove its state. Safe to call when nothing runs. */
export async function clusterDown(options: LocalClusterOptions = {}): Promise<void> {
  await runScript('down.sh', [], options);
}

/** The cluster's state; `running` and `nodeReady` are false when it is not up. */
export async function clusterStatus(options: LocalClusterOptions = {}): Promise<ClusterStatus | null> {
  try {
    const { stdout } = await execFileAsync(join(scriptsDir, 'status.sh'), ['--quiet'], {
      env: { ...process.env, ...options.env },
    });
    return parseStatus(stdout);
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout;
    return stdout ? parseStatus(stdout) : null;
  }
}

/** Restart one component with its original command line, after `downtimeSeconds` of absence. */
export async function restartComponent(
  component: ClusterComponent,
  downtimeSeconds = 0,
  options: LocalClusterOptions = {},
): Promise<void> {
  await runScript('restart.sh', [component, String(downtimeSeconds)], options);
}

/** Stop one component (for tests of outages); `restartComponent` brings it back. */
export async function stopComponent(component: ClusterComponent, options: LocalClusterOptions = {}): Promise<void> {
  await runScript('restart.sh', [component, '--stop-only'], options);
}

/**
 * The address pods reach exposed services of this machine at ({@link exposeToPods}); `LC_PORTAL_IP` in
 * scripts/lib.sh. Not the apiserver's address (10.88.0.1), so a NetworkPolicy can open one and not the other.
 */
export const PORTAL_HOST = '10.88.1.1';

/**
 * Make a service on this machine's 127.0.0.1:`port` reachable from the local cluster's pods; returns the base URL
 * pods use (`http://10.88.1.1:<port>`, an address of the pod bridge in the node's network namespace).
 */
export async function exposeToPods(port: number, options: LocalClusterOptions = {}): Promise<string> {
  return (await runScript('expose.sh', [String(port)], options)).trim();
}
