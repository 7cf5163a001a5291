import { expectTypeOf } from 'vitest';
import type { RunFailureCode, RunSummary, StreamEvent, StreamEventType } from '@claude-k8s/stream-json';

// The event union is closed: this switch is exhaustive, and adding a member without handling it fails typecheck.
function describeEvent(event: StreamEvent): string {
  switch (event.type) {
    case 'session-init':
    case 'text':
    case 'thinking':
    case 'tool-call':
    case 'tool-result':
    case 'user-text':
    case 'api-error':
    case 'api-retry':
    case 'permission-denied':
    case 'task':
    case 'system-status':
    case 'text-delta':
    case 'thinking-delta':
    case 'tool-input-delta':
    case 'stream-event':
    case 'result':
    case 'unknown-message':
    case 'unknown-content':
    case 'parse-error':
      return event.type;
    default:
      return event satisfies never;
  }
}
void describeEvent;

expectTypeOf<StreamEventType>().toEqualTypeOf<StreamEvent['type']>();
expectTypeOf<StreamEvent>().toHaveProperty('lineNumber').toEqualTypeOf<number>();
expectTypeOf<RunSummary['usageBasis']>().toEqualTypeOf<'per_run'>();
expectTypeOf<RunSummary['usage']>().toEqualTypeOf<{
  inputTokens: number;
  outputTokens: number;
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
}>();
expectTypeOf<'max-turns'>().toExtend<RunFailureCode>();
