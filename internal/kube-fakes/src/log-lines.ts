/**
 * Numbered, checksummed test output: the generator (also runnable inside a container, see `buildLogLinesScript`)
 * and the analyser the log tests assert with. Line `i` is fully determined by `(i, seed)`, so a verifier regenerates
 * it and any duplicated, missing, reordered or corrupted byte shows.
 */

/**
 * Line `index` (without its newline): `#<index> <payload> <fnv1a-hex>`. Lengths are mixed: mostly short, some KB,
 * some 16–56 K characters (containerd splits them into partial records), and every 97th is 300 000 characters;
 * the payload mixes ASCII with 2-, 3- and 4-byte UTF-8 characters. Self-contained (its source is embedded in the
 * container script): no imports, no closures.
 */
export function logLine(index: number, seed: number): string {
  let state = (Math.imul(index + 1, 2654435761) ^ Math.imul(seed + 7, 40503)) >>> 0 || 1;
  const random = (): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
  const alphabet = Array.from('abcdefghijklmnopqrstuvwxyz0123456789 é ü ß 漢字 ✓ → 😀 🚀 ');
  const pick = random();
  let length: number;
  if (index % 97 === 13) length = 300000;
  else if (pick < 0.6) length = Math.floor(random() * 80);
  else if (pick < 0.96) length = 80 + Math.floor(random() * 2000);
  else length = 16000 + Math.floor(random() * 40000);
  const parts: string[] = [];
  for (let position = 0; position < length; position++)
    parts.push(alphabet[Math.floor(random() * alphabet.length)] ?? 'x');
  const body = `#${index} ${parts.join('')}`;
  let hash = 0x811c9dc5;
  for (let position = 0; position < body.length; position++) {
    hash ^= body.charCodeAt(position);
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return `${body} ${hash.toString(16).padStart(8, '0')}`;
}

/** What a received text holds, line by line. */
export interface LogLinesAnalysis {
  /** Indices of the valid lines, in received order. */
  indices: number[];
  /** Lines that are not exactly `logLine(i, seed)` (truncated, corrupted, glued). */
  corrupt: { position: number; head: string }[];
  /** Text after the last newline. */
  trailing: string;
}

export function analyzeLogLines(text: string, seed: number): LogLinesAnalysis {
  const lines = text.split('\n');
  const trailing = lines.pop() ?? '';
  const indices: number[] = [];
  const corrupt: LogLinesAnalysis['corrupt'] = [];
  lines.forEach((line, position) => {
    const index = Number(/^#(\d+) /.exec(line)?.[1] ?? Number.NaN);
    if (Number.isInteger(index) && line === logLine(index, seed)) indices.push(index);
    else corrupt.push({ position, head: line.slice(0, 80) });
  });
  return { indices, corrupt, trailing };
}

/** Describes how `analysis` differs from exactly lines `0..count-1` in order; `[]` when it matches. */
export function describeLogLinesProblems(analysis: LogLinesAnalysis, count: number): string[] {
  const problems: string[] = [];
  if (analysis.corrupt.length > 0)
    problems.push(
      `${analysis.corrupt.length} corrupt lines, first at ${analysis.corrupt[0]?.position}: ${analysis.corrupt[0]?.head}`,
    );
  const seen = new Set<number>();
  let previous = -1;
  for (const index of analysis.indices) {
    if (seen.has(index)) problems.push(`line ${index} duplicated`);
    else if (index < previous) problems.push(`line ${index} out of order after ${previous}`);
    seen.add(index);
    previous = Math.max(previous, index);
    if (problems.length > 10) break;
  }
  const missing: number[] = [];
  for (let index = 0; index < count && missing.length < 10; index++) if (!seen.has(index)) missing.push(index);
  if (missing.length > 0) problems.push(`missing lines ${missing.join(', ')}${missing.length === 10 ? ' …' : ''}`);
  if (analysis.indices.length !== count) problems.push(`${analysis.indices.length} lines instead of ${count}`);
  return problems;
}

/** Options of {@link buildLogLinesScript}. */
export interface LogLinesScriptOptions {
  count: number;
  seed: number;
  /** Lines written back to back before a pause. @default 25 */
  burst?: number;
  /** Pause between bursts, milliseconds. @default 20 */
  pauseMs?: number;
  /** Also write this text without a newline at the very end. */
  finalFragment?: string;
}

/** A `node -e` program printing lines `0..count-1` (bursts and pauses) to stdout, then exiting 0. */
export function buildLogLinesScript(options: LogLinesScriptOptions): string {
  const burst = options.burst ?? 25;
  const pauseMs = options.pauseMs ?? 20;
  return [
    `const logLine = ${logLine.toString()};`,
    `const count = ${options.count}, seed = ${options.seed}, burst = ${burst}, pauseMs = ${pauseMs};`,
    `const finalFragment = ${JSON.stringify(options.finalFragment ?? '')};`,
    `const write = (text) => new Promise((resolve) => process.stdout.write(text, resolve));`,
    `(async () => {`,
    `  for (let index = 0; index < count; index++) {`,
    `    await write(logLine(index, seed) + '\\n');`,
    `    if ((index + 1) % burst === 0 && pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));`,
    `  }`,
    `  if (finalFragment) await write(finalFragment);`,
    `})();`,
  ].join('\n');
}
