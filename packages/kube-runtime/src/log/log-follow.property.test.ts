/**
 * Property: whatever the timestamps (many equal, crossing seconds), the line contents (multibyte, empty, no final
 * newline), the chunking and the cut points (any byte: inside timestamps, lines, characters), the follow delivers
 * exactly the container's output. The source is an in-memory model of kubelet + apiserver: `sinceTime` truncated to
 * whole seconds, lines kept when `timestamp >= since`, in file order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { followPodLog, type PodLogRequest, type PodLogSource } from '../internal.ts';

interface ModelLine {
  timestamp: string;
  content: string;
  /** A long line: its later CRI records carry the next line's timestamp, so a replay can start with its tail. */
  long: boolean;
}

const encoder = new TextEncoder();

function modelSource(lines: ModelLine[], complete: boolean, cuts: number[], chunkSizes: number[]): PodLogSource {
  let request = 0;
  return {
    open(logRequest: PodLogRequest) {
      const cut = cuts[request];
      const chunkSize = chunkSizes[request % chunkSizes.length] ?? 7;
      request += 1;
      const since = logRequest.sinceTime === undefined ? null : `${logRequest.sinceTime.slice(0, 19)}.000000000Z`;
      const text = lines
        .map((line, index) => {
          const end = index === lines.length - 1 && !complete ? '' : '\n';
          if (since === null || line.timestamp >= since) return `${line.timestamp} ${line.content}${end}`;
          const tailTimestamp = lines[index + 1]?.timestamp;
          if (line.long && tailTimestamp !== undefined && tailTimestamp >= since) {
            // The kubelet prefixes only a line's first record: the records after `since` come without timestamp.
            const characters = Array.from(line.content);
            return `${characters.slice(Math.floor(characters.length / 2)).join('')}${end}`;
          }
          return '';
        })
        .join('');
      const body = encoder.encode(text);
      const end = cut === undefined ? body.length : Math.min(cut, body.length);
      return Promise.resolve({
        async *[Symbol.asyncIterator]() {
          for (let offset = 0; offset < end; offset += chunkSize) {
            await Promise.resolve();
            yield body.slice(offset, Math.min(end, offset + chunkSize));
          }
          if (cut !== undefined) throw new Error(`cut after ${cut} bytes`);
        },
      });
    },
  };
}

const timestampArbitrary = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2 }))
  .map(([second, nanos]) => `2026-11-24T13:00:0${second}.00000000${nanos}Z`);
const contentArbitrary = fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'é', '漢', '😀', '\t', '2'), maxLength: 12 });

describe('followPodLog property', () => {
  it('delivers exactly the output for any timestamps, chunking and cut points', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ timestamp: timestampArbitrary, content: contentArbitrary, long: fc.boolean() }), {
          minLength: 1,
          maxLength: 25,
        }),
        fc.boolean(),
        fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }),
        async (unsorted, complete, cuts, chunkSizes) => {
          // File order is timestamp order per stream (containerd stamps records as it writes them).
          const lines = [...unsorted].sort((a, b) =>
            a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0,
          );
          const expected = lines
            .map((line, index) => `${line.content}${index === lines.length - 1 && !complete ? '' : '\n'}`)
            .join('');
          let received = '';
          await followPodLog({
            source: modelSource(lines, complete, cuts, chunkSizes),
            namespace: 'n',
            pod: 'p',
            onOutput: (text) => void (received += text),
            readOutcome: () => Promise.resolve('done'),
            initialBackoffMs: 0,
            maxBackoffMs: 0,
          });
          expect(received).toBe(expected);
        },
      ),
      { numRuns: 400 },
    );
  });
});
