import { describe, expect, it } from 'vitest';
import { createLogCursor, decodeLogCheckpoint, initialLogCheckpoint } from './log-cursor.ts';
import {
  createTimestampedLineParser,
  normalizeTimestamp,
  secondOf,
  TimestampFormatError,
} from './timestamped-line-parser.ts';
import { completeUtf8Length } from './utf8-boundary.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function parseAll(chunks: Uint8Array[]): { timestamp: string; text: string; complete: boolean }[] {
  const parser = createTimestampedLineParser();
  const lines: { timestamp: string; text: string; complete: boolean }[] = [];
  for (const chunk of chunks)
    for (const piece of parser.push(chunk)) {
      if (piece.kind === 'line-start')
        lines.push({ timestamp: piece.timestamp ?? 'headless', text: '', complete: false });
      else {
        const line = lines.at(-1);
        if (!line) throw new Error('content before a line start');
        line.text += decoder.decode(piece.bytes, { stream: true });
        line.complete = piece.endsLine;
      }
    }
  return lines;
}

describe('timestamped line parser', () => {
  const body = encoder.encode(
    '2026-11-24T13:41:21.329421177Z line 0\n2026-11-24T13:41:21.329421177Z héllo 😀\n2026-11-24T13:41:22.000000001Z tail',
  );

  it('splits timestamps from content, keeps the newline with the content, and reports an unterminated tail', () => {
    expect(parseAll([body])).toEqual([
      { timestamp: '2026-11-24T13:41:21.329421177Z', text: 'line 0\n', complete: true },
      { timestamp: '2026-11-24T13:41:21.329421177Z', text: 'héllo 😀\n', complete: true },
      { timestamp: '2026-11-24T13:41:22.000000001Z', text: 'tail', complete: false },
    ]);
  });

  it('gives the same lines for every split point (inside timestamps and characters)', () => {
    const whole = parseAll([body]);
    for (let first = 0; first <= body.length; first++)
      for (const second of [first, Math.min(body.length, first + 1), Math.min(body.length, first + 17)])
        expect(parseAll([body.subarray(0, first), body.subarray(first, second), body.subarray(second)])).toEqual(whole);
  });

  it('reports a headless first line (the tail of a line that began before sinceTime), then rejects one later', () => {
    for (const split of [1, 5, 30, 45, 60]) {
      const body = encoder.encode('tail of a long line, 3ys é\n2026-11-24T13:41:22.000000001Z next\n');
      const parser = createTimestampedLineParser();
      const lines: { timestamp: string | null; text: string }[] = [];
      const push = (chunk: Uint8Array): void => {
        for (const piece of parser.push(chunk))
          if (piece.kind === 'line-start') lines.push({ timestamp: piece.timestamp, text: '' });
          else lines.at(-1)!.text += decoder.decode(piece.bytes);
      };
      push(body.subarray(0, split));
      push(body.subarray(split));
      expect(() => push(encoder.encode('no timestamp at all here\n'))).toThrow(TimestampFormatError);
      expect(lines.slice(0, 2)).toEqual([
        { timestamp: null, text: 'tail of a long line, 3ys é\n' },
        { timestamp: '2026-11-24T13:41:22.000000001Z', text: 'next\n' },
      ]);
    }
  });

  it('normalizes timestamps to fixed-width UTC so that they compare as strings', () => {
    expect(normalizeTimestamp('2026-11-24T13:41:21.5Z')).toBe('2026-11-24T13:41:21.500000000Z');
    expect(normalizeTimestamp('2026-11-24T13:41:21Z')).toBe('2026-11-24T13:41:21.000000000Z');
    expect(normalizeTimestamp('2026-11-24T14:41:21.000000007+01:00')).toBe('2026-11-24T13:41:21.000000007Z');
    expect(secondOf('2026-11-24T13:41:21.999999999Z')).toBe('2026-11-24T13:41:21Z');
  });
});

describe('completeUtf8Length', () => {
  it('holds back only an incomplete trailing sequence', () => {
    const bytes = encoder.encode('aé漢😀');
    const cuts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((length) => completeUtf8Length(bytes.subarray(0, length)));
    expect(cuts).toEqual([1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10].slice(0, cuts.length));
    expect(completeUtf8Length(Uint8Array.of(0x80, 0x80))).toBe(2);
  });
});

describe('log cursor', () => {
  it('counts delivered lines from 30 s before the latest timestamp, and moves that window at a new second', () => {
    const cursor = createLogCursor(initialLogCheckpoint);
    cursor.startLine('2026-11-24T13:00:00.100000000Z');
    cursor.addBytes(3);
    cursor.endLine();
    cursor.startLine('2026-11-24T13:00:00.100000000Z');
    cursor.addBytes(2);
    cursor.endLine();
    expect(cursor.snapshot()).toMatchObject({ sinceTime: '2026-11-24T12:59:30Z', linesSince: 2, partialBytes: 0 });
    cursor.startLine('2026-11-24T13:00:01.000000000Z');
    cursor.addBytes(5);
    // The window moved one second: the lines of second :00 are still in it.
    expect(cursor.snapshot()).toMatchObject({ sinceTime: '2026-11-24T12:59:31Z', linesSince: 2, partialBytes: 5 });
    cursor.endLine();
    cursor.startLine('2026-11-24T13:00:31.000000000Z');
    cursor.addBytes(4);
    expect(cursor.snapshot()).toEqual({
      version: 1,
      sinceTime: '2026-11-24T13:00:01Z',
      linesSince: 1,
      partialBytes: 4,
      lastTimestamp: '2026-11-24T13:00:31.000000000Z',
      maxTimestamp: '2026-11-24T13:00:31.000000000Z',
      linesBySecond: { '2026-11-24T13:00:01Z': 1 },
      deliveredBytes: 14,
      deliveredLines: 3,
    });
    // A line stamped earlier than the one before (stderr read later, a clock step back) within the margin is counted.
    cursor.endLine();
    cursor.startLine('2026-11-24T13:00:10.000000000Z');
    cursor.endLine();
    expect(cursor.snapshot()).toMatchObject({ sinceTime: '2026-11-24T13:00:01Z', linesSince: 3 });
    expect(cursor.snapshot().maxTimestamp).toBe('2026-11-24T13:00:31.000000000Z');
  });

  it('decodes a persisted checkpoint and rejects a damaged one with paths', () => {
    expect(decodeLogCheckpoint(JSON.parse(JSON.stringify(initialLogCheckpoint)))).toEqual({
      success: true,
      value: initialLogCheckpoint,
    });
    const result = decodeLogCheckpoint({
      ...initialLogCheckpoint,
      sinceTime: '2026-11-24T13:00:01.5Z',
      linesSince: -1,
    });
    expect(result).toEqual({
      success: false,
      issues: [
        'sinceTime: expected null or a whole-second RFC3339 UTC time',
        'linesSince: expected a non-negative integer',
      ],
    });
  });
});
