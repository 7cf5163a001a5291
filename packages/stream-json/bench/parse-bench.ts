// Throughput and memory benchmark of @claude-k8s/stream-json. Prints figures; it is not a timed test.
//   pnpm --filter @claude-k8s/stream-json bench     for two line-size mixes: (a) floor, (b) parse + accumulator in
//                                                   the callback form, (b') the same in the form consumers call
//                                                   (`push()` returning events), (c) the CLI to /dev/null; then peak
//                                                   RSS at 20 MiB and at the large size, default V8 flags
//   node bench/parse-bench.ts --rss <mode> <file>   (internal) stream one file, print peak RSS (VmHWM) and the young
//                                                   generation's size, both in KiB
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
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';
import { createStreamParser } from '../src/create-stream-parser.ts';
import { createRunAccumulator } from '../src/run-accumulator.ts';

const MIB = 1024 * 1024;
const HIGH_WATER_MARK = 64 * 1024;
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const fixturesDir = join(packageDir, 'src/__fixtures__');
/** The transcript scripted to print one 5,000-line answer: two ~320 KB lines (the answer and `result.result`). */
const LONG_OUTPUT = 'j_long_output_5000_lines.jsonl';

/** A block of real transcript bytes that an input repeats. */
interface Mix {
  name: string;
  /** Why this mix, in one line. */
  why: string;
  block: Buffer;
}

/**
 * The two mixes. Both repeat whole recorded transcripts (stream-json ones: every line a JSON object).
 * - `fixture set`: every transcript once per block, as before: three quarters of the bytes are the two ~320 KB lines
 *   of the long-output stress scenario, so it measures long lines.
 * - `realistic`: every transcript except that stress scenario. Each of those is a real run with the adapter's flags
 *   (`--print --output-format stream-json --verbose`: init, one assistant line per content block, tool results,
 *   retries, permission denials, sub-agents, partial messages, result), so its line sizes are those of an ordinary run.
 */
function buildMixes(): Mix[] {
  const transcripts = readdirSync(fixturesDir)
    .filter((name) => name.endsWith('.jsonl'))
    .sort()
    .map((name) => ({ name, bytes: readFileSync(join(fixturesDir, name)) }))
    // Only stream-json transcripts (every line a JSON object); skip empty files and the plain-text one.
    .filter(({ bytes }) => bytes.length > 0 && bytes[0] === 0x7b);
  return [
    {
      name: 'fixture set',
      why: `every recorded transcript once per block, ${LONG_OUTPUT} included`,
      block: Buffer.concat(transcripts.map(({ bytes }) => bytes)),
    },
    {
      name: 'realistic',
      why: `every recorded transcript except the scripted stress case ${LONG_OUTPUT}`,
      block: Buffer.concat(transcripts.filter(({ name }) => name !== LONG_OUTPUT).map(({ bytes }) => bytes)),
    },
  ];
}

/** Line sizes of a block (bytes, newline included): count, mean, median, 90th percentile, maximum, long-line share. */
function describeLines(block: Buffer): string {
  const sizes: number[] = [];
  let start = 0;
  for (let newline = block.indexOf(0x0a); newline !== -1; newline = block.indexOf(0x0a, start)) {
    sizes.push(newline + 1 - start);
    start = newline + 1;
  }
  sizes.sort((left, right) => left - right);
  const at = (fraction: number) => sizes[Math.min(sizes.length - 1, Math.floor(sizes.length * fraction))] ?? 0;
  const total = sizes.reduce((sum, size) => sum + size, 0);
  const long = sizes.filter((size) => size > HIGH_WATER_MARK).reduce((sum, size) => sum + size, 0);
  const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;
  return (
    `${sizes.length} lines per ${kb(total)} block; line size mean ${kb(total / sizes.length)}, median ${kb(at(0.5))}, ` +
    `p90 ${kb(at(0.9))}, max ${kb(at(1))}; ${((100 * long) / total).toFixed(0)}% of bytes in lines over 64 KiB`
  );
}

/** Writes `megabytes` MiB of the block, repeated, to `path`. */
function writeInput(path: string, block: Buffer, megabytes: number): number {
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
 * reader of text does (each chunk decoded once, only the new text searched for newlines, a partial line joined once
 * when its end arrives), so long lines spanning many chunks are not re-copied on every chunk.
 *
 * With `keep`, it also keeps the last parsed value of each line `type`: the least any run summary must hold (the last
 * answer, the last result), for the memory comparison.
 */
function createFloor(keep = false): { push(chunk: Uint8Array): void; readonly parsed: number } {
  const decoder = new TextDecoder();
  const kept = new Map<unknown, unknown>();
  let carry = '';
  let parsed = 0;
  const parse = (line: string): void => {
    const value: unknown = JSON.parse(line);
    if (keep) kept.set((value as { type?: unknown }).type, value);
  };
  return {
    push(chunk) {
      const text = decoder.decode(chunk, { stream: true });
      let start: number;
      let newline = text.indexOf('\n');
      if (newline === -1) {
        carry += text;
        return;
      }
      parse(carry + text.slice(0, newline));
      parsed++;
      start = newline + 1;
      newline = text.indexOf('\n', start);
      while (newline !== -1) {
        parse(text.slice(start, newline));
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

/** Events in, summary out: the parser feeding the run accumulator, in one of its two forms. */
interface Consumer {
  push(chunk: Uint8Array): void;
  /** Ends the input; returns how many events reached the accumulator. */
  end(): number;
}

/** (b) The callback form: each event reaches the accumulator as soon as its line is parsed. */
function createCallbackConsumer(): Consumer {
  const accumulator = createRunAccumulator();
  let events = 0;
  const parser = createStreamParser({
    onEvent: (event) => {
      accumulator.add(event);
      events++;
    },
  });
  return {
    push: (chunk) => void parser.push(chunk),
    end() {
      parser.end();
      return checked(accumulator, events);
    },
  };
}

/** (b') The form consumers call (the adapter's accumulator, the stack): `push()` returns the events of each chunk. */
function createPushConsumer(): Consumer {
  const accumulator = createRunAccumulator();
  const parser = createStreamParser();
  let events = 0;
  return {
    push(chunk) {
      for (const event of parser.push(chunk)) {
        accumulator.add(event);
        events++;
      }
    },
    end() {
      for (const event of parser.end()) {
        accumulator.add(event);
        events++;
      }
      return checked(accumulator, events);
    },
  };
}

function checked(accumulator: ReturnType<typeof createRunAccumulator>, events: number): number {
  const summary = accumulator.summary();
  if (summary.parseErrorCount !== 0) throw new Error(`unexpected parse errors: ${summary.parseErrorCount}`);
  return events;
}

const consumers = { callback: createCallbackConsumer, push: createPushConsumer };

function floor(chunks: readonly Uint8Array[]): number {
  const state = createFloor();
  for (const chunk of chunks) state.push(chunk);
  return state.parsed;
}

function consume(create: () => Consumer, chunks: readonly Uint8Array[]): number {
  const consumer = create();
  for (const chunk of chunks) consumer.push(chunk);
  return consumer.end();
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
  for await (const chunk of streamChunks(path)) chunks.push(chunk);
  return chunks;
}

/** Streams a file's chunks without keeping them (for the RSS children). */
async function* streamChunks(path: string): AsyncGenerator<Uint8Array> {
  for await (const chunk of createReadStream(path, { highWaterMark: HIGH_WATER_MARK }) as AsyncIterable<Uint8Array>)
    yield chunk;
}

type RssMode = 'floor' | 'floor-keep' | keyof typeof consumers;

/**
 * Peak RSS and the young generation's final size (both KiB) of a child process, default V8 flags, that streams
 * `path` through `mode`: the median of three children (by peak RSS), as the peak depends on when the GC runs.
 */
function peakRss(path: string, mode: RssMode): { peak: number; young: number } {
  const runs: { peak: number; young: number }[] = [];
  for (let run = 0; run < 3; run++) {
    const result = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--rss', mode, path], {
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`RSS child failed: ${result.stderr}`);
    const [peak = Number.NaN, young = Number.NaN] = result.stdout.trim().split(' ').map(Number);
    runs.push({ peak, young });
  }
  return runs.sort((left, right) => left.peak - right.peak)[1] ?? { peak: Number.NaN, young: Number.NaN };
}

async function rssChild(mode: string, path: string): Promise<void> {
  // Streams the file: the parser and accumulator must not grow with the input.
  if (mode === 'floor' || mode === 'floor-keep') {
    const state = createFloor(mode === 'floor-keep');
    for await (const chunk of streamChunks(path)) state.push(chunk);
  } else if (mode === 'callback' || mode === 'push') {
    const consumer = consumers[mode]();
    for await (const chunk of streamChunks(path)) consumer.push(chunk);
    consumer.end();
  } else throw new Error(`unknown mode ${mode}`);
  // VmHWM (peak RSS of this process image). getrusage's maxRSS is not used: Linux carries the parent's peak over
  // fork+exec into it, so a child spawned by a large parent reports the parent's figure.
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  const young = getHeapSpaceStatistics()
    .filter((space) => space.space_name === 'new_space' || space.space_name === 'new_large_object_space')
    .reduce((sum, space) => sum + space.space_size, 0);
  process.stdout.write(`${match?.[1] ?? process.resourceUsage().maxRSS} ${Math.round(young / 1024)}\n`);
}

async function measureMix(mix: Mix, dir: string, largeMb: number): Promise<void> {
  const small = join(dir, 'small.jsonl');
  const large = join(dir, 'large.jsonl');
  writeInput(small, mix.block, 20);
  const mb = writeInput(large, mix.block, largeMb) / MIB;
  console.log(`\n== ${mix.name} mix: ${mix.why}`);
  console.log(`   ${describeLines(mix.block)}; input ${mb.toFixed(1)} MiB in 64 KiB chunks`);

  // (a), (b) and (b') run over the same chunks held in memory, so disk and page-cache noise stay out of the ratios.
  const chunks = await readChunks(large);
  // Warm up every path (JIT), then alternate rounds and keep the best of each.
  const warmUp = await readChunks(small);
  floor(warmUp);
  consume(createCallbackConsumer, warmUp);
  consume(createPushConsumer, warmUp);
  const best = { floor: Number.POSITIVE_INFINITY, callback: Number.POSITIVE_INFINITY, push: Number.POSITIVE_INFINITY };
  let lines = 0;
  let events = 0;
  for (let round = 0; round < 5; round++) {
    const floorRun = time(() => floor(chunks));
    const callbackRun = time(() => consume(createCallbackConsumer, chunks));
    const pushRun = time(() => consume(createPushConsumer, chunks));
    best.floor = Math.min(best.floor, floorRun.seconds);
    best.callback = Math.min(best.callback, callbackRun.seconds);
    best.push = Math.min(best.push, pushRun.seconds);
    lines = floorRun.count;
    if (callbackRun.count !== pushRun.count)
      throw new Error(`forms disagree: ${callbackRun.count} vs ${pushRun.count}`);
    events = pushRun.count;
  }
  chunks.length = 0;
  const cli = cliToDevNull(large);

  const rate = (seconds: number) => `${(mb / seconds).toFixed(1)} MB/s`.padStart(12);
  console.log(
    `(a)  floor: split + JSON.parse (memory)        ${rate(best.floor)}  (${lines} lines, ${best.floor.toFixed(2)} s)`,
  );
  console.log(
    `(b)  parse + accumulator, onEvent callback     ${rate(best.callback)}  (${events} events, ${best.callback.toFixed(2)} s)`,
  );
  console.log(
    `(b') parse + accumulator, push() returns events ${rate(best.push)}  (${events} events, ${best.push.toFixed(2)} s)`,
  );
  console.log(`(c)  CLI from file to /dev/null                 ${rate(cli)}  (${cli.toFixed(2)} s, whole process)`);
  for (const [label, seconds] of [
    ['b/a ', best.callback],
    ["b'/a", best.push],
  ] as const) {
    const ratio = best.floor / seconds;
    console.log(
      `ratio ${label} (throughput): ${ratio.toFixed(3)}   target >= 0.85: ${ratio >= 0.85 ? 'met' : 'NOT met'}`,
    );
  }

  const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`.padStart(9);
  console.log(
    'peak RSS, default V8 flags (VmHWM of a child streaming the file; median of 3) and young generation at the end:',
  );
  for (const [label, mode, target] of [
    ['parse + accumulator, push() form', 'push', true],
    ['parse + accumulator, onEvent form', 'callback', true],
    ['floor: JSON.parse alone, keeps nothing', 'floor', false],
    ['floor: JSON.parse alone, keeps last of each type', 'floor-keep', false],
  ] as const) {
    const rssSmall = peakRss(small, mode);
    const rssLarge = peakRss(large, mode);
    const growth = (rssLarge.peak - rssSmall.peak) / 1024;
    const verdict = target ? `   target < 32 MiB: ${growth < 32 ? 'met' : 'NOT met'}` : '';
    console.log(
      `  ${label.padEnd(48)} 20 MiB: ${mib(rssSmall.peak)} (young ${mib(rssSmall.young)})   ${mb.toFixed(0)} MiB: ${mib(rssLarge.peak)} (young ${mib(rssLarge.young)})   growth ${growth.toFixed(1).padStart(5)} MiB${verdict}`,
    );
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--rss') {
    await rssChild(process.argv[3] ?? '', process.argv[4] ?? '');
    return;
  }
  const largeMb = Number.parseInt(process.env['BENCH_MB'] ?? '200', 10);
  console.log(`node ${process.version}, ${process.arch}; best of 5 alternating rounds; default V8 flags everywhere`);
  const dir = mkdtempSync(join(tmpdir(), 'stream-json-bench-'));
  try {
    for (const mix of buildMixes()) await measureMix(mix, dir, largeMb);
    console.log(
      '\nRSS growth is V8 growing its young generation once enough bytes have survived collections in total, so it' +
        '\ngrows with input length whenever something long-lived is allocated per line. The parser splits bytes on' +
        '\nnewlines before decoding (one line of text alive, not one 64 KiB chunk); what still survives is what the' +
        '\naccumulator must keep: with 320 KB answers, the last answer and result, as the keeping floor shows.',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
