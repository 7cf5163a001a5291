// Paperclip inside the local cluster, installed with the Helm chart (deploy/helm/claude-k8s, `paperclip.enabled`):
// what the in-cluster e2e test and `scripts/demo.sh --in-cluster` share. The chart's defaults (Paperclip's official
// image, the adapter from npm) need a registry; the local cluster has none, so the values below run the same pinned
// Paperclip release (scripts/ensure-paperclip.sh's install, mounted read-only) in the agent image (Node 24), with this
// checkout's built adapter mounted too. See docs/decisions/in-cluster-paperclip.md.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import {
  createPaperclipClient,
  DEFAULT_PAPERCLIP_VERSION,
  ensurePaperclipInstalled,
  type PaperclipClient,
} from '@claude-k8s/paperclip-server';
import { repoRoot, type StackProgress } from './start-stack.ts';
import { callApi, type ApiAnswer } from './raw-api.ts';

export const CHART_DIR = join(repoRoot, 'deploy', 'helm', 'claude-k8s');
/** Where the Paperclip install is mounted in the pod. */
const PAPERCLIP_MOUNT = '/opt/paperclip';
/** The chart's Paperclip Service and Deployment name. */
const PAPERCLIP_NAME = 'paperclip';
const MODEL_SECRET = { name: 'claude-k8s-model-api-key', key: 'api-key' } as const;
const SESSION_CLAIM = 'claude-sessions';
const LOCAL_STORAGE_CLASS = 'claude-k8s-local';

/** What to install, and where. */
export interface InClusterOptions {
  adminKubeconfig: string;
  /** The local cluster's state directory: the session volume's host directory goes under it. */
  localState: string;
  /** The agent image (Node 24) imported into the node: Paperclip's pod runs in it too. */
  agentImage: string;
  /** Release namespace (Paperclip runs here); created by `helm install --create-namespace`. */
  releaseNamespace: string;
  /** Namespace of the agent Jobs; created by the chart with Pod Security `restricted`. */
  agentsNamespace: string;
  /** @default 'claude-k8s' */
  release?: string;
  /** Stored in a Secret of the agents' namespace; never printed. */
  modelApiKey: string;
  /** Hosts `anthropicBaseUrl` may point at (the operator policy), e.g. the pod gateway of the fake model API. */
  allowedModelHosts?: readonly string[];
  progress: StackProgress;
}

/** Paperclip running in the cluster, reached through a port-forward, signed in as its first admin. */
export interface InClusterPaperclip {
  release: string;
  releaseNamespace: string;
  agentsNamespace: string;
  /** `http://paperclip.<ns>.svc.cluster.local:3100`: what agent pods call. */
  serviceUrl: string;
  /** `http://127.0.0.1:<port>`: the port-forward this process uses. */
  url: string;
  /** The board user's client (session cookie of the first admin). */
  client: PaperclipClient;
  /** A call of Paperclip's API as the board user; `headers` replace the session's (e.g. `{}` for none). */
  api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiAnswer<T>>;
  /** The board user's e-mail and password (sign in at `url`; never printed). */
  boardEmail: string;
  boardPassword: string;
  /** Adapter configuration for agents of this install (image, key Secret, session volume, timeouts). */
  adapterConfig: Record<string, unknown>;
  helm: string;
  kubectl: string;
  /** `helm uninstall` and wait until the release's namespaced objects are gone. */
  uninstall(): Promise<void>;
  /** Stops the port-forward, uninstalls (if not yet), deletes the namespaces and the session volume. */
  stop(): Promise<void>;
}

/** The pinned Helm binary (scripts/ensure-helm.sh builds it from the Go module proxy the first time). */
export function ensureHelm(): string {
  const r = spawnSync(join(repoRoot, 'scripts', 'ensure-helm.sh'), { encoding: 'utf8' });
  const path = r.stdout.trim().split('\n').at(-1);
  if (r.status !== 0 || !path) throw new Error(`scripts/ensure-helm.sh failed (exit ${r.status}): ${r.stderr}`);
  return path;
}

/** kubectl: CK8S_KUBECTL, else the one built with the local cluster's Kubernetes, else `kubectl` on the PATH. */
export function findKubectl(version: string): string {
  if (process.env['CK8S_KUBECTL']) return process.env['CK8S_KUBECTL'];
  const cache =
    process.env['CLAUDE_K8S_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'claude-k8s');
  const built = join(cache, 'bin', `kubernetes-${version}`, 'kubectl');
  return existsSync(built) ? built : 'kubectl';
}

function run(binary: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 300_000): string {
  const r = spawnSync(binary, args, { encoding: 'utf8', env, timeout: timeoutMs });
  if (r.error) throw new Error(`${binary} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`${binary} ${args.slice(0, 4).join(' ')} … failed (exit ${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** `repository` and `tag` of an image reference (the tag after the last `:` that follows the last `/`). */
export function splitImageRef(ref: string): { repository: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon <= slash) throw new Error(`image reference ${ref} has no tag`);
  return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}

/**
 * The chart values of the local cluster: the chart's Paperclip with the image, command and volumes overridden (no
 * registry, no storage provisioner). Everything else is the chart's default.
 */
export function localClusterValues(options: {
  agentsNamespace: string;
  agentImage: string;
  paperclipInstallDir: string;
  allowedModelHosts: readonly string[];
}): Record<string, unknown> {
  return {
    agents: { namespace: { name: options.agentsNamespace } },
    // A host-path PersistentVolume of the class below is created beside the release (no provisioner here).
    sessions: { storageClassName: LOCAL_STORAGE_CLASS, accessModes: ['ReadWriteOnce'], size: '1Gi' },
    // The fake model API runs on this machine, behind the local cluster's portal address: the agents' NetworkPolicy
    // (enforced there) opens it as an operator opens a model gateway.
    ...(options.allowedModelHosts.length > 0
      ? {
          networkPolicy: {
            extraEgress: [{ to: options.allowedModelHosts.map((host) => ({ ipBlock: { cidr: `${host}/32` } })) }],
          },
        }
      : {}),
    paperclip: {
      enabled: true,
      image: { ...splitImageRef(options.agentImage), pullPolicy: 'Never' },
      // The server's own entry (what Paperclip's image runs), from the pinned install.
      command: ['node', `${PAPERCLIP_MOUNT}/node_modules/@paperclipai/server/dist/index.js`],
      workingDir: '/paperclip',
      adapter: { install: { enabled: false }, path: join(repoRoot, 'packages', 'paperclip-adapter') },
      persistence: { enabled: false },
      resources: { requests: { cpu: '100m', memory: '512Mi' }, limits: { memory: '2Gi' } },
      policy: {
        CLAUDE_K8S_ALLOWED_SECRETS: MODEL_SECRET.name,
        ...(options.allowedModelHosts.length > 0
          ? { CLAUDE_K8S_ALLOWED_MODEL_HOSTS: options.allowedModelHosts.join(',') }
          : {}),
      },
      extraVolumes: [
        { name: 'paperclip-install', hostPath: { path: options.paperclipInstallDir, type: 'Directory' } },
        // The checkout, at its own path: the adapter's dependencies are pnpm links into its node_modules.
        { name: 'claude-k8s-checkout', hostPath: { path: repoRoot, type: 'Directory' } },
      ],
      extraVolumeMounts: [
        { name: 'paperclip-install', mountPath: PAPERCLIP_MOUNT, readOnly: true },
        { name: 'claude-k8s-checkout', mountPath: repoRoot, readOnly: true },
      ],
    },
  };
}

/** Reads the session cookie(s) of a response as one `cookie` header value. */
function cookiesOf(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0]!.trim())
    .filter((pair) => pair.includes('='))
    .join('; ');
}

async function portForward(
  kubectl: string,
  env: NodeJS.ProcessEnv,
  namespace: string,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    kubectl,
    ['-n', namespace, 'port-forward', '--address', '127.0.0.1', `svc/${PAPERCLIP_NAME}`, ':3100'],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubectl port-forward: no port within 30 s: ${output}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kubectl port-forward exited ${code}: ${output}`));
    });
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s${last ? ` (${last})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/**
 * Installs the chart with Paperclip into the local cluster, waits for the server, port-forwards to it, signs up the
 * first board user and claims the instance (authenticated mode, exposure private: `POST /api/bootstrap/claim`).
 */
export async function installInClusterPaperclip(options: InClusterOptions): Promise<InClusterPaperclip> {
  const { progress, releaseNamespace, agentsNamespace } = options;
  const release = options.release ?? 'claude-k8s';
  const env = { ...process.env, KUBECONFIG: options.adminKubeconfig };
  const admin = new KubeConfig();
  admin.loadFromFile(options.adminKubeconfig);
  const core = admin.makeApiClient(CoreV1Api);
  const version = (await admin.makeApiClient(CoreV1Api).listNode()).items[0]?.status?.nodeInfo?.kubeletVersion;
  const kubectl = findKubectl(version ?? 'v0');
  const cleanups: (() => Promise<void>)[] = [];
  let forward: ChildProcess | undefined;
  let installed = false;
  const helmBin = { path: '' };
  const serviceUrl = `http://${PAPERCLIP_NAME}.${releaseNamespace}.svc.cluster.local:3100`;

  const uninstall = (): Promise<void> => {
    if (installed) {
      run(helmBin.path, ['uninstall', release, '-n', releaseNamespace, '--wait', '--timeout', '180s'], env, 240_000);
      installed = false;
    }
    return Promise.resolve();
  };
  const stop = async (): Promise<void> => {
    forward?.kill('SIGTERM');
    forward = undefined;
    await uninstall().catch((error: unknown) => progress.info(`helm uninstall: ${(error as Error).message}`));
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => progress.info(`cleanup: ${(error as Error).message}`));
    cleanups.length = 0;
  };

  try {
    progress.step('Helm and the pinned Paperclip install');
    helmBin.path = ensureHelm();
    const install = await ensurePaperclipInstalled({
      version: DEFAULT_PAPERCLIP_VERSION,
      log: (line) => progress.info(line),
    });
    if (!existsSync(join(repoRoot, 'packages', 'paperclip-adapter', 'dist', 'index.js')))
      throw new Error('packages/paperclip-adapter is not built: run `pnpm turbo run build` first');
    progress.done('Helm and the pinned Paperclip install', `${helmBin.path}, paperclipai@${install.version}`);

    // The session volume: a host directory the agents (uid 1000) write, as a PersistentVolume bound to the chart's
    // claim (the local cluster has no provisioner).
    const sessionDir = join(options.localState, 'sessions', `${releaseNamespace}-${agentsNamespace}`);
    await mkdir(sessionDir, { recursive: true });
    await chown(sessionDir, 1000, 1000);
    await chmod(sessionDir, 0o2770);
    const volumeName = `claude-k8s-sessions-${agentsNamespace}`;
    await core.createPersistentVolume({
      body: {
        metadata: { name: volumeName, labels: { 'app.kubernetes.io/part-of': 'claude-k8s-tests' } },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: LOCAL_STORAGE_CLASS,
          hostPath: { path: sessionDir, type: 'Directory' },
          claimRef: { namespace: agentsNamespace, name: SESSION_CLAIM },
        },
      },
    });
    cleanups.push(async () => {
      await core.deletePersistentVolume({ name: volumeName });
      await rm(sessionDir, { recursive: true, force: true });
    });
    cleanups.push(async () => {
      for (const name of [releaseNamespace, agentsNamespace])
        await core.deleteNamespace({ name }).catch(() => undefined);
    });

    progress.step(`helm install ${release} (Paperclip in ${releaseNamespace}, agents in ${agentsNamespace})`);
    const valuesDir = await mkdtemp(join(tmpdir(), 'ck8s-in-cluster-'));
    cleanups.push(() => rm(valuesDir, { recursive: true, force: true }));
    const valuesFile = join(valuesDir, 'local-cluster.values.json');
    await writeFile(
      valuesFile,
      JSON.stringify(
        localClusterValues({
          agentsNamespace,
          agentImage: options.agentImage,
          // The real path: a host path mounted through a symbolic link (.cache of a worktree) is fragile.
          paperclipInstallDir: realpathSync(install.dir),
          allowedModelHosts: options.allowedModelHosts ?? [],
        }),
        null,
        2,
      ),
    );
    run(
      helmBin.path,
      ['install', release, CHART_DIR, '-n', releaseNamespace, '--create-namespace', '-f', valuesFile],
      env,
    );
    installed = true;
    // The model key Secret the agents reference (never printed).
    await core.createNamespacedSecret({
      namespace: agentsNamespace,
      body: {
        metadata: { name: MODEL_SECRET.name, labels: { 'app.kubernetes.io/part-of': 'claude-k8s-tests' } },
        type: 'Opaque',
        stringData: { [MODEL_SECRET.key]: options.modelApiKey },
      },
    });
    progress.done(`helm install ${release} (Paperclip in ${releaseNamespace}, agents in ${agentsNamespace})`);

    progress.step('Paperclip pod: start, migrations, adapter (readiness: GET /api/health)');
    try {
      run(
        kubectl,
        ['-n', releaseNamespace, 'rollout', 'status', `deploy/${PAPERCLIP_NAME}`, '--timeout=300s'],
        env,
        320_000,
      );
    } catch (error) {
      const logs = spawnSync(
        kubectl,
        ['-n', releaseNamespace, 'logs', `deploy/${PAPERCLIP_NAME}`, '--all-containers', '--tail=60'],
        { encoding: 'utf8', env },
      );
      throw new Error(`${(error as Error).message}\nlast Paperclip log lines:\n${logs.stdout}${logs.stderr}`, {
        cause: error,
      });
    }
    progress.done('Paperclip pod: start, migrations, adapter (readiness: GET /api/health)');

    progress.step('port-forward, sign-up of the first board user, instance claim');
    const forwarded = await portForward(kubectl, env, releaseNamespace);
    forward = forwarded.child;
    const url = forwarded.url;
    // Browser-like calls: Paperclip's auth and board-mutation guards want an Origin they trust; the public URL is.
    const origin = new URL(serviceUrl).origin;
    let cookie = '';
    const fetchAs = (headers?: Record<string, string>): typeof fetch => {
      return (input, init) => {
        const merged = new Headers(init?.headers);
        for (const [name, value] of Object.entries(headers ?? { cookie, origin })) merged.set(name, value);
        return fetch(input, { ...init, headers: merged });
      };
    };
    const api = <T = Record<string, unknown>>(
      method: string,
      path: string,
      body?: unknown,
      headers?: Record<string, string>,
    ): Promise<ApiAnswer<T>> => callApi<T>(`${url}/api${path}`, method, body, fetchAs(headers));
    await waitFor('GET /api/health through the port-forward', 60_000, async () => {
      const health = await api<{ status?: string }>('GET', '/health', undefined, {});
      return health.status === 200 ? health : undefined;
    });
    const boardEmail = `board-${randomBytes(4).toString('hex')}@claude-k8s.test`;
    const boardPassword = randomBytes(18).toString('base64url');
    const signUp = await fetch(`${url}/api/auth/sign-up/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify({ email: boardEmail, password: boardPassword, name: 'Board' }),
    });
    if (!signUp.ok) throw new Error(`sign-up: HTTP ${signUp.status}: ${(await signUp.text()).slice(0, 500)}`);
    cookie = cookiesOf(signUp);
    if (!cookie) throw new Error('sign-up: no session cookie in the answer');
    const claim = await api('POST', '/bootstrap/claim', {});
    if (claim.status !== 200) throw new Error(`first-admin claim: HTTP ${claim.status}: ${JSON.stringify(claim.body)}`);
    const client = createPaperclipClient(`${url}/api`, { fetch: fetchAs() });
    progress.done('port-forward, sign-up of the first board user, instance claim', `${url}, ${boardEmail}`);

    return {
      release,
      releaseNamespace,
      agentsNamespace,
      serviceUrl,
      url,
      client,
      api,
      boardEmail,
      boardPassword,
      adapterConfig: {
        image: options.agentImage,
        imagePullPolicy: 'Never',
        anthropicApiKeySecret: { ...MODEL_SECRET },
        sessionVolume: { claimName: SESSION_CLAIM, mountAs: 'home' },
        timeoutSec: 900,
        graceSec: 20,
      },
      helm: helmBin.path,
      kubectl,
      uninstall,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
