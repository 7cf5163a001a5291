/**
 * The line splitter's cap (issue 19): one line without a newline must not grow memory without bound. An oversized
 * line is dropped as it arrives, reported with its length, and the lines after it arrive as usual.
 */
import { describe, expect, it } from 'vitest';
import { createLineSplitter } from './line-splitter.ts';
import { createStreamParser } from './create-stream-parser.ts';
import type { StreamEvent } from './stream-event.ts';

const encoder = new TextEncoder();

function split(chunks: (string | Uint8Array)[], maxLineLength: number) {
  const lines: string[] = [];
  const dropped: { length: number; head: string }[] = [];
  const splitter = createLineSplitter({
    maxLineLength,
    onOversizedLine: (length, head) => dropped.push({ length, head }),
  });
  for (const chunk of chunks) splitter.push(chunk, (line) => lines.push(line));
  const last = splitter.end((line) => lines.push(line));
  if (last !== undefined) lines.push(last);
  return { lines, dropped };
}

describe('line splitter cap', () => {
  const cases: [string, string[]][] = [
    ['one chunk', ['ok\nxxxxxxxxxxxxxxxx\nafter\n']],
    ['across chunks, no newline in the middle ones', ['ok\nxxxx', 'xxxxxx', 'xxxxxx\nafter\n']],
    ['carried part plus the rest of the line', ['ok\nxxxxxxxx', 'xxxxxxxx\nafter\n']],
    ['the newline alone in its chunk', ['ok\nxxxxxxxxxxxxxxxx', '\n', 'after\n']],
  ];
  for (const [name, chunks] of cases) {
    for (const kind of ['text', 'bytes'] as const) {
      it(`${name} (${kind}): the 16-long line is dropped and reported, the others arrive`, () => {
        const input = kind === 'text' ? chunks : chunks.map((chunk) => encoder.encode(chunk));
        const { lines, dropped } = split(input, 10);
        expect(lines).toEqual(['ok', 'after']);
        expect(dropped.map((d) => d.length)).toEqual([16]);
        // Its first characters, as far as they were seen before it was dropped.
        expect(dropped[0]?.head).toMatch(/^x{4,16}$/);
      });
    }
  }

  it('a line at the limit is kept; an oversized last line without a newline is reported at the end', () => {
    expect(split(['0123456789\n', 'x'.repeat(11)], 10)).toEqual({
      lines: ['0123456789'],
      dropped: [{ length: 11, head: 'x'.repeat(11) }],
    });
  });
});

describe('stream parser: 64 MiB without a newline, then normal lines', () => {
  it('reports the line as parse-error too-long with its size, drops it, and parses the lines after it', () => {
    const events: StreamEvent[] = [];
    const parser = createStreamParser({ onEvent: (event) => events.push(event) });
    const piece = 'x'.repeat(64 * 1024);
    const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const start = performance.now();
    parser.push('{"type":"system","subtype":"init","session_id":"s-1","model":"m","tools":[]}\n');
    for (let i = 0; i < 1024; i += 1) parser.push(piece);
    const grown = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - before;
    parser.push('\n{"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"s-1"}\n');
    parser.end();
    const ms = Math.round(performance.now() - start);
    console.log(
      `fault: 64 MiB line without a newline -> parse-error too-long, next lines parsed in ${ms} ms; heap+buffers grew ${Math.round(grown / 1048576)} MiB while it streamed`,
    );
    expect(events.map((event) => event.type)).toEqual(['session-init', 'parse-error', 'result']);
    expect(events[1]).toMatchObject({
      type: 'parse-error',
      reason: 'too-long',
      lineNumber: 2,
      droppedLength: 64 * 1024 * 1024,
      line: 'x'.repeat(120),
    });
    expect(parser.parseErrorCount).toBe(1);
    // The line was never held: far below its 64 MiB (128 MiB as UTF-16).
    expect(grown).toBeLessThan(40 * 1024 * 1024);
  });
});
