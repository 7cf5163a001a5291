import { chown, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { createFakeModelApi } from '@claude-k8s/fake-model-api';
import { clusterDown, clusterStatus, clusterUp, exposeToPods, PORTAL_HOST } from '@claude-k8s/local-cluster';
import {
  createPaperclipClient,
  findFreePort,
  grantReadAccess,
  resolveServerUser,
  startPaperclipServer,
  type PaperclipClient,
  type PaperclipServer,
} from '@claude-k8s/paperclip-server';
import {
  prepareTenant,
  prepareWorkspaceVolume,
  removeClusterObjects,
  type Tenant,
  type WorkspaceVolume,
} from './tenant.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The adapter package directory Paperclip installs (local-path install of the built package). */
const adapterPackageDir = join(repoRoot, 'packages', 'paperclip-adapter');
export const ADAPTER_TYPE = 'claude_k8s';
/** The ServiceAccount of `deploy/rbac.yaml` the Paperclip server (and so the adapter) acts as. */
const ADAPTER_SERVICE_ACCOUNT = 'paperclip';

/** A step's progress, for the terminal. */
export interface StackProgress {
  step(name: string): void;
  done(name: string, detail?: string): void;
  info(line: string): void;
}

/** How to start the whole product locally. */
export interface StackOptions {
  /** An external cluster's kubeconfig; the local cluster is built and started when absent. */
  kubeconfig?: string;
  /** The agent image on an external cluster (the local cluster imports its own). */
  image?: string;
  namespace?: string;
  /** A real model API key (stored in a Secret); without it the fake model API serves a scripted task. */
  modelApiKey?: string;
  /**
   * On an external cluster: the Paperclip API URL pods use to call the server back (the server listens on this
   * machine's loopback; pods of another cluster need a tunnel or proxy to reach it).
   */
  paperclipUrlForPods?: string;
  /**
   * Local cluster only: a shared workspace volume (a host-path PersistentVolume over a directory owned by the
   * Paperclip server's user), named to the adapter through CLAUDE_K8S_WORKSPACE_CLAIM / CLAUDE_K8S_WORKSPACE_ROOT.
   */
  sharedWorkspaces?: boolean;
  /** Secrets of the namespace the operator policy admits besides the model key (CLAUDE_K8S_ALLOWED_SECRETS). */
  allowedSecrets?: readonly string[];
  progress: StackProgress;
}

/** Everything that runs, with one `stop()`. */
export interface Stack {
  clusterKind: 'local' | 'external';
  adminKubeconfig: string;
  image: string;
  tenant: Tenant;
  fakeModelUrl?: string;
  fakeModel?: Awaited<ReturnType<typeof createFakeModelApi>>;
  server: PaperclipServer;
  client: PaperclipClient;
  /** The adapter config an agent of this stack uses. */
  adapterConfig: Record<string, unknown>;
  /** The environment the Paperclip server was started with (its operator policy included): a restart reuses it. */
  serverEnv: Record<string, string>;
  /** The shared workspace volume (with `sharedWorkspaces`): projects' directories go under its `hostPath`. */
  workspaceVolume?: WorkspaceVolume;
  stop(options?: { keepCluster?: boolean }): Promise<void>;
}

/** Fails with a clear message when the kubeconfig's cluster does not answer. */
async function assertClusterReachable(kubeconfig: string): Promise<string> {
  const config = new KubeConfig();
  try {
    config.loadFromFile(kubeconfig);
  } catch (error) {
    throw new Error(`cannot read the kubeconfig ${kubeconfig}: ${(error as Error).message}`, { cause: error });
  }
  const server = config.getCurrentCluster()?.server ?? '(no current cluster)';
  try {
    const version = await Promise.race([
      config.makeApiClient(VersionApi).getCode(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 10 s')), 10_000)),
    ]);
    return `${server} (Kubernetes ${version.gitVersion})`;
  } catch (error) {
    throw new Error(`the cluster of ${kubeconfig} (${server}) does not answer: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function namespaceExists(kubeconfig: string, namespace: string): Promise<boolean> {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  try {
    await config.makeApiClient(CoreV1Api).readNamespace({ name: namespace });
    return true;
  } catch {
    return false;
  }
}

/**
 * Start the product end to end: the cluster (local unless a kubeconfig is given), the namespace with the adapter's
 * RBAC and a token-only kubeconfig, the model (fake unless a key is given), a real Paperclip server with the adapter
 * installed from `packages/paperclip-adapter`.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { progress } = options;
  const namespace = options.namespace ?? 'claude-k8s-agents';
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async (stopOptions: { keepCluster?: boolean } = {}) => {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => progress.info(`cleanup: ${(error as Error).message}`));
    cleanups.length = 0;
    if (!stopOptions.keepCluster && startedCluster) {
      progress.step('stopping the local cluster');
      await clusterDown({ onProgress: () => undefined });
      progress.done('stopping the local cluster');
    }
  };
  let startedCluster = false;
  try {
    let adminKubeconfig: string;
    let image: string;
    let clusterKind: 'local' | 'external';
    /** Whether pods reach this machine's loopback through the local cluster's portal. */
    let portal = false;
    /** The local cluster's state directory (host paths for session volumes live under it). */
    let localState: string | undefined;
    if (options.kubeconfig) {
      clusterKind = 'external';
      progress.step('checking the cluster of KUBECONFIG');
      const where = await assertClusterReachable(options.kubeconfig);
      progress.done('checking the cluster of KUBECONFIG', where);
      adminKubeconfig = options.kubeconfig;
      // The repository's local cluster given through KUBECONFIG keeps its portal and its imported agent image.
      const local = await clusterStatus();
      const given = new KubeConfig();
      given.loadFromFile(options.kubeconfig);
      if (local?.running && local.server === given.getCurrentCluster()?.server) {
        portal = true;
        localState = local.state;
        progress.info(`KUBECONFIG points at the running local cluster (${local.server}); its pod portal is used`);
      }
      const localImage = portal ? local?.images?.agent.ref : undefined;
      const chosen = options.image ?? localImage;
      if (!chosen)
        throw new Error('with KUBECONFIG, give the agent image the cluster can pull (--image or CK8S_AGENT_IMAGE)');
      image = chosen;
    } else {
      clusterKind = 'local';
      progress.step('local cluster: build or reuse Kubernetes, images, bring up');
      const before = await clusterStatus();
      const status = await clusterUp({ onProgress: (line) => progress.info(line) });
      // Only a cluster this call started is stopped again; a running one is reused and left running.
      startedCluster = !before?.running;
      if (!status.images) throw new Error('the local cluster reports no images');
      adminKubeconfig = status.kubeconfig;
      image = status.images.agent.ref;
      portal = true;
      localState = status.state;
      progress.done('local cluster: build or reuse Kubernetes, images, bring up', `${status.server}, image ${image}`);
    }

    let fakeModel: Stack['fakeModel'];
    let modelApiKey = options.modelApiKey;
    if (!modelApiKey) {
      fakeModel = await createFakeModelApi({ host: '127.0.0.1', port: 0 });
      cleanups.push(() => fakeModel!.close());
      modelApiKey = 'fake-model-key';
    }

    progress.step(`namespace ${namespace}: Pod Security restricted, adapter RBAC, model key Secret`);
    const runtimeDir = await mkdtemp(join(tmpdir(), 'ck8s-stack-'));
    if (clusterKind === 'external' && !(await namespaceExists(adminKubeconfig, namespace))) {
      progress.info(`creating namespace ${namespace} (nothing is created outside it)`);
    }
    const tenant = await prepareTenant({
      adminKubeconfig,
      namespace,
      manifestFiles: [join(repoRoot, 'deploy', 'rbac.yaml'), join(repoRoot, 'deploy', 'network-policy.yaml')],
      // Paperclip and the fake model run on this machine: agent pods reach them through the portal's address, which
      // the policy must open (the local cluster enforces NetworkPolicy).
      ...(portal ? { networkPolicyEgress: [{ to: [{ ipBlock: { cidr: `${PORTAL_HOST}/32` } }] }] } : {}),
      serviceAccount: ADAPTER_SERVICE_ACCOUNT,
      outputDir: runtimeDir,
      modelApiKey,
      // One host directory per namespace, kept with the cluster (a PersistentVolume's source cannot change).
      ...(localState ? { sessionHostPath: join(localState, 'sessions', namespace) } : {}),
    });
    cleanups.push(() => removeClusterObjects(adminKubeconfig, tenant.clusterObjects));
    progress.done(`namespace ${namespace}: Pod Security restricted, adapter RBAC, model key Secret`);

    let workspaceVolume: WorkspaceVolume | undefined;
    if (options.sharedWorkspaces) {
      if (!portal) throw new Error('sharedWorkspaces needs the local cluster (its nodes see this machine)');
      const root = join(runtimeDir, 'workspaces');
      await mkdir(root, { recursive: true });
      const serverUser = await resolveServerUser();
      await chown(root, serverUser.uid, serverUser.gid);
      workspaceVolume = await prepareWorkspaceVolume({ adminKubeconfig, namespace, hostPath: root });
      const volumeName = workspaceVolume.volumeName;
      cleanups.push(async () => {
        const admin = new KubeConfig();
        admin.loadFromFile(adminKubeconfig);
        await admin
          .makeApiClient(CoreV1Api)
          .deletePersistentVolume({ name: volumeName })
          .catch(() => undefined);
      });
    }

    progress.step('Paperclip server (real, as a non-root user, on 127.0.0.1)');
    await grantReadAccess(runtimeDir);
    await grantReadAccess(tenant.kubeconfigPath);
    // The agent config names the tenant kubeconfig; the adapter accepts it only from an operator allow-listed directory.
    // Pods call the server through the portal's address: the server's private-hostname guard must allow that host
    // (else every API call from a pod is 403), so the port and its portal come first.
    const serverPort = portal ? await findFreePort() : undefined;
    const portalUrl = serverPort === undefined ? undefined : await exposeToPods(serverPort);
    // The operator policy (issue 15): this namespace, its model key Secret, and the hosts pods reach Paperclip and the
    // model at (the local cluster's portal, else the given URL's host).
    const hostOf = (url: string | undefined): string => (url ? new URL(url).hostname : '');
    const paperclipHostForPods = portal ? PORTAL_HOST : hostOf(options.paperclipUrlForPods);
    const serverEnv: Record<string, string> = {
      KUBECONFIG: tenant.kubeconfigPath,
      CLAUDE_K8S_KUBECONFIG_DIR: dirname(tenant.kubeconfigPath),
      CLAUDE_K8S_ALLOWED_NAMESPACES: namespace,
      CLAUDE_K8S_ALLOWED_SECRETS: [tenant.modelApiKeySecret.name, ...(options.allowedSecrets ?? [])].join(','),
      CLAUDE_K8S_ALLOWED_PAPERCLIP_HOSTS: paperclipHostForPods,
      CLAUDE_K8S_ALLOWED_MODEL_HOSTS: fakeModel && portal ? PORTAL_HOST : '',
      ...(portalUrl === undefined ? {} : { PAPERCLIP_ALLOWED_HOSTNAMES: new URL(portalUrl).hostname }),
      ...(workspaceVolume
        ? {
            CLAUDE_K8S_WORKSPACE_CLAIM: workspaceVolume.claimName,
            CLAUDE_K8S_WORKSPACE_ROOT: workspaceVolume.hostPath,
          }
        : {}),
    };
    const server = await startPaperclipServer({
      ...(serverPort === undefined ? {} : { port: serverPort }),
      env: serverEnv,
    });
    cleanups.push(async () => {
      await server.stop();
    });
    const client = createPaperclipClient(server.apiUrl);
    progress.done(
      'Paperclip server (real, as a non-root user, on 127.0.0.1)',
      `${server.url} in ${server.startDurationMs} ms`,
    );

    progress.step('installing the adapter into Paperclip (POST /api/adapters/install, local path)');
    await grantReadAccess(adapterPackageDir);
    const installed = await client.installLocalAdapter(adapterPackageDir);
    progress.done(
      'installing the adapter into Paperclip (POST /api/adapters/install, local path)',
      `${installed.type} ${String(installed['version'] ?? '')}`,
    );

    // Pods reach this machine's loopback services through the local cluster's portal (see
    // docs/decisions/local-cluster-pod-network.md).
    const paperclipUrlForPods = portalUrl ?? options.paperclipUrlForPods ?? server.url;
    const modelUrlForPods = fakeModel && portal ? await exposeToPods(fakeModel.port) : undefined;
    if (portal && hostOf(paperclipUrlForPods) !== PORTAL_HOST)
      throw new Error(`the portal gave ${paperclipUrlForPods}, outside the allowed Paperclip host ${PORTAL_HOST}`);
    if (fakeModel && !modelUrlForPods)
      throw new Error(
        'the fake model API can only serve the local cluster; give a model API key for an external cluster',
      );
    const adapterConfig: Record<string, unknown> = {
      namespace,
      kubeconfig: tenant.kubeconfigPath,
      image,
      imagePullPolicy: portal ? 'Never' : 'IfNotPresent',
      paperclipApiUrl: paperclipUrlForPods,
      anthropicApiKeySecret: tenant.modelApiKeySecret,
      ...(modelUrlForPods ? { anthropicBaseUrl: modelUrlForPods } : {}),
      ...(tenant.sessionClaim ? { sessionVolume: { claimName: tenant.sessionClaim, mountAs: 'home' } } : {}),
      timeoutSec: 900,
      graceSec: 20,
    };
    return {
      clusterKind,
      adminKubeconfig,
      image,
      tenant,
      ...(fakeModel ? { fakeModel, fakeModelUrl: fakeModel.url } : {}),
      server,
      client,
      adapterConfig,
      serverEnv,
      ...(workspaceVolume ? { workspaceVolume } : {}),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
