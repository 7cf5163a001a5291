/**
 * Adoption after a Paperclip restart (docs/decisions/adoption-after-restart.md): before a run starts its own
 * Job, it looks for an orphaned Job of the same agent and task key (`ctx.runtime.taskKey`; none = the agent's runs
 * without a task). When one exists, this run follows it instead: its transcript from the first line (then live, each
 * line once) goes to `onLog`, and the Job's outcome, session, usage and cost are this run's result. The run's own
 * prompt is not sent; the agent's next run resumes the adopted session. In the transfer mode the adopting run also
 * resumes the workspace transfer (`resumeRunTransfer`): the agent's changes come back to the workspace Paperclip
 * resolved for this run, as they would have to the adopted run's.
 */
import { RunDetachedError, type RunHandle, type RunOutcome } from '@claude-k8s/kube-runtime';
import type { AdapterExecutionContext, AdapterExecutionResult } from '@paperclipai/adapter-utils';
import type { RunInvocation } from './build-invocation.ts';
import type { AdapterConfig } from './config-schema.ts';
import { errorMessage } from './error-message.ts';
import type { RunAccumulatorLike, RunStarter } from './ports.ts';
import { mapEarlyFailure, mapRunResult, type BillingInfo } from './result-mapping.ts';
import type { RunProgressEvent } from '@claude-k8s/kube-runtime';
import {
  applyTransferToResult,
  describeTransfer,
  resumeRunTransfer,
  type TransferExec,
} from './workspace-transfer/run-transfer.ts';

/** What {@link adoptOrphanedRun} needs from `execute`. */
export interface AdoptionInput {
  ctx: AdapterExecutionContext;
  config: AdapterConfig;
  runtime: RunStarter;
  invocation: RunInvocation;
  billing: BillingInfo;
  signal: AbortSignal;
  /** Paperclip's shutdown ({@link splitRunSignal}): the adopted Job is detached again, for the next process. */
  shutdown: AbortSignal;
  now: () => number;
  createAccumulator: () => RunAccumulatorLike;
  waitForOutcome: (handle: RunHandle, config: AdapterConfig, extraGraceSec?: number) => Promise<RunOutcome>;
  /** The transfer mode's exec (`pods/exec`); `undefined` when the runtime has none. */
  transferExec?: TransferExec;
  onProgress: (event: RunProgressEvent) => Promise<void>;
  sessionExtras: { workspaceId?: string; repoUrl?: string; repoRef?: string; image?: string };
}

/**
 * The reason Paperclip aborts a run's signal with when its own controller lease of the run lapses: the server is
 * shutting down (the drain marked the run `interrupted`) or lost its database. That is no operator cancel: the Job is
 * left running for the next run of its task to adopt (docs/decisions/adoption-after-restart.md).
 */
const CONTROLLER_LEASE_LOST = 'Legacy controller lease lost';

/** The run's abort signal split by cause: an operator's cancel, or Paperclip going away. */
export interface RunSignals {
  /** Aborted by a cancel (operator, Paperclip's own stop of the run, a timeout): the Job is deleted. */
  cancel: AbortSignal;
  /** Aborted when Paperclip's controller lease of the run lapses ({@link CONTROLLER_LEASE_LOST}): detach. */
  shutdown: AbortSignal;
}

/** Splits `signal` into an operator cancel and Paperclip's shutdown ({@link RunSignals}). */
export function splitRunSignal(signal: AbortSignal): RunSignals {
  const cancel = new AbortController();
  const shutdown = new AbortController();
  const forward = (): void => {
    const reason: unknown = signal.reason;
    if (reason instanceof Error && reason.message === CONTROLLER_LEASE_LOST) shutdown.abort(reason);
    else cancel.abort(reason);
  };
  if (signal.aborted) forward();
  else signal.addEventListener('abort', forward, { once: true });
  return { cancel: cancel.signal, shutdown: shutdown.signal };
}

/**
 * While `shutdown` can fire: on Paperclip's shutdown, stop following the run at once and leave its Job, pod and
 * Lease untouched, so a Job that ends inside the shutdown's grace is not settled (and deleted) by a process whose run
 * Paperclip already marked `interrupted`; the next run of the task adopts it. Returns the disposer.
 */
export function detachOnShutdown(shutdown: AbortSignal, handle: Pick<RunHandle, 'detach'>): () => void {
  const detach = (): void => handle.detach("Paperclip's controller lease of the run lapsed (server shutdown)");
  if (shutdown.aborted) {
    detach();
    return () => {};
  }
  shutdown.addEventListener('abort', detach, { once: true });
  return () => shutdown.removeEventListener('abort', detach);
}

/** The result of a run detached by Paperclip's shutdown (Paperclip has marked it `interrupted` and ignores it). */
export function detachedResult(
  error: RunDetachedError,
  billing: BillingInfo,
  extra: Record<string, unknown> = {},
): AdapterExecutionResult {
  return mapEarlyFailure(
    'k8s_detached',
    `${error.message}: the next run of this task adopts it (its transcript, session and cost)`,
    billing,
    { jobName: error.jobName, ...extra },
    true,
  );
}

/** The first line of an adoption in the run's log (stderr). */
function adoptionNotice(handle: RunHandle): string {
  const adoption = handle.adoption;
  const created = adoption?.createdAt === null || adoption === undefined ? '' : `, created ${adoption.createdAt}`;
  return (
    `[claude-k8s] adopted Job ${handle.namespace}/${handle.jobName} of run ${adoption?.runId ?? handle.runId} ` +
    `(${adoption?.state ?? 'running'}${created}), left without a follower by a Paperclip restart: this run streams ` +
    `its transcript from the first line and reports its result, session and cost; this run's own prompt was not sent\n`
  );
}

/**
 * Adopts the orphaned Job of this run's agent and task key, if any, and follows it to its result. `null`: nothing to
 * adopt (the caller starts its own Job).
 */
export async function adoptOrphanedRun(input: AdoptionInput): Promise<AdapterExecutionResult | null> {
  const { ctx, runtime, invocation, billing, signal, config } = input;
  if (runtime.adoptOrphan === undefined) return null;
  const accumulator = input.createAccumulator();
  // Output can arrive before adoptOrphan returns: hold it until the adoption notice went out.
  const { promise: noticeSent, resolve: openGate } = Promise.withResolvers<void>();
  let handle: RunHandle | null;
  try {
    handle = await runtime.adoptOrphan(
      { agentId: ctx.agent.id, taskKey: ctx.runtime.taskKey ?? null, adopterRunId: ctx.runId },
      {
        signal,
        ...(invocation.launch.spec.retention === undefined ? {} : { retention: invocation.launch.spec.retention }),
        ...(invocation.launch.spec.graces === undefined ? {} : { graces: invocation.launch.spec.graces }),
        onOutput: async (chunk) => {
          accumulator.push(chunk);
          await noticeSent;
          await ctx.onLog('stdout', chunk);
        },
        onProgress: input.onProgress,
      },
    );
  } catch (error) {
    openGate();
    return mapEarlyFailure(
      'k8s_api_error',
      `look for an orphaned Job to adopt for run ${ctx.runId}: ${errorMessage(error)}`,
      billing,
    );
  }
  if (handle === null) {
    openGate();
    return null;
  }
  const adoption = {
    runId: handle.adoption?.runId ?? handle.runId,
    jobName: handle.jobName,
    namespace: handle.namespace,
    state: handle.adoption?.state ?? 'running',
    createdAt: handle.adoption?.createdAt ?? null,
  };
  try {
    await ctx.onLog('stderr', adoptionNotice(handle));
    await ctx.onMeta?.({
      adapterType: 'claude_k8s',
      command: 'adopt',
      commandNotes: [adoptionNotice(handle).trim()],
      context: { adoptedFrom: adoption, jobName: handle.jobName, namespace: handle.namespace },
    });
  } finally {
    openGate();
  }
  // The transfer mode: the adopted pod's workspace transfer goes on with this run (copy-in again, or collection).
  const target = invocation.transfer;
  const transferExec = input.transferExec;
  const transfer =
    target === null || transferExec === undefined
      ? null
      : resumeRunTransfer({
          target,
          runId: ctx.runId,
          adoptedRunId: adoption.runId,
          handle,
          exec: transferExec,
          limits: { maxInMiB: config.workspace.transferMaxInMiB, maxOutMiB: config.workspace.transferMaxOutMiB },
          log: (line) => ctx.onLog('stderr', line),
        });
  let outcome: RunOutcome;
  const stopDetach = detachOnShutdown(input.shutdown, handle);
  try {
    outcome = await input.waitForOutcome(handle, config, transfer === null ? 0 : config.workspace.transferCollectSec);
  } catch (error) {
    if (RunDetachedError.isInstance(error)) return detachedResult(error, billing, { adoptedFrom: adoption });
    return mapEarlyFailure(
      'k8s_api_error',
      `follow the adopted Job ${handle.namespace}/${handle.jobName}: ${errorMessage(error)}`,
      billing,
      { adoptedFrom: adoption },
    );
  } finally {
    stopDetach();
  }
  const transferReport = transfer === null ? null : await transfer;
  if (transferReport !== null && target !== null)
    for (const line of describeTransfer(transferReport, target)) await ctx.onLog('stderr', line);
  const summary = accumulator.finish({ exitCode: outcome.exitCode, signal: null });
  const result = mapRunResult({
    summary,
    outcome,
    aborted: signal.aborted,
    sessionTarget: invocation.sessionTarget,
    sessionExtras: input.sessionExtras,
    billing,
    now: input.now(),
    timeoutSec: config.timeoutSec,
    jobName: handle.jobName,
    namespace: handle.namespace,
    budgetStop: null,
  });
  result.resultJson = { ...result.resultJson, adoptedFrom: adoption };
  if (transferReport !== null) {
    result.resultJson = { ...result.resultJson, workspace: { ...invocation.workspace } };
    applyTransferToResult(result, transferReport);
  }
  return result;
}
