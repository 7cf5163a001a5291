/**
 * Entry of the classic-script UI parser bundle (`dist/ui-parser.cjs`). Paperclip's UI worker evaluates the file
 * with `new Function("exports", "module", "self", "globalThis", source)`; it must be a plain script that assigns
 * `parseStdoutLine` and `createStdoutParser` onto `exports` / `module.exports`. The build wraps this file in an
 * IIFE with no imports.
 */
import { createStdoutParser, parseStdoutLine } from './transcript-entry.ts';

interface ExportsTarget {
  parseStdoutLine?: unknown;
  createStdoutParser?: unknown;
}

function assign(target: unknown): void {
  if ((typeof target === 'object' && target !== null) || typeof target === 'function') {
    const exportsTarget = target as ExportsTarget;
    exportsTarget.parseStdoutLine = parseStdoutLine;
    exportsTarget.createStdoutParser = createStdoutParser;
  }
}

// `exports` and `module` are the wrapper's parameters (or CommonJS's, when the file is required).
assign(typeof exports === 'undefined' ? undefined : (exports as unknown));
assign(typeof module === 'undefined' ? undefined : (module as { exports?: unknown }).exports);
