/**
 * Property: whatever the timestamps (many equal, crossing seconds), the line contents (multibyte, empty, no final
 * newline), the chunking and the cut points (any byte: inside timestamps, lines, characters), the follow delivers
 * exactly the container's output. The source is an in-memory model of kubelet + apiserver: `sinceTime` truncated to
 * whole seconds, lines kept when `timestamp >= since`, in file order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { followPodLog, type PodLogRequest, type PodLogSource } from '../index.ts';

interface ModelLine {
  timestamp: string;
  content: string;
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
        .map((line, index) => ({ line, last: index === lines.length - 1 }))
        .filter(({ line }) => since === null || line.timestamp >= since)
        .map(({ line, last }) => `${line.timestamp} ${line.content}${last && !complete ? '' : '\n'}`)
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
const contentArbitrary = fc.string({ unit: fc.constantFrom('a', 'b', ' ', 'é', '漢', '😀', '\t'), maxLength: 12 });

describe('followPodLog property', () => {
  it('delivers exactly the output for any timestamps, chunking and cut points', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ timestamp: timestampArbitrary, content: contentArbitrary }), { minLength: 1, maxLength: 25 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }),
        async (unsorted, complete, cuts, chunkSizes) => {
          // File order is timestamp order per stream (containerd stamps records as it writes them).
          const lines = [...unsorted].sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
          const expected = lines.map((line, index) => `${line.content}${index === lines.length - 1 && !complete ? '' : '\n'}`).join('');
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
