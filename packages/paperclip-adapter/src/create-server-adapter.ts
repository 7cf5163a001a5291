import type { ServerAdapterModule } from '@paperclipai/adapter-utils';
import { clearLongTimeout, createClusterProbe, loadKubeConfig, setLongTimeout } from '@claude-k8s/kube-runtime';
import { agentConfigurationDoc, getConfigSchema, type AdapterConfig } from './config-schema.ts';
import { createTestEnvironment, type EnvironmentProbe } from './environment-test.ts';
import { createExecute } from './execute.ts';
import { createKubeEnvironmentProbe } from './kube-environment-probe.ts';
import { getAdapterSessionManagement } from '@paperclipai/adapter-utils/session-compaction';
import { resolveKubeconfigPolicy, type HostPathSettings } from './host-path-policy.ts';
import { createKubeRuntimes } from './kube-launcher.ts';
import { createModelLister, MODELS } from './models.ts';
import { createNodeHostFiles } from './node-host-files.ts';
import { defaultNamespaceFromEnv, type NamespaceLabels, type OperatorPolicySettings } from './operator-policy.ts';
import type { Clock, HostFiles, Logger, RunAccumulatorLike, RunStarter, RunTarget } from './ports.ts';
import { sessionCodec } from './session-codec.ts';
import { createStreamJsonAccumulator } from './stream-json-accumulator.ts';
import { listSkills, syncSkills } from './skills.ts';

/** The adapter type, the same as the predecessor's. */
export const ADAPTER_TYPE = 'claude_k8s';

/** Tries of the namespace read before a run (1 s, 2 s, 4 s, 8 s apart). */
const NAMESPACE_READ_ATTEMPTS = 5;

const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** Options of {@link createServerAdapter}; Paperclip calls it with none. */
export interface CreateServerAdapterOptions {
  /**
   * Returns kube-runtime (or a test double of its `startRun`) for a run's target cluster. @default one kube-runtime per
   * (kubeconfig, namespace), kept for the adapter instance's lifetime ({@link createKubeRuntimes})
   */
  runtimeFactory?: (target: RunTarget, config: AdapterConfig) => RunStarter;
  /** Creates the stream-json accumulator of one attempt. @default {@link createStreamJsonAccumulator} */
  createAccumulator?: () => RunAccumulatorLike;
  /** Returns the cluster probe of the environment test. @default {@link createKubeEnvironmentProbe} */
  probeFactory?: (config: AdapterConfig) => EnvironmentProbe;
  /** Reads instructions and skills on the Paperclip host. Default: the local filesystem. */
  hostFiles?: HostFiles;
  clock?: Clock;
  logger?: Logger;
  /** Environment of the server process. Default: `process.env`, read at call time. */
  serverEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * What agents' configurations may make the Paperclip host read: kubeconfig directories, exec users, instructions
   * directories. Each unset field falls back to its environment variable. @default {} (see {@link HostPathSettings})
   */
  hostPaths?: HostPathSettings;
  /**
   * The operator's policy on what agent configurations may ask for (namespaces, service accounts, Secrets, pod spec
   * patch fields, URL hosts). Each unset field falls back to its environment variable. @default {} (see
   * {@link OperatorPolicySettings})
   */
  policy?: OperatorPolicySettings;
  /**
   * Reads a namespace's labels in a run's target cluster (its Pod Security level). @default a `get namespaces` with
   * the run's cluster credentials
   */
  namespaceReader?: (target: RunTarget) => Promise<NamespaceLabels>;
}

const defaultClock: Clock = {
  now: () => Date.now(),
  // Delays above Node's 2^31-1 ms limit would fire after 1 ms with the plain globals.
  setTimeout: (callback, delayMs) => setLongTimeout(callback, delayMs, false),
  clearTimeout: (handle) => clearLongTimeout(handle),
};

const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined };

/**
 * Creates the Paperclip server adapter module (`type: "claude_k8s"`). Paperclip's plugin loader calls this named
 * export with no arguments; tests and the wiring layer pass ports.
 */
export function createServerAdapter(options: CreateServerAdapterOptions = {}): ServerAdapterModule {
  const clock = options.clock ?? defaultClock;
  const logger = options.logger ?? silentLogger;
  const hostFiles = options.hostFiles ?? createNodeHostFiles();
  const serverEnv = options.serverEnv ?? process.env;
  const policy = options.policy ?? {};
  let namespacePromise: Promise<string> | null = null;
  const resolveDefaultNamespace = (): Promise<string> => {
    namespacePromise ??= (async () => {
      const configured = defaultNamespaceFromEnv(policy, serverEnv);
      if (configured !== null) return configured;
      const fromEnv = serverEnv['POD_NAMESPACE'] ?? serverEnv['PAPERCLIP_NAMESPACE'];
      if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv.trim();
      try {
        const text = new TextDecoder().decode(await hostFiles.readFile(SERVICE_ACCOUNT_NAMESPACE_FILE)).trim();
        if (text !== '') return text;
      } catch {
        // not in a cluster
      }
      return 'default';
    })();
    return namespacePromise;
  };
  const hostPaths = options.hostPaths ?? {};
  const kubeconfigPolicy = () => resolveKubeconfigPolicy(hostPaths, serverEnv);
  let defaultRuntimes: ((target: RunTarget) => RunStarter) | undefined;
  const runtimeFactory =
    options.runtimeFactory ??
    ((target: RunTarget): RunStarter =>
      (defaultRuntimes ??= createKubeRuntimes({ logger, kubeconfigPolicy: kubeconfigPolicy() }))(target));
  const probeFactory =
    options.probeFactory ?? ((config: AdapterConfig) => createKubeEnvironmentProbe(config, kubeconfigPolicy()));
  const namespaceReader =
    options.namespaceReader ??
    (async (target: RunTarget): Promise<NamespaceLabels> => {
      const kubeConfig = loadKubeConfig({ path: target.kubeconfigPath, policy: kubeconfigPolicy() });
      const probe = createClusterProbe(kubeConfig);
      // An apiserver restart or a dropped connection is retried (as kube-runtime retries its own requests); an
      // answer (found, missing, forbidden) is final.
      for (let attempt = 1; ; attempt += 1) {
        try {
          const labels = await probe.namespaceLabels(target.namespace);
          if (labels === null) return { state: 'unreadable', reason: 'get namespaces is not granted' };
          return labels === 'missing' ? { state: 'missing' } : { state: 'found', labels };
        } catch (error) {
          if (attempt >= NAMESPACE_READ_ATTEMPTS) throw error;
          await new Promise<void>((resolve) => clock.setTimeout(resolve, 500 * 2 ** attempt));
        }
      }
    });
  const models = createModelLister({ env: serverEnv });

  return {
    type: ADAPTER_TYPE,
    execute: createExecute({
      getRuntime: (target, config) => runtimeFactory(target, config),
      createAccumulator: options.createAccumulator ?? createStreamJsonAccumulator,
      hostFiles,
      clock,
      logger,
      serverEnv,
      resolveDefaultNamespace,
      hostPaths,
      policy,
      readNamespace: namespaceReader,
    }),
    testEnvironment: createTestEnvironment({
      getProbe: (config) => probeFactory(config),
      hostFiles,
      clock,
      serverEnv,
      resolveDefaultNamespace,
      policy,
      hostPaths,
    }),
    sessionCodec,
    // Declared as Paperclip's server declares claude_local's: session resume, its compaction policy.
    sessionManagement: getAdapterSessionManagement('claude_local') ?? undefined,
    models: MODELS.map((model) => ({ ...model })),
    listModels: models.listModels,
    refreshModels: models.refreshModels,
    listSkills,
    syncSkills,
    getConfigSchema,
    agentConfigurationDoc,
    supportsLocalAgentJwt: true,
    supportsInstructionsBundle: true,
    instructionsPathKey: 'instructionsFilePath',
    requiresMaterializedRuntimeSkills: false,
    runtimeToolDelivery: 'native_mcp',
  };
}
