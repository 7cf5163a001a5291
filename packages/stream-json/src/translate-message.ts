import type { ModelUsage, PermissionDenial, StreamEvent, TokenUsage } from './stream-event.ts';

/** Receives each event produced by {@link translateMessage}. */
export type EmitEvent = (event: StreamEvent) => void;

type JsonObject = Record<string, unknown>;

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
function obj(value: unknown): JsonObject | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : null;
}
function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** Text of a `tool_result` content: a string, or an array of blocks whose `text` parts are joined with newlines. */
function contentToText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return content === undefined || content === null ? '' : JSON.stringify(content);
  const parts: string[] = [];
  for (const block of content) {
    const record = obj(block);
    if (record === null) continue;
    const text = str(record['text']);
    if (text !== null) parts.push(text);
    else if (record['type'] === 'image') parts.push('[image]');
  }
  return parts.join('\n');
}

/** Converts a `usage` object in the API's snake_case shape. `null` when `value` is not an object. */
export function normalizeApiUsage(value: unknown): TokenUsage | null {
  const usage = obj(value);
  if (usage === null) return null;
  return {
    inputTokens: count(usage['input_tokens']),
    outputTokens: count(usage['output_tokens']),
    cacheCreationInputTokens: count(usage['cache_creation_input_tokens']),
    cacheReadInputTokens: count(usage['cache_read_input_tokens']),
  };
}

/** Converts a `modelUsage`-style object (model id → camelCase figures). `null` when `value` is not an object. */
export function normalizeModelUsage(value: unknown): Record<string, ModelUsage> | null {
  const byModel = obj(value);
  if (byModel === null) return null;
  const out: Record<string, ModelUsage> = {};
  for (const model of Object.keys(byModel)) {
    const entry = obj(byModel[model]);
    if (entry === null) continue;
    out[model] = {
      inputTokens: count(entry['inputTokens']),
      outputTokens: count(entry['outputTokens']),
      cacheCreationInputTokens: count(entry['cacheCreationInputTokens']),
      cacheReadInputTokens: count(entry['cacheReadInputTokens']),
      costUsd: count(entry['costUSD']),
    };
  }
  return out;
}

function unknownMessage(value: JsonObject, lineNumber: number, line: string | undefined): StreamEvent {
  return {
    type: 'unknown-message',
    lineNumber,
    messageType: str(value['type']),
    subtype: str(value['subtype']),
    value,
    line: line ?? JSON.stringify(value),
  };
}

function translateSystem(value: JsonObject, lineNumber: number, emit: EmitEvent, line: string | undefined): void {
  const subtype = str(value['subtype']);
  switch (subtype) {
    case 'init': {
      const tools = Array.isArray(value['tools'])
        ? value['tools'].filter((tool): tool is string => typeof tool === 'string')
        : [];
      emit({
        type: 'session-init',
        lineNumber,
        sessionId: str(value['session_id']),
        model: str(value['model']),
        cwd: str(value['cwd']),
        tools,
        permissionMode: str(value['permissionMode']),
        claudeCodeVersion: str(value['claude_code_version']),
        apiKeySource: str(value['apiKeySource']),
      });
      return;
    }
    case 'api_retry':
      emit({
        type: 'api-retry',
        lineNumber,
        attempt: num(value['attempt']),
        maxRetries: num(value['max_retries']),
        retryDelayMs: num(value['retry_delay_ms']),
        errorStatus: num(value['error_status']),
        error: str(value['error']),
      });
      return;
    case 'permission_denied':
      emit({
        type: 'permission-denied',
        lineNumber,
        toolName: str(value['tool_name']),
        toolUseId: str(value['tool_use_id']),
        message: str(value['message']) ?? '',
      });
      return;
    case 'task_started':
    case 'task_progress':
    case 'task_updated':
    case 'task_notification': {
      const patch = obj(value['patch']);
      emit({
        type: 'task',
        lineNumber,
        phase:
          subtype === 'task_started'
            ? 'started'
            : subtype === 'task_progress'
              ? 'progress'
              : subtype === 'task_updated'
                ? 'updated'
                : 'notification',
        taskId: str(value['task_id']),
        toolUseId: str(value['tool_use_id']),
        description: str(value['description']),
        status: str(value['status']) ?? (patch === null ? null : str(patch['status'])),
        summary: str(value['summary']),
        lastToolName: str(value['last_tool_name']),
      });
      return;
    }
    case 'status':
    case 'thinking_tokens':
    case 'background_tasks_changed':
      emit({
        type: 'system-status',
        lineNumber,
        subtype,
        status: str(value['status']),
        estimatedTokens: num(value['estimated_tokens']),
      });
      return;
    default:
      emit(unknownMessage(value, lineNumber, line));
  }
}

function translateAssistant(value: JsonObject, lineNumber: number, emit: EmitEvent): number {
  const message = obj(value['message']);
  const parentToolUseId = str(value['parent_tool_use_id']);
  const messageId = message === null ? null : str(message['id']);
  const model = message === null ? null : str(message['model']);
  const content = message === null ? undefined : message['content'];
  if (value['is_api_error_message'] === true || (model === '<synthetic>' && typeof value['error'] === 'string')) {
    emit({
      type: 'api-error',
      lineNumber,
      parentToolUseId,
      text: contentToText(content),
      status: num(value['api_error_status']),
      errorType: str(value['api_error_type']),
      error: str(value['error']),
    });
    return 1;
  }
  const aborted = value['aborted'] === true;
  if (typeof content === 'string') {
    emit({ type: 'text', lineNumber, parentToolUseId, text: content, messageId, model, aborted });
    return 1;
  }
  if (!Array.isArray(content)) return 0;
  let emitted = 0;
  for (const item of content) {
    const block = obj(item);
    const blockType = block === null ? null : str(block['type']);
    if (block !== null && blockType === 'text' && typeof block['text'] === 'string') {
      emit({ type: 'text', lineNumber, parentToolUseId, text: block['text'], messageId, model, aborted });
    } else if (block !== null && blockType === 'thinking') {
      emit({ type: 'thinking', lineNumber, parentToolUseId, text: str(block['thinking']) ?? '', messageId });
    } else if (block !== null && blockType === 'tool_use') {
      emit({
        type: 'tool-call',
        lineNumber,
        parentToolUseId,
        toolUseId: str(block['id']),
        name: str(block['name']) ?? '',
        input: block['input'],
        messageId,
      });
    } else {
      emit({ type: 'unknown-content', lineNumber, parentToolUseId, role: 'assistant', blockType, block: item });
    }
    emitted++;
  }
  return emitted;
}

function translateUser(value: JsonObject, lineNumber: number, emit: EmitEvent): number {
  const message = obj(value['message']);
  const parentToolUseId = str(value['parent_tool_use_id']);
  const content = message === null ? undefined : message['content'];
  if (typeof content === 'string') {
    emit({ type: 'user-text', lineNumber, parentToolUseId, text: content });
    return 1;
  }
  if (!Array.isArray(content)) return 0;
  let emitted = 0;
  for (const item of content) {
    const block = obj(item);
    const blockType = block === null ? null : str(block['type']);
    if (block !== null && blockType === 'tool_result') {
      emit({
        type: 'tool-result',
        lineNumber,
        parentToolUseId,
        toolUseId: str(block['tool_use_id']),
        content: contentToText(block['content']),
        isError: block['is_error'] === true,
        structured: value['tool_use_result'],
      });
    } else if (block !== null && blockType === 'text' && typeof block['text'] === 'string') {
      emit({ type: 'user-text', lineNumber, parentToolUseId, text: block['text'] });
    } else {
      emit({ type: 'unknown-content', lineNumber, parentToolUseId, role: 'user', blockType, block: item });
    }
    emitted++;
  }
  return emitted;
}

function translateResult(value: JsonObject, lineNumber: number, emit: EmitEvent): void {
  const errors = Array.isArray(value['errors'])
    ? value['errors'].map((error) => (typeof error === 'string' ? error : JSON.stringify(error)))
    : [];
  const denials: PermissionDenial[] = [];
  if (Array.isArray(value['permission_denials'])) {
    for (const item of value['permission_denials']) {
      const denial = obj(item);
      if (denial !== null)
        denials.push({
          toolName: str(denial['tool_name']),
          toolUseId: str(denial['tool_use_id']),
          toolInput: denial['tool_input'],
        });
    }
  }
  emit({
    type: 'result',
    lineNumber,
    subtype: str(value['subtype']),
    isError: value['is_error'] === true,
    result: str(value['result']),
    errors,
    sessionId: str(value['session_id']),
    numTurns: num(value['num_turns']),
    durationMs: num(value['duration_ms']),
    durationApiMs: num(value['duration_api_ms']),
    stopReason: str(value['stop_reason']),
    terminalReason: str(value['terminal_reason']),
    totalCostUsd: num(value['total_cost_usd']),
    usage: normalizeApiUsage(value['usage']),
    modelUsage: normalizeModelUsage(value['modelUsage']),
    modelUsageSinceLastResult: normalizeModelUsage(value['model_usage_since_last_result']),
    permissionDenials: denials,
    apiErrorStatus: num(value['api_error_status']),
    apiErrorType: str(value['api_error_type']),
    resultIndex: num(value['result_index']),
  });
}

function translateStreamEvent(value: JsonObject, lineNumber: number, emit: EmitEvent): void {
  const parentToolUseId = str(value['parent_tool_use_id']);
  const event = obj(value['event']);
  const eventType = event === null ? null : str(event['type']);
  const messageId = str(value['api_message_id']);
  if (event !== null && eventType === 'content_block_delta') {
    const delta = obj(event['delta']);
    const index = num(event['index']);
    const deltaType = delta === null ? null : str(delta['type']);
    if (delta !== null && deltaType === 'text_delta' && typeof delta['text'] === 'string') {
      emit({ type: 'text-delta', lineNumber, parentToolUseId, text: delta['text'], index, messageId });
      return;
    }
    if (delta !== null && deltaType === 'thinking_delta' && typeof delta['thinking'] === 'string') {
      emit({ type: 'thinking-delta', lineNumber, parentToolUseId, text: delta['thinking'], index, messageId });
      return;
    }
    if (delta !== null && deltaType === 'input_json_delta' && typeof delta['partial_json'] === 'string') {
      emit({
        type: 'tool-input-delta',
        lineNumber,
        parentToolUseId,
        partialJson: delta['partial_json'],
        index,
        messageId,
      });
      return;
    }
  }
  let stopReason: string | null = null;
  if (event !== null && eventType === 'message_delta') {
    const delta = obj(event['delta']);
    stopReason = delta === null ? null : str(delta['stop_reason']);
  }
  emit({ type: 'stream-event', lineNumber, parentToolUseId, eventType, stopReason, event: value['event'] });
}

/**
 * Translates one parsed stream-json line into events. Pure; never throws for any JSON object. Every line yields
 * at least one event: what is not understood becomes `unknown-message` or `unknown-content`.
 *
 * @param value - the parsed line
 * @param lineNumber - its 1-based line number
 * @param emit - called once per event, in order
 * @param line - the raw line, kept on `unknown-message` events (re-serialised from `value` when not given)
 */
export function translateMessage(
  value: Record<string, unknown>,
  lineNumber: number,
  emit: EmitEvent,
  line?: string,
): void {
  switch (value['type']) {
    case 'system':
      translateSystem(value, lineNumber, emit, line);
      return;
    case 'assistant':
      if (translateAssistant(value, lineNumber, emit) === 0) emit(unknownMessage(value, lineNumber, line));
      return;
    case 'user':
      if (translateUser(value, lineNumber, emit) === 0) emit(unknownMessage(value, lineNumber, line));
      return;
    case 'result':
      translateResult(value, lineNumber, emit);
      return;
    case 'stream_event':
      translateStreamEvent(value, lineNumber, emit);
      return;
    default:
      emit(unknownMessage(value, lineNumber, line));
  }
}
