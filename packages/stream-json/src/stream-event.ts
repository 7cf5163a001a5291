/**
 * Output types: the closed union of events this package produces from Claude Code stream-json. Every event carries
 * the 1-based `lineNumber` of the input line it came from; one line can produce several events (one per content
 * block), and every line produces at least one event, so nothing is dropped.
 */

/** Token counts in this package's shape. All figures are token counts. */
export interface TokenUsage {
  /** Uncached input tokens. */
  inputTokens: number;
  /** Output tokens (thinking included). */
  outputTokens: number;
  /** Input tokens written to the prompt cache. */
  cacheCreationInputTokens: number;
  /** Input tokens read from the prompt cache. */
  cacheReadInputTokens: number;
}

/** One model's usage and its cost in US dollars as computed by the CLI. */
export interface ModelUsage extends TokenUsage {
  /** Cost in US dollars (CLI-side list-price calculation). */
  costUsd: number;
}

/** Fields of events that belong to an agent: the main agent (`null`) or a sub-agent. */
interface AgentScoped {
  /** `null` for the main agent, else the `tool_use` id of the `Agent` call that started the sub-agent. */
  parentToolUseId: string | null;
}

/** First line of a run that reached the model (`system/init`); a second one can appear mid-stream. */
export interface SessionInitEvent {
  type: 'session-init';
  lineNumber: number;
  sessionId: string | null;
  model: string | null;
  cwd: string | null;
  tools: string[];
  permissionMode: string | null;
  claudeCodeVersion: string | null;
  apiKeySource: string | null;
}

/** One assistant text block (a complete block, not a delta). */
export interface TextEvent extends AgentScoped {
  type: 'text';
  lineNumber: number;
  text: string;
  /** `message.id`; several events of one API message share it. */
  messageId: string | null;
  model: string | null;
  /** True when the CLI cut the message short on SIGINT (`aborted: true`). */
  aborted: boolean;
}

/** One assistant thinking block. */
export interface ThinkingEvent extends AgentScoped {
  type: 'thinking';
  lineNumber: number;
  text: string;
  messageId: string | null;
}

/** A tool call by the model (`tool_use` block). `input` is the complete parsed input object. */
export interface ToolCallEvent extends AgentScoped {
  type: 'tool-call';
  lineNumber: number;
  toolUseId: string | null;
  name: string;
  input: unknown;
  messageId: string | null;
}

/** A tool's result, sent back to the model (`tool_result` block in a `user` line). */
export interface ToolResultEvent extends AgentScoped {
  type: 'tool-result';
  lineNumber: number;
  toolUseId: string | null;
  /** The result text (array content joined with newlines). */
  content: string;
  isError: boolean;
  /** The line's `tool_use_result`: the tool's structured result (shape depends on the tool), or `undefined`. */
  structured: unknown;
}

/** Text in a `user` line: a sub-agent's prompt, or `[Request interrupted by user]`. */
export interface UserTextEvent extends AgentScoped {
  type: 'user-text';
  lineNumber: number;
  text: string;
}

/** The CLI's synthetic assistant message for an API error (`model: "<synthetic>"`, `is_api_error_message`). */
export interface ApiErrorEvent extends AgentScoped {
  type: 'api-error';
  lineNumber: number;
  /** The readable error text, e.g. `API Error: 400 …` or `Invalid API key · Fix external API key`. */
  text: string;
  /** HTTP status, or `null`. */
  status: number | null;
  /** API error type, e.g. `overloaded_error`, `authentication_error`, or `null`. */
  errorType: string | null;
  /** The CLI's error code, e.g. `authentication_failed`, `server_error`, `unknown`, or `null`. */
  error: string | null;
}

/** `system/api_retry`: a failed API call is about to be retried. */
export interface ApiRetryEvent {
  type: 'api-retry';
  lineNumber: number;
  attempt: number | null;
  maxRetries: number | null;
  /** Delay before the retry, in milliseconds. */
  retryDelayMs: number | null;
  /** HTTP status, or `null` (e.g. a connection error). */
  errorStatus: number | null;
  error: string | null;
}

/** `system/permission_denied`: a tool call refused by the permission mode. Not a run failure. */
export interface PermissionDeniedEvent {
  type: 'permission-denied';
  lineNumber: number;
  toolName: string | null;
  toolUseId: string | null;
  message: string;
}

/** Sub-agent lifecycle (`system/task_started|task_progress|task_updated|task_notification`). */
export interface TaskEvent {
  type: 'task';
  lineNumber: number;
  phase: 'started' | 'progress' | 'updated' | 'notification';
  taskId: string | null;
  toolUseId: string | null;
  description: string | null;
  /** Status on `updated`/`notification` (e.g. `completed`), else `null`. */
  status: string | null;
  /** Summary on `notification`, else `null`. */
  summary: string | null;
  /** Last tool used by the sub-agent on `progress`, else `null`. */
  lastToolName: string | null;
}

/** Housekeeping `system` lines: `status` (`requesting`), `thinking_tokens`, `background_tasks_changed`. */
export interface SystemStatusEvent {
  type: 'system-status';
  lineNumber: number;
  subtype: 'status' | 'thinking_tokens' | 'background_tasks_changed';
  /** `status` value for `status`, else `null`. */
  status: string | null;
  /** Estimated thinking tokens so far for `thinking_tokens`, else `null`. */
  estimatedTokens: number | null;
}

/** A streamed text fragment (`--include-partial-messages`). The complete block follows as a `text` event. */
export interface TextDeltaEvent extends AgentScoped {
  type: 'text-delta';
  lineNumber: number;
  text: string;
  /** Content block index in the API message. */
  index: number | null;
  messageId: string | null;
}

/** A streamed thinking fragment (`--include-partial-messages`). */
export interface ThinkingDeltaEvent extends AgentScoped {
  type: 'thinking-delta';
  lineNumber: number;
  text: string;
  index: number | null;
  messageId: string | null;
}

/** A streamed fragment of a tool call's JSON input (`input_json_delta`). */
export interface ToolInputDeltaEvent extends AgentScoped {
  type: 'tool-input-delta';
  lineNumber: number;
  partialJson: string;
  index: number | null;
  messageId: string | null;
}

/** Any other `stream_event` (`message_start`, `content_block_start/stop`, `message_delta`, `message_stop`, …). */
export interface StreamEventEvent extends AgentScoped {
  type: 'stream-event';
  lineNumber: number;
  /** `event.type`, e.g. `message_delta`, or `null` when missing. */
  eventType: string | null;
  /** `message_delta`'s `delta.stop_reason`, else `null`. */
  stopReason: string | null;
  /** The raw SSE event. */
  event: unknown;
}

/** A `result` line: the final summary of a run (a run can print more than one; the last one is final). */
export interface ResultEvent {
  type: 'result';
  lineNumber: number;
  /** `success`, `error_max_turns`, `error_max_budget_usd`, `error_during_execution`, or a newer value. */
  subtype: string | null;
  /** The real failure flag: `true` on API errors even with `subtype: "success"`. */
  isError: boolean;
  /** The final answer text; `null` on the `error_*` subtypes. */
  result: string | null;
  errors: string[];
  sessionId: string | null;
  numTurns: number | null;
  /** Wall time in milliseconds. */
  durationMs: number | null;
  /** Time spent in API calls, in milliseconds. */
  durationApiMs: number | null;
  stopReason: string | null;
  /** `completed`, `max_turns`, `budget_exhausted`, `api_error`, `aborted_streaming`, …; `null` when missing. */
  terminalReason: string | null;
  /** `total_cost_usd`, US dollars: **cumulative over the whole session across `--resume`**. */
  totalCostUsd: number | null;
  /** `usage`: this run's main-agent totals as printed (all zeros on the budget and SIGINT results). */
  usage: TokenUsage | null;
  /** `modelUsage` by model id: **cumulative over the whole session across `--resume`**. */
  modelUsage: Record<string, ModelUsage> | null;
  /** `model_usage_since_last_result` by model id: usage since the previous `result` (sub-agents included). */
  modelUsageSinceLastResult: Record<string, ModelUsage> | null;
  permissionDenials: PermissionDenial[];
  apiErrorStatus: number | null;
  apiErrorType: string | null;
  resultIndex: number | null;
}

/** An entry of `result.permission_denials`. */
export interface PermissionDenial {
  toolName: string | null;
  toolUseId: string | null;
  toolInput: unknown;
}

/**
 * Something this package does not know: an unknown line `type`, an unknown `system` subtype, or an object without
 * a `type`. Passed through so nothing is lost.
 */
export interface UnknownMessageEvent {
  type: 'unknown-message';
  lineNumber: number;
  /** The line's `type` (or `null` when missing or not a string). */
  messageType: string | null;
  subtype: string | null;
  /** The parsed line. */
  value: Record<string, unknown>;
  /** The raw text of the line, for passing it through unchanged. */
  line: string;
}

/** A content block of an unknown `type` inside an `assistant` or `user` message. */
export interface UnknownContentEvent extends AgentScoped {
  type: 'unknown-content';
  lineNumber: number;
  role: 'assistant' | 'user';
  blockType: string | null;
  block: unknown;
}

/** A line that is not a JSON object. */
export interface ParseErrorEvent {
  type: 'parse-error';
  lineNumber: number;
  /**
   * `invalid-json` (not JSON), `not-an-object` (JSON but not an object), `truncated` (unterminated last line),
   * `too-long` (longer than the parser's `maxLineLength`: dropped, `line` holds its first characters only).
   */
  reason: 'invalid-json' | 'not-an-object' | 'truncated' | 'too-long';
  /** The raw text of the line (for `too-long`, its first characters). */
  line: string;
  /** For `too-long`: the dropped line's length (characters of text input, bytes of byte input). */
  droppedLength?: number;
  /** The JSON parser's message, when there is one. */
  message: string;
}

/** Every event this package produces. A closed union: `switch (event.type)` can be exhaustive. */
export type StreamEvent =
  | SessionInitEvent
  | TextEvent
  | ThinkingEvent
  | ToolCallEvent
  | ToolResultEvent
  | UserTextEvent
  | ApiErrorEvent
  | ApiRetryEvent
  | PermissionDeniedEvent
  | TaskEvent
  | SystemStatusEvent
  | TextDeltaEvent
  | ThinkingDeltaEvent
  | ToolInputDeltaEvent
  | StreamEventEvent
  | ResultEvent
  | UnknownMessageEvent
  | UnknownContentEvent
  | ParseErrorEvent;

/** The `type` of every event. */
export type StreamEventType = StreamEvent['type'];
