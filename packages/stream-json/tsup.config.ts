import { writeFile } from 'node:fs/promises';
import { defineConfig } from 'tsup';
import packageJson from './package.json' with { type: 'json' };

// Types of the classic-script bundle: a CommonJS-style script, so `export =` (what Node.js sees when it is required).
const UI_PARSER_TYPES = `/** Paperclip-style transcript entry (see TranscriptEntry in @claude-k8s/stream-json). */
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
  // The core: pure, runs in browsers and Node.js.
  {
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    // No `clean`: the entries build in parallel and a clean in one could delete another's output; the build script empties dist first.
    target: 'es2022',
    platform: 'neutral',
    define,
  },
  // The `claude-stream-json` bin. The core is bundled in on purpose, so the bin is one file.
  {
    entry: ['src/cli.ts'],
    format: ['esm'],
    sourcemap: true,
    target: 'node24',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
    define,
  },
  // The classic-script UI parser for Paperclip's UI worker (spec §4.2): one IIFE, no imports, assigns onto
  // `exports` / `module.exports`. Everything is bundled in on purpose (it must be dependency-free).
  {
    entry: { 'ui-parser': 'src/ui-parser.ts' },
    format: ['iife'],
    outExtension: () => ({ js: '.cjs' }),
    target: 'es2022',
    platform: 'browser',
    minify: false,
    define,
    onSuccess: () => writeFile('dist/ui-parser.d.cts', UI_PARSER_TYPES),
  },
]);
