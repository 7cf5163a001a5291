import { classifyRun, type RunFailure } from './classify-run.ts';
import type {
  ModelUsage,
  ParseErrorEvent,
  PermissionDenial,
  ResultEvent,
  StreamEvent,
  TokenUsage,
} from './stream-event.ts';

/** Figures that add up over the whole session across `--resume` / `--continue` (as Claude Code reports them). */
export interface SessionCumulativeFigures {
  /** Last `result.total_cost_usd`, US dollars, whole session. `null` without a result. */
  totalCostUsd: number | null;
  /** Last `result.modelUsage` summed over models, whole session. `null` without a result. */
  usage: TokenUsage | null;
  /** Last `result.modelUsage` by model id, whole session. `null` without a result. */
  modelUsage: Record<string, ModelUsage> | null;
}

/** What one run of Claude Code did, folded from its events. */
export interface RunSummary {
  /** `succeeded` when the last `result` has `is_error: false`; `failed` otherwise (also when there is no result). */
  status: 'succeeded' | 'failed';
  /** Why the run failed, or `null` when it succeeded. */
  failure: RunFailure | null;
  /** The last session id seen (`--resume` keeps it; an unknown resume target reports the requested id). */
  sessionId: string | null;
  /** Every distinct session id seen, in order of appearance (at most the last 100). */
  sessionIds: string[];
  /** The model of the last `system/init` (or of the first real assistant message). */
  model: string | null;
  /** Every distinct model seen (init, messages, usage keys; at most the last 100); `<synthetic>` is left out. */
  models: string[];
  /** True when a `result` line was seen. */
  hasResult: boolean;
  /** Number of `result` lines (more than one with background sub-agents). */
  resultCount: number;
  /** The last result, as an event; `null` without one. */
  lastResult: ResultEvent | null;
  /** `is_error` of the last result; `true` when there is no result. */
  isError: boolean;
  /** `subtype` of the last result. */
  resultSubtype: string | null;
  /** `result` text of the last result (`null` on `error_*` subtypes). */
  resultText: string | null;
  /** Last main-agent assistant text. */
  lastAssistantText: string | null;
  /** The run's answer: the result text when not empty, else the last main-agent assistant text. */
  summary: string | null;
  /** `errors` of all results, in order, without repeats (at most the last 100). */
  errors: string[];
  /** Number of the CLI's synthetic API-error messages. */
  apiErrorCount: number;
  /** The CLI's synthetic API-error messages (the last 100). */
  apiErrors: { text: string; status: number | null; errorType: string | null; error: string | null }[];
  /** Number of `api_retry` lines. */
  apiRetryCount: number;
  /** Permission denials of the last result (else the last 100 `permission_denied` lines). */
  permissionDenials: PermissionDenial[];
  /** `num_turns` of the last result. */
  numTurns: number | null;
  /** `duration_ms` of the last result, milliseconds. */
  durationMs: number | null;
  /** `duration_api_ms` of the last result, milliseconds. */
  durationApiMs: number | null;
  /** Last API stop reason (`result.stop_reason`, else the last `message_delta`'s). */
  stopReason: string | null;
  /** `terminal_reason` of the last result. */
  terminalReason: string | null;
  apiErrorStatus: number | null;
  apiErrorType: string | null;
  /**
   * This run's token usage (sub-agents included): the sum over this run's results of
   * `model_usage_since_last_result`, or of `usage` for a result without that map (or with an empty one). Per run,
   * never cumulative over `--resume`. Zero when there is no result.
   */
  usage: TokenUsage;
  /** Always `per_run`: {@link RunSummary.usage} and {@link RunSummary.usageByModel} cover this run only. */
  usageBasis: 'per_run';
  /** This run's usage by model id (from `model_usage_since_last_result`). */
  usageByModel: Record<string, ModelUsage>;
  /** This run's cost in US dollars (sum of `model_usage_since_last_result[*].costUSD`); `null` when unknown. */
  costUsd: number | null;
  /** The last result's `usage` as printed: main agent only, this run; all zeros on budget and SIGINT results. */
  resultUsage: TokenUsage | null;
  /** Whole-session figures (they add up across `--resume`): `total_cost_usd` and `modelUsage`. */
  sessionCumulative: SessionCumulativeFigures;
  /** Lines that parsed as JSON objects. */
  jsonLineCount: number;
  /** Number of `parse-error` events. */
  parseErrorCount: number;
  /** The first parse errors (up to 20), for display. */
  parseErrors: ParseErrorEvent[];
  /** Number of unknown lines and content blocks passed through. */
  unknownCount: number;
}

/** Process facts the stream alone cannot tell; all optional. */
export interface RunExitInfo {
  /** Exit code of the `claude` process, when known. */
  exitCode?: number | null;
  /** Signal that ended it (e.g. `SIGTERM`), when known. */
  signal?: string | null;
}

/** Folds events into a {@link RunSummary}. Holds only the summary's figures, never the events. */
export interface RunAccumulator {
  /** Add one event. */
  add(event: StreamEvent): void;
  /** Add text the process wrote to stderr (kept up to 64 KiB; used for classification and `argument-error`). */
  addStderr(text: string): void;
  /** The summary so far; call after the last event for the final one. */
  summary(exit?: RunExitInfo): RunSummary;
}

const STDERR_LIMIT = 64 * 1024;
const PARSE_ERROR_LIMIT = 20;
/** Lists kept by the accumulator hold at most this many entries (the latest), so memory stays flat on any input. */
const LIST_LIMIT = 100;

function zeroUsage(): TokenUsage {
  return { inputTokens: 0, outputTokens: 0, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 };
}
function addUsage(target: TokenUsage, add: TokenUsage): void {
  target.inputTokens += add.inputTokens;
  target.outputTokens += add.outputTokens;
  target.cacheCreationInputTokens += add.cacheCreationInputTokens;
  target.cacheReadInputTokens += add.cacheReadInputTokens;
}
function sumModels(byModel: Record<string, ModelUsage>): TokenUsage {
  const total = zeroUsage();
  for (const usage of Object.values(byModel)) addUsage(total, usage);
  return total;
}

/** Creates a {@link RunAccumulator}. */
export function createRunAccumulator(): RunAccumulator {
  const sessionIds: string[] = [];
  const models: string[] = [];
  let initModel: string | null = null;
  let firstMessageModel: string | null = null;
  let lastResult: ResultEvent | null = null;
  let resultCount = 0;
  let lastAssistantText: string | null = null;
  const errors: string[] = [];
  const apiErrors: RunSummary['apiErrors'] = [];
  let apiRetryCount = 0;
  let apiErrorCount = 0;
  const deniedFromLines: PermissionDenial[] = [];
  let streamStopReason: string | null = null;
  const usage = zeroUsage();
  const usageByModel: Record<string, ModelUsage> = {};
  let costUsd: number | null = 0;
  let jsonLineCount = 0;
  let lastJsonLine = 0;
  let parseErrorCount = 0;
  const parseErrors: ParseErrorEvent[] = [];
  let unknownCount = 0;
  let stderr = '';

  function seeSession(id: string | null): void {
    if (id === null || sessionIds.at(-1) === id || sessionIds.includes(id)) return;
    if (sessionIds.length >= LIST_LIMIT) sessionIds.shift();
    sessionIds.push(id);
  }
  function seeModel(model: string | null): void {
    if (model === null || model === '<synthetic>' || models.includes(model)) return;
    if (models.length >= LIST_LIMIT) models.shift();
    models.push(model);
  }
  function addResult(event: ResultEvent): void {
    resultCount++;
    lastResult = event;
    seeSession(event.sessionId);
    for (const error of event.errors) {
      if (errors.includes(error)) continue;
      if (errors.length >= LIST_LIMIT) errors.shift();
      errors.push(error);
    }
    const since = event.modelUsageSinceLastResult;
    if (since !== null && Object.keys(since).length > 0) {
      for (const [model, entry] of Object.entries(since)) {
        seeModel(model);
        const target = (usageByModel[model] ??= { ...zeroUsage(), costUsd: 0 });
        addUsage(target, entry);
        target.costUsd += entry.costUsd;
        if (costUsd !== null) costUsd += entry.costUsd;
      }
      addUsage(usage, sumModels(since));
    } else {
      if (event.usage !== null) addUsage(usage, event.usage);
      // Without the per-result map, this result's cost can't be told apart from the session's.
      if (since === null) costUsd = null;
    }
    if (event.modelUsage !== null) for (const model of Object.keys(event.modelUsage)) seeModel(model);
  }

  return {
    add(event) {
      if (event.type !== 'parse-error' && event.lineNumber !== lastJsonLine) {
        lastJsonLine = event.lineNumber;
        jsonLineCount++;
      }
      switch (event.type) {
        case 'session-init':
          seeSession(event.sessionId);
          seeModel(event.model);
          initModel = event.model ?? initModel;
          return;
        case 'text':
          if (event.model !== null && event.model !== '<synthetic>') {
            seeModel(event.model);
            firstMessageModel ??= event.model;
          }
          if (event.parentToolUseId === null) lastAssistantText = event.text;
          return;
        case 'api-error':
          apiErrorCount++;
          if (apiErrors.length >= LIST_LIMIT) apiErrors.shift();
          apiErrors.push({ text: event.text, status: event.status, errorType: event.errorType, error: event.error });
          return;
        case 'api-retry':
          apiRetryCount++;
          return;
        case 'permission-denied':
          if (deniedFromLines.length >= LIST_LIMIT) deniedFromLines.shift();
          deniedFromLines.push({ toolName: event.toolName, toolUseId: event.toolUseId, toolInput: undefined });
          return;
        case 'stream-event':
          if (event.stopReason !== null) streamStopReason = event.stopReason;
          return;
        case 'result':
          addResult(event);
          return;
        case 'parse-error':
          parseErrorCount++;
          if (parseErrors.length < PARSE_ERROR_LIMIT) parseErrors.push(event);
          return;
        case 'unknown-message':
        case 'unknown-content':
          unknownCount++;
          return;
        case 'thinking':
        case 'tool-call':
        case 'tool-result':
        case 'user-text':
        case 'task':
        case 'system-status':
        case 'text-delta':
        case 'thinking-delta':
        case 'tool-input-delta':
          return;
      }
    },
    addStderr(text) {
      if (stderr.length < STDERR_LIMIT) stderr += text.slice(0, STDERR_LIMIT - stderr.length);
    },
    summary(exit) {
      const result: ResultEvent | null = lastResult;
      const resultText = result?.result ?? null;
      const summaryText = resultText !== null && resultText.trim().length > 0 ? resultText : lastAssistantText;
      const facts = {
        hasResult: result !== null,
        isError: result === null ? true : result.isError,
        resultSubtype: result?.subtype ?? null,
        resultText,
        errors: [...errors],
        stopReason: result?.stopReason ?? streamStopReason,
        terminalReason: result?.terminalReason ?? null,
        apiErrorStatus: result?.apiErrorStatus ?? null,
        apiErrorType: result?.apiErrorType ?? null,
        apiErrors: apiErrors.map((error) => ({ ...error })),
        jsonLineCount,
        stderr,
      };
      const failure = classifyRun({ ...facts, exitCode: exit?.exitCode ?? null, signal: exit?.signal ?? null });
      return {
        status: failure === null ? 'succeeded' : 'failed',
        failure,
        sessionId: sessionIds.at(-1) ?? null,
        sessionIds: [...sessionIds],
        model: initModel ?? firstMessageModel,
        models: [...models],
        hasResult: facts.hasResult,
        resultCount,
        lastResult: result,
        isError: facts.isError,
        resultSubtype: facts.resultSubtype,
        resultText,
        lastAssistantText,
        summary: summaryText,
        errors: facts.errors,
        apiErrorCount,
        apiErrors: facts.apiErrors,
        apiRetryCount,
        permissionDenials: result !== null ? [...result.permissionDenials] : [...deniedFromLines],
        numTurns: result?.numTurns ?? null,
        durationMs: result?.durationMs ?? null,
        durationApiMs: result?.durationApiMs ?? null,
        stopReason: facts.stopReason,
        terminalReason: facts.terminalReason,
        apiErrorStatus: facts.apiErrorStatus ?? facts.apiErrors.at(-1)?.status ?? null,
        apiErrorType: facts.apiErrorType ?? facts.apiErrors.at(-1)?.errorType ?? null,
        usage: { ...usage },
        usageBasis: 'per_run',
        usageByModel: Object.fromEntries(Object.entries(usageByModel).map(([model, entry]) => [model, { ...entry }])),
        costUsd: result === null ? null : costUsd,
        resultUsage: result?.usage ?? null,
        sessionCumulative: {
          totalCostUsd: result?.totalCostUsd ?? null,
          usage: result?.modelUsage ? sumModels(result.modelUsage) : null,
          modelUsage: result?.modelUsage ?? null,
        },
        jsonLineCount,
        parseErrorCount,
        parseErrors: [...parseErrors],
        unknownCount,
      };
    },
  };
}

/** Folds a list of events into a {@link RunSummary} (convenience over {@link createRunAccumulator}). */
export function summarizeRun(events: Iterable<StreamEvent>, options?: { stderr?: string } & RunExitInfo): RunSummary {
  const accumulator = createRunAccumulator();
  for (const event of events) accumulator.add(event);
  if (options?.stderr !== undefined) accumulator.addStderr(options.stderr);
  return accumulator.summary(options);
}
