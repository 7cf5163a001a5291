/**
 * `execute(ctx)`: one Paperclip run as one (or, after an unknown session, two) Kubernetes Job attempts.
 * Order: validate config → build invocation → await onCancellationReady → onDispatch → start → onMeta → stream
 * stdout to onLog (unchanged, in order, each awaited) → map the result.
 */
import type { AdapterExecutionContext, AdapterExecutionResult } from '@paperclipai/adapter-utils';
import { buildInvocation, type RunInvocation } from './build-invocation.ts';
import type { HostPathSettings } from './host-path-policy.ts';
import { buildInvocationMeta } from './invocation/invocation-card.ts';
import { formatConfigIssues, parseAdapterConfig, type AdapterConfig } from './config-schema.ts';
import type { Clock, HostFiles, Logger, RunAccumulatorLike, RunHandle, RunLauncher, RunOutcomeLike } from './ports.ts';
import { mapEarlyFailure, mapRunResult, type BillingInfo } from './result-mapping.ts';
import { isRecord } from './raw-values.ts';

/** Extra wait past the Job deadline plus grace before the adapter stops waiting itself. Milliseconds. */
const DEADLINE_SLACK_MS = 30_000;

/** Collaborators of {@link createExecute}. */
export interface ExecuteDependencies {
  /** Returns the launcher for a config (per kubeconfig / cluster); `null` when no runtime is wired. */
  getLauncher: (config: AdapterConfig) => RunLauncher | null;
  createAccumulator: () => RunAccumulatorLike;
  hostFiles: HostFiles;
  clock: Clock;
  logger: Logger;
  serverEnv: Readonly<Record<string, string | undefined>>;
  resolveDefaultNamespace: () => Promise<string>;
  /** Server-side host-path settings (see {@link HostPathSettings}). @default {} */
  hostPaths?: HostPathSettings;
}

/**
 * Billing facts derived from the configured credentials: an API key (Secret or env) is metered API use; only a
 * Claude OAuth token is a subscription; Bedrock is billed by AWS.
 */
export function deriveBilling(config: Pick<AdapterConfig, 'env' | 'anthropicApiKeySecret'>): BillingInfo {
  const bedrockFlag = config.env['CLAUDE_CODE_USE_BEDROCK'];
  const bedrock =
    bedrockFlag !== undefined && 'value' in bedrockFlag && (bedrockFlag.value === '1' || bedrockFlag.value === 'true');
  const apiKey = config.anthropicApiKeySecret.name !== undefined || 'ANTHROPIC_API_KEY' in config.env;
  const oauth = 'CLAUDE_CODE_OAUTH_TOKEN' in config.env;
  return {
    biller: bedrock ? 'aws_bedrock' : 'anthropic',
    billingType: apiKey || bedrock ? 'metered_api' : oauth ? 'subscription_included' : 'unknown',
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Creates the adapter's `execute`. */
export function createExecute(
  dependencies: ExecuteDependencies,
): (ctx: AdapterExecutionContext) => Promise<AdapterExecutionResult> {
  const { clock, logger } = dependencies;

  async function notice(ctx: AdapterExecutionContext, level: 'info' | 'warn', message: string): Promise<void> {
    if (ctx.onEvent !== undefined) await ctx.onEvent({ eventType: 'adapter.notice', stream: 'system', level, message });
    else logger[level === 'warn' ? 'warn' : 'info'](message, { runId: ctx.runId });
  }

  function waitForOutcome(handle: RunHandle, config: AdapterConfig): Promise<RunOutcomeLike> {
    if (config.timeoutSec <= 0) return handle.outcome;
    const limitMs = (config.timeoutSec + config.graceSec) * 1000 + DEADLINE_SLACK_MS;
    return new Promise<RunOutcomeLike>((resolve, reject) => {
      let fired = false;
      const timer = clock.setTimeout(() => {
        fired = true;
        logger.warn('the Job outlived its deadline; cancelling it', { jobName: handle.jobName });
        const deadline = (message: string): RunOutcomeLike => ({
          code: 'deadline-exceeded',
          reason: 'DeadlineExceeded',
          message,
          jobName: handle.jobName,
          namespace: handle.namespace,
        });
        handle.cancel('deadline exceeded').then(
          () => resolve(deadline('the adapter stopped the Job after timeoutSec + graceSec')),
          (error: unknown) => resolve(deadline(`the adapter could not delete the Job: ${errorText(error)}`)),
        );
      }, limitMs);
      handle.outcome.then(
        (outcome) => {
          clock.clearTimeout(timer);
          // A cancellation the watchdog caused is a timeout, not an operator cancel.
          resolve(
            fired && outcome.code === 'cancelled'
              ? { ...outcome, code: 'deadline-exceeded', reason: 'DeadlineExceeded' }
              : outcome,
          );
        },
        (error: unknown) => {
          clock.clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  return async function execute(ctx: AdapterExecutionContext): Promise<AdapterExecutionResult> {
    const parsed = parseAdapterConfig(ctx.config);
    for (const warning of parsed.warnings) await notice(ctx, 'warn', `config: ${warning}`);
    if (!parsed.success) {
      return mapEarlyFailure(
        'adapter_config_invalid',
        `invalid claude_k8s configuration: ${formatConfigIssues(parsed.issues)}`,
        { biller: 'anthropic', billingType: 'unknown' },
        { issues: parsed.issues },
      );
    }
    const billing = deriveBilling(parsed.value);
    const config = parsed.value;
    const launcher = dependencies.getLauncher(config);
    if (launcher === null)
      return mapEarlyFailure(
        'adapter_internal_error',
        'no Kubernetes runtime is wired into this adapter build',
        billing,
      );
    const signal = ctx.signal ?? new AbortController().signal;
    let defaultNamespace: string;
    try {
      defaultNamespace = await dependencies.resolveDefaultNamespace();
    } catch (error) {
      return mapEarlyFailure('adapter_internal_error', `resolve the default namespace: ${errorText(error)}`, billing);
    }

    let retriedFresh = false;
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      const built = await buildInvocation(ctx, config, {
        hostFiles: dependencies.hostFiles,
        serverEnv: dependencies.serverEnv,
        defaultNamespace,
        forceFreshSession: retriedFresh,
        ...(dependencies.hostPaths ? { hostPaths: dependencies.hostPaths } : {}),
      });
      if (!built.success) return mapEarlyFailure(built.code, built.message, billing);
      const invocation: RunInvocation = built.value;

      if (attempt === 1) {
        await ctx.onCancellationReady?.();
        if (signal.aborted) {
          const result = mapEarlyFailure('cancelled', 'cancelled', billing);
          result.resultJson = {
            ...result.resultJson,
            executionCancellation: {
              state: 'acknowledged',
              acknowledgedAt: new Date(clock.now()).toISOString(),
              proof: 'cancelled before any Job was created',
            },
          };
          return result;
        }
        ctx.onDispatch?.();
      }

      const accumulator = dependencies.createAccumulator();
      // Output can arrive before start() returns; hold it until onMeta went out, so the invocation card comes first.
      let openGate: () => void = () => undefined;
      const metaSent = new Promise<void>((resolve) => {
        openGate = resolve;
      });
      let handle: RunHandle;
      try {
        handle = await launcher.start({
          ...invocation.request,
          attempt,
          signal,
          onOutput: async (chunk) => {
            accumulator.push(chunk);
            await metaSent;
            await ctx.onLog('stdout', chunk);
          },
          onProgress: (message) => notice(ctx, 'info', message),
        });
      } catch (error) {
        openGate();
        // The agent's run lock (kube-runtime's LockHeldError, matched by shape: no instanceof across packages).
        const lockCode =
          typeof error === 'object' && error !== null && 'holderRunId' in error && 'code' in error
            ? (error as { code: unknown }).code
            : undefined;
        const code =
          lockCode === 'lock-conflict'
            ? 'k8s_lock_conflict'
            : lockCode === 'lock-timeout'
              ? 'k8s_lock_timeout'
              : 'k8s_api_error';
        return mapEarlyFailure(code, `start the Job of run ${ctx.runId}: ${errorText(error)}`, billing, { attempt });
      }
      try {
        await ctx.onMeta?.(
          buildInvocationMeta(invocation, { jobName: handle.jobName, namespace: handle.namespace, attempt }),
        );
      } finally {
        openGate();
      }

      let outcome: RunOutcomeLike;
      try {
        outcome = await waitForOutcome(handle, config);
      } catch (error) {
        return mapEarlyFailure(
          'k8s_api_error',
          `follow the Job ${handle.namespace}/${handle.jobName}: ${errorText(error)}`,
          billing,
          { attempt },
        );
      }
      const summary = accumulator.finish({ exitCode: outcome.exitCode ?? null, signal: outcome.signal ?? null });

      if (attempt === 1 && invocation.resume.resume && !signal.aborted && summary.failure?.code === 'unknown-session') {
        retriedFresh = true;
        await ctx.onLog(
          'stderr',
          `[claude-k8s] session ${invocation.resume.sessionId} was not found on the session volume; retrying with a fresh session\n`,
        );
        continue;
      }

      const workspace = isRecord(ctx.context['paperclipWorkspace']) ? ctx.context['paperclipWorkspace'] : {};
      const extras: { workspaceId?: string; repoUrl?: string; repoRef?: string; image?: string } = {
        image: invocation.request.container.image,
      };
      if (typeof workspace['workspaceId'] === 'string') extras.workspaceId = workspace['workspaceId'];
      if (typeof workspace['repoUrl'] === 'string') extras.repoUrl = workspace['repoUrl'];
      if (typeof workspace['repoRef'] === 'string') extras.repoRef = workspace['repoRef'];
      const result = mapRunResult({
        summary,
        outcome,
        aborted: signal.aborted,
        sessionTarget: invocation.sessionTarget,
        sessionExtras: extras,
        billing,
        now: clock.now(),
        timeoutSec: config.timeoutSec,
        jobName: handle.jobName,
        namespace: handle.namespace,
      });
      if (retriedFresh) {
        result.resultJson = { ...result.resultJson, freshSessionRetry: true };
        if (result.sessionParams === undefined) result.clearSession = true;
      }
      return result;
    }
    /* c8 ignore next */
    return mapEarlyFailure('adapter_internal_error', 'unreachable: no attempt returned', billing);
  };
}
