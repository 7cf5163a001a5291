import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { listFixtures, readFixture } from '@claude-k8s/test-utils';
import { createStreamParser } from '../src/create-stream-parser.ts';
import type { StreamEvent } from '../src/stream-event.ts';

/** Absolute path of `src/__fixtures__`. */
export const FIXTURES_DIR = fileURLToPath(new URL('../src/__fixtures__/', import.meta.url));

/** Names (without `.jsonl`) of every transcript fixture. */
export const FIXTURE_NAMES: string[] = listFixtures(FIXTURES_DIR, '.jsonl').map((name) =>
  name.slice(0, -'.jsonl'.length),
);

/** The stdout bytes of a fixture. */
export function fixtureBytes(name: string): Uint8Array {
  return readFixture(FIXTURES_DIR, `${name}.jsonl`);
}

/** The stderr text of a fixture ('' when it has none). */
export function fixtureStderr(name: string): string {
  try {
    return readFileSync(`${FIXTURES_DIR}${name}.stderr.txt`, 'utf8');
  } catch {
    return '';
  }
}

/** Every event of a list of chunks, through one streaming parser. */
export function parseChunks(chunks: Iterable<string | Uint8Array>): StreamEvent[] {
  const parser = createStreamParser();
  const events: StreamEvent[] = [];
  for (const chunk of chunks) events.push(...parser.push(chunk));
  events.push(...parser.end());
  return events;
}

/** A copy of `value` with strings over 600 characters shortened, so snapshots stay reviewable. */
export function shortenLongStrings(value: unknown): unknown {
  if (typeof value === 'string') return value.length > 600 ? `${value.slice(0, 300)}…[${value.length} chars]` : value;
  if (Array.isArray(value)) return value.map(shortenLongStrings);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, shortenLongStrings(item)]));
  return value;
}
