import { describe, expect, it } from 'vitest';
import { createStreamParser, parseLine } from './create-stream-parser.ts';
import { createFormatter } from './format-event.ts';
import { createRunAccumulator } from './run-accumulator.ts';
import type { StreamEvent } from './stream-event.ts';
import { FIXTURE_NAMES, fixtureBytes } from '../test/fixture-helpers.ts';

/** Deterministic PRNG (mulberry32), so a failure can be replayed from the printed seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FUZZ_MS = 1500;
const fixtureLines = FIXTURE_NAMES.flatMap((name) =>
  new TextDecoder()
    .decode(fixtureBytes(name))
    .split('\n')
    .filter((line) => line.length > 0 && line.length < 50_000),
);

function consume(events: StreamEvent[]): void {
  const formatter = createFormatter({ color: true, thinking: true, width: 60, rawUnknown: true, deltas: true });
  const accumulator = createRunAccumulator();
  for (const event of events) {
    accumulator.add(event);
    formatter.format(event);
  }
  formatter.formatSummary(accumulator.summary());
}

describe('fuzz (bounded time)', () => {
  it(`never throws on random bytes, mutated real lines or odd JSON for ${FUZZ_MS} ms`, () => {
    const seed = Date.now() % 1_000_000;
    const next = random(seed);
    const deadline = performance.now() + FUZZ_MS;
    let iterations = 0;
    try {
      while (performance.now() < deadline) {
        iterations++;
        const mode = Math.floor(next() * 3);
        if (mode === 0) {
          const bytes = new Uint8Array(Math.floor(next() * 300));
          for (let index = 0; index < bytes.length; index++) bytes[index] = Math.floor(next() * 256);
          const parser = createStreamParser();
          const events = [...parser.push(bytes), ...parser.end()];
          consume(events);
        } else if (mode === 1) {
          // A real line with random bytes flipped, truncated or duplicated.
          const line = fixtureLines[Math.floor(next() * fixtureLines.length)] ?? '';
          const chars = [...line];
          const edits = 1 + Math.floor(next() * 5);
          for (let edit = 0; edit < edits; edit++) {
            const at = Math.floor(next() * chars.length);
            chars[at] = String.fromCharCode(Math.floor(next() * 128));
          }
          const mutated = chars.join('').slice(0, Math.floor(next() * (chars.length + 1)));
          consume(parseLine(mutated, iterations));
        } else {
          // Well-formed JSON of the right top-level types with wrong field types.
          const types = ['system', 'assistant', 'user', 'result', 'stream_event', 'other'];
          const values = [
            null,
            1,
            'x',
            true,
            [],
            {},
            [{}],
            [{ type: 'text' }],
            [{ type: 'tool_result', content: [{}] }],
            { content: 5 },
            { type: 'content_block_delta', delta: { type: 'text_delta' } },
          ];
          const pick = () => values[Math.floor(next() * values.length)];
          const line = JSON.stringify({
            type: types[Math.floor(next() * types.length)],
            subtype: ['init', 'api_retry', 'task_started', 'status', 'x', undefined][Math.floor(next() * 6)],
            message: pick(),
            event: pick(),
            usage: pick(),
            modelUsage: pick(),
            model_usage_since_last_result: { m: pick() },
            errors: pick(),
            permission_denials: pick(),
            tools: pick(),
            is_api_error_message: next() < 0.2,
            patch: pick(),
          });
          consume(parseLine(line, iterations));
        }
      }
    } catch (error) {
      throw new Error(`fuzz failed at iteration ${iterations} (seed ${seed})`, { cause: error });
    }
    expect(iterations).toBeGreaterThan(100);
  });
});
