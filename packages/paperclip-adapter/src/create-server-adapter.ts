import type { ServerAdapterModule } from '@paperclipai/adapter-utils';
import { agentConfigurationDoc, getConfigSchema, type AdapterConfig } from './config-schema.ts';
import { createTestEnvironment, type EnvironmentProbe } from './environment-test.ts';
import { createExecute } from './execute.ts';
import { createKubeEnvironmentProbe } from './kube-environment-probe.ts';
import { createKubeLauncher } from './kube-launcher.ts';
import { createModelLister, MODELS } from './models.ts';
import { getAdapterSessionManagement } from '@paperclipai/adapter-utils/session-compaction';
import { createNodeHostFiles } from './node-host-files.ts';
import type { Clock, HostFiles, Logger, RunAccumulatorLike, RunLauncher } from './ports.ts';
import { sessionCodec } from './session-codec.ts';
import { createStreamJsonAccumulator } from './stream-json-accumulator.ts';
import { listSkills, syncSkills } from './skills.ts';

/** The adapter type, the same as the predecessor's. */
export const ADAPTER_TYPE = 'claude_k8s';

const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** Options of {@link createServerAdapter}; Paperclip calls it with none. */
export interface CreateServerAdapterOptions {
  /** Returns the launcher for a config. @default one kube-runtime launcher per adapter instance ({@link createKubeLauncher}) */
  runtimeFactory?: (config: AdapterConfig) => RunLauncher;
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
}

const defaultClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => globalThis.setTimeout(callback, delayMs),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Creates the Paperclip server adapter module (`type: "claude_k8s"`). Paperclip's plugin loader calls this named
 * export with no arguments; tests and the wiring layer pass ports.
 */
export function createServerAdapter(options: CreateServerAdapterOptions = {}): ServerAdapterModule {
  const clock = options.clock ?? defaultClock;
  const logger = options.logger ?? silentLogger;
  const hostFiles = options.hostFiles ?? createNodeHostFiles();
  const serverEnv = options.serverEnv ?? process.env;
  let namespacePromise: Promise<string> | null = null;
  const resolveDefaultNamespace = (): Promise<string> => {
    namespacePromise ??= (async () => {
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
  let defaultLauncher: RunLauncher | undefined;
  const runtimeFactory =
    options.runtimeFactory ?? ((): RunLauncher => (defaultLauncher ??= createKubeLauncher({ logger })));
  const probeFactory = options.probeFactory ?? createKubeEnvironmentProbe;
  const models = createModelLister({ env: serverEnv });

  return {
    type: ADAPTER_TYPE,
    execute: createExecute({
      getLauncher: (config) => runtimeFactory(config),
      createAccumulator: options.createAccumulator ?? createStreamJsonAccumulator,
      hostFiles,
      clock,
      logger,
      serverEnv,
      resolveDefaultNamespace,
    }),
    testEnvironment: createTestEnvironment({
      getProbe: (config) => probeFactory(config),
      hostFiles,
      clock,
      serverEnv,
      resolveDefaultNamespace,
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
