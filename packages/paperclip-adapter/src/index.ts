/**
 * `@claude-k8s/paperclip-adapter`: the Paperclip adapter (type `claude_k8s`). Paperclip loads it through
 * {@link createServerAdapter}; the rest of this entry is what an operator or a host application needs around it
 * (options and port types, configuration parsing, error codes, RBAC rules, models, the CLI formatter). The package's
 * own tests import its source files directly (docs/decisions/adapter-public-surface.md).
 *
 * @packageDocumentation
 */
export { createServerAdapter, ADAPTER_TYPE, type CreateServerAdapterOptions } from './create-server-adapter.ts';
export type { HostPathSettings } from './host-path-policy.ts';
export type { NamespaceLabels, OperatorPolicySettings, ResourceQuantities } from './operator-policy.ts';
export {
  formatConfigIssues,
  parseAdapterConfig,
  type AdapterConfig,
  type ParseAdapterConfigResult,
} from './config-schema.ts';
export type { ConfigIssue } from './config-field-schema.ts';
export type { EnvValue, KeyReference, Toleration } from './kubernetes-fields.ts';
export { ERROR_CODES, describeErrorCode, type ErrorCode, type ErrorFamily } from './error-codes.ts';
export { MODELS } from './models.ts';
export { REQUIRED_PERMISSIONS, type RequiredPermission } from './permissions.ts';
export type { EnvironmentProbe } from './environment-test.ts';
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
export { createCliAdapter } from './cli-formatter.ts';
export type { CliAdapterModule, CliAdapterOptions } from './cli-formatter.ts';
