/**
 * Entry of the adapter's UI transcript parser (`dist/ui-parser.cjs`, exported as `./ui-parser`). Paperclip's UI
 * worker evaluates the file as a plain script with `new Function("exports", "module", "self", "globalThis", source)`,
 * so the build bundles the transcript mapping (`transcript-entry.ts`, with the `@claude-k8s/stream-json` parser it
 * uses) into one IIFE with no imports that assigns `parseStdoutLine` and `createStdoutParser` onto `exports` /
 * `module.exports`.
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
