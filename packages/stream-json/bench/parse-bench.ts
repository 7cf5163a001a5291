// Throughput and memory benchmark of @claude-k8s/stream-json. Prints figures; it is not a timed test.
//   pnpm --filter @claude-k8s/stream-json bench            build inputs, measure (a) floor, (b) parse+accumulate,
//                                                          (c) CLI formatting to /dev/null, and peak RSS at 20/200 MB
//   node bench/parse-bench.ts --rss <file>                 (internal) stream-parse one file, print peak RSS (VmHWM) in KiB
// BENCH_MB=<n> changes the large input's size (default 200).
import { spawnSync } from 'node:child_process';
import {
  createReadStream,
  mkdtempSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRunAccumulator, createStreamParser } from '../src/index.ts';

const MIB = 1024 * 1024;
const HIGH_WATER_MARK = 64 * 1024;
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const fixturesDir = join(packageDir, 'src/__fixtures__');

/** Writes `megabytes` MiB of real fixture lines (whole transcripts repeated) to `path`. */
function buildInput(path: string, megabytes: number): number {
  const transcripts = readdirSync(fixturesDir)
    .filter((name) => name.endsWith('.jsonl'))
    .sort()
    .map((name) => readFileSync(join(fixturesDir, name)))
    // Only stream-json transcripts (every line a JSON object); skip empty files and the plain-text one.
    .filter((bytes) => bytes.length > 0 && bytes[0] === 0x7b);
  const block = Buffer.concat(transcripts);
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    while (written < megabytes * MIB) written += writeSync(fd, block);
  } finally {
    closeSync(fd);
  }
  return written;
}

/**
 * (a) The floor: split the same bytes on newlines and JSON.parse each line, nothing else. It splits the way a careful
 * reader does (only the new text is searched for newlines; a partial line is joined once, when its end arrives), so
 * long lines spanning many chunks are not re-copied on every chunk.
 */
function createFloor(): { push(chunk: Uint8Array): void; readonly parsed: number } {
  const decoder = new TextDecoder();
  let carry = '';
  let parsed = 0;
  return {
    push(chunk) {
      const text = decoder.decode(chunk, { stream: true });
      let start: number;
      let newline = text.indexOf('\n');
      if (newline === -1) {
        carry += text;
        return;
      }
      JSON.parse(carry + text.slice(0, newline));
      parsed++;
      start = newline + 1;
      newline = text.indexOf('\n', start);
      while (newline !== -1) {
        JSON.parse(text.slice(start, newline));
        parsed++;
        start = newline + 1;
        newline = text.indexOf('\n', start);
      }
      carry = text.slice(start);
    },
    get parsed() {
      return parsed;
    },
  };
}

function floor(chunks: readonly Uint8Array[]): number {
  const state = createFloor();
  for (const chunk of chunks) state.push(chunk);
  return state.parsed;
}

/** (b) This package: streaming parse into typed events, folded by the run accumulator. */
function parseAndAccumulate(chunks: Iterable<Uint8Array>): number {
  const accumulator = createRunAccumulator();
  let events = 0;
  // The callback form: each event reaches the accumulator as soon as its line is parsed.
  const parser = createStreamParser({
    onEvent: (event) => {
      accumulator.add(event);
      events++;
    },
  });
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  const summary = accumulator.summary();
  if (summary.parseErrorCount !== 0) throw new Error(`unexpected parse errors: ${summary.parseErrorCount}`);
  return events;
}

/** (c) The CLI as a process, formatting to /dev/null. Returns seconds of wall time. */
function cliToDevNull(path: string): number {
  const devNull = openSync('/dev/null', 'w');
  try {
    const start = performance.now();
    const result = spawnSync(process.execPath, [join(packageDir, 'src/cli.ts'), path, '--width', '120'], {
      stdio: ['ignore', devNull, 'pipe'],
    });
    const seconds = (performance.now() - start) / 1000;
    // Exit 1 is expected: the repeated transcripts include failed runs, and the last result decides.
    if (result.status !== 0 && result.status !== 1)
      throw new Error(`CLI exited ${result.status}: ${result.stderr.toString()}`);
    return seconds;
  } finally {
    closeSync(devNull);
  }
}

function time(run: () => number): { seconds: number; count: number } {
  const start = performance.now();
  const count = run();
  return { seconds: (performance.now() - start) / 1000, count };
}

/** The file's bytes as 64 KiB chunks, read by a stream (as a pod log or stdin would deliver them). */
async function readChunks(path: string): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of createReadStream(path, { highWaterMark: HIGH_WATER_MARK }) as AsyncIterable<Uint8Array>)
    chunks.push(chunk);
  return chunks;
}

/** Streams a file's chunks without keeping them (for the RSS children). */
async function* streamChunks(path: string): AsyncGenerator<Uint8Array> {
  for await (const chunk of createReadStream(path, { highWaterMark: HIGH_WATER_MARK }) as AsyncIterable<Uint8Array>)
    yield chunk;
}

/**
 * Peak RSS (KiB) of a child process that streams `path` through `mode` (`parse` or `floor`), with extra V8 flags:
 * the median of three children, as the peak depends on when the GC happens to run.
 */
function peakRss(path: string, mode: 'parse' | 'floor', v8Flags: readonly string[] = []): number {
  const peaks: number[] = [];
  for (let run = 0; run < 3; run++) {
    const result = spawnSync(process.execPath, [...v8Flags, fileURLToPath(import.meta.url), '--rss', mode, path], {
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`RSS child failed: ${result.stderr}`);
    peaks.push(Number.parseInt(result.stdout.trim(), 10));
  }
  return peaks.sort((left, right) => left - right)[1] ?? Number.NaN;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--rss') {
    // Streams the file: the parser and accumulator must not grow with the input.
    const path = process.argv[4] ?? '';
    if (process.argv[3] === 'floor') {
      // The floor, streamed: one chunk in memory at a time.
      const state = createFloor();
      for await (const chunk of streamChunks(path)) state.push(chunk);
    } else {
      const accumulator = createRunAccumulator();
      const parser = createStreamParser({ onEvent: (event) => accumulator.add(event) });
      for await (const chunk of streamChunks(path)) parser.push(chunk);
      parser.end();
      if (accumulator.summary().parseErrorCount !== 0) throw new Error('unexpected parse errors');
    }
    // VmHWM (peak RSS of this process image). getrusage's maxRSS is not used: Linux carries the parent's peak over
    // fork+exec into it, so a child spawned by a large parent reports the parent's figure.
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    process.stdout.write(`${match?.[1] ?? process.resourceUsage().maxRSS}\n`);
    return;
  }
  const largeMb = Number.parseInt(process.env['BENCH_MB'] ?? '200', 10);
  const dir = mkdtempSync(join(tmpdir(), 'stream-json-bench-'));
  try {
    const small = join(dir, 'small.jsonl');
    const large = join(dir, 'large.jsonl');
    buildInput(small, 20);
    const bytes = buildInput(large, largeMb);
    const mb = bytes / MIB;
    console.log(
      `input: ${mb.toFixed(1)} MiB and ${(statSync(small).size / MIB).toFixed(1)} MiB of repeated real fixture lines (64 KiB chunks)`,
    );
    console.log(`node ${process.version}, ${process.arch}`);

    // (a) and (b) run over the same chunks held in memory, so disk and page-cache noise stay out of the ratio.
    const chunks = await readChunks(large);
    // Warm up both paths (JIT), then alternate rounds and keep the best of each.
    const warmUp = await readChunks(small);
    floor(warmUp);
    parseAndAccumulate(warmUp);
    let a = Number.POSITIVE_INFINITY;
    let b = Number.POSITIVE_INFINITY;
    let lines = 0;
    let events = 0;
    for (let round = 0; round < 5; round++) {
      const floorRun = time(() => floor(chunks));
      const parseRun = time(() => parseAndAccumulate(chunks));
      a = Math.min(a, floorRun.seconds);
      b = Math.min(b, parseRun.seconds);
      lines = floorRun.count;
      events = parseRun.count;
    }
    const c = cliToDevNull(large);

    const rate = (seconds: number) => `${(mb / seconds).toFixed(1)} MB/s`;
    console.log(`(a) floor: split + JSON.parse (memory) ${rate(a).padStart(12)}  (${lines} lines, ${a.toFixed(2)} s)`);
    console.log(
      `(b) parse + accumulator (memory)       ${rate(b).padStart(12)}  (${events} events, ${b.toFixed(2)} s)`,
    );
    console.log(`(c) CLI from file to /dev/null         ${rate(c).padStart(12)}  (${c.toFixed(2)} s, whole process)`);
    const ratio = a / b;
    console.log(`ratio b/a (throughput): ${ratio.toFixed(3)}   target >= 0.85: ${ratio >= 0.85 ? 'met' : 'NOT met'}`);

    const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
    const report = (label: string, mode: 'parse' | 'floor', flags: readonly string[], target: boolean) => {
      const rssSmall = peakRss(small, mode, flags);
      const rssLarge = peakRss(large, mode, flags);
      const difference = (rssLarge - rssSmall) / 1024;
      const verdict = target ? `   target < 32 MiB: ${difference < 32 ? 'met' : 'NOT met'}` : '';
      console.log(
        `${label.padEnd(44)} 20 MiB: ${mib(rssSmall).padStart(10)}   ${mb.toFixed(0)} MiB: ${mib(rssLarge).padStart(10)}   difference ${difference.toFixed(1).padStart(5)} MiB${verdict}`,
      );
    };
    console.log('peak RSS (VmHWM of a child process streaming the file; median of 3):');
    report('  parse + accumulator, default V8 flags', 'parse', [], true);
    report('  floor (split + JSON.parse), default V8 flags', 'floor', [], false);
    report('  parse + accumulator, --max-semi-space-size=4', 'parse', ['--max-semi-space-size=4'], true);
    console.log(
      '  (the heap itself stays small; V8 sizes its young generation and frees read buffers by GC timing, not by input size.)',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
