export { createServerAdapter, ADAPTER_TYPE, type CreateServerAdapterOptions } from './create-server-adapter.ts';
export type { HostPathSettings } from './host-path-policy.ts';
export {
  CONFIG_SCHEMA,
  PAPERCLIP_MANAGED_KEYS,
  agentConfigurationDoc,
  buildAgentConfigurationDoc,
  formatConfigIssues,
  getConfigSchema,
  parseAdapterConfig,
  type AdapterConfig,
  type ParseAdapterConfigResult,
} from './config-schema.ts';
export type { ConfigIssue } from './config-field-schema.ts';
export type { EnvValue, KeyReference, Toleration } from './kubernetes-fields.ts';
export { LEGACY_KEY_MAPPINGS, type LegacyKeyMapping } from './legacy-config.ts';
export {
  decideResume,
  decodeSessionParams,
  encodeSessionParams,
  sessionCodec,
  type DecodeSessionResult,
  type ResumeDecision,
  type SessionMatchTarget,
  type SessionParams,
  type SessionVolumeIdentity,
} from './session-codec.ts';
export {
  buildRunPrompt,
  defaultPromptTemplate,
  type BuiltPrompt,
  type RunPrompt,
  type RunPromptInput,
} from './invocation/run-prompt.ts';
export {
  buildInvocation,
  type BuildInvocationOptions,
  type BuildInvocationResult,
  type RunInvocation,
} from './build-invocation.ts';
export { AGENT_POD_LABEL, DEFAULT_HOME, FILES_MOUNT_PATH, SCRATCH_DIR } from './invocation/pod-layout.ts';
export { LAUNCH_SCRIPT } from './invocation/claude-args.ts';
export { buildInvocationMeta, describeEnvVar } from './invocation/invocation-card.ts';
export { resolvePaperclipApiUrl, rewritePaperclipUrl } from './invocation/paperclip-api-url.ts';
export {
  chooseRunFailure,
  mapEarlyFailure,
  mapRunResult,
  type BillingInfo,
  type MapRunResultInput,
  type RunFailureChoice,
} from './result-mapping.ts';
export {
  ERROR_CODES,
  claudeErrorCode,
  describeErrorCode,
  reportedErrorCode,
  type ErrorCode,
  type ErrorFamily,
} from './error-codes.ts';
export {
  MODELS,
  MODEL_DISCOVERY_CACHE_MS,
  MODEL_DISCOVERY_TIMEOUT_MS,
  createModelLister,
  listModels,
  type ModelLister,
  type ModelListerOptions,
} from './models.ts';
export { buildSkillSnapshot, listSkills, syncSkills } from './skills.ts';
export { REQUIRED_PERMISSIONS, type RequiredPermission } from './permissions.ts';
export { createExecute, deriveBilling, type ExecuteDependencies } from './execute.ts';
export { createTestEnvironment, type EnvironmentProbe, type EnvironmentTestDependencies } from './environment-test.ts';
export { createNodeHostFiles } from './node-host-files.ts';
export { PaperclipAdapterError } from './paperclip-adapter-error.ts';
export type {
  Clock,
  HostFile,
  HostFiles,
  Logger,
  RunAccumulatorLike,
  RunDryRunner,
  RunFailureLike,
  RunStarter,
  RunSummaryLike,
  RunTarget,
  TokenUsageLike,
} from './ports.ts';
export { VERSION } from './version.ts';
export { createStreamJsonAccumulator } from './stream-json-accumulator.ts';
export { createCliAdapter, formatStdoutEvent } from './cli-formatter.ts';
export type { CliAdapterModule, CliAdapterOptions } from './cli-formatter.ts';
