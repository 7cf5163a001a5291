/**
 * Stable failure classes of a Claude Code run, each with a one-line hint for the user. Codes are kebab-case and
 * never change meaning; new codes may be added.
 */
export const RUN_FAILURE_CLASSES = {
  authentication: {
    hint: 'The API key or login was rejected: check ANTHROPIC_API_KEY (or the OAuth token) given to the run.',
    retryable: false,
  },
  'rate-limited': {
    hint: 'The API rate limit or usage quota was hit: wait for it to reset, or lower concurrency.',
    retryable: true,
  },
  overloaded: {
    hint: 'The API was overloaded (HTTP 529): this is usually temporary; retry in a moment.',
    retryable: true,
  },
  'transient-upstream': {
    hint: 'The API or the connection to it failed (5xx or network error): retry later.',
    retryable: true,
  },
  'max-turns': {
    hint: 'The run hit --max-turns before finishing: raise the limit or narrow the task.',
    retryable: false,
  },
  'budget-exhausted': { hint: 'The run hit --max-budget-usd: raise the budget or narrow the task.', retryable: false },
  aborted: {
    hint: 'The run was stopped by a signal (SIGINT/SIGTERM) or cancelled before it finished.',
    retryable: false,
  },
  'context-too-long': {
    hint: 'The prompt or conversation exceeds the model context window: start a fresh session or shorten the input.',
    retryable: false,
  },
  refusal: { hint: 'The model declined the request: rephrase the task.', retryable: false },
  'unknown-session': {
    hint: 'The session to resume was not found (unknown, expired or from another working directory): start a fresh session.',
    retryable: false,
  },
  'model-not-found': {
    hint: 'The requested model does not exist or is not available to this key: check --model.',
    retryable: false,
  },
  'api-error': { hint: 'The API rejected the request: see the message and the HTTP status.', retryable: false },
  'argument-error': {
    hint: 'Claude Code refused its command line and printed nothing on stdout: see stderr.',
    retryable: false,
  },
  'truncated-stream': {
    hint: 'The output ended without a result line: the process was killed, crashed or its log was cut.',
    retryable: false,
  },
  'execution-error': { hint: 'Claude Code reported an error during execution: see the errors.', retryable: false },
  unknown: { hint: 'The run reported an error that was not recognised: see the message.', retryable: false },
} as const satisfies Record<string, { hint: string; retryable: boolean }>;

/** A stable failure code, e.g. `authentication`, `max-turns`, `truncated-stream`. */
export type RunFailureCode = keyof typeof RUN_FAILURE_CLASSES;

/** Why a run failed. */
export interface RunFailure {
  /** Stable kebab-case code. */
  code: RunFailureCode;
  /** One line telling the user what to do. */
  hint: string;
  /** The most specific message available (error text, result text or the first stderr line). */
  message: string;
  /** True when retrying the same run later may succeed (rate limit, overload, transient upstream errors). */
  retryable: boolean;
  /** HTTP status of the API error, when there was one. */
  httpStatus: number | null;
}

/** The facts {@link classifyRun} looks at. A {@link RunSummary} has all of them. */
export interface ClassifyRunInput {
  /** True when at least one `result` line was seen. */
  hasResult: boolean;
  /** `is_error` of the last `result`. */
  isError: boolean;
  resultSubtype: string | null;
  resultText: string | null;
  errors: readonly string[];
  stopReason: string | null;
  terminalReason: string | null;
  apiErrorStatus: number | null;
  apiErrorType: string | null;
  /** Text and codes of the CLI's synthetic API-error messages. */
  apiErrors: readonly { text: string; status: number | null; errorType: string | null; error: string | null }[];
  /** Number of JSON lines that parsed (0 means stdout carried no JSON at all). */
  jsonLineCount: number;
  /** The run's stderr text (may be empty). */
  stderr: string;
  /** The process exit code, when known. */
  exitCode?: number | null;
  /** The signal that ended the process (e.g. `SIGTERM`), when known. */
  signal?: string | null;
}

const UNKNOWN_SESSION =
  /no conversation found with session id|--resume requires a valid session|not a valid uuid|unknown session|session .{0,80}not found/i;
const CONTEXT_TOO_LONG =
  /prompt is too long|input is too long|context (length|window) (exceeded|limit)|exceeds? the (model'?s? )?context|maximum context length|too many tokens|request_too_large/i;
const REFUSAL = /\brefusal\b|declined to (respond|answer|help)/i;
const AUTHENTICATION =
  /invalid api key|authentication|unauthori[sz]ed|not logged in|please run \/login|oauth token|invalid x-api-key|credit balance is too low/i;
const RATE_LIMIT = /rate[ _-]?limit|usage limit|quota|too many requests/i;
const OVERLOADED = /overloaded/i;
const TRANSIENT =
  /internal server error|server[ _-]error|bad gateway|service unavailable|gateway timeout|connection (error|refused|reset)|econnreset|econnrefused|etimedout|fetch failed|socket hang up|timed? ?out/i;
const MODEL_NOT_FOUND = /model.{0,80}(not found|does not exist|not available|invalid)|(not_found_error|unknown model)/i;

function failure(code: RunFailureCode, message: string, httpStatus: number | null): RunFailure {
  const entry = RUN_FAILURE_CLASSES[code];
  return {
    code,
    hint: entry.hint,
    message: message.length > 1000 ? `${message.slice(0, 1000)}…` : message,
    retryable: entry.retryable,
    httpStatus,
  };
}

function firstLine(text: string): string {
  const trimmed = text.trim();
  const newline = trimmed.indexOf('\n');
  return newline === -1 ? trimmed : trimmed.slice(0, newline);
}

/**
 * Classifies a finished run. Returns `null` when the run succeeded: the last `result` has `is_error: false`
 * (permission denials included). `is_error` is the truth, not `subtype` (API errors print `subtype: "success"`).
 * Without any `result`, the run failed: `aborted` when a signal is known, `argument-error` when stdout had no
 * JSON and stderr explains, else `truncated-stream`.
 */
export function classifyRun(input: ClassifyRunInput): RunFailure | null {
  if (input.hasResult && !input.isError) return null;
  const apiError = input.apiErrors.at(-1);
  const status = input.apiErrorStatus ?? apiError?.status ?? null;
  const errorType = input.apiErrorType ?? apiError?.errorType ?? '';
  const stderrLine = firstLine(input.stderr);
  const message =
    input.errors.find((error) => error.trim().length > 0) ??
    (input.resultText !== null && input.resultText.trim().length > 0 ? input.resultText : undefined) ??
    apiError?.text ??
    (stderrLine.length > 0 ? stderrLine : undefined) ??
    '';
  const texts = [
    ...input.errors,
    input.resultText ?? '',
    ...input.apiErrors.map((error) => error.text),
    input.stderr,
  ].join('\n');

  if (!input.hasResult) {
    if (input.signal !== undefined && input.signal !== null && input.signal !== '')
      return failure('aborted', message || `terminated by ${input.signal}`, status);
    if (input.exitCode === 143 || input.exitCode === 130)
      return failure('aborted', message || `exited with code ${input.exitCode}`, status);
    if (UNKNOWN_SESSION.test(texts)) return failure('unknown-session', message, status);
    if (input.jsonLineCount === 0 && stderrLine.length > 0) {
      if (AUTHENTICATION.test(input.stderr)) return failure('authentication', message, status);
      return failure('argument-error', message, status);
    }
    return failure('truncated-stream', message || 'the output ended without a result line', status);
  }

  const subtype = input.resultSubtype ?? '';
  const terminal = input.terminalReason ?? '';
  if (subtype === 'error_max_turns' || terminal === 'max_turns') return failure('max-turns', message, status);
  if (subtype === 'error_max_budget_usd' || terminal === 'budget_exhausted')
    return failure('budget-exhausted', message, status);
  if (terminal.startsWith('aborted')) return failure('aborted', message, status);
  if (UNKNOWN_SESSION.test(texts)) return failure('unknown-session', message, status);
  if (input.stopReason === 'refusal' || REFUSAL.test(texts)) return failure('refusal', message, status);
  if (status === 413 || CONTEXT_TOO_LONG.test(texts)) return failure('context-too-long', message, status);
  if (
    status === 401 ||
    status === 403 ||
    errorType === 'authentication_error' ||
    errorType === 'permission_error' ||
    apiError?.error === 'authentication_failed' ||
    AUTHENTICATION.test(texts)
  )
    return failure('authentication', message, status);
  if (status === 429 || errorType === 'rate_limit_error' || apiError?.error === 'rate_limit' || RATE_LIMIT.test(texts))
    return failure('rate-limited', message, status);
  if (status === 529 || errorType === 'overloaded_error' || OVERLOADED.test(texts))
    return failure('overloaded', message, status);
  if (
    (status !== null && status >= 500) ||
    errorType === 'api_error' ||
    apiError?.error === 'server_error' ||
    TRANSIENT.test(texts)
  )
    return failure('transient-upstream', message, status);
  if (status === 404 || errorType === 'not_found_error' || MODEL_NOT_FOUND.test(texts))
    return failure('model-not-found', message, status);
  if (terminal === 'api_error' || status !== null || apiError !== undefined)
    return failure('api-error', message, status);
  if (subtype === 'error_during_execution') return failure('execution-error', message, status);
  return failure('unknown', message, status);
}
