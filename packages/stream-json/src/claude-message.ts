/**
 * Input types: what Claude Code prints with `--output-format stream-json --verbose`, as observed with CLI 2.1.331.
 * Every field is optional and unknown fields are allowed, because later CLI versions add fields often. The
 * translator still checks each value's runtime type before using it.
 */

/** Token usage in the Anthropic Messages API shape (snake_case), as on `result.usage` and `message.usage`. */
export interface ClaudeApiUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
  [key: string]: unknown;
}

/** One model's entry in `result.modelUsage` / `result.model_usage_since_last_result` (camelCase). */
export interface ClaudeModelUsage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadInputTokens?: number;
  cacheCreationInputTokens?: number;
  costUSD?: number;
  [key: string]: unknown;
}

/** A content block of a message: `text`, `thinking`, `tool_use`, `tool_result`, or anything else. */
export interface ClaudeContentBlock {
  type?: string;
  text?: string;
  thinking?: string;
  signature?: string;
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: string | ClaudeContentBlock[];
  is_error?: boolean;
  [key: string]: unknown;
}

/** Fields present on (almost) every line. */
export interface ClaudeLineBase {
  type?: string;
  subtype?: string;
  session_id?: string;
  uuid?: string;
  parent_tool_use_id?: string | null;
  [key: string]: unknown;
}

/** `type: "system"`; fields depend on `subtype`. */
export interface ClaudeSystemMessage extends ClaudeLineBase {
  type?: 'system';
  cwd?: string;
  model?: string;
  tools?: string[];
  permissionMode?: string;
  claude_code_version?: string;
  apiKeySource?: string;
  attempt?: number;
  max_retries?: number;
  retry_delay_ms?: number;
  error_status?: number | null;
  error?: string;
  tool_name?: string;
  tool_use_id?: string;
  message?: string;
  status?: string;
  estimated_tokens?: number;
  estimated_tokens_delta?: number;
  task_id?: string;
  description?: string;
  summary?: string;
  last_tool_name?: string;
}

/** `type: "assistant"` or `type: "user"`: one message (one content block per line for the assistant). */
export interface ClaudeChatMessage extends ClaudeLineBase {
  type?: 'assistant' | 'user';
  message?: {
    id?: string;
    role?: string;
    model?: string;
    content?: string | ClaudeContentBlock[];
    stop_reason?: string | null;
    usage?: ClaudeApiUsage;
    [key: string]: unknown;
  };
  error?: string;
  is_api_error_message?: boolean;
  api_error_status?: number | null;
  api_error_type?: string;
  aborted?: boolean;
  agent_id?: string;
  tool_use_result?: unknown;
}

/** `type: "result"`: a run's (or a turn's) final summary. */
export interface ClaudeResultMessage extends ClaudeLineBase {
  type?: 'result';
  is_error?: boolean;
  result?: string;
  errors?: string[];
  num_turns?: number;
  duration_ms?: number;
  duration_api_ms?: number;
  stop_reason?: string | null;
  terminal_reason?: string;
  total_cost_usd?: number;
  usage?: ClaudeApiUsage;
  modelUsage?: Record<string, ClaudeModelUsage>;
  model_usage_since_last_result?: Record<string, ClaudeModelUsage>;
  permission_denials?: { tool_name?: string; tool_use_id?: string; tool_input?: unknown }[];
  api_error_status?: number | null;
  api_error_type?: string;
  result_index?: number;
}

/** `type: "stream_event"` (only with `--include-partial-messages`): a raw Anthropic SSE event. */
export interface ClaudeStreamEventMessage extends ClaudeLineBase {
  type?: 'stream_event';
  event?: { type?: string; index?: number; delta?: Record<string, unknown>; [key: string]: unknown };
}

/** Any line of Claude Code stream-json output. */
export type ClaudeMessage =
  ClaudeSystemMessage | ClaudeChatMessage | ClaudeResultMessage | ClaudeStreamEventMessage | ClaudeLineBase;
