export {
  createFakeModelApi,
  type FakeModelApi,
  type FakeModelApiOptions,
  type FakeModelApiTimers,
  type FakeRequestRecord,
  type RequestOutcome,
} from './create-fake-model-api.ts';
export { FakeModelApiError } from './fake-model-api-error.ts';
export {
  buildToolFollowUpText,
  createBuiltinScenarios,
  DEFAULT_TEXT,
  errorTypeForStatus,
  findMarker,
  findRequestMarker,
  parseScenarioSpec,
  readToolResults,
  UNICODE_TEXT,
  type ContentBlockPlan,
  type Scenario,
  type ScenarioContext,
  type ScenarioReply,
  type ScenarioSelection,
  type StreamFault,
  type ToolResultInfo,
} from './scenarios.ts';
export { encodeSseEvent, splitIntoChunks } from './sse.ts';
export {
  computeInputTokens,
  computeOutputTokens,
  computeUsage,
  FAKE_CACHE_CREATION_INPUT_TOKENS,
  FAKE_CACHE_READ_INPUT_TOKENS,
  type FakeUsage,
} from './usage.ts';
