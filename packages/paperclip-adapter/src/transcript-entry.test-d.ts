import { expectTypeOf } from 'vitest';
import type { TranscriptEntry } from './transcript-entry.ts';

expectTypeOf<TranscriptEntry['kind']>().toEqualTypeOf<
  'assistant' | 'thinking' | 'user' | 'tool_call' | 'tool_result' | 'init' | 'result' | 'stderr' | 'system' | 'stdout'
>();
