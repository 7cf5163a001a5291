/**
 * Entry of the classic-script UI parser bundle (`dist/ui-parser.cjs`). Paperclip's UI worker evaluates the file
 * with `new Function("exports", "module", "self", "globalThis", source)`; it must be a plain script that assigns
 * `parseStdoutLine` and `createStdoutParser` onto `exports` / `module.exports`. The build wraps this file in an
 * IIFE with no imports.
 *
 * The assignments are written literally as `exports.name = …` so Node.js (cjs-module-lexer) also sees the named
 * exports when the file is imported from ESM.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access -- `exports`/`module` are the wrapper's untyped parameters */
import { createStdoutParser, parseStdoutLine } from './transcript-entry.ts';

if (typeof exports === 'object' && exports !== null) {
  exports.parseStdoutLine = parseStdoutLine;
  exports.createStdoutParser = createStdoutParser;
}
if (
  typeof module === 'object' &&
  module !== null &&
  typeof module.exports === 'object' &&
  module.exports !== null &&
  module.exports !== exports
) {
  module.exports.parseStdoutLine = parseStdoutLine;
  module.exports.createStdoutParser = createStdoutParser;
}
