import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createStdoutParser, type TranscriptEntry } from '../src/transcript-entry.ts';

/** The timestamp every transcript test passes in. */
export const TS = '2026-11-24T14:06:48.451Z';

/** The entry kinds of `b_tool_bash`: text, a Bash call, its result, text, the result. */
export const TOOL_RUN_KINDS = ['init', 'assistant', 'tool_call', 'tool_result', 'assistant', 'result'] as const;

/** The non-blank lines of a recorded transcript in `src/__fixtures__`. */
export function fixtureLines(name: string): string[] {
  return readFileSync(join(import.meta.dirname, '..', 'src', '__fixtures__', `${name}.jsonl`), 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0);
}

/** A fixture's transcript entries through one stateful parser (by default the source module's). */
export function transcript(
  name: string,
  parser: { parseLine(line: string, ts: string): TranscriptEntry[] } = createStdoutParser(),
): TranscriptEntry[] {
  return fixtureLines(name).flatMap((line) => parser.parseLine(line, TS));
}
