import type { RunSummary } from './run-accumulator.ts';
import type { StreamEvent, TokenUsage } from './stream-event.ts';
import { truncateToWidth, wrapToWidth } from './text-width.ts';

/** Options of {@link createFormatter}. */
export interface FormatterOptions {
  /** Use ANSI colours. @default false */
  color?: boolean;
  /** Show thinking text; when false a one-line placeholder is shown. @default false */
  thinking?: boolean;
  /** Terminal width in columns; one-line summaries are cut to fit, text is wrapped. @default 100 */
  width?: number;
  /** Print unknown lines as their raw JSON instead of a one-line note. @default false */
  rawUnknown?: boolean;
  /** Show streamed deltas (`--include-partial-messages`); the complete blocks are always shown. @default false */
  deltas?: boolean;
  /** Lines of a tool result to show before eliding the rest. @default 4 */
  toolResultLines?: number;
}

/** Turns events into human-readable text. Keeps what it needs to indent sub-agent lines under their parent. */
export interface Formatter {
  /** Text for one event, ending with a newline, or `''` when the event is not shown. */
  format(event: StreamEvent): string;
  /** A closing block for a finished run: status, failure class and hint, usage and cost. */
  formatSummary(summary: RunSummary): string;
}

const ANSI = {
  reset: '\u001b[0m',
  bold: '\u001b[1m',
  dim: '\u001b[2m',
  italic: '\u001b[3m',
  red: '\u001b[31m',
  green: '\u001b[32m',
  yellow: '\u001b[33m',
  blue: '\u001b[34m',
  magenta: '\u001b[35m',
  cyan: '\u001b[36m',
} as const;
type Style = keyof typeof ANSI;

const INPUT_KEYS: Record<string, string[]> = {
  Bash: ['command'],
  Read: ['file_path'],
  Write: ['file_path'],
  Edit: ['file_path'],
  MultiEdit: ['file_path'],
  NotebookEdit: ['notebook_path'],
  Glob: ['pattern', 'path'],
  Grep: ['pattern', 'path'],
  WebFetch: ['url'],
  WebSearch: ['query'],
  Agent: ['description', 'subagent_type'],
  Task: ['description', 'subagent_type'],
  TodoWrite: [],
};

/** A one-line summary of a tool call's input, e.g. `echo hello` for Bash. */
function summarizeToolInput(name: string, input: unknown): string {
  if (typeof input !== 'object' || input === null) return input === undefined ? '' : JSON.stringify(input);
  const record = input as Record<string, unknown>;
  const keys = INPUT_KEYS[name];
  if (keys !== undefined) {
    const parts = keys
      .map((key) => record[key])
      .filter((value): value is string => typeof value === 'string' && value.length > 0);
    if (parts.length > 0) return parts.join(' · ');
  }
  return JSON.stringify(input);
}

function formatTokens(usage: TokenUsage): string {
  return `in ${usage.inputTokens} · out ${usage.outputTokens} · cache write ${usage.cacheCreationInputTokens} · cache read ${usage.cacheReadInputTokens}`;
}

function formatCost(value: number | null): string {
  return value === null ? '$?' : `$${value.toFixed(4)}`;
}

function formatDuration(ms: number | null): string {
  return ms === null ? '?s' : `${(ms / 1000).toFixed(1)}s`;
}

/** Creates a {@link Formatter}. */
export function createFormatter(options: FormatterOptions = {}): Formatter {
  const color = options.color ?? false;
  const showThinking = options.thinking ?? false;
  const width = Math.max(20, options.width ?? 100);
  const rawUnknown = options.rawUnknown ?? false;
  const showDeltas = options.deltas ?? false;
  const toolResultLines = Math.max(1, options.toolResultLines ?? 4);
  const depthByToolUse = new Map<string, number>();
  const toolUseByTask = new Map<string, string>();

  const paint = (style: Style, text: string): string => (color ? `${ANSI[style]}${text}${ANSI.reset}` : text);

  function depthOf(parentToolUseId: string | null): number {
    if (parentToolUseId === null) return 0;
    return (depthByToolUse.get(parentToolUseId) ?? 0) + 1;
  }
  function indentOf(depth: number): string {
    return depth === 0 ? '' : '  '.repeat(depth) + (color ? `${ANSI.dim}│${ANSI.reset} ` : '│ ');
  }
  function cut(text: string, room: number): string {
    return truncateToWidth(text.replace(/\s*\n\s*/g, ' ⏎ '), Math.max(8, room));
  }
  /** One line, cut to the width. */
  function line(depth: number, marker: string, style: Style, text: string): string {
    const indent = indentOf(depth);
    const room = width - 2 * depth - (depth > 0 ? 2 : 0) - marker.length - 1;
    const body = cut(text, room);
    return `${indent}${paint(style, marker)} ${style === 'red' || style === 'yellow' || style === 'dim' ? paint(style, body) : body}\n`;
  }
  /** Text wrapped to the width, every line indented. */
  function block(depth: number, text: string, style: Style | null): string {
    const indent = indentOf(depth);
    const room = Math.max(10, width - 2 * depth - (depth > 0 ? 2 : 0));
    let out = '';
    for (const raw of text.split('\n')) {
      for (const piece of wrapToWidth(raw, room)) out += `${indent}${style === null ? piece : paint(style, piece)}\n`;
    }
    return out;
  }

  function formatResultLine(event: Extract<StreamEvent, { type: 'result' }>): string {
    const ok = !event.isError;
    const head = `${ok ? '✓' : '✗'} ${event.subtype ?? 'result'}${event.isError && event.subtype === 'success' ? ' (is_error)' : ''}`;
    const figures = [
      event.numTurns === null ? null : `${event.numTurns} turn${event.numTurns === 1 ? '' : 's'}`,
      formatDuration(event.durationMs),
      event.terminalReason,
      event.totalCostUsd === null ? null : `${formatCost(event.totalCostUsd)} session total`,
    ].filter((part): part is string => part !== null);
    let out = `${paint(ok ? 'green' : 'red', paint('bold', head))} ${paint('dim', figures.join(' · '))}\n`;
    if (event.usage !== null) out += paint('dim', `  tokens: ${formatTokens(event.usage)}`) + '\n';
    for (const error of event.errors) out += block(0, `  ${error}`, 'red');
    for (const denial of event.permissionDenials)
      out += line(
        0,
        '  ⊘',
        'yellow',
        `denied ${denial.toolName ?? 'tool'}: ${summarizeToolInput(denial.toolName ?? '', denial.toolInput)}`,
      );
    return out;
  }

  return {
    format(event) {
      switch (event.type) {
        case 'session-init':
          return line(
            0,
            '●',
            'cyan',
            `session ${event.sessionId ?? '?'} · model ${event.model ?? '?'}${event.claudeCodeVersion === null ? '' : ` · claude ${event.claudeCodeVersion}`}${event.cwd === null ? '' : ` · ${event.cwd}`}`,
          );
        case 'text': {
          const depth = depthOf(event.parentToolUseId);
          return (
            block(depth, event.text, null) +
            (event.aborted ? line(depth, '⚠', 'yellow', 'message cut short (aborted)') : '')
          );
        }
        case 'thinking': {
          const depth = depthOf(event.parentToolUseId);
          if (!showThinking) return line(depth, '✻', 'dim', `thinking (${event.text.length} chars hidden)`);
          return line(depth, '✻', 'magenta', 'thinking') + block(depth, event.text, 'dim');
        }
        case 'tool-call': {
          const depth = depthOf(event.parentToolUseId);
          if (event.toolUseId !== null) depthByToolUse.set(event.toolUseId, depth);
          return line(depth, '⏺', 'blue', `${event.name}(${summarizeToolInput(event.name, event.input)})`);
        }
        case 'tool-result': {
          const depth = depthOf(event.parentToolUseId);
          const lines = event.content.split('\n');
          while (lines.length > 1 && lines.at(-1)?.trim() === '') lines.pop();
          const shown = lines.slice(0, toolResultLines);
          let out = '';
          shown.forEach((text, index) => {
            out += line(
              depth,
              index === 0 ? '  ⎿' : '   ',
              event.isError ? 'red' : 'dim',
              text.length === 0 ? ' ' : text,
            );
          });
          if (lines.length > shown.length) out += line(depth, '   ', 'dim', `… +${lines.length - shown.length} lines`);
          return out;
        }
        case 'user-text':
          return line(depthOf(event.parentToolUseId), '›', 'dim', event.text);
        case 'api-error':
          return line(
            depthOf(event.parentToolUseId),
            '✗',
            'red',
            `API error${event.status === null ? '' : ` ${event.status}`}${event.errorType === null ? '' : ` ${event.errorType}`}: ${event.text}`,
          );
        case 'api-retry':
          return line(
            0,
            '↻',
            'yellow',
            `API retry ${event.attempt ?? '?'}/${event.maxRetries ?? '?'} in ${formatDuration(event.retryDelayMs)} (${event.errorStatus ?? 'no status'} ${event.error ?? ''})`.trimEnd(),
          );
        case 'permission-denied':
          return line(0, '⊘', 'yellow', `permission denied: ${event.toolName ?? 'tool'}: ${event.message}`);
        case 'task': {
          if (event.taskId !== null && event.toolUseId !== null) toolUseByTask.set(event.taskId, event.toolUseId);
          const toolUseId = event.toolUseId ?? (event.taskId === null ? undefined : toolUseByTask.get(event.taskId));
          const depth = toolUseId === undefined ? 0 : depthOf(toolUseId);
          const what = event.description ?? event.taskId ?? 'sub-agent';
          switch (event.phase) {
            case 'started':
              return line(depth, '◆', 'magenta', `sub-agent started: ${what}`);
            case 'progress':
              return line(
                depth,
                '◆',
                'dim',
                `sub-agent ${event.lastToolName === null ? 'working' : `used ${event.lastToolName}`}`,
              );
            case 'updated':
              return line(depth, '◆', 'dim', `sub-agent ${event.status ?? 'updated'}`);
            case 'notification':
              return line(depth, '◆', 'magenta', `sub-agent ${event.status ?? 'finished'}: ${event.summary ?? what}`);
          }
          return '';
        }
        case 'text-delta':
        case 'thinking-delta':
          if (!showDeltas || (event.type === 'thinking-delta' && !showThinking)) return '';
          return line(depthOf(event.parentToolUseId), '…', 'dim', event.text);
        case 'tool-input-delta':
          return showDeltas ? line(depthOf(event.parentToolUseId), '…', 'dim', event.partialJson) : '';
        case 'system-status':
        case 'stream-event':
          return '';
        case 'result':
          return formatResultLine(event);
        case 'unknown-message':
          if (rawUnknown) return `${event.line}\n`;
          return line(
            0,
            '?',
            'yellow',
            `unknown line (type ${event.messageType ?? 'missing'}${event.subtype === null ? '' : `, subtype ${event.subtype}`})`,
          );
        case 'unknown-content':
          if (rawUnknown) return `${JSON.stringify(event.block)}\n`;
          return line(
            depthOf(event.parentToolUseId),
            '?',
            'yellow',
            `unknown ${event.role} content block (${event.blockType ?? 'no type'})`,
          );
        case 'parse-error':
          return line(0, '✗', 'red', `line ${event.lineNumber}: ${event.reason}: ${event.line}`);
      }
    },
    formatSummary(summary) {
      let out = '';
      if (summary.failure === null) out += `${paint('green', paint('bold', '✓ run succeeded'))}\n`;
      else {
        out += `${paint('red', paint('bold', `✗ run failed: ${summary.failure.code}`))}${summary.failure.message.length > 0 ? ` ${cut(summary.failure.message, width - summary.failure.code.length - 16)}` : ''}\n`;
        out += `${paint('yellow', `  hint: ${summary.failure.hint}`)}\n`;
      }
      out +=
        paint(
          'dim',
          `  session ${summary.sessionId ?? '?'} · model ${summary.models.join(', ') || '?'} · ${summary.numTurns ?? '?'} turn${summary.numTurns === 1 ? '' : 's'} · ${formatDuration(summary.durationMs)}`,
        ) + '\n';
      out += paint('dim', `  this run: ${formatTokens(summary.usage)} · ${formatCost(summary.costUsd)}`) + '\n';
      if (summary.sessionCumulative.totalCostUsd !== null)
        out += paint('dim', `  session total: ${formatCost(summary.sessionCumulative.totalCostUsd)}`) + '\n';
      if (summary.parseErrorCount > 0)
        out +=
          paint('red', `  ${summary.parseErrorCount} malformed line${summary.parseErrorCount === 1 ? '' : 's'}`) + '\n';
      return out;
    },
  };
}
