/**
 * `execute(ctx)`: one Paperclip run as one (or, after an unknown session, two) Kubernetes Job attempts.
 * Order: validate config → build invocation → await onCancellationReady → onDispatch → start → onMeta → stream
 * stdout to onLog (unchanged, in order, each awaited) → map the result.
 */
import {
  LockHeldError,
  RunCancelledError,
  RunDetachedError,
  type RunHandle,
  type RunOutcome,
  type RunProgressEvent,
} from '@claude-k8s/kube-runtime';
import type { AdapterExecutionContext, AdapterExecutionResult } from '@paperclipai/adapter-utils';
import { createBudgetGuard, resolveRunBudget } from './budget/budget-guard.ts';
import { buildInvocation, type RunInvocation } from './build-invocation.ts';
import type { HostPathSettings } from './host-path-policy.ts';
import {
  checkNamespaceLabels,
  checkOperatorPolicy,
  formatPolicyRefusal,
  resolveOperatorPolicy,
  podDefaults,
  type NamespaceLabels,
  type OperatorPolicy,
  type OperatorPolicySettings,
  type PolicyRefusal,
} from './operator-policy.ts';
import { buildInvocationMeta } from './invocation/invocation-card.ts';
import { formatConfigIssues, parseAdapterConfig, type AdapterConfig } from './config-schema.ts';
import type { ErrorCode } from './error-codes.ts';
import type { Clock, HostFiles, Logger, RunAccumulatorLike, RunStarter, RunSummaryLike, RunTarget } from './ports.ts';
import { droppedLines, mapEarlyFailure, mapRunResult, type BillingInfo } from './result-mapping.ts';
import { isRecord } from './raw-values.ts';
import { errorMessage } from './error-message.ts';
import { applyTransferToResult, describeTransfer, startRunTransfer } from './workspace-transfer/run-transfer.ts';
import { adoptOrphanedRun, detachedResult, detachOnShutdown, splitRunSignal } from './adopt-orphan.ts';

/** Extra wait past the Job deadline plus grace before the adapter stops waiting itself. Milliseconds. */
const DEADLINE_SLACK_MS = 30_000;

/** Collaborators of {@link createExecute}. */
export interface ExecuteDependencies {
  /** Returns kube-runtime for a run's target cluster (per kubeconfig and namespace); `null` when none is wired. */
  getRuntime: (target: RunTarget, config: AdapterConfig) => RunStarter | null;
  createAccumulator: () => RunAccumulatorLike;
  hostFiles: HostFiles;
  clock: Clock;
  logger: Logger;
  serverEnv: Readonly<Record<string, string | undefined>>;
  resolveDefaultNamespace: () => Promise<string>;
  /** `fetch` for reading Paperclip's budgets with the run token; the global one by default. */
  fetch?: typeof globalThis.fetch;
  /** Server-side host-path settings (see {@link HostPathSettings}). @default {} */
  hostPaths?: HostPathSettings;
  /** The operator's policy on agent configurations (see {@link OperatorPolicySettings}); unset fields: the environment. */
  policy: OperatorPolicySettings;
  /** Reads a namespace's labels in a run's target cluster (its Pod Security level is checked before each run). */
  readNamespace: (target: RunTarget) => Promise<NamespaceLabels>;
}

/** The early failure of a configuration the operator policy refuses: every refusal, each naming its setting. */
function policyFailure(refusals: readonly PolicyRefusal[], billing: BillingInfo): AdapterExecutionResult {
  return mapEarlyFailure(
    'adapter_config_invalid',
    `claude_k8s configuration refused by the operator policy: ${refusals.map(formatPolicyRefusal).join('; ')}`,
    billing,
    { policyRefusals: refusals.map((refusal) => ({ ...refusal })) },
  );
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

/** The error code of a refused start: the agent's run lock by its class marker, anything else an API error. */
function startErrorCode(error: unknown): ErrorCode {
  if (!LockHeldError.isInstance(error)) return 'k8s_api_error';
  return error.code === 'lock-conflict' ? 'k8s_lock_conflict' : 'k8s_lock_timeout';
}

/**
 * The attempt did nothing a rerun could repeat: no assistant text, thinking or tool call on stdout, no turn, no
 * tokens and no cost. Only then is an unknown session retried fresh (the classification is a text match, which an
 * agent's own words can trigger after real work).
 */
function madeNoTurn(summary: RunSummaryLike): boolean {
  const { usage } = summary;
  const tokens = usage.inputTokens + usage.outputTokens + usage.cacheCreationInputTokens + usage.cacheReadInputTokens;
  return (
    (summary.assistantEvents ?? 0) === 0 &&
    (summary.numTurns ?? 0) === 0 &&
    tokens === 0 &&
    (summary.costUsd ?? 0) === 0
  );
}

/** The user-facing line of a progress event worth a notice (lost or unreadable output); `null` for the others. */
function describeProgress(event: RunProgressEvent): string | null {
  switch (event.type) {
    case 'log-gap':
      return `[claude-k8s] log gap: the kubelet rotated output away during a disconnect (between ${event.lastTimestampBefore ?? 'start'} and ${event.firstTimestampAfter}); ${event.knownLostBytes} bytes known lost`;
    case 'log-incomplete':
      return `[claude-k8s] log follow ended early: ${event.message}`;
    case 'scheduled':
    case 'running':
    case 'progress':
      return null;
  }
}

/** What the stored session is kept with besides its id: the image and the Paperclip workspace. */
function sessionExtrasOf(
  ctx: AdapterExecutionContext,
  invocation: RunInvocation,
): { workspaceId?: string; repoUrl?: string; repoRef?: string; image?: string } {
  const workspace = isRecord(ctx.context['paperclipWorkspace']) ? ctx.context['paperclipWorkspace'] : {};
  const extras: { workspaceId?: string; repoUrl?: string; repoRef?: string; image?: string } = {
    image: invocation.launch.spec.image ?? '',
  };
  if (typeof workspace['workspaceId'] === 'string') extras.workspaceId = workspace['workspaceId'];
  if (typeof workspace['repoUrl'] === 'string') extras.repoUrl = workspace['repoUrl'];
  if (typeof workspace['repoRef'] === 'string') extras.repoRef = workspace['repoRef'];
  return extras;
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

  /**
   * The exit grace after the final result: armed by the first `result` event (output can arrive before the handle),
   * it deletes the Job when claude is still running `graceSec` later. `stopped()` says whether it did.
   */
  function createResultGrace(graceSec: number, runId: string) {
    let handle: RunHandle | null = null;
    let armed = false;
    let fired = false;
    let done = false;
    let timer: unknown = null;
    const arm = (): void => {
      if (armed || done || handle === null) return;
      armed = true;
      const target = handle;
      timer = clock.setTimeout(() => {
        timer = null;
        if (done) return;
        fired = true;
        logger.info('claude is still running after its result; deleting the Job', { runId, jobName: target.jobName });
        target
          .cancel(`claude did not exit within resultGraceSec (${graceSec}s) after its result`)
          .catch((error: unknown) => logger.warn('stopping the Job after the result failed', { error: String(error) }));
      }, graceSec * 1000);
    };
    let seen = false;
    return {
      resultSeen: (): void => {
        seen = true;
        arm();
      },
      attach: (value: RunHandle): void => {
        handle = value;
        if (seen) arm();
      },
      dispose: (): void => {
        done = true;
        if (timer !== null) clock.clearTimeout(timer);
      },
      stopped: (): boolean => fired,
    };
  }

  function waitForOutcome(handle: RunHandle, config: AdapterConfig, extraGraceSec = 0): Promise<RunOutcome> {
    if (config.timeoutSec <= 0) return handle.outcome;
    const limitMs = (config.timeoutSec + config.graceSec + extraGraceSec) * 1000 + DEADLINE_SLACK_MS;
    return new Promise<RunOutcome>((resolve, reject) => {
      let fired = false;
      const timer = clock.setTimeout(() => {
        fired = true;
        logger.warn('the Job outlived its deadline; cancelling it', { jobName: handle.jobName });
        const deadline = (outcome: RunOutcome | null, message: string): RunOutcome => ({
          exitCode: null,
          events: [],
          podName: handle.podName,
          cancelledAt: null,
          output: null,
          ...outcome,
          code: 'deadline-exceeded',
          reason: 'DeadlineExceeded',
          message,
          hint: null,
          jobName: handle.jobName,
          namespace: handle.namespace,
          endedAt: outcome?.endedAt ?? new Date(clock.now()).toISOString(),
        });
        handle.cancel('deadline exceeded').then(
          (outcome) => resolve(deadline(outcome, 'the adapter stopped the Job after timeoutSec + graceSec')),
          (error: unknown) => resolve(deadline(null, `the adapter could not delete the Job: ${errorMessage(error)}`)),
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

  /** The acknowledged `cancelled` result of a run cancelled before any container ran. */
  function cancelledBeforeStart(billing: BillingInfo, proof: string): AdapterExecutionResult {
    const result = mapEarlyFailure('cancelled', 'cancelled', billing);
    result.resultJson = {
      ...result.resultJson,
      executionCancellation: { state: 'acknowledged', acknowledgedAt: new Date(clock.now()).toISOString(), proof },
    };
    return result;
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
    // A server shutdown aborts the signal too: that is no cancel; the run is detached and its Job stays for the next
    // run of its task to adopt.
    const { cancel: signal, shutdown } = splitRunSignal(ctx.signal ?? new AbortController().signal);
    let defaultNamespace: string;
    try {
      defaultNamespace = await dependencies.resolveDefaultNamespace();
    } catch (error) {
      return mapEarlyFailure(
        'adapter_internal_error',
        `resolve the default namespace: ${errorMessage(error)}`,
        billing,
      );
    }

    let policy: OperatorPolicy;
    try {
      policy = resolveOperatorPolicy(dependencies.policy, dependencies.serverEnv, defaultNamespace);
    } catch (error) {
      return mapEarlyFailure(
        'adapter_config_invalid',
        `the server's operator policy is invalid: ${errorMessage(error)}`,
        billing,
      );
    }
    const refusals = checkOperatorPolicy(config, policy, config.namespace ?? defaultNamespace);
    if (refusals.length > 0) return policyFailure(refusals, billing);

    // Budget (issue 18): this run's limits, Paperclip's remaining monthly budget included when asked for.
    const budget = await resolveRunBudget(config, billing.billingType, {
      token: ctx.authToken,
      companyId: ctx.agent.companyId,
      agentId: ctx.agent.id,
      serverEnv: dependencies.serverEnv,
      ...(dependencies.fetch === undefined ? {} : { fetch: dependencies.fetch }),
    });
    for (const note of budget.notes) await notice(ctx, 'warn', note);

    let retriedFresh = false;
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      const built = await buildInvocation(ctx, config, {
        hostFiles: dependencies.hostFiles,
        serverEnv: dependencies.serverEnv,
        defaultNamespace,
        forceFreshSession: retriedFresh,
        attempt,
        podDefaults: podDefaults(config, policy),
        ...(dependencies.hostPaths ? { hostPaths: dependencies.hostPaths } : {}),
      });
      if (!built.success) return mapEarlyFailure(built.code, built.message, billing);
      const invocation: RunInvocation = built.value;
      let runtime: RunStarter | null;
      try {
        runtime = dependencies.getRuntime(invocation.launch.target, config);
      } catch (error) {
        // E.g. the configured kubeconfig cannot be read: nothing was sent to a cluster.
        return mapEarlyFailure('k8s_api_error', `start the Job of run ${ctx.runId}: ${errorMessage(error)}`, billing, {
          attempt,
        });
      }
      if (runtime === null)
        return mapEarlyFailure(
          'adapter_internal_error',
          'no Kubernetes runtime is wired into this adapter build',
          billing,
        );
      const transferExec = runtime.exec?.bind(runtime);
      if (invocation.transfer !== null && transferExec === undefined)
        return mapEarlyFailure(
          'adapter_internal_error',
          'workspace.mode transfer needs pods/exec, which this adapter build does not wire',
          billing,
        );

      if (attempt === 1) {
        // Pod Security of the namespace, read from the cluster before anything is created there.
        let labels: NamespaceLabels;
        try {
          labels = await dependencies.readNamespace(invocation.launch.target);
        } catch (error) {
          return mapEarlyFailure(
            'k8s_api_error',
            `read namespace ${invocation.launch.target.namespace}: ${errorMessage(error)}`,
            billing,
          );
        }
        const refused = checkNamespaceLabels(invocation.launch.target.namespace, labels, policy);
        if (refused !== null) return policyFailure([refused], billing);
        await ctx.onCancellationReady?.();
        if (signal.aborted) return cancelledBeforeStart(billing, 'cancelled before any Job was created');
        ctx.onDispatch?.();
        // After a Paperclip restart: follow the orphaned Job of this task instead of starting a second one.
        const adopted = await adoptOrphanedRun({
          ctx,
          config,
          runtime,
          invocation,
          billing,
          signal,
          shutdown,
          now: () => clock.now(),
          createAccumulator: dependencies.createAccumulator,
          waitForOutcome,
          ...(transferExec === undefined ? {} : { transferExec: (input) => transferExec(input) }),
          onProgress: async (event) => {
            const line = describeProgress(event);
            if (line !== null) await notice(ctx, 'info', line);
          },
          sessionExtras: sessionExtrasOf(ctx, invocation),
        });
        if (adopted !== null) return adopted;
      }

      const accumulator = dependencies.createAccumulator();
      // Budget (issue 18): the live meter reads the same stdout and can stop this attempt.
      const budgetGuard = createBudgetGuard({
        budget,
        log: (line) => ctx.onLog('stderr', line),
        warn: (message) => logger.warn(message, { runId: ctx.runId }),
      });
      // Output can arrive before start() returns; hold it until onMeta went out, so the invocation card comes first.
      const { promise: metaSent, resolve: openGate } = Promise.withResolvers<void>();
      // claude_local's terminal-result cleanup: once the result is out, claude gets resultGraceSec to exit, then the
      // Job is deleted and the run ends with that result.
      const resultGrace = createResultGrace(config.resultGraceSec, ctx.runId);
      let handle: RunHandle;
      try {
        handle = await runtime.startRun({
          ...invocation.launch.spec,
          signal,
          onOutput: async (chunk) => {
            accumulator.push(chunk);
            if (accumulator.hasResult()) resultGrace.resultSeen();
            await metaSent;
            await ctx.onLog('stdout', chunk);
            await budgetGuard.push(chunk);
          },
          onProgress: async (event) => {
            const line = describeProgress(event);
            if (line !== null) await notice(ctx, 'info', line);
          },
        });
      } catch (error) {
        openGate();
        resultGrace.dispose();
        // A cancel wins over whatever the start met (also a lock wait it interrupted).
        if (signal.aborted || RunCancelledError.isInstance(error))
          return cancelledBeforeStart(
            billing,
            RunCancelledError.isInstance(error) && error.phase === 'lock-wait'
              ? "cancelled while waiting for the agent's lock; no Job was created"
              : 'cancelled before the container started; no Job is left',
          );
        return mapEarlyFailure(
          startErrorCode(error),
          `start the Job of run ${ctx.runId}: ${errorMessage(error)}`,
          billing,
          { attempt },
        );
      }
      budgetGuard.attach(async (reason) => {
        await handle.cancel(reason);
      });
      // The transfer mode: the workspace goes in once the container runs (claude waits for it), the changes come back
      // when claude ended, before the container may end (docs/decisions/workspace-transfer-mode.md).
      const transfer =
        invocation.transfer === null || transferExec === undefined
          ? null
          : startRunTransfer({
              target: invocation.transfer,
              runId: ctx.runId,
              handle,
              exec: (input) => transferExec(input),
              limits: { maxInMiB: config.workspace.transferMaxInMiB, maxOutMiB: config.workspace.transferMaxOutMiB },
              log: async (line) => {
                await metaSent;
                await ctx.onLog('stderr', line);
              },
            });
      resultGrace.attach(handle);
      try {
        await ctx.onMeta?.(
          buildInvocationMeta(invocation, { jobName: handle.jobName, namespace: handle.namespace, attempt }),
        );
      } finally {
        openGate();
      }

      let outcome: RunOutcome;
      const stopDetach = detachOnShutdown(shutdown, handle);
      try {
        outcome = await waitForOutcome(
          handle,
          config,
          invocation.transfer === null ? 0 : config.workspace.transferCollectSec,
        );
      } catch (error) {
        if (RunDetachedError.isInstance(error))
          return detachedResult(error, billing, { attempt, namespace: handle.namespace });
        // The Job exists and may have run: this is not a bootstrap failure (Paperclip must not replay it blindly).
        return mapEarlyFailure(
          'k8s_api_error',
          `follow the Job ${handle.namespace}/${handle.jobName}: ${errorMessage(error)}`,
          billing,
          { attempt },
          true,
        );
      } finally {
        stopDetach();
        resultGrace.dispose();
      }
      const transferReport = transfer === null ? null : await transfer;
      if (transferReport !== null && invocation.transfer !== null)
        for (const line of describeTransfer(transferReport, invocation.transfer)) await ctx.onLog('stderr', line);
      const summary = accumulator.finish({ exitCode: outcome.exitCode, signal: null });
      for (const dropped of droppedLines(summary))
        await ctx.onLog(
          'stderr',
          `[claude-k8s] line too long: stdout line ${dropped.lineNumber} (${dropped.length} characters) is over the stream parser's limit and was not parsed (it stays in the raw log); the lines after it were parsed\n`,
        );

      if (
        attempt === 1 &&
        invocation.resume.resume &&
        !signal.aborted &&
        summary.failure?.code === 'unknown-session' &&
        madeNoTurn(summary)
      ) {
        retriedFresh = true;
        await ctx.onLog(
          'stderr',
          `[claude-k8s] session ${invocation.resume.sessionId} was not found on the session volume; retrying with a fresh session\n`,
        );
        continue;
      }

      const extras = sessionExtrasOf(ctx, invocation);
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
        budgetStop: budgetGuard.finish(summary),
        stoppedAfterResult: resultGrace.stopped() ? { graceSec: config.resultGraceSec } : null,
      });
      // Where the agent worked: `shared` = in Paperclip's workspace itself, `none` = in the pod's own directory.
      result.resultJson = { ...result.resultJson, workspace: { ...invocation.workspace } };
      if (transferReport !== null) applyTransferToResult(result, transferReport);
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
