/**
 * `@claude-k8s/stream-json`: a streaming, browser-ready parser, run accumulator and formatter for Claude Code's
 * `--output-format stream-json` output. Everything exported here is pure (no Node.js APIs).
 *
 * This entry lists what consumers use (see docs/decisions/stream-json-public-surface.md); the package's own tests
 * import the source files directly.
 *
 * @packageDocumentation
 */
export { VERSION } from './version.ts';
export { StreamJsonError, StreamParseError } from './stream-json-error.ts';
export { createStreamParser, parseLine, parseLineStrict, parseStream } from './create-stream-parser.ts';
export type { StreamParser } from './create-stream-parser.ts';
export { createLineSplitter } from './line-splitter.ts';
export type { LineSplitter, StreamChunk } from './line-splitter.ts';
export { parseJsonLine } from './parse-line.ts';
export type { JsonLineResult } from './parse-line.ts';
export { normalizeApiUsage, normalizeModelUsage } from './translate-message.ts';
export { createRunAccumulator } from './run-accumulator.ts';
export type { RunAccumulator, RunExitInfo, RunSummary } from './run-accumulator.ts';
export { RUN_FAILURE_CLASSES } from './classify-run.ts';
export type { RunFailure, RunFailureCode } from './classify-run.ts';
export { createFormatter } from './format-event.ts';
export type { Formatter, FormatterOptions } from './format-event.ts';
export type {
  ApiErrorEvent,
  ApiRetryEvent,
  ModelUsage,
  ParseErrorEvent,
  PermissionDenial,
  PermissionDeniedEvent,
  ResultEvent,
  SessionInitEvent,
  StreamEvent,
  StreamEventEvent,
  StreamEventType,
  SystemStatusEvent,
  TaskEvent,
  TextDeltaEvent,
  TextEvent,
  ThinkingDeltaEvent,
  ThinkingEvent,
  TokenUsage,
  ToolCallEvent,
  ToolInputDeltaEvent,
  ToolResultEvent,
  UnknownContentEvent,
  UnknownMessageEvent,
  UserTextEvent,
} from './stream-event.ts';
