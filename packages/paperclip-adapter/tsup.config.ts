import { writeFile } from 'node:fs/promises';
import { defineConfig } from 'tsup';
import packageJson from './package.json' with { type: 'json' };

// Types of the classic-script UI parser: a CommonJS-style script (what Node.js sees when it is required).
const UI_PARSER_TYPES = `/** A Paperclip transcript entry (TranscriptEntry of src/transcript-entry.ts). */
type TranscriptEntry = { kind: string; ts: string } & Record<string, unknown>;
interface StdoutParser {
  parseLine(line: string, ts: string): TranscriptEntry[];
  reset(): void;
}
declare const uiParser: {
  /** One stdout line of Claude Code stream-json to transcript entries; never throws. */
  parseStdoutLine(line: string, ts: string): TranscriptEntry[];
  /** A stateful parser that remembers tool names across lines. */
  createStdoutParser(): StdoutParser;
};
export = uiParser;
`;

const define = { __PACKAGE_VERSION__: JSON.stringify(packageJson.version) };

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    // No `clean`: the entries build in parallel; the build script empties dist first.
    target: 'node24',
    platform: 'node',
    define,
  },
  // The UI transcript parser Paperclip's UI worker evaluates (a plain script, no imports): the transcript mapping and
  // the stream-json parser it calls are bundled in on purpose, since the file must be dependency-free.
  {
    entry: { 'ui-parser': 'src/ui-parser.ts' },
    format: ['iife'],
    outExtension: () => ({ js: '.cjs' }),
    target: 'es2022',
    platform: 'browser',
    noExternal: ['@claude-k8s/stream-json'],
    define,
    onSuccess: () => writeFile('dist/ui-parser.d.cts', UI_PARSER_TYPES),
  },
]);
