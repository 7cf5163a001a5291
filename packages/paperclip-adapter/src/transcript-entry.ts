import { parseLine, type StreamEvent } from '@claude-k8s/stream-json';

/**
 * Paperclip transcript entries (the `TranscriptEntry` union of `@paperclipai/adapter-utils`, the kinds this adapter
 * produces from `@claude-k8s/stream-json` events). Every entry carries the `ts` it was given.
 */
export type TranscriptEntry =
  | { kind: 'assistant'; ts: string; text: string; delta?: boolean }
  | { kind: 'thinking'; ts: string; text: string; delta?: boolean }
  | { kind: 'user'; ts: string; text: string }
  | { kind: 'tool_call'; ts: string; name: string; input: unknown; toolUseId?: string }
  | { kind: 'tool_result'; ts: string; toolUseId: string; toolName?: string; content: string; isError: boolean }
  | { kind: 'init'; ts: string; model: string; sessionId: string }
  | {
      kind: 'result';
      ts: string;
      text: string;
      /** Input tokens of this run: uncached input plus cache writes. */
      inputTokens: number;
      outputTokens: number;
      /** Cache reads of this run. */
      cachedTokens: number;
      /** US dollars for this run (the session total when the per-result figure is missing). */
      costUsd: number;
      subtype: string;
      isError: boolean;
      errors: string[];
    }
  | { kind: 'stderr'; ts: string; text: string }
  | { kind: 'system'; ts: string; text: string }
  | { kind: 'stdout'; ts: string; text: string };

/** Maps events to transcript entries; remembers tool names so `tool_result` entries carry `toolName`. */
export interface TranscriptMapper {
  /** Entries for one event (none for housekeeping such as deltas and status lines). */
  map(event: StreamEvent, ts: string): TranscriptEntry[];
  /** Forget remembered tool names. */
  reset(): void;
}

function describeTask(event: Extract<StreamEvent, { type: 'task' }>): string {
  const what = event.description ?? event.taskId ?? 'sub-agent';
  switch (event.phase) {
    case 'started':
      return `Sub-agent started: ${what}`;
    case 'progress':
      return `Sub-agent ${what}: ${event.lastToolName === null ? 'working' : `used ${event.lastToolName}`}`;
    case 'updated':
      return `Sub-agent ${what}: ${event.status ?? 'updated'}`;
    case 'notification':
      return `Sub-agent ${event.status ?? 'finished'}: ${event.summary ?? what}`;
  }
}

/** Creates a {@link TranscriptMapper}. */
function createTranscriptMapper(): TranscriptMapper {
  const toolNames = new Map<string, string>();
  return {
    reset() {
      toolNames.clear();
    },
    map(event, ts) {
      switch (event.type) {
        case 'session-init':
          return [{ kind: 'init', ts, model: event.model ?? '', sessionId: event.sessionId ?? '' }];
        case 'text':
          return [{ kind: 'assistant', ts, text: event.text }];
        case 'thinking':
          return [{ kind: 'thinking', ts, text: event.text }];
        case 'tool-call': {
          if (event.toolUseId !== null) {
            if (toolNames.size > 10_000) toolNames.clear();
            toolNames.set(event.toolUseId, event.name);
          }
          const entry: TranscriptEntry = { kind: 'tool_call', ts, name: event.name, input: event.input };
          if (event.toolUseId !== null) entry.toolUseId = event.toolUseId;
          return [entry];
        }
        case 'tool-result': {
          const toolName = event.toolUseId === null ? undefined : toolNames.get(event.toolUseId);
          const entry: TranscriptEntry = {
            kind: 'tool_result',
            ts,
            toolUseId: event.toolUseId ?? '',
            content: event.content,
            isError: event.isError,
          };
          if (toolName !== undefined) entry.toolName = toolName;
          return [entry];
        }
        case 'user-text':
          return [{ kind: 'user', ts, text: event.text }];
        case 'api-error':
          return [
            {
              kind: 'system',
              ts,
              text: `API error${event.status === null ? '' : ` ${event.status}`}${event.errorType === null ? '' : ` (${event.errorType})`}: ${event.text}`,
            },
          ];
        case 'api-retry':
          return [
            {
              kind: 'system',
              ts,
              text: `API retry ${event.attempt ?? '?'}/${event.maxRetries ?? '?'}${event.retryDelayMs === null ? '' : ` in ${(event.retryDelayMs / 1000).toFixed(1)}s`} (${event.errorStatus ?? 'no status'}${event.error === null ? '' : ` ${event.error}`})`,
            },
          ];
        case 'permission-denied':
          return [{ kind: 'system', ts, text: `Permission denied: ${event.toolName ?? 'tool'}: ${event.message}` }];
        case 'task':
          return [{ kind: 'system', ts, text: describeTask(event) }];
        case 'result': {
          const since = event.modelUsageSinceLastResult;
          let inputTokens = 0;
          let outputTokens = 0;
          let cachedTokens = 0;
          let costUsd = event.totalCostUsd ?? 0;
          if (since !== null && Object.keys(since).length > 0) {
            costUsd = 0;
            for (const usage of Object.values(since)) {
              inputTokens += usage.inputTokens + usage.cacheCreationInputTokens;
              outputTokens += usage.outputTokens;
              cachedTokens += usage.cacheReadInputTokens;
              costUsd += usage.costUsd;
            }
          } else if (event.usage !== null) {
            inputTokens = event.usage.inputTokens + event.usage.cacheCreationInputTokens;
            outputTokens = event.usage.outputTokens;
            cachedTokens = event.usage.cacheReadInputTokens;
          }
          return [
            {
              kind: 'result',
              ts,
              text: event.result ?? event.errors.join('\n'),
              inputTokens,
              outputTokens,
              cachedTokens,
              costUsd,
              subtype: event.subtype ?? '',
              isError: event.isError,
              errors: [...event.errors],
            },
          ];
        }
        case 'unknown-message':
          return [{ kind: 'stdout', ts, text: event.line }];
        case 'unknown-content':
          return [{ kind: 'system', ts, text: `Unknown ${event.role} content block: ${event.blockType ?? 'no type'}` }];
        case 'parse-error':
          return [{ kind: 'stdout', ts, text: event.line }];
        case 'system-status':
        case 'text-delta':
        case 'thinking-delta':
        case 'tool-input-delta':
        case 'stream-event':
          return [];
      }
    },
  };
}

/**
 * Transcript entries for one event, without memory between calls (so `tool_result` entries carry no
 * `toolName`). Use {@link createStdoutParser} to keep tool names.
 */
export function toTranscriptEntries(event: StreamEvent, ts: string): TranscriptEntry[] {
  return createTranscriptMapper().map(event, ts);
}

/** A `stderr` transcript entry for text the process wrote to stderr. */
export function stderrTranscriptEntry(text: string, ts: string): TranscriptEntry {
  return { kind: 'stderr', ts, text };
}

/** The stateful UI parser shape Paperclip's UI calls (`createStdoutParser().parseLine`, `reset`). */
export interface StdoutParser {
  parseLine(line: string, ts: string): TranscriptEntry[];
  reset(): void;
}

/**
 * Paperclip's `StdoutLineParser`: one stdout line of Claude Code stream-json to transcript entries. Stateless;
 * never throws.
 */
export function parseStdoutLine(line: string, ts: string): TranscriptEntry[] {
  return createStdoutParser().parseLine(line, ts);
}

/** A stateful {@link StdoutParser}: remembers tool names across lines so `tool_result` entries are named. */
export function createStdoutParser(): StdoutParser {
  const mapper = createTranscriptMapper();
  return {
    parseLine(line, ts) {
      const entries: TranscriptEntry[] = [];
      for (const event of parseLine(line.trim())) for (const entry of mapper.map(event, ts)) entries.push(entry);
      return entries;
    },
    reset() {
      mapper.reset();
    },
  };
}
