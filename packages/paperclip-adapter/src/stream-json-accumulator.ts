import { createRunAccumulator, createStreamParser } from '@claude-k8s/stream-json';
import type { RunAccumulatorLike } from './ports.ts';

/**
 * The run accumulator of one attempt, on `@claude-k8s/stream-json`: stdout chunks (split anywhere) are parsed
 * incrementally into events and folded into the run summary (session, usage, cost, failure class).
 */
export function createStreamJsonAccumulator(): RunAccumulatorLike {
  const parser = createStreamParser();
  const accumulator = createRunAccumulator();
  let resultSeen = false;
  return {
    push(chunk) {
      for (const event of parser.push(chunk)) {
        if (event.type === 'result') resultSeen = true;
        accumulator.add(event);
      }
    },
    hasResult: () => resultSeen,
    finish(exit) {
      for (const event of parser.end()) accumulator.add(event);
      return accumulator.summary(exit);
    },
  };
}
