/**
 * The stable error codes this adapter reports to Paperclip (`errorCode` of a run), one vocabulary for logs, results
 * and docs. Snake_case like Paperclip's own codes; `claude_*` for failures Claude Code reported, `k8s_*` for what
 * Kubernetes did to the pod, `adapter_*` for problems found before anything ran, and Paperclip's own `timeout` and
 * `cancelled`. Codes never change meaning; new ones may be added.
 */
import type { AdapterExecutionResult } from '@paperclipai/adapter-utils';

/** Paperclip's retry families (`errorFamily`). */
export type ErrorFamily = NonNullable<AdapterExecutionResult['errorFamily']>;

interface ErrorCodeInfo {
  /** One line telling the user what to do. */
  hint: string;
  /** Paperclip's retry family, when the failure is worth a bounded automatic retry. */
  family?: ErrorFamily;
  /** True when nothing ran in the pod, so Paperclip may safely retry from scratch. */
  bootstrap?: boolean;
  /** True when the stored session should be dropped. */
  clearSession?: boolean;
  /**
   * The code Paperclip's server acts on for this failure (claude_local reports it), reported as the run's `errorCode`
   * instead of ours; ours stays in `resultJson.claudeK8s.failureClass`.
   */
  paperclipCode?: string;
}

export const ERROR_CODES = {
  // Claude Code (from the stream-json classification)
  claude_auth_required: {
    hint: 'The model API rejected the credentials: check the Secret named by anthropicApiKeySecret.',
  },
  claude_rate_limited: {
    hint: 'The API rate limit or usage quota was hit: wait for the reset or lower concurrency.',
    family: 'provider_quota',
  },
  claude_overloaded: {
    hint: 'The model API was overloaded (HTTP 529): usually temporary.',
    family: 'transient_upstream',
  },
  claude_transient_upstream: {
    hint: 'The model API or the connection to it failed (5xx, network): retry later.',
    family: 'transient_upstream',
  },
  claude_max_turns: {
    hint: 'The run hit maxTurnsPerRun: raise it or narrow the task. The next run starts a fresh session.',
    clearSession: true,
    paperclipCode: 'max_turns_exhausted',
  },
  claude_budget_exhausted: { hint: 'The run hit its spending budget (--max-budget-usd).' },
  budget_exceeded: {
    hint: 'The run crossed a per-run limit (budget.usdPerRun, tokensPerRun or turnsPerRun) and was stopped; the session is kept, so the next run continues the task. Raise the limit or wake the agent again.',
  },
  claude_aborted: { hint: 'Claude Code was interrupted (SIGINT/SIGTERM) before it finished.' },
  claude_context_too_long: {
    hint: 'The conversation exceeds the model context window: the next run starts a fresh session.',
    clearSession: true,
  },
  claude_refusal: { hint: 'The model declined the request: rephrase the task.', family: 'model_refusal' },
  claude_unknown_session: {
    hint: 'The session to resume was not found on the session volume: the next run starts fresh.',
    clearSession: true,
  },
  claude_model_not_found: {
    hint: 'The model id does not exist or is not available to this key: check the model setting.',
    paperclipCode: 'model_not_found',
  },
  claude_api_error: { hint: 'The model API rejected the request: see the message and HTTP status.' },
  claude_argument_error: {
    hint: 'Claude Code refused its command line (see stderr): check extraArgs and the CLI version in the image.',
  },
  claude_truncated_stream: { hint: 'The output ended without a result: claude was killed or crashed.' },
  claude_execution_error: { hint: 'Claude Code reported an error during execution: see the errors.' },
  claude_error: { hint: 'Claude Code reported an error that was not recognised: see the message.' },
  // Kubernetes (from the kube-runtime outcome)
  k8s_image_pull: {
    hint: 'The image could not be pulled: check image, imagePullSecrets and registry access.',
    bootstrap: true,
  },
  k8s_config_error: {
    hint: 'The pod could not be created or started (missing Secret/ConfigMap key, invalid spec, quota): see the events.',
    bootstrap: true,
  },
  k8s_unschedulable: {
    hint: 'No node could take the pod within unschedulableGraceSec: check resources, nodeSelector, tolerations and capacity.',
    bootstrap: true,
  },
  k8s_never_started: { hint: 'The pod ended before its container started: see the events.', bootstrap: true },
  k8s_oom_killed: {
    hint: 'The container exceeded its memory limit and was OOM-killed: raise resources.limits.memory.',
  },
  k8s_evicted: {
    hint: 'The pod was evicted, preempted or lost its node: it may succeed when retried.',
    family: 'transient_upstream',
  },
  k8s_exit_code: {
    hint: 'The container exited with a non-zero code and Claude Code gave no more specific reason: see the log.',
  },
  k8s_deleted_externally: { hint: 'The Job or pod was deleted by someone else while the run was going on.' },
  k8s_lock_timeout: {
    hint: 'Another Job of this agent kept running longer than lockWaitSeconds (lockPolicy wait).',
    bootstrap: true,
  },
  k8s_lock_conflict: {
    hint: 'Another Job of this agent is running and lockPolicy is reject (or it could not be adopted).',
    bootstrap: true,
  },
  k8s_detached: {
    hint: "Paperclip shut down while the run's Job was going on: the Job was left running (or ended) untouched, and the next run of the same task adopts it, with its transcript, session and cost.",
  },
  k8s_workspace_transfer: {
    hint: "workspace.mode transfer: the workspace could not be copied into the pod, or the agent's changes could not be collected from it, through pods/exec (RBAC, size limits transferMaxInMiB / transferMaxOutMiB, the pod ending early): see the message.",
  },
  k8s_api_error: {
    hint: 'The Kubernetes API refused or failed a request: check RBAC (see deploy/rbac.yaml) and connectivity.',
    bootstrap: true,
  },
  // Before anything ran
  adapter_config_invalid: { hint: 'The agent configuration is invalid: every problem is listed with its field path.' },
  adapter_files_too_large: {
    hint: 'Prompt, instructions, skills and MCP config exceed what a Secret can hold (1 MiB): trim the skills.',
  },
  adapter_host_file_unreadable: {
    hint: 'A file on the Paperclip server (instructions or skills) could not be read.',
    bootstrap: true,
  },
  adapter_internal_error: { hint: 'An unexpected adapter error: see the message and report it.' },
  // Paperclip's own
  timeout: { hint: 'The run exceeded timeoutSec (the Job deadline) and was stopped.' },
  cancelled: { hint: 'The run was cancelled; the Job was deleted.' },
} as const satisfies Record<string, ErrorCodeInfo>;

/** A stable error code of this adapter. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Facts about one error code. */
export function describeErrorCode(code: ErrorCode): ErrorCodeInfo {
  return ERROR_CODES[code];
}

/**
 * The `errorCode` a run reports for one of our codes: Paperclip's own code where its server acts on one
 * (`max_turns_exhausted` starts the max-turns continuation run, `model_not_found` marks the configuration incomplete),
 * otherwise ours.
 */
export function reportedErrorCode(code: ErrorCode): string {
  const info: ErrorCodeInfo = ERROR_CODES[code];
  return info.paperclipCode ?? code;
}

/** Maps a stream-json failure class (kebab-case) to this adapter's code. Unknown classes map to `claude_error`. */
export function claudeErrorCode(failureCode: string): ErrorCode {
  switch (failureCode) {
    case 'authentication':
      return 'claude_auth_required';
    case 'rate-limited':
      return 'claude_rate_limited';
    case 'overloaded':
      return 'claude_overloaded';
    case 'transient-upstream':
      return 'claude_transient_upstream';
    case 'max-turns':
      return 'claude_max_turns';
    case 'budget-exhausted':
      return 'claude_budget_exhausted';
    case 'aborted':
      return 'claude_aborted';
    case 'context-too-long':
      return 'claude_context_too_long';
    case 'refusal':
      return 'claude_refusal';
    case 'unknown-session':
      return 'claude_unknown_session';
    case 'model-not-found':
      return 'claude_model_not_found';
    case 'api-error':
      return 'claude_api_error';
    case 'argument-error':
      return 'claude_argument_error';
    case 'truncated-stream':
      return 'claude_truncated_stream';
    case 'execution-error':
      return 'claude_execution_error';
    default:
      return 'claude_error';
  }
}
