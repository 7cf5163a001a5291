import { createRunAccumulator, createStreamParser, type StreamEvent } from '@claude-k8s/stream-json';
import type { RunAccumulatorLike } from './ports.ts';

/**
 * The run accumulator of one attempt, on `@claude-k8s/stream-json`: stdout chunks (split anywhere) are parsed
 * incrementally into events and folded into the run summary (session, usage, cost, failure class).
 */
export function createStreamJsonAccumulator(): RunAccumulatorLike {
  const parser = createStreamParser();
  const accumulator = createRunAccumulator();
  let assistantEvents = 0;
  let resultSeen = false;
  const add = (event: StreamEvent): void => {
    if (event.type === 'text' || event.type === 'thinking' || event.type === 'tool-call') assistantEvents += 1;
    if (event.type === 'result') resultSeen = true;
    accumulator.add(event);
  };
  return {
    push(chunk) {
      for (const event of parser.push(chunk)) add(event);
    },
    hasResult: () => resultSeen,
    finish(exit) {
      for (const event of parser.end()) add(event);
      return { ...accumulator.summary(exit), assistantEvents };
    },
  };
}
