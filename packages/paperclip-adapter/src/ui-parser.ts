/**
 * Entry of the adapter's UI transcript parser (`dist/ui-parser.cjs`, exported as `./ui-parser`). Paperclip's UI
 * worker evaluates the file as a plain script with `new Function("exports", "module", "self", "globalThis", source)`,
 * so the build bundles `@claude-k8s/stream-json`'s transcript mapping into one IIFE with no imports that assigns
 * `parseStdoutLine` and `createStdoutParser` onto `exports` / `module.exports`.
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access -- `exports`/`module` are the wrapper's untyped parameters */
import { createStdoutParser, parseStdoutLine } from '@claude-k8s/stream-json';

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
