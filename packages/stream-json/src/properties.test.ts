import { test } from '@fast-check/vitest';
import * as fc from 'fast-check';
import { splitAt } from '@claude-k8s/test-utils';
import { describe, expect, it } from 'vitest';
import { createStreamParser } from './create-stream-parser.ts';
import type { StreamEvent } from './stream-event.ts';
import { FIXTURE_NAMES, fixtureBytes, parseChunks } from '../test/fixture-helpers.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
// Small fixtures keep each run fast; the 640 KB one gets its own, smaller, run.
const SMALL = FIXTURE_NAMES.filter((name) => fixtureBytes(name).length < 100_000 && fixtureBytes(name).length > 0);
const reference = new Map<string, StreamEvent[]>(
  FIXTURE_NAMES.map((name) => [name, parseChunks([fixtureBytes(name)])]),
);

/**
 * `offset` moved back by one when it falls between the two halves of a surrogate pair. A JavaScript string chunk is
 * whole code points (UTF-16 text): cutting a pair and encoding one half would replace it with U+FFFD, changing the
 * input itself rather than testing how it is split.
 */
function codePointBoundary(text: string, offset: number): number {
  const before = text.charCodeAt(offset - 1);
  const after = text.charCodeAt(offset);
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff ? offset - 1 : offset;
}

describe('string cuts at code-point boundaries', () => {
  it('never separate a surrogate pair (seed -1984052369 of the property below cut k_unicode inside one)', () => {
    const text = decoder.decode(fixtureBytes('k_unicode'));
    const pair = [...text].findIndex((character) => character.length === 2);
    const inside = [...text].slice(0, pair).join('').length + 1;
    expect(text.charCodeAt(inside - 1)).toBeGreaterThanOrEqual(0xd800);
    expect(codePointBoundary(text, inside)).toBe(inside - 1);
    expect(codePointBoundary(text, inside - 1)).toBe(inside - 1);
    expect(codePointBoundary(text, inside + 1)).toBe(inside + 1);
    // The counterexample of that seed: a cut at 796795695 % (length + 1) lands inside a pair. Cut there, the input
    // itself changes; moved to the boundary, the events are the reference ones.
    const raw = 796795695 % (text.length + 1);
    expect(codePointBoundary(text, raw)).toBe(raw - 1);
    expect(parseChunks([text.slice(0, raw), encoder.encode(text.slice(raw))])).not.toEqual(reference.get('k_unicode'));
    const cut = codePointBoundary(text, raw);
    expect(parseChunks([text.slice(0, cut), encoder.encode(text.slice(cut))])).toEqual(reference.get('k_unicode'));
  });
});

describe('chunking does not change the events', () => {
  test.prop([fc.constantFrom(...SMALL), fc.array(fc.nat(), { maxLength: 40 })], { numRuns: 300 })(
    'any byte offsets, any fixture',
    (name, rawOffsets) => {
      const bytes = fixtureBytes(name);
      const offsets = rawOffsets.map((offset) => offset % (bytes.length + 1));
      expect(parseChunks(splitAt(bytes, offsets))).toEqual(reference.get(name));
    },
  );

  test.prop([fc.constantFrom(...SMALL), fc.integer({ min: 1, max: 64 })], { numRuns: 100 })(
    'every chunk size, even 1 byte (splits inside every multibyte character)',
    (name, size) => {
      const bytes = fixtureBytes(name);
      const chunks: Uint8Array[] = [];
      for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.subarray(offset, offset + size));
      expect(parseChunks(chunks)).toEqual(reference.get(name));
    },
  );

  test.prop([fc.array(fc.nat(), { maxLength: 60 })], { numRuns: 20 })('the 640 KB fixture', (rawOffsets) => {
    const bytes = fixtureBytes('j_long_output_5000_lines');
    expect(
      parseChunks(
        splitAt(
          bytes,
          rawOffsets.map((offset) => offset % (bytes.length + 1)),
        ),
      ),
    ).toEqual(reference.get('j_long_output_5000_lines'));
  });

  test.prop([fc.constantFrom(...SMALL), fc.array(fc.nat(), { maxLength: 20 })], { numRuns: 100 })(
    'string chunks split anywhere, also mixed with byte chunks',
    (name, rawOffsets) => {
      const text = decoder.decode(fixtureBytes(name));
      const cuts = [...new Set(rawOffsets.map((offset) => codePointBoundary(text, offset % (text.length + 1))))].sort(
        (a, b) => a - b,
      );
      const chunks: (string | Uint8Array)[] = [];
      let start = 0;
      cuts.forEach((cut, index) => {
        const piece = text.slice(start, cut);
        chunks.push(index % 2 === 0 ? piece : encoder.encode(piece));
        start = cut;
      });
      chunks.push(text.slice(start));
      expect(parseChunks(chunks)).toEqual(reference.get(name));
    },
  );
});

/** A line that is never a JSON object and never blank. */
const garbageLine = fc.oneof(
  fc
    .string({ minLength: 1, maxLength: 80 })
    .filter((text) => !text.includes('\n') && text.trim().length > 0 && !isJsonObject(text)),
  fc
    .jsonValue()
    .map((value) => JSON.stringify(value))
    .filter((text) => !text.startsWith('{')),
  fc.constantFrom(
    '{"type":"assistant"',
    '{"type":"result",',
    'not json',
    '[1,2,3]',
    'null',
    '42',
    '"just a string"',
    '{]',
    '\u0000\u0001',
  ),
);

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

describe('garbage lines', () => {
  test.prop(
    [
      fc.constantFrom(...SMALL.filter((name) => name !== 'l3_output_format_text')),
      fc.array(fc.tuple(fc.nat(), garbageLine), { minLength: 1, maxLength: 10 }),
    ],
    { numRuns: 200 },
  )(
    'each garbage line yields one parse-error with its number and text; every valid event is intact',
    (name, insertions) => {
      const lines = decoder.decode(fixtureBytes(name)).split('\n');
      lines.pop();
      const original = lines.length;
      const inserted = new Map<number, string>();
      const mixed = [...lines];
      for (const [position, garbage] of insertions) mixed.splice(position % (mixed.length + 1), 0, garbage);
      const validNumbers: number[] = [];
      mixed.forEach((line, index) => {
        if (lines.includes(line) && !insertions.some(([, garbage]) => garbage === line)) validNumbers.push(index + 1);
        else inserted.set(index + 1, line);
      });
      const parser = createStreamParser();
      const events = [...parser.push(`${mixed.join('\n')}\n`), ...parser.end()];
      const errors = events.filter((event) => event.type === 'parse-error');
      expect(errors.length).toBe(insertions.length);
      for (const error of errors) expect(error.line).toBe(inserted.get(error.lineNumber));
      // Valid events: the same as the reference once renumbered.
      const renumber = new Map(validNumbers.map((lineNumber, index) => [lineNumber, index + 1]));
      const valid = events
        .filter((event) => event.type !== 'parse-error')
        .map((event) => ({ ...event, lineNumber: renumber.get(event.lineNumber) }));
      expect(valid).toEqual(reference.get(name));
      expect(validNumbers.length).toBe(original);
    },
  );
});
