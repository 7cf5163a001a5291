/**
 * `@claude-k8s/stream-json`: a streaming, browser-ready parser, run accumulator and formatter for Claude Code's
 * `--output-format stream-json` output. Everything exported here is pure (no Node.js APIs).
 *
 * @packageDocumentation
 */
export { VERSION } from './version.ts';
export { StreamJsonError, StreamParseError } from './stream-json-error.ts';
export { createLineSplitter } from './line-splitter.ts';
export type { LineHandler, LineSplitter, StreamChunk } from './line-splitter.ts';
export { parseJsonLine } from './parse-line.ts';
export type { JsonLineResult } from './parse-line.ts';
export { translateMessage, contentToText, normalizeApiUsage, normalizeModelUsage } from './translate-message.ts';
export type { EmitEvent } from './translate-message.ts';
export { createStreamParser, parseLine, parseLineStrict, parseStream } from './create-stream-parser.ts';
export type { ChunkSource, ReadableStreamLike, StreamParser } from './create-stream-parser.ts';
export { createRunAccumulator, summarizeRun } from './run-accumulator.ts';
export type { RunAccumulator, RunExitInfo, RunSummary, SessionCumulativeFigures } from './run-accumulator.ts';
export { classifyRun, RUN_FAILURE_CLASSES } from './classify-run.ts';
export type { ClassifyRunInput, RunFailure, RunFailureCode } from './classify-run.ts';
export { createFormatter, summarizeToolInput } from './format-event.ts';
export type { Formatter, FormatterOptions } from './format-event.ts';
export {
  createStdoutParser,
  createTranscriptMapper,
  parseStdoutLine,
  stderrTranscriptEntry,
  toTranscriptEntries,
} from './transcript-entry.ts';
export type { StdoutParser, TranscriptEntry, TranscriptMapper } from './transcript-entry.ts';
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
export type {
  ClaudeApiUsage,
  ClaudeChatMessage,
  ClaudeContentBlock,
  ClaudeLineBase,
  ClaudeMessage,
  ClaudeModelUsage,
  ClaudeResultMessage,
  ClaudeStreamEventMessage,
  ClaudeSystemMessage,
} from './claude-message.ts';
