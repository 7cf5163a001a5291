import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createStreamParser } from '../create-stream-parser.ts';
import { createFormatter } from '../format-event.ts';
import type { StreamChunk } from '../line-splitter.ts';
import { createRunAccumulator } from '../run-accumulator.ts';
import type { StreamEvent } from '../stream-event.ts';
import { VERSION } from '../version.ts';
import { errorMessage } from '../error-message.ts';

/** Something to write text to (a Node.js writable stream fits). */
export interface TextSink {
  write(text: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

/** What the CLI talks to; injected so tests run it in-process. */
export interface CliIo {
  stdin: AsyncIterable<StreamChunk>;
  stdout: TextSink;
  stderr: TextSink;
  env: Record<string, string | undefined>;
  /** True when stdout is a terminal (colour on by default). */
  stdoutIsTty: boolean;
  /** Terminal width, when known. */
  columns?: number | undefined;
}

/** Exit codes of `claude-stream-json`. */
export const EXIT_CODES = { ok: 0, runFailed: 1, malformedInput: 2, usage: 64, ioError: 66 } as const;

const HELP = `Usage: claude-stream-json [options] [file]

Pretty-prints Claude Code --output-format stream-json output from a file or stdin, as lines arrive.

Options:
  --color / --no-color   ANSI colours (default: on when stdout is a terminal and NO_COLOR is unset)
  --thinking             show thinking blocks (hidden by default)
  --raw                  print unknown lines and content blocks as raw JSON
  --deltas               show streamed deltas (--include-partial-messages)
  --width <columns>      line width (default: terminal width or 100)
  --summary              print only the run summary as JSON
  --stderr <file>        the run's stderr, used to classify failures (e.g. argument errors)
  --exit-code <n>        the run's exit code, when known
  --signal <name>        the signal that ended the run, when known
  -v, --version          print the version
  -h, --help             print this help

Exit status: 0 run succeeded, 1 run failed (or no result), 2 malformed input, 64 bad usage, 66 unreadable input.
`;

async function write(sink: TextSink, text: string): Promise<void> {
  if (text.length === 0) return;
  if (!sink.write(text)) await new Promise<void>((resolve) => sink.once('drain', resolve));
}

/**
 * Runs the CLI. Returns the exit status; never calls `process.exit`.
 *
 * @param argv - arguments after the program name
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      allowNegative: true,
      options: {
        color: { type: 'boolean' },
        thinking: { type: 'boolean', default: false },
        raw: { type: 'boolean', default: false },
        deltas: { type: 'boolean', default: false },
        width: { type: 'string' },
        summary: { type: 'boolean', default: false },
        stderr: { type: 'string' },
        'exit-code': { type: 'string' },
        signal: { type: 'string' },
        version: { type: 'boolean', short: 'v', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    await write(io.stderr, `claude-stream-json: ${errorMessage(error)}\n${HELP}`);
    return EXIT_CODES.usage;
  }
  if (values.help) {
    await write(io.stdout, HELP);
    return EXIT_CODES.ok;
  }
  if (values.version) {
    await write(io.stdout, `${VERSION}\n`);
    return EXIT_CODES.ok;
  }
  if (positionals.length > 1) {
    await write(io.stderr, `claude-stream-json: expected at most one file, got ${positionals.length}\n`);
    return EXIT_CODES.usage;
  }
  const width = values.width === undefined ? (io.columns ?? 100) : Number.parseInt(values.width, 10);
  if (!Number.isFinite(width) || width <= 0) {
    await write(io.stderr, `claude-stream-json: --width expects a positive number, got ${values.width ?? ''}\n`);
    return EXIT_CODES.usage;
  }
  const exitCode = values['exit-code'] === undefined ? null : Number.parseInt(values['exit-code'], 10);
  const color = values.color ?? (io.stdoutIsTty && (io.env['NO_COLOR'] === undefined || io.env['NO_COLOR'] === ''));
  const formatter = createFormatter({
    color,
    thinking: values.thinking,
    width,
    rawUnknown: values.raw,
    deltas: values.deltas,
  });
  const parser = createStreamParser();
  const accumulator = createRunAccumulator();
  const summaryOnly = values.summary;

  if (values.stderr !== undefined) {
    try {
      accumulator.addStderr(await readFile(values.stderr, 'utf8'));
    } catch (error) {
      await write(io.stderr, `claude-stream-json: read ${values.stderr}: ${errorMessage(error)}\n`);
      return EXIT_CODES.ioError;
    }
  }

  const file = positionals[0];
  const input: AsyncIterable<StreamChunk> = file === undefined || file === '-' ? io.stdin : createReadStream(file);
  const handle = async (events: StreamEvent[]): Promise<void> => {
    let text = '';
    for (const event of events) {
      accumulator.add(event);
      if (!summaryOnly) text += formatter.format(event);
    }
    await write(io.stdout, text);
  };
  try {
    for await (const chunk of input) await handle(parser.push(chunk));
  } catch (error) {
    await write(io.stderr, `claude-stream-json: read ${file ?? 'stdin'}: ${errorMessage(error)}\n`);
    return EXIT_CODES.ioError;
  }
  await handle(parser.end());

  const summary = accumulator.summary({
    exitCode: Number.isFinite(exitCode) ? exitCode : null,
    signal: values.signal ?? null,
  });
  if (summaryOnly) await write(io.stdout, `${JSON.stringify(summary, null, 2)}\n`);
  else await write(io.stdout, formatter.formatSummary(summary));
  if (summary.status === 'failed') return EXIT_CODES.runFailed;
  if (summary.parseErrorCount > 0) return EXIT_CODES.malformedInput;
  return EXIT_CODES.ok;
}
